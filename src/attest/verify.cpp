#include "attest/verify.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <filesystem>

#include "attest/evidence_extension.h"
#include "attest/file_io.h"
#include "attest/snp_report.h"
#include "attest/snp_verify.h"
#include "attest/tdx_verify.h"
#include "core/byte_reader.h"
#include "core/hex.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {
namespace {

constexpr std::size_t kSnpReportBytes = 1184;
constexpr std::string_view kPemCertificate = "-----BEGIN CERTIFICATE-----";

// DER first: a DER certificate whose evidence is a TDX quote contains the
// quote's PEM PCK chain, so "has a PEM header" does not mean "is PEM".
tls::X509Ptr parse_certificate(std::span<const std::uint8_t> bytes) {
  const unsigned char* p = bytes.data();
  tls::X509Ptr der(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  if (der && p == bytes.data() + bytes.size()) return der;  // exactly one DER certificate
  ERR_clear_error();
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const auto start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos || text.substr(start, kPemCertificate.size()) != kPemCertificate) return nullptr;
  const tls::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  return tls::X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

Verdict verify_raw(Tee tee, std::span<const std::uint8_t> evidence, const VerifyInputs& in) {
  if (tee == Tee::kTdx) {
    TdxVerifyOptions o;
    o.test_root_fingerprints = in.test_roots;
    o.at = in.at;
    o.collateral_json = in.collateral;
    return verify_tdx(evidence, o);
  }
  SnpVerifyInputs o;
  if (!in.snp_cert_table.empty()) {
    auto from_table = inputs_from_cert_table(in.snp_cert_table, false);
    if (!from_table) {
      Verdict v;
      v.failure = from_table.error();
      return v;
    }
    o = std::move(from_table.value());
  }
  if (!in.vcek.empty()) o.vcek = in.vcek;
  if (o.vcek.empty() && !in.snp_vcek_dir.empty()) {
    if (auto report = parse_snp_report(evidence)) {
      const auto base = std::filesystem::path(in.snp_vcek_dir) / core::to_hex(report.value().chip_id);
      for (const char* ext : {".der", ".pem"}) {
        const auto f = read_whole_file(base.string() + ext, kMaxEvidenceBytes);
        if (f.ok()) {
          o.vcek.assign(f.bytes.begin(), f.bytes.end());
          break;
        }
      }
    }
  }
  if (!in.cert_chain.empty()) {
    o.ask.clear();
    o.ark.clear();
    o.cert_chain = in.cert_chain;
  }
  o.test_roots = in.test_roots;
  o.at = in.at;
  return verify_snp(evidence, o);
}

}  // namespace

Verdict verify_certificate(X509* cert, const VerifyInputs& in) {
  Verdict v;
  if (cert == nullptr) {
    v.failure = {"bad_certificate", "not an X.509 certificate (PEM or DER)"};
    return v;
  }
  const auto value = find_extension(cert);
  if (!value) {
    v.failure = {"no_evidence",
                 std::string("the certificate has no evidence extension (") + kEvidenceExtensionOid + ")"};
    return v;
  }
  auto decoded = decode_extension(*value);
  if (const auto* f = std::get_if<Failure>(&decoded)) {
    v.failure = *f;
    return v;
  }
  const auto& ext = std::get<EvidenceExtension>(decoded);
  const auto kind = detect_evidence(ext.evidence);
  if ((ext.tee == Tee::kSevSnp) != (kind == EvidenceKind::kSnpReport) ||
      (ext.tee == Tee::kTdx) != (kind == EvidenceKind::kTdxQuote)) {
    v.failure = {"bad_extension", std::string("the extension's tag says ") + std::string(tee_name(ext.tee)) +
                                      " but its evidence is " + std::string(evidence_kind_name(kind))};
    return v;
  }
  v = verify_raw(ext.tee, ext.evidence, in);
  if (!v.verified) return v;
  if (auto failure = check_binding(ext, spki_der(cert), v.claims.report_data)) {
    v.verified = false;
    v.failure = *failure;
  }
  return v;
}

std::string_view evidence_kind_name(EvidenceKind kind) {
  switch (kind) {
    case EvidenceKind::kSnpReport:
      return "an SEV-SNP report";
    case EvidenceKind::kTdxQuote:
      return "a TDX quote";
    case EvidenceKind::kCertificate:
      return "a certificate";
    case EvidenceKind::kUnknown:
      break;
  }
  return "neither an SEV-SNP report, a TDX quote nor a certificate";
}

EvidenceKind detect_evidence(std::span<const std::uint8_t> bytes) {
  core::ByteReader r(bytes);
  const auto version16 = r.u16_le();
  const auto key_type = r.u16_le();
  const auto tee_type = r.u32_le();
  if (version16 && key_type && tee_type && (*version16 == 4 || *version16 == 5) && *key_type == 2 && *tee_type == 0x81)
    return EvidenceKind::kTdxQuote;
  if (bytes.size() == kSnpReportBytes) {
    core::ByteReader s(bytes);
    const auto version = s.u32_le();
    core::ByteReader algo_at(bytes);
    const auto algo = algo_at.skip(0x34) ? algo_at.u32_le() : std::nullopt;
    if (version && *version >= 2 && *version <= 5 && algo && *algo == 1) return EvidenceKind::kSnpReport;
  }
  if (parse_certificate(bytes)) return EvidenceKind::kCertificate;
  return EvidenceKind::kUnknown;
}

Verdict verify_evidence(std::span<const std::uint8_t> bytes, const VerifyInputs& inputs) {
  switch (detect_evidence(bytes)) {
    case EvidenceKind::kSnpReport:
      return verify_raw(Tee::kSevSnp, bytes, inputs);
    case EvidenceKind::kTdxQuote:
      return verify_raw(Tee::kTdx, bytes, inputs);
    case EvidenceKind::kCertificate: {
      const auto cert = parse_certificate(bytes);  // null is refused as bad_certificate
      return verify_certificate(cert.get(), inputs);
    }
    case EvidenceKind::kUnknown:
      break;
  }
  Verdict v;
  v.failure = {"unknown_format", std::string(evidence_kind_name(EvidenceKind::kUnknown))};
  return v;
}

}  // namespace aegis::attest
