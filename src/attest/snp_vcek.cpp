// Reading AMD's VCEK/VLEK extensions with OpenSSL's DER decoders (never by
// hand) and comparing them with a parsed report.
#include "attest/snp_vcek.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>

#include "core/hex.h"

namespace aegis::attest {

namespace {

constexpr std::string_view kOidProductName = "1.3.6.1.4.1.3704.1.2";
constexpr std::string_view kOidBlSpl = "1.3.6.1.4.1.3704.1.3.1";
constexpr std::string_view kOidTeeSpl = "1.3.6.1.4.1.3704.1.3.2";
constexpr std::string_view kOidSnpSpl = "1.3.6.1.4.1.3704.1.3.3";
constexpr std::string_view kOidUcodeSpl = "1.3.6.1.4.1.3704.1.3.8";
constexpr std::string_view kOidFmcSpl = "1.3.6.1.4.1.3704.1.3.9";
constexpr std::string_view kOidHwid = "1.3.6.1.4.1.3704.1.4";

Failure bad_extension(std::string_view oid, std::string_view why) {
  return Failure{"bad_certificate", "VCEK/VLEK extension " + std::string(oid) + ": " + std::string(why)};
}

// The extension's value (the DER inside extnValue), nullopt when absent;
// an empty span with `duplicate` set when it appears twice.
struct ExtValue {
  std::span<const std::uint8_t> der;
  bool duplicate = false;
};
std::optional<ExtValue> find_extension(X509* cert, std::string_view oid) {
  const tls::Asn1ObjectPtr obj(OBJ_txt2obj(std::string(oid).c_str(), 1));
  if (!obj) return std::nullopt;
  const int idx = X509_get_ext_by_OBJ(cert, obj.get(), -1);
  if (idx < 0) return std::nullopt;
  if (X509_get_ext_by_OBJ(cert, obj.get(), idx) >= 0) return ExtValue{{}, true};
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
  if (data == nullptr) return ExtValue{};
  return ExtValue{{ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data))}, false};
}

// An SPL: a DER INTEGER in 0..255.
AttestResult<std::optional<std::uint8_t>> read_spl(X509* cert, std::string_view oid) {
  const auto ext = find_extension(cert, oid);
  if (!ext) return std::optional<std::uint8_t>{};
  if (ext->duplicate) return bad_extension(oid, "appears twice");
  const unsigned char* p = ext->der.data();
  const tls::Asn1IntegerPtr value(d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(ext->der.size())));
  std::int64_t v = -1;
  // DER is canonical: a value that re-encodes to fewer bytes had trailing junk.
  const bool ok = value && i2d_ASN1_INTEGER(value.get(), nullptr) == static_cast<int>(ext->der.size()) &&
                  ASN1_INTEGER_get_int64(&v, value.get()) == 1;
  ERR_clear_error();
  if (!ok || v < 0 || v > 255) return bad_extension(oid, "not a DER INTEGER in 0..255");
  return std::optional<std::uint8_t>{static_cast<std::uint8_t>(v)};
}

// hwID: AMD's VCEKs carry the 64 bytes raw in extnValue; accept a DER
// OCTET STRING around them as well.
AttestResult<std::optional<std::array<std::uint8_t, 64>>> read_hwid(X509* cert) {
  using Hwid = std::array<std::uint8_t, 64>;
  const auto ext = find_extension(cert, kOidHwid);
  if (!ext) return std::optional<Hwid>{};
  if (ext->duplicate) return bad_extension(kOidHwid, "appears twice");
  std::span<const std::uint8_t> bytes = ext->der;
  tls::Asn1OctetStringPtr inner;
  if (bytes.size() != 64) {
    const unsigned char* p = ext->der.data();
    inner.reset(d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(ext->der.size())));
    ERR_clear_error();
    if (!inner || i2d_ASN1_OCTET_STRING(inner.get(), nullptr) != static_cast<int>(ext->der.size()))
      return bad_extension(kOidHwid, "neither 64 bytes nor an OCTET STRING");
    bytes = {ASN1_STRING_get0_data(inner.get()), static_cast<std::size_t>(ASN1_STRING_length(inner.get()))};
  }
  if (bytes.size() != 64) return bad_extension(kOidHwid, "not 64 bytes");
  Hwid out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return std::optional<Hwid>{out};
}

std::string read_product_name(X509* cert) {
  const auto ext = find_extension(cert, kOidProductName);
  if (!ext || ext->duplicate) return {};
  const unsigned char* p = ext->der.data();
  const tls::OsslPtr<ASN1_IA5STRING, ASN1_IA5STRING_free> name(
      d2i_ASN1_IA5STRING(nullptr, &p, static_cast<long>(ext->der.size())));
  ERR_clear_error();
  if (!name) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(name.get())),
          static_cast<std::size_t>(ASN1_STRING_length(name.get()))};
}

std::optional<Failure> compare_spl(std::string_view name, std::optional<std::uint8_t> cert, std::uint8_t report) {
  if (!cert) return Failure{"tcb_mismatch", "certificate has no " + std::string(name) + " SPL extension"};
  if (*cert == report) return std::nullopt;
  return Failure{"tcb_mismatch", std::string(name) + " SPL: certificate " + std::to_string(*cert) +
                                     ", report's REPORTED_TCB " + std::to_string(report)};
}

}  // namespace

AttestResult<SnpCertTcb> read_cert_tcb(X509* cert) {
  SnpCertTcb out;
  const std::pair<std::string_view, std::optional<std::uint8_t>*> spls[] = {
      {kOidBlSpl, &out.bootloader},   {kOidTeeSpl, &out.tee}, {kOidSnpSpl, &out.snp},
      {kOidUcodeSpl, &out.microcode}, {kOidFmcSpl, &out.fmc},
  };
  for (const auto& [oid, field] : spls) {
    auto v = read_spl(cert, oid);
    if (!v) return v.error();
    *field = v.value();
  }
  auto hwid = read_hwid(cert);
  if (!hwid) return hwid.error();
  out.hwid = hwid.value();
  out.product_name = read_product_name(cert);
  return out;
}

SnpProduct product_from_name(std::string_view product_name) {
  if (product_name.starts_with("Milan")) return SnpProduct::kMilan;
  if (product_name.starts_with("Genoa")) return SnpProduct::kGenoa;
  if (product_name.starts_with("Turin")) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}

std::optional<Failure> match_tcb(const SnpReport& report, const SnpCertTcb& cert, SnpProduct product, bool check_hwid) {
  const SnpTcb tcb = decode_tcb(report.reported_tcb, product);
  if (product == SnpProduct::kTurin)
    if (auto f = compare_spl("fmc", cert.fmc, tcb.fmc)) return f;
  if (auto f = compare_spl("bootloader", cert.bootloader, tcb.bootloader)) return f;
  if (auto f = compare_spl("tee", cert.tee, tcb.tee)) return f;
  if (auto f = compare_spl("snp", cert.snp, tcb.snp)) return f;
  if (auto f = compare_spl("microcode", cert.microcode, tcb.microcode)) return f;
  if (!check_hwid) return std::nullopt;
  if (!cert.hwid) return Failure{"tcb_mismatch", "VCEK has no hwID extension"};
  if (!std::equal(cert.hwid->begin(), cert.hwid->end(), report.chip_id.begin()))
    return Failure{"tcb_mismatch", "VCEK hwID " + core::to_hex(*cert.hwid).substr(0, 16) +
                                       "… differs from the report's CHIP_ID " +
                                       core::to_hex(report.chip_id).substr(0, 16) + "…"};
  return std::nullopt;
}

}  // namespace aegis::attest
