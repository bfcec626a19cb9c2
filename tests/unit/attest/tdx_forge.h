// A test-only Intel-style PKI and the TDX evidence it signs: root, PCK
// platform CA, PCK leaf with an SGX extension, TCB signing certificate;
// v4 quotes and collateral (TCB Info, QE Identity, CRLs) built from knobs,
// so the TCB rules can be tested beyond the two real vectors' outcomes.
#pragma once

#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/tdx_collateral.h"
#include "attest/tdx_ossl.h"
#include "attest/tdx_pki.h"
#include "attest/tdx_quote.h"
#include "core/hex.h"
#include "tls/certs_keys.h"
#include "tls/x509_build.h"

namespace aegis::attest::tdx::forge {

using Bytes = std::vector<std::uint8_t>;

inline Bytes der_len(std::size_t n) {
  if (n < 0x80) return {static_cast<std::uint8_t>(n)};
  if (n < 0x100) return {0x81, static_cast<std::uint8_t>(n)};
  return {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
}
inline Bytes der(std::uint8_t tag, const Bytes& body) {
  Bytes out{tag};
  const Bytes len = der_len(body.size());
  out.insert(out.end(), len.begin(), len.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline Bytes oid(const std::string& dotted) {
  tls::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> o(OBJ_txt2obj(dotted.c_str(), 1));
  unsigned char* buf = nullptr;
  const int n = i2d_ASN1_OBJECT(o.get(), &buf);
  tls::OpensslBytesPtr<unsigned char> owned(buf);
  return Bytes(buf, buf + n);
}
inline Bytes pair(const std::string& id, const Bytes& value) {
  return der(0x30, cat({oid(id), value}));
}
inline Bytes integer(unsigned v) {  // small non-negative INTEGER
  return v < 0x80 ? der(0x02, {static_cast<std::uint8_t>(v)})
                  : der(0x02, {0x00, static_cast<std::uint8_t>(v)});
}

struct Platform {
  std::array<std::uint8_t, 16> sgx_components{};
  unsigned pcesvn = 0;
  std::array<std::uint8_t, 6> fmspc = {0x00, 0x90, 0x6e, 0xa1, 0x00, 0x00};
};

// The SGX extension's value: {TCB {comp01..16, pcesvn, cpusvn}, PCE-ID, FMSPC}.
inline Bytes sgx_extension(const Platform& p) {
  const std::string base = "1.2.840.113741.1.13.1";
  Bytes tcb;
  for (unsigned i = 0; i < 16; ++i) {
    tcb = cat({tcb, pair(base + ".2." + std::to_string(i + 1), integer(p.sgx_components[i]))});
  }
  tcb = cat(
      {tcb, pair(base + ".2.17", integer(p.pcesvn)),
       pair(base + ".2.18", der(0x04, Bytes(p.sgx_components.begin(), p.sgx_components.end())))});
  return der(0x30, cat({pair(base + ".2", der(0x30, tcb)), pair(base + ".3", der(0x04, {0, 0})),
                        pair(base + ".4", der(0x04, Bytes(p.fmspc.begin(), p.fmspc.end())))}));
}

struct Node {
  tls::PkeyPtr key;
  tls::X509Ptr cert;
  std::string pem() const { return tls::certificate_pem(cert.get()).value(); }
};

inline Node make_node(const std::string& cn, const Node* issuer, bool ca, const Bytes& sgx = {}) {
  Node n;
  n.key = std::move(tls::generate_key(tls::KeyType::ecdsa_p256).value());
  const std::pair<std::string, std::string> entries[] = {{"O", "aegis test"}, {"CN", cn}};
  auto name = tls::make_name(entries);
  n.cert = std::move(tls::new_certificate(name->get(), n.key.get(), 30).value());
  X509* signer = issuer ? issuer->cert.get() : n.cert.get();
  EXPECT_TRUE(tls::set_issuer(n.cert.get(), signer).ok());
  const tls::ExtensionSpec ca_ext[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                       {NID_subject_key_identifier, "hash"},
                                       {NID_authority_key_identifier, "keyid:always"}};
  const tls::ExtensionSpec leaf_ext[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                                         {NID_key_usage, "critical,digitalSignature"},
                                         {NID_subject_key_identifier, "hash"},
                                         {NID_authority_key_identifier, "keyid:always"}};
  EXPECT_TRUE(
      tls::add_extensions(n.cert.get(), signer, ca ? std::span(ca_ext) : std::span(leaf_ext)).ok());
  if (!sgx.empty()) {
    tls::OsslPtr<ASN1_OBJECT, ASN1_OBJECT_free> o(OBJ_txt2obj("1.2.840.113741.1.13.1", 1));
    tls::OsslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), sgx.data(), static_cast<int>(sgx.size()));
    tls::X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, o.get(), 0, value.get()));
    EXPECT_EQ(X509_add_ext(n.cert.get(), ext.get(), -1), 1);
  }
  EXPECT_TRUE(tls::sign_certificate(n.cert.get(), issuer ? issuer->key.get() : n.key.get()).ok());
  return n;
}

inline std::array<std::uint8_t, 64> sign_raw(EVP_PKEY* key, std::span<const std::uint8_t> msg) {
  MdCtxPtr md(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  std::vector<unsigned char> sig(128);
  std::size_t len = sig.size();
  EXPECT_EQ(EVP_DigestSign(md.get(), sig.data(), &len, msg.data(), msg.size()), 1);
  const unsigned char* p = sig.data();
  EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::array<std::uint8_t, 64> out{};
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out.data() + 32, 32);
  return out;
}

// A CRL by `issuer` (signed by `signing_key` if given, to forge one), valid
// from `from` to `until`, revoking `revoked` if given.
inline X509CrlPtr make_crl(const Node& issuer, std::time_t from, std::time_t until,
                           X509* revoked = nullptr, EVP_PKEY* signing_key = nullptr) {
  X509CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get()));
  tls::Asn1TimePtr t1(ASN1_TIME_set(nullptr, from));
  tls::Asn1TimePtr t2(ASN1_TIME_set(nullptr, until));
  X509_CRL_set1_lastUpdate(crl.get(), t1.get());
  X509_CRL_set1_nextUpdate(crl.get(), t2.get());
  if (revoked != nullptr) {
    tls::OsslPtr<X509_REVOKED, X509_REVOKED_free> entry(X509_REVOKED_new());
    X509_REVOKED_set_serialNumber(entry.get(), X509_get_serialNumber(revoked));
    X509_REVOKED_set_revocationDate(entry.get(), t1.get());
    if (X509_CRL_add0_revoked(crl.get(), entry.get()) == 1) (void)entry.release();
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), signing_key ? signing_key : issuer.key.get(), EVP_sha256());
  return crl;
}

inline Bytes crl_der(const Node& issuer, std::time_t from, std::time_t until, X509* revoked) {
  const auto crl = make_crl(issuer, from, until, revoked);
  unsigned char* buf = nullptr;
  const int n = i2d_X509_CRL(crl.get(), &buf);
  tls::OpensslBytesPtr<unsigned char> owned(buf);
  return Bytes(buf, buf + n);
}

inline void put(Bytes& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// What goes into a forged quote.
struct QuoteKnobs {
  std::array<std::uint8_t, 16> tee_tcb_svn = {5, 0, 2};
  std::uint16_t qe_isvsvn = 8;
  std::array<std::uint8_t, 32> qe_mrsigner{};
  std::uint16_t qe_isvprodid = 2;
  std::uint8_t mrtd_fill = 0x42;
};

inline Bytes raw_point(EVP_PKEY* key) {
  std::array<std::uint8_t, 65> point{};
  std::size_t len = 0;
  EXPECT_EQ(
      EVP_PKEY_get_octet_string_param(key, "encoded-pub-key", point.data(), point.size(), &len), 1);
  return Bytes(point.begin() + 1, point.end());
}

// Root → PCK platform CA → PCK leaf (with `platform` in its SGX extension),
// and root → TCB signing; everything valid for 30 days from now.
struct TestPki {
  explicit TestPki(const Platform& p = {})
      : platform(p),
        root(make_node("Test SGX Root CA", nullptr, true)),
        platform_ca(make_node("Test SGX PCK Platform CA", &root, true)),
        pck(make_node("Test SGX PCK Certificate", &platform_ca, false, sgx_extension(p))),
        tcb_signer(make_node("Test SGX TCB Signing", &root, false)),
        attestation_key(std::move(tls::generate_key(tls::KeyType::ecdsa_p256).value())) {}

  Bytes quote(const QuoteKnobs& k) const {
    Bytes q;
    put(q, 4, 2);
    put(q, 2, 2);
    put(q, 0x81, 4);
    put(q, 0, 4);
    q.resize(48, 0);
    q.insert(q.end(), k.tee_tcb_svn.begin(), k.tee_tcb_svn.end());
    q.resize(48 + 16 + 48 + 48 + 8 + 8 + 8, 0);  // mrseam .. xfam
    q.resize(q.size() + 48, k.mrtd_fill);
    q.resize(48 + kTdxBody10Size, 0);
    const auto sig = sign_raw(attestation_key.get(), q);
    const Bytes ak = raw_point(attestation_key.get());
    Bytes auth(32);
    for (std::size_t i = 0; i < auth.size(); ++i) auth[i] = static_cast<std::uint8_t>(i);
    Bytes report(kSgxReportSize, 0);
    report[48] = 0x11;  // attributes: INIT | PROVISIONKEY
    std::copy(k.qe_mrsigner.begin(), k.qe_mrsigner.end(), report.begin() + 128);
    report[256] = static_cast<std::uint8_t>(k.qe_isvprodid);
    report[258] = static_cast<std::uint8_t>(k.qe_isvsvn);
    const Bytes32 binding = sha256(ak, auth);
    std::copy(binding.begin(), binding.end(), report.begin() + 320);
    const auto qe_sig = sign_raw(pck.key.get(), report);
    const std::string pem = pck.pem() + platform_ca.pem() + root.pem();
    Bytes cert6 = cat({report, Bytes(qe_sig.begin(), qe_sig.end())});
    put(cert6, auth.size(), 2);
    cert6 = cat({cert6, auth});
    put(cert6, 5, 2);
    put(cert6, pem.size() + 1, 4);
    cert6.insert(cert6.end(), pem.begin(), pem.end());
    cert6.push_back(0);
    Bytes sigdata = cat({Bytes(sig.begin(), sig.end()), ak});
    put(sigdata, 6, 2);
    put(sigdata, cert6.size(), 4);
    sigdata = cat({sigdata, cert6});
    put(q, sigdata.size(), 4);
    return cat({q, sigdata});
  }

  std::string root_fingerprint() const { return cert_sha256_hex(root.cert.get()); }

  Platform platform;
  Node root, platform_ca, pck, tcb_signer;
  tls::PkeyPtr attestation_key;
};

using Json = nlohmann::json;

inline Json level(std::array<std::uint8_t, 16> sgx, unsigned pcesvn,
                  std::array<std::uint8_t, 16> tdx, const std::string& status) {
  Json s = Json::array(), t = Json::array();
  for (auto v : sgx) s.push_back({{"svn", v}});
  for (auto v : tdx) t.push_back({{"svn", v}});
  return {{"tcb", {{"sgxtcbcomponents", s}, {"pcesvn", pcesvn}, {"tdxtcbcomponents", t}}},
          {"tcbDate", "2024-03-13T00:00:00Z"},
          {"tcbStatus", status}};
}

struct CollateralKnobs {
  Json tcb_levels = Json::array();
  Json module_identities = Json::array();
  Json qe_levels = Json::array({{{"tcb", {{"isvsvn", 8}}}, {"tcbStatus", "UpToDate"}}});
  std::array<std::uint8_t, 32> qe_mrsigner{};
  bool revoke_pck = false;
  bool tcb_chain_reversed = false;
};

inline std::string hex_upper(std::span<const std::uint8_t> b) {
  std::string h = core::to_hex(b);
  for (auto& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

inline std::string collateral(const TestPki& pki, const CollateralKnobs& k, std::time_t now) {
  const std::string from = format_utc_time(now - 3600), until = format_utc_time(now + 86400);
  const Json tcb_info = {{"id", "TDX"},
                         {"version", 3},
                         {"issueDate", from},
                         {"nextUpdate", until},
                         {"fmspc", hex_upper(pki.platform.fmspc)},
                         {"pceId", "0000"},
                         {"tcbType", 0},
                         {"tcbEvaluationDataNumber", 1},
                         {"tdxModule",
                          {{"mrsigner", std::string(96, '0')},
                           {"attributes", "0000000000000000"},
                           {"attributesMask", "FFFFFFFFFFFFFFFF"}}},
                         {"tdxModuleIdentities", k.module_identities},
                         {"tcbLevels", k.tcb_levels}};
  const Json qe = {{"id", "TD_QE"},
                   {"version", 2},
                   {"issueDate", from},
                   {"nextUpdate", until},
                   {"tcbEvaluationDataNumber", 1},
                   {"miscselect", "00000000"},
                   {"miscselectMask", "FFFFFFFF"},
                   {"attributes", "11000000000000000000000000000000"},
                   {"attributesMask", "FBFFFFFFFFFFFFFF0000000000000000"},
                   {"mrsigner", hex_upper(k.qe_mrsigner)},
                   {"isvprodid", 2},
                   {"tcbLevels", k.qe_levels}};
  const std::string tcb_text = tcb_info.dump(), qe_text = qe.dump();
  auto bytes = [](const std::string& s) {
    return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  };
  const std::string tcb_chain = k.tcb_chain_reversed ? pki.root.pem() + pki.tcb_signer.pem()
                                                     : pki.tcb_signer.pem() + pki.root.pem();
  return Json{
      {"tcb_info_issuer_chain", tcb_chain},
      {"tcb_info", tcb_text},
      {"tcb_info_signature", core::to_hex(sign_raw(pki.tcb_signer.key.get(), bytes(tcb_text)))},
      {"qe_identity_issuer_chain", pki.tcb_signer.pem() + pki.root.pem()},
      {"qe_identity", qe_text},
      {"qe_identity_signature", core::to_hex(sign_raw(pki.tcb_signer.key.get(), bytes(qe_text)))},
      {"pck_crl_issuer_chain", pki.platform_ca.pem() + pki.root.pem()},
      {"root_ca_crl", core::to_hex(crl_der(pki.root, now - 3600, now + 86400, nullptr))},
      {"pck_crl", core::to_hex(crl_der(pki.platform_ca, now - 3600, now + 86400,
                                       k.revoke_pck ? pki.pck.cert.get() : nullptr))}}
      .dump();
}

}  // namespace aegis::attest::tdx::forge
