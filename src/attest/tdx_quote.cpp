// TDX quote v4/v5 parser (layout: Intel TDX DCAP Quoting Library API, A.3/A.4).
// A short read at the top level means the input was cut (truncated); a short
// read inside a length-prefixed part means its length field lies (bad_length).
#include "attest/tdx_quote.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "core/byte_reader.h"

namespace aegis::attest::tdx {
namespace {

constexpr std::uint16_t kCertDataQeReport = 6;
constexpr std::uint16_t kCertDataPckChain = 5;

// A ByteReader that remembers the first short read as a Failure, so a run of
// fixed-size fields reads top to bottom and is checked once.
class FieldReader {
 public:
  FieldReader(core::ByteReader reader, std::string_view part, std::string_view short_code)
      : r_(reader), part_(part), short_code_(short_code) {}

  template <std::size_t N>
  void read(std::array<std::uint8_t, N>& out, std::string_view what) {
    if (auto b = take(N, what)) std::copy(b->begin(), b->end(), out.begin());
  }
  void read(std::uint16_t& out, std::string_view what) {
    if (auto v = failed_ ? std::nullopt : r_.u16_le())
      out = *v;
    else
      short_read(what, 2);
  }
  void read(std::uint32_t& out, std::string_view what) {
    if (auto v = failed_ ? std::nullopt : r_.u32_le())
      out = *v;
    else
      short_read(what, 4);
  }
  std::optional<std::span<const std::uint8_t>> take(std::size_t n, std::string_view what) {
    auto b = failed_ ? std::nullopt : r_.bytes(n);
    if (!b) short_read(what, n);
    return b;
  }
  void skip(std::size_t n, std::string_view what) { (void)take(n, what); }

  bool ok() const { return !failed_; }
  const Failure& failure() const { return failure_; }
  core::ByteReader& reader() { return r_; }

 private:
  void short_read(std::string_view what, std::size_t n) {
    if (failed_) return;
    failed_ = true;
    failure_ = {std::string(short_code_), std::string(part_) + ": " + std::string(what) +
                                              " needs " + std::to_string(n) + " bytes at offset " +
                                              std::to_string(r_.position()) + ", " +
                                              std::to_string(r_.remaining()) + " left"};
  }

  core::ByteReader r_;
  std::string_view part_;
  std::string_view short_code_;
  bool failed_ = false;
  Failure failure_;
};

Failure bad_length(std::string detail) { return {"bad_length", std::move(detail)}; }

void read_header(FieldReader& f, TdxHeader& h) {
  f.read(h.version, "version");
  f.read(h.att_key_type, "attestation key type");
  f.read(h.tee_type, "tee_type");
  f.read(h.qe_svn, "qe_svn");
  f.read(h.pce_svn, "pce_svn");
  f.read(h.qe_vendor_id, "qe_vendor_id");
  f.read(h.user_data, "user_data");
}

void read_body(FieldReader& f, std::uint16_t type, TdReportBody& b) {
  f.read(b.tee_tcb_svn, "tee_tcb_svn");
  f.read(b.mrseam, "mrseam");
  f.read(b.mrsignerseam, "mrsignerseam");
  f.read(b.seam_attributes, "seam_attributes");
  f.read(b.td_attributes, "td_attributes");
  f.read(b.xfam, "xfam");
  f.read(b.mrtd, "mrtd");
  f.read(b.mrconfigid, "mrconfigid");
  f.read(b.mrowner, "mrowner");
  f.read(b.mrownerconfig, "mrownerconfig");
  for (auto& rtmr : b.rtmr) f.read(rtmr, "rtmr");
  f.read(b.report_data, "report_data");
  if (type == kTdxBody15) {
    f.read(b.tee_tcb_svn2, "tee_tcb_svn2");
    f.read(b.mr_servicetd, "mr_servicetd");
  }
}

void read_sgx_report(FieldReader& f, SgxReportBody& r) {
  f.read(r.cpusvn, "cpusvn");
  f.read(r.miscselect, "miscselect");
  f.skip(28, "reserved");
  f.read(r.attributes, "attributes");
  f.read(r.mrenclave, "mrenclave");
  f.skip(32, "reserved");
  f.read(r.mrsigner, "mrsigner");
  f.skip(96, "reserved");
  f.read(r.isvprodid, "isvprodid");
  f.read(r.isvsvn, "isvsvn");
  f.skip(60, "reserved");
  f.read(r.report_data, "report_data");
}

// Certification data type 6: QE report, its signature, QE auth data, then
// the inner certification data (type 5, the PCK chain). `f` spans exactly
// the declared size, so every short read here is a lying length field.
std::optional<Failure> read_qe_cert_data(FieldReader& f, TdxQuote& q) {
  auto raw = f.take(kSgxReportSize, "QE report");
  if (raw) {
    q.qe_report_raw.assign(raw->begin(), raw->end());
    FieldReader rf(core::ByteReader(*raw), "QE report", "bad_length");
    read_sgx_report(rf, q.qe_report);
  }
  f.read(q.qe_report_signature, "QE report signature");
  std::uint16_t auth_size = 0;
  f.read(auth_size, "QE auth data size");
  if (auto auth = f.take(auth_size, "QE auth data"))
    q.qe_auth_data.assign(auth->begin(), auth->end());
  std::uint16_t inner_type = 0;
  std::uint32_t inner_size = 0;
  f.read(inner_type, "inner certification data type");
  f.read(inner_size, "inner certification data size");
  if (!f.ok()) return f.failure();
  if (inner_type != kCertDataPckChain) {
    return Failure{"bad_certificate", "inner certification data type " +
                                          std::to_string(inner_type) +
                                          " is not supported (only 5, the PCK certificate chain)"};
  }
  auto pem = f.take(inner_size, "PCK certificate chain");
  if (!pem) return f.failure();
  q.pck_chain_pem.assign(pem->begin(), pem->end());
  while (!q.pck_chain_pem.empty() && q.pck_chain_pem.back() == '\0') q.pck_chain_pem.pop_back();
  if (!f.reader().empty()) {
    return bad_length("QE certification data: " + std::to_string(f.reader().remaining()) +
                      " bytes left over after the PCK chain");
  }
  return std::nullopt;
}

std::optional<Failure> read_signature_data(FieldReader& f, TdxQuote& q) {
  f.read(q.signature, "quote signature");
  f.read(q.attestation_key, "attestation key");
  std::uint16_t cert_type = 0;
  std::uint32_t cert_size = 0;
  f.read(cert_type, "certification data type");
  f.read(cert_size, "certification data size");
  if (!f.ok()) return f.failure();
  if (cert_type != kCertDataQeReport) {
    return Failure{"bad_certificate",
                   "certification data type " + std::to_string(cert_type) +
                       " is not supported (only 6, QE report with the PCK chain)"};
  }
  if (cert_size != f.reader().remaining()) {
    return bad_length("certification data size " + std::to_string(cert_size) + " but " +
                      std::to_string(f.reader().remaining()) + " bytes of signature data remain");
  }
  auto cert = f.reader().sub(cert_size);
  FieldReader cf(*cert, "QE certification data", "bad_length");
  return read_qe_cert_data(cf, q);
}

}  // namespace

TdxResult<TdxQuote> parse_tdx_quote(std::span<const std::uint8_t> data) {
  TdxQuote q;
  FieldReader top(core::ByteReader(data), "TDX quote", "truncated");
  read_header(top, q.header);
  if (!top.ok()) return top.failure();
  const auto& h = q.header;
  if (h.version != 4 && h.version != 5) {
    return Failure{"unsupported_version", "quote version " + std::to_string(h.version) +
                                              " (only TDX quotes v4 and v5 are supported)"};
  }
  if (h.att_key_type != kTdxAttKeyEcdsaP256) {
    return Failure{"unsupported_key_type", "attestation key type " +
                                               std::to_string(h.att_key_type) +
                                               " (only 2, ECDSA-256-with-P-256)"};
  }
  if (h.tee_type != kTdxTeeType) {
    return Failure{"unsupported_version",
                   "tee_type " + std::to_string(h.tee_type) + " is not TDX (0x81)"};
  }
  std::size_t body_size = kTdxBody10Size;
  if (h.version == 5) {
    std::uint32_t declared = 0;
    top.read(q.body_type, "body descriptor type");
    top.read(declared, "body descriptor size");
    if (!top.ok()) return top.failure();
    if (q.body_type != kTdxBody10 && q.body_type != kTdxBody15) {
      return Failure{"unsupported_version", "v5 body type " + std::to_string(q.body_type) +
                                                " (only 2, TD report 1.0, and 3, TD report 1.5)"};
    }
    body_size = q.body_type == kTdxBody15 ? kTdxBody15Size : kTdxBody10Size;
    if (declared != body_size) {
      return bad_length("v5 body size " + std::to_string(declared) + " for body type " +
                        std::to_string(q.body_type) + " (must be " + std::to_string(body_size) +
                        ")");
    }
  }
  read_body(top, q.body_type, q.body);
  if (!top.ok()) return top.failure();
  const std::size_t signed_size = top.reader().position();
  q.signed_data.assign(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(signed_size));

  std::uint32_t sig_size = 0;
  top.read(sig_size, "signature data length");
  if (!top.ok()) return top.failure();
  if (sig_size > kTdxMaxSignatureData) {
    return bad_length("signature data length " + std::to_string(sig_size) + " exceeds the " +
                      std::to_string(kTdxMaxSignatureData) + "-byte limit");
  }
  auto sig = top.take(sig_size, "signature data");
  if (!sig) return top.failure();
  q.trailing_bytes = top.reader().remaining();
  FieldReader sf(core::ByteReader(*sig), "signature data", "bad_length");
  if (auto failure = read_signature_data(sf, q)) return std::move(*failure);
  return q;
}

}  // namespace aegis::attest::tdx
