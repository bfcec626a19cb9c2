// TCB evaluation of a verified TDX quote against its collateral: collateral
// signatures and issuer chains, CRLs, validity window at the evaluation time,
// FMSPC, QE identity, TDX module identity and the matching TCB level.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "attest/tdx_pck.h"
#include "attest/tdx_pki.h"
#include "attest/tdx_quote.h"

namespace aegis::attest::tdx {

struct TcbInputs {
  const TdxQuote& quote;
  const CertChain& pck_chain;  // verified, leaf first, pinned root last
  const PckTcb& pck;
  const std::vector<std::string>& root_fingerprints;
  std::time_t at;
};

// Not an Intel status: no TCB level (or TDX module level) matches the
// platform, which Intel's QVL reports as "TCB not supported".
inline constexpr std::string_view kUnrecognized = "Unrecognized";

// Whether verification must fail for this combined status (Revoked,
// Unrecognized); every other status is the caller's policy decision.
bool tcb_status_refused(std::string_view status);

// Folds a component's status (TDX module, QE; "" = not used) into the
// platform's: UpToDate changes nothing, Revoked and Unrecognized win, any
// other status makes UpToDate/SWHardeningNeeded OutOfDate and
// Configuration(AndSWHardening)Needed OutOfDateConfigurationNeeded.
std::string combine_tcb_status(const std::string& platform, const std::string& component);

struct TcbEvaluation {
  std::string status;           // combined: what Claims::tcb_status reports
  std::string detail;           // why the status is Unrecognized
  std::string platform_status;  // the matched TCB level's tcbStatus
  std::string module_status;    // TDX module identity level ("" if not used)
  std::string qe_status;        // QE identity level
  std::string tcb_date;
  std::vector<std::string> advisories;
  std::vector<std::pair<std::string, std::string>> fields;  // for Claims::fields
};

// Codes: collateral_invalid, collateral_signature, collateral_expired,
// untrusted_root, chain_order, bad_certificate (also a revoked PCK
// certificate), tcb_mismatch (FMSPC, QE or TDX module identity differ),
// A status that tcb_status_refused() is returned as an evaluation, not a
// failure, so the caller can show it (verify_tdx refuses it as tcb_status).
TdxResult<TcbEvaluation> evaluate_tdx_collateral(std::string_view collateral_json,
                                                 const TcbInputs& in);

}  // namespace aegis::attest::tdx
