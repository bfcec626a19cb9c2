#include "tls/x509_build.h"

#include <openssl/pem.h>

#include <fmt/core.h>

#include "tls/certs_keys.h"

namespace aegis::tls {

namespace {

constexpr int kSerialBits = 128;

CertResult<void> set_random_serial(X509* cert) {
  BignumPtr bn(BN_new());
  // Top bit set: always exactly 128 bits, and positive as DER requires.
  if (!bn || BN_rand(bn.get(), kSerialBits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1)
    return openssl_failure("drawing a random serial number");
  Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1)
    return openssl_failure("setting the serial number");
  return {};
}

CertResult<GeneralNamePtr> ia5_general_name(int type, const std::string& value) {
  GeneralNamePtr name(GENERAL_NAME_new());
  OsslPtr<ASN1_IA5STRING, ASN1_IA5STRING_free> ia5(ASN1_IA5STRING_new());
  if (!name || !ia5 || ASN1_STRING_set(ia5.get(), value.data(), static_cast<int>(value.size())) != 1)
    return openssl_failure(fmt::format("encoding the SAN '{}'", value));
  GENERAL_NAME_set0_value(name.get(), type, ia5.release());
  return name;
}

}  // namespace

CertResult<X509NamePtr> make_name(std::span<const std::pair<std::string, std::string>> entries) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return openssl_failure("allocating a name");
  for (const auto& [field, value] : entries) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(value.data());
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8, bytes,
                                   static_cast<int>(value.size()), -1, 0) != 1)
      return openssl_failure(fmt::format("setting the name field {}={}", field, value));
  }
  return name;
}

CertResult<X509Ptr> new_certificate(const X509_NAME* subject, EVP_PKEY* public_key, int days) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return openssl_failure("allocating a certificate");
  if (auto r = set_random_serial(cert.get()); !r) return r.error();
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr))
    return openssl_failure("setting the validity period");
  if (X509_set_subject_name(cert.get(), subject) != 1 || X509_set_issuer_name(cert.get(), subject) != 1)
    return openssl_failure("setting the subject name");
  if (X509_set_pubkey(cert.get(), public_key) != 1) return openssl_failure("setting the public key");
  return cert;
}

CertResult<void> set_issuer(X509* cert, const X509* issuer) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1)
    return openssl_failure("setting the issuer name");
  return {};
}

CertResult<void> add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return openssl_failure(fmt::format("adding the {} extension ({})", OBJ_nid2sn(nid), value));
  return {};
}

CertResult<void> add_extensions(X509* cert, X509* issuer, std::span<const ExtensionSpec> specs) {
  for (const auto& spec : specs)
    if (auto r = add_extension(cert, issuer, spec.nid, spec.value); !r) return r;
  return {};
}

CertResult<void> add_subject_alt_names(X509* cert, std::span<const std::string> uris,
                                       std::span<const std::string> dns_names) {
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) return openssl_failure("allocating the subjectAltName");
  const auto push = [&](int type, const std::string& value) -> CertResult<void> {
    auto name = ia5_general_name(type, value);
    if (!name) return name.error();
    if (sk_GENERAL_NAME_push(names.get(), name->get()) <= 0)
      return openssl_failure("building the subjectAltName");
    static_cast<void>(name->release());  // now owned by `names`
    return {};
  };
  for (const auto& uri : uris)
    if (auto r = push(GEN_URI, uri); !r) return r;
  for (const auto& dns : dns_names)
    if (auto r = push(GEN_DNS, dns); !r) return r;
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return openssl_failure("adding the subjectAltName extension");
  return {};
}

CertResult<void> sign_certificate(X509* cert, EVP_PKEY* issuer_key) {
  if (X509_sign(cert, issuer_key, signing_digest(issuer_key)) <= 0)
    return openssl_failure(fmt::format("signing the certificate with the {} key", describe_key(issuer_key)));
  return {};
}

CertResult<std::string> certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return openssl_failure("encoding the certificate as PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace aegis::tls
