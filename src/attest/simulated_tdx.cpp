// The simulated TDX quote: a v4 header and TD report 1.0 body signed by the
// TEST attestation key, then the QE's part as Intel's quoting enclave lays it
// out (docs/attestation-tdx.md): QE report bound to the attestation key and
// signed by the TEST PCK key, QE auth data, and the PEM PCK chain.
#include <openssl/evp.h>

#include <string>

#include "attest/simulated.h"
#include "attest/simulated_roots.h"
#include "attest/simulated_wire.h"
#include "attest/tdx_pki.h"
#include "attest/tdx_quote.h"
#include "tls/x509_build.h"

namespace aegis::attest {

namespace {

using simulated_wire::Bytes;
using simulated_wire::Writer;

// Intel's QE vendor ID (939a7233-f79c-4ca9-940a-0db3957f0607), as real quotes carry it.
constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                           0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
constexpr std::array<std::uint8_t, 16> kTeeTcbSvn = {5, 0, 2};
constexpr std::uint64_t kXfam = 0x00000000000602e7;  // x87, SSE, AVX, AVX-512, PK, ... as common TDs
constexpr std::uint16_t kCertDataQeReport = 6;
constexpr std::uint16_t kCertDataPckChain = 5;
constexpr std::uint16_t kQeIsvProdId = 2, kQeIsvSvn = 8;
// Offsets in the QE's SGX report body.
constexpr std::size_t kQeAttributes = 48, kQeMrsigner = 128, kQeIsvProdIdAt = 256, kQeIsvSvnAt = 258,
                      kQeReportData = 320;

Failure fail(std::string code, std::string detail) { return Failure{std::move(code), std::move(detail)}; }

// r || s, big-endian, 32 bytes each.
std::optional<Bytes> sign_p256(EVP_PKEY* key, std::span<const std::uint8_t> message) {
  auto sig = simulated_wire::ecdsa_sign(key, EVP_sha256(), message);
  if (!sig) return std::nullopt;
  Bytes out(64);
  const auto r = std::span(out).first(32);
  const auto s = std::span(out).last(32);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig->get()), r.data(), 32) != 32 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig->get()), s.data(), 32) != 32)
    return std::nullopt;
  return out;
}

// x || y of a P-256 public key.
std::optional<Bytes> raw_point(EVP_PKEY* key) {
  std::array<std::uint8_t, 65> point{};
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point.data(), point.size(), &len) != 1 ||
      len != point.size() || point[0] != 0x04)
    return std::nullopt;
  return Bytes(point.begin() + 1, point.end());
}

Bytes header_and_body(const ReportData& report_data, const SimulatedOptions& o) {
  Writer w;
  w.u16(4);
  w.u16(tdx::kTdxAttKeyEcdsaP256);
  w.u32(tdx::kTdxTeeType);
  w.u16(0);  // reserved (QE SVN in v3)
  w.u16(0);  // reserved (PCE SVN in v3)
  w.bytes(kIntelQeVendorId);
  w.zeros(20);  // user data
  w.bytes(kTeeTcbSvn);
  w.zeros(48 + 48 + 8);  // MRSEAM, MRSIGNERSEAM, SEAM_ATTRIBUTES
  w.u64(o.td_attributes | (o.debug ? 1U : 0U));
  w.u64(kXfam);
  w.bytes(o.mrtd.value_or(o.measurement.value_or(simulated_default_measurement())));
  w.zeros(3 * sizeof(Measurement));  // MRCONFIGID, MROWNER, MROWNERCONFIG
  for (const auto& rtmr : o.rtmrs) w.bytes(rtmr);
  w.bytes(report_data);
  return w.take();
}

}  // namespace

EvidenceResult read_simulated_tdx(const std::filesystem::path& roots_dir, const ReportData& report_data,
                                  const SimulatedOptions& o) {
  auto keys = load_simulated_tdx(roots_dir);
  if (!keys)
    return fail("simulated_roots", keys.error().message +
                                       " (create a TEST roots directory with `aegis-flow attest "
                                       "test-roots --out DIR`)");
  Bytes quote = header_and_body(report_data, o);
  const auto signature = sign_p256(keys->attestation_key.get(), quote);
  const auto attestation_key = raw_point(keys->attestation_key.get());
  if (!signature || !attestation_key)
    return fail("simulated_sign", "signing the TDX quote with the TEST attestation key");

  Bytes auth_data(32);
  for (std::size_t i = 0; i < auth_data.size(); ++i) auth_data[i] = static_cast<std::uint8_t>(i);
  Bytes qe_report(tdx::kSgxReportSize, 0);
  qe_report.at(kQeAttributes) = 0x11;  // INIT | PROVISIONKEY
  const tdx::Bytes32 qe_signer =
      tdx::sha256(std::span(reinterpret_cast<const std::uint8_t*>("aegis-flow TEST QE"), 18));
  simulated_wire::put_bytes(qe_report, kQeMrsigner, qe_signer);
  simulated_wire::put_le(qe_report, kQeIsvProdIdAt, kQeIsvProdId, 2);
  simulated_wire::put_le(qe_report, kQeIsvSvnAt, kQeIsvSvn, 2);
  // SHA-256(attestation key || QE auth data) || 32 zero bytes.
  simulated_wire::put_bytes(qe_report, kQeReportData, tdx::sha256(*attestation_key, auth_data));
  const auto qe_signature = sign_p256(keys->pck.key.get(), qe_report);
  if (!qe_signature) return fail("simulated_sign", "signing the QE report with the TEST PCK key");

  std::string chain_pem;
  for (X509* cert : {keys->pck.cert.get(), keys->platform_ca.get(), keys->root.get()}) {
    auto pem = tls::certificate_pem(cert);
    if (!pem) return fail("simulated_sign", pem.error().message);
    chain_pem += pem.value();
  }
  Writer qe;
  qe.bytes(qe_report);
  qe.bytes(*qe_signature);
  qe.u16(auth_data.size());
  qe.bytes(auth_data);
  qe.u16(kCertDataPckChain);
  qe.u32(chain_pem.size() + 1);
  qe.bytes(std::span(reinterpret_cast<const std::uint8_t*>(chain_pem.data()), chain_pem.size()));
  qe.zeros(1);  // the chain is NUL-terminated, as Intel's QE writes it
  const Bytes cert_data = qe.take();

  Writer sig;
  sig.bytes(*signature);
  sig.bytes(*attestation_key);
  sig.u16(kCertDataQeReport);
  sig.u32(cert_data.size());
  sig.bytes(cert_data);
  const Bytes sig_data = sig.take();

  Writer out;
  out.bytes(quote);
  out.u32(sig_data.size());
  out.bytes(sig_data);
  RawEvidence ev;
  ev.tee = Tee::kTdx;
  ev.source = "simulated";
  ev.report = out.take();
  return ev;
}

}  // namespace aegis::attest
