// Building the TEST chains with OpenSSL: names, validity and the standard
// extensions through tls/x509_build.h; AMD's and Intel's private extensions
// DER-encoded by OpenSSL's ASN.1 encoders (never by hand); the RSA-PSS
// signatures AMD's chain uses through an EVP signing context.
#include "attest/simulated_certs.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <string_view>
#include <utility>
#include <vector>

#include "tls/certs_keys.h"
#include "tls/x509_build.h"

namespace aegis::attest {

namespace {

using Bytes = std::vector<std::uint8_t>;
using Asn1TypePtr = tls::OsslPtr<ASN1_TYPE, ASN1_TYPE_free>;
using Ia5StringPtr = tls::OsslPtr<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using Asn1StringPtr = tls::OsslPtr<ASN1_STRING, ASN1_STRING_free>;

struct SequenceAnyFree {
  void operator()(ASN1_SEQUENCE_ANY* s) const noexcept { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
};
using SequenceAnyPtr = std::unique_ptr<ASN1_SEQUENCE_ANY, SequenceAnyFree>;

constexpr int kRsaBits = 2048;  // AMD's are 4096; 2048 keeps test generation quick
constexpr int kPssSaltBytes = 48;
constexpr std::string_view kAmdOid = "1.3.6.1.4.1.3704.1";
constexpr std::string_view kSgxExtOid = "1.2.840.113741.1.13.1";

template <typename T>
tls::CertResult<Bytes> to_der(const T* obj, int (*i2d)(const T*, unsigned char**), std::string_view what) {
  unsigned char* raw = nullptr;
  const int n = obj != nullptr ? i2d(obj, &raw) : -1;
  const tls::OpensslBytesPtr<unsigned char> owned(raw);
  if (n <= 0 || raw == nullptr) return tls::openssl_failure("DER-encoding " + std::string(what));
  const std::span<const unsigned char> der(raw, static_cast<std::size_t>(n));
  return Bytes(der.begin(), der.end());
}

tls::CertResult<Bytes> integer_der(long value) {
  const tls::Asn1IntegerPtr v(ASN1_INTEGER_new());
  if (!v || ASN1_INTEGER_set(v.get(), value) != 1) return tls::openssl_failure("building an INTEGER");
  return to_der<ASN1_INTEGER>(v.get(), i2d_ASN1_INTEGER, "an INTEGER");
}

// A SEQUENCE of mixed items, encoded by OpenSSL (i2d_ASN1_SEQUENCE_ANY).
class DerSequence {
 public:
  DerSequence& object(std::string_view dotted) {
    push(V_ASN1_OBJECT, tls::Asn1ObjectPtr(OBJ_txt2obj(std::string(dotted).c_str(), 1)));
    return *this;
  }
  DerSequence& integer(long value) {
    tls::Asn1IntegerPtr v(ASN1_INTEGER_new());
    if (v && ASN1_INTEGER_set(v.get(), value) != 1) v.reset();
    push(V_ASN1_INTEGER, std::move(v));
    return *this;
  }
  DerSequence& octets(std::span<const std::uint8_t> bytes) {
    tls::Asn1OctetStringPtr v(ASN1_OCTET_STRING_new());
    if (v && ASN1_OCTET_STRING_set(v.get(), bytes.data(), static_cast<int>(bytes.size())) != 1) v.reset();
    push(V_ASN1_OCTET_STRING, std::move(v));
    return *this;
  }
  DerSequence& sequence(const DerSequence& inner) {
    const auto der = inner.der();
    // A V_ASN1_SEQUENCE item holds the nested SEQUENCE's whole encoding.
    Asn1StringPtr v(der ? ASN1_STRING_type_new(V_ASN1_SEQUENCE) : nullptr);
    if (v && ASN1_STRING_set(v.get(), der->data(), static_cast<int>(der->size())) != 1) v.reset();
    push(V_ASN1_SEQUENCE, std::move(v));
    return *this;
  }
  tls::CertResult<Bytes> der() const {
    if (!ok_ || !items_) return tls::openssl_failure("building an ASN.1 SEQUENCE");
    return to_der<ASN1_SEQUENCE_ANY>(items_.get(), i2d_ASN1_SEQUENCE_ANY, "a SEQUENCE");
  }

 private:
  template <typename Ptr>
  void push(int type, Ptr value) {
    Asn1TypePtr item(ASN1_TYPE_new());
    if (!value || !item || !items_) {
      ok_ = false;  // `value` is freed by its handle
      return;
    }
    ASN1_TYPE_set(item.get(), type, value.release());
    if (sk_ASN1_TYPE_push(items_.get(), item.get()) <= 0) {
      ok_ = false;
      return;
    }
    static_cast<void>(item.release());  // owned by items_ now
  }

  SequenceAnyPtr items_{sk_ASN1_TYPE_new_null()};
  bool ok_ = true;
};

// A non-critical extension whose extnValue holds exactly `value`.
tls::CertResult<void> add_raw_extension(X509* cert, std::string_view oid, std::span<const std::uint8_t> value) {
  const tls::Asn1ObjectPtr obj(OBJ_txt2obj(std::string(oid).c_str(), 1));
  const tls::Asn1OctetStringPtr data(ASN1_OCTET_STRING_new());
  if (!obj || !data || ASN1_OCTET_STRING_set(data.get(), value.data(), static_cast<int>(value.size())) != 1)
    return tls::openssl_failure("building extension " + std::string(oid));
  const tls::X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, data.get()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return tls::openssl_failure("adding extension " + std::string(oid));
  return {};
}

tls::CertResult<void> sign_pss_sha384(X509* cert, EVP_PKEY* key) {
  const tls::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPssSaltBytes) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 || X509_sign_ctx(cert, ctx.get()) <= 0)
    return tls::openssl_failure("signing a test certificate with RSASSA-PSS/SHA-384");
  return {};
}

tls::CertResult<tls::X509Ptr> new_cert(const std::string& org, const std::string& cn, EVP_PKEY* key, int days) {
  const std::pair<std::string, std::string> entries[] = {
      {"OU", "TEST (simulated attestation)"}, {"O", org}, {"CN", cn}};
  auto name = tls::make_name(entries);
  if (!name) return name.error();
  return tls::new_certificate(name->get(), key, days);
}

constexpr tls::ExtensionSpec kCaExtensions[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                                {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                                {NID_subject_key_identifier, "hash"}};

constexpr std::string_view kAmdOrg = "Aegis-Flow TEST, not Advanced Micro Devices";
constexpr std::string_view kIntelOrg = "Aegis-Flow TEST, not Intel Corporation";

// A CA certificate for `key`, issued by `issuer` (self-signed when null).
tls::CertResult<tls::X509Ptr> ca_cert(std::string_view org, const std::string& cn, EVP_PKEY* key, const TestCa* issuer,
                                      int days) {
  auto cert = new_cert(std::string(org), cn, key, days);
  if (!cert) return cert.error();
  X509* signer = issuer != nullptr ? issuer->cert.get() : cert->get();
  if (auto r = tls::set_issuer(cert->get(), signer); !r) return r.error();
  if (auto r = tls::add_extensions(cert->get(), signer, kCaExtensions); !r) return r.error();
  if (issuer != nullptr)
    if (auto r = tls::add_extension(cert->get(), signer, NID_authority_key_identifier, "keyid:always"); !r)
      return r.error();
  return std::move(cert.value());
}

tls::CertResult<TestCa> amd_ca(const std::string& cn, const TestCa* issuer, int days) {
  TestCa ca;
  ca.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(kRsaBits)));
  if (!ca.key) return tls::openssl_failure("generating a test RSA key");
  auto cert = ca_cert(kAmdOrg, cn, ca.key.get(), issuer, days);
  if (!cert) return cert.error();
  ca.cert = std::move(cert.value());
  if (auto r = sign_pss_sha384(ca.cert.get(), issuer != nullptr ? issuer->key.get() : ca.key.get()); !r)
    return r.error();
  return ca;
}

tls::CertResult<TestCa> intel_ca(const std::string& cn, const TestCa* issuer, int days) {
  TestCa ca;
  auto key = tls::generate_key(tls::KeyType::ecdsa_p256);
  if (!key) return key.error();
  ca.key = std::move(key.value());
  auto cert = ca_cert(kIntelOrg, cn, ca.key.get(), issuer, days);
  if (!cert) return cert.error();
  ca.cert = std::move(cert.value());
  if (auto r = tls::sign_certificate(ca.cert.get(), issuer != nullptr ? issuer->key.get() : ca.key.get()); !r)
    return r.error();
  return ca;
}

// {TCB {{.2.1, comp01} .. {.2.16, comp16}, {.2.17, pcesvn}, {.2.18, cpusvn}},
//  {.3, PCE-ID}, {.4, FMSPC}}, as tdx_pck.cpp reads it.
tls::CertResult<Bytes> sgx_extension(const TestPckPlatform& p) {
  const std::string base(kSgxExtOid);
  DerSequence tcb;
  for (std::size_t i = 0; i < p.sgx_components.size(); ++i)
    tcb.sequence(DerSequence().object(base + ".2." + std::to_string(i + 1)).integer(p.sgx_components.at(i)));
  tcb.sequence(DerSequence().object(base + ".2.17").integer(static_cast<long>(p.pcesvn)));
  tcb.sequence(DerSequence().object(base + ".2.18").octets(p.sgx_components));
  DerSequence ext;
  ext.sequence(DerSequence().object(base + ".2").sequence(tcb));
  ext.sequence(DerSequence().object(base + ".3").octets(p.pce_id));
  ext.sequence(DerSequence().object(base + ".4").octets(p.fmspc));
  return ext.der();
}

// AMD's VCEK extensions in the KDS's order (the Milan vector's vcek.der):
// structVersion, productName, blSPL, teeSPL, SPL_4..SPL_7, snpSPL, ucodeSPL,
// then hwID with the 64 chip-id bytes as extnValue itself.
tls::CertResult<void> add_vcek_extensions(X509* cert, const SimulatedSnpTcb& tcb, const ChipId& chip_id) {
  const std::string amd(kAmdOid);
  const std::pair<std::string, long> spls[] = {{amd + ".3.1", tcb.bootloader},
                                               {amd + ".3.2", tcb.tee},
                                               {amd + ".3.4", 0},
                                               {amd + ".3.5", 0},
                                               {amd + ".3.6", 0},
                                               {amd + ".3.7", 0},
                                               {amd + ".3.3", tcb.snp},
                                               {amd + ".3.8", tcb.microcode}};
  auto struct_version = integer_der(0);
  if (!struct_version) return struct_version.error();
  if (auto r = add_raw_extension(cert, amd + ".1", struct_version.value()); !r) return r;
  const Ia5StringPtr product(ASN1_IA5STRING_new());
  constexpr std::string_view kProduct = "Milan-B0";
  if (!product || ASN1_STRING_set(product.get(), kProduct.data(), static_cast<int>(kProduct.size())) != 1)
    return tls::openssl_failure("building productName");
  auto product_der = to_der<ASN1_IA5STRING>(product.get(), i2d_ASN1_IA5STRING, "productName");
  if (!product_der) return product_der.error();
  if (auto r = add_raw_extension(cert, amd + ".2", product_der.value()); !r) return r;
  for (const auto& [oid, value] : spls) {
    auto der = integer_der(value);
    if (!der) return der.error();
    if (auto r = add_raw_extension(cert, oid, der.value()); !r) return r;
  }
  return add_raw_extension(cert, amd + ".4", chip_id);
}

}  // namespace

std::uint64_t SimulatedSnpTcb::raw() const {
  return static_cast<std::uint64_t>(bootloader) | (static_cast<std::uint64_t>(tee) << 8) |
         (static_cast<std::uint64_t>(snp) << 48) | (static_cast<std::uint64_t>(microcode) << 56);
}

tls::CertResult<TestCa> make_test_ark(int days) { return amd_ca("TEST ARK-Milan", nullptr, days); }

tls::CertResult<TestCa> make_test_ask(const TestCa& ark, int days) { return amd_ca("TEST SEV-Milan", &ark, days); }

tls::CertResult<tls::PkeyPtr> make_test_vcek_key() {
  tls::PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  if (!key) return tls::openssl_failure("generating the test VCEK's P-384 key");
  return key;
}

tls::CertResult<tls::X509Ptr> issue_test_vcek(const TestCa& ask, EVP_PKEY* vcek_key, const SimulatedSnpTcb& tcb,
                                              const ChipId& chip_id, int days) {
  // CN "SEV-VCEK" as AMD's (the verifier tells VCEK from VLEK by it).
  auto cert = new_cert(std::string(kAmdOrg), "SEV-VCEK", vcek_key, days);
  if (!cert) return cert.error();
  if (auto r = tls::set_issuer(cert->get(), ask.cert.get()); !r) return r.error();
  if (auto r = add_vcek_extensions(cert->get(), tcb, chip_id); !r) return r.error();
  if (auto r = sign_pss_sha384(cert->get(), ask.key.get()); !r) return r.error();
  return std::move(cert.value());
}

tls::CertResult<TestCa> make_test_sgx_root(int days) { return intel_ca("Aegis-Flow TEST SGX Root CA", nullptr, days); }

tls::CertResult<TestCa> make_test_pck_platform_ca(const TestCa& root, int days) {
  return intel_ca("Aegis-Flow TEST SGX PCK Platform CA", &root, days);
}

tls::CertResult<TestCa> make_test_pck(const TestCa& platform_ca, const TestPckPlatform& platform, int days) {
  TestCa pck;
  auto key = tls::generate_key(tls::KeyType::ecdsa_p256);
  if (!key) return key.error();
  pck.key = std::move(key.value());
  auto cert = new_cert(std::string(kIntelOrg), "Aegis-Flow TEST SGX PCK Certificate", pck.key.get(), days);
  if (!cert) return cert.error();
  pck.cert = std::move(cert.value());
  X509* signer = platform_ca.cert.get();
  constexpr tls::ExtensionSpec kLeaf[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                                          {NID_key_usage, "critical,digitalSignature,nonRepudiation"},
                                          {NID_subject_key_identifier, "hash"},
                                          {NID_authority_key_identifier, "keyid:always"}};
  if (auto r = tls::set_issuer(pck.cert.get(), signer); !r) return r.error();
  if (auto r = tls::add_extensions(pck.cert.get(), signer, kLeaf); !r) return r.error();
  auto sgx = sgx_extension(platform);
  if (!sgx) return sgx.error();
  if (auto r = add_raw_extension(pck.cert.get(), kSgxExtOid, sgx.value()); !r) return r.error();
  if (auto r = tls::sign_certificate(pck.cert.get(), platform_ca.key.get()); !r) return r.error();
  return pck;
}

}  // namespace aegis::attest
