// verify_tdx: parse, then every check in the order a forger would have to
// beat them: quote signature, PCK chain (order, pinned root, validity), QE
// report signature, QE binding, then the optional collateral evaluation.
#include "attest/tdx_verify.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "attest/tdx_pck.h"
#include "attest/tdx_pki.h"
#include "attest/tdx_quote.h"
#include "attest/tdx_tcb.h"
#include "core/hex.h"

namespace aegis::attest {
namespace {

using namespace tdx;  // this file is the TDX verifier's front door

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
  return core::to_hex(bytes);
}

void fill_claims(const TdxQuote& q, Claims& c) {
  const auto& b = q.body;
  c.tee = Tee::kTdx;
  c.measurement.assign(b.mrtd.begin(), b.mrtd.end());
  c.report_data.assign(b.report_data.begin(), b.report_data.end());
  c.debug = q.debug();
  auto& f = c.fields;
  f.emplace_back("version", std::to_string(q.header.version));
  f.emplace_back("att_key_type", std::to_string(q.header.att_key_type));
  f.emplace_back("tee_type", std::to_string(q.header.tee_type));
  f.emplace_back("body_type", std::to_string(q.body_type));
  f.emplace_back("qe_vendor_id", hex(q.header.qe_vendor_id));
  f.emplace_back("tee_tcb_svn", hex(b.tee_tcb_svn));
  f.emplace_back("mrseam", hex(b.mrseam));
  f.emplace_back("mrsignerseam", hex(b.mrsignerseam));
  f.emplace_back("seam_attributes", hex(b.seam_attributes));
  f.emplace_back("td_attributes", hex(b.td_attributes));
  f.emplace_back("xfam", hex(b.xfam));
  f.emplace_back("mrtd", hex(b.mrtd));
  f.emplace_back("mrconfigid", hex(b.mrconfigid));
  f.emplace_back("mrowner", hex(b.mrowner));
  f.emplace_back("mrownerconfig", hex(b.mrownerconfig));
  int index = 0;
  for (const auto& rtmr : b.rtmr) f.emplace_back("rtmr" + std::to_string(index++), hex(rtmr));
  if (q.body_type == kTdxBody15) {
    f.emplace_back("tee_tcb_svn2", hex(b.tee_tcb_svn2));
    f.emplace_back("mr_servicetd", hex(b.mr_servicetd));
  }
  f.emplace_back("qe_isvsvn", std::to_string(q.qe_report.isvsvn));
}

std::optional<Failure> check_qe_binding(const TdxQuote& q) {
  const Bytes32 digest = sha256(q.attestation_key, q.qe_auth_data);
  const auto& rd = q.qe_report.report_data;
  const bool hash_ok = std::equal(digest.begin(), digest.end(), rd.begin());
  const bool zero_ok =
      std::all_of(rd.begin() + 32, rd.end(), [](std::uint8_t b) { return b == 0; });
  if (hash_ok && zero_ok) return std::nullopt;
  return Failure{"qe_binding",
                 "QE report data is not SHA-256(attestation key || QE auth data) || 32 zero bytes"};
}

// Everything after parsing; fills `c` as it learns more.
std::optional<Failure> verify_parsed(const TdxQuote& q, const TdxVerifyOptions& options,
                                     Claims& c) {
  auto ak = p256_key_from_xy(q.attestation_key);
  if (!ak) return Failure{"bad_signature", "attestation key is not a P-256 point"};
  if (!ecdsa_p256_verify(ak.get(), q.signed_data, q.signature)) {
    return Failure{"bad_signature", "quote signature by the attestation key does not verify"};
  }
  auto chain = load_chain(q.pck_chain_pem, "PCK chain");
  if (!chain) return chain.error();
  if (auto failure = check_chain_order(*chain, "PCK chain")) return failure;
  const bool test_roots = !options.test_root_fingerprints.empty();
  const std::vector<std::string> roots =
      test_roots ? options.test_root_fingerprints
                 : std::vector<std::string>{std::string(kIntelSgxRootCaSha256)};
  if (auto failure = check_pinned_root(*chain, roots, "PCK chain")) return failure;
  c.simulated = test_roots;
  c.fields.emplace_back("root_sha256", cert_sha256_hex(chain->back().get()));
  const std::time_t at =
      options.at.value_or(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
  if (auto failure = verify_chain_at(*chain, at, {}, "PCK chain")) return failure;
  tls::PkeyPtr pck_key(X509_get_pubkey(chain->front().get()));
  if (!pck_key || !ecdsa_p256_verify(pck_key.get(), q.qe_report_raw, q.qe_report_signature)) {
    return Failure{"bad_signature", "QE report signature by the PCK certificate does not verify"};
  }
  if (auto failure = check_qe_binding(q)) return failure;
  auto pck = parse_pck_extension(chain->front().get());
  if (!pck) return pck.error();
  c.fields.emplace_back("fmspc", core::to_hex(pck->fmspc));
  c.fields.emplace_back("pcesvn", std::to_string(pck->pcesvn));
  if (options.collateral_json.empty()) return std::nullopt;
  auto tcb =
      evaluate_tdx_collateral(options.collateral_json, TcbInputs{q, *chain, *pck, roots, at});
  if (!tcb) return tcb.error();
  c.tcb_status = tcb->status;
  c.fields.insert(c.fields.end(), tcb->fields.begin(), tcb->fields.end());
  if (tcb_status_refused(tcb->status)) {
    return Failure{"tcb_status",
                   "TCB status " + tcb->status + (tcb->detail.empty() ? "" : ": " + tcb->detail)};
  }
  return std::nullopt;
}

}  // namespace

Verdict verify_tdx(std::span<const std::uint8_t> quote, const TdxVerifyOptions& options) {
  Verdict v;
  v.claims.tee = Tee::kTdx;
  auto parsed = tdx::parse_tdx_quote(quote);
  if (!parsed) {
    v.failure = parsed.error();
    return v;
  }
  fill_claims(*parsed, v.claims);
  if (auto failure = verify_parsed(*parsed, options, v.claims)) {
    v.failure = std::move(*failure);
    return v;
  }
  v.verified = true;
  return v;
}

}  // namespace aegis::attest
