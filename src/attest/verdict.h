// What a verifier concludes from one piece of evidence (an SEV-SNP report or
// a TDX quote): the claims it carries and whether every signature, chain and
// binding held. SNP and TDX verifiers (snp_*.h, tdx_*.h) both return this,
// so the CLI, the admin page and the TLS handshake treat them alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aegis::attest {

enum class Tee { kSevSnp, kTdx };
constexpr std::string_view tee_name(Tee t) { return t == Tee::kSevSnp ? "sev-snp" : "tdx"; }

// Why evidence was refused. `code` is short and stable (the `reason` label of
// aegis_attestation_failures_total and the "reason" of `attest verify
// --json`); `detail` says what exactly, for the log and the CLI. Codes in
// use (docs/attestation.md keeps the list):
//   truncated, bad_length, unsupported_version, unsupported_key_type,
//   bad_signature, bad_certificate, chain_order, untrusted_root,
//   tcb_mismatch, qe_binding, collateral_invalid, collateral_signature,
//   collateral_expired, tcb_status, policy
struct Failure {
  std::string code;
  std::string detail;
  std::string text() const { return code + ": " + detail; }
};

struct Claims {
  Tee tee = Tee::kSevSnp;
  std::vector<std::uint8_t> measurement;     // SNP MEASUREMENT or TDX MRTD (48 bytes)
  std::vector<std::uint8_t> report_data;     // 64 bytes
  bool debug = false;                        // SNP policy DEBUG bit / TDX TD_ATTRIBUTES.DEBUG
  bool simulated = false;                    // chained to the test suite's roots, never the vendors'
  std::string tcb_status = "not_evaluated";  // TDX with collateral: UpToDate, OutOfDate, ...
  // Everything else worth showing, in order: name → printable value (hex for
  // byte fields, decimal for numbers), e.g. {"vmpl","0"}, {"rtmr0","…"}.
  std::vector<std::pair<std::string, std::string>> fields;
};

struct Verdict {
  bool verified = false;
  Claims claims;    // what was parsed, even when verification failed
  Failure failure;  // empty code when verified
};

}  // namespace aegis::attest
