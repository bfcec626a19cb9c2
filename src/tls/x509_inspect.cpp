#include "tls/x509_inspect.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <array>
#include <ctime>

#include <fmt/core.h>

#include "tls/certs_files.h"
#include "tls/certs_keys.h"

namespace aegis::tls {

namespace {

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "?";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(len)};
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string signature_name(const X509* cert) {
  const int nid = X509_get_signature_nid(cert);
  if (nid != NID_undef) return OBJ_nid2ln(nid);
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(nullptr, &alg, cert);
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
  std::array<char, 128> buf{};
  OBJ_obj2txt(buf.data(), buf.size(), oid, 1);
  return buf.data();
}

void collect_sans(X509* cert, CertInfo& info) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(n, &type));
    if (type != GEN_URI && type != GEN_DNS) continue;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
    (type == GEN_URI ? info.uri_sans : info.dns_sans).push_back(std::move(text));
  }
}

}  // namespace

CertResult<CertInfo> describe_certificate(X509* cert) {
  CertInfo info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  OpensslBytesPtr<char> hex(serial ? BN_bn2hex(serial.get()) : nullptr);
  if (!hex) return openssl_failure("reading the serial number");
  info.serial = hex.get();
  collect_sans(cert, info);
  info.is_ca = X509_check_ca(cert) != 0;
  if (const EVP_PKEY* key = X509_get0_pubkey(cert)) info.key_type = describe_key(key);
  else return openssl_failure("reading the public key");
  info.signature_algorithm = signature_name(cert);
  const ASN1_TIME* nb = X509_get0_notBefore(cert);
  const ASN1_TIME* na = X509_get0_notAfter(cert);
  info.not_before = time_text(nb);
  info.not_after = time_text(na);
  info.not_yet_valid = X509_cmp_current_time(nb) > 0;
  info.expired = X509_cmp_current_time(na) < 0;
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, na) == 1) info.days_left = days;
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int md_len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &md_len) != 1) return openssl_failure("hashing the certificate");
  for (unsigned int i = 0; i < md_len; ++i)
    info.sha256_fingerprint += fmt::format("{}{:02X}", i ? ":" : "", md.at(i));
  ERR_clear_error();  // X509_check_ca and friends may leave notes we do not report
  return info;
}

CertResult<std::vector<X509Ptr>> parse_certificates(std::string_view data, std::string_view source) {
  ERR_clear_error();
  std::vector<X509Ptr> certs;
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) return openssl_failure("allocating a buffer");
  if (data.find("-----BEGIN ") != std::string_view::npos) {
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) certs.push_back(std::move(cert));
    // The loop ends on "no more PEM blocks", which OpenSSL queues as an error.
    const unsigned long last = ERR_peek_last_error();
    if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) ERR_clear_error();
    if (certs.empty() || ERR_peek_error() != 0)
      return certs.empty() && ERR_peek_error() == 0
                 ? invalid_input(fmt::format("{}: no CERTIFICATE block in this PEM file", source))
                 : openssl_failure(fmt::format("{}: reading the PEM certificates", source));
    return certs;
  }
  X509Ptr cert(d2i_X509_bio(bio.get(), nullptr));
  if (!cert) return openssl_failure(fmt::format("{}: neither PEM nor a DER certificate", source));
  certs.push_back(std::move(cert));
  return certs;
}

CertResult<std::vector<X509Ptr>> read_certificates(const std::filesystem::path& file) {
  auto data = read_file(file);
  if (!data) return data.error();
  return parse_certificates(data.value(), file.string());
}

std::optional<std::string> first_spiffe_uri(const CertInfo& info) {
  for (const auto& uri : info.uri_sans)
    if (uri.starts_with("spiffe://")) return uri;
  return std::nullopt;
}

}  // namespace aegis::tls
