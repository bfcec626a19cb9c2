// The TDX verifier's PKI building blocks on a test PKI made here with
// OpenSSL (root → intermediate → leaf, ECDSA P-256, CRLs): the revocation,
// CRL-validity and CRL-signature paths no real (unrevoked) vector reaches,
// chain order, root pinning and the raw r||s ECDSA check.
#include "attest/tdx_pki.h"

#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <string>
#include <vector>

#include "attest/tdx_ossl.h"
#include "attest/tdx_pck.h"
#include "tls/certs_keys.h"
#include "tls/x509_build.h"

namespace aegis::attest {
namespace {

struct Node {
  tls::PkeyPtr key;
  tls::X509Ptr cert;
};

Node make_node(const std::string& cn, const Node* issuer, bool ca) {
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
  EXPECT_TRUE(tls::sign_certificate(n.cert.get(), issuer ? issuer->key.get() : n.key.get()).ok());
  return n;
}

// A CRL by `issuer`, valid from `from` to `until`, revoking `revoked`.
X509CrlPtr make_crl(const Node& issuer, std::time_t from, std::time_t until,
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
    if (X509_CRL_add0_revoked(crl.get(), entry.get()) == 1) (void)entry.release();  // CRL owns it
  }
  X509_CRL_sort(crl.get());
  X509_CRL_sign(crl.get(), signing_key ? signing_key : issuer.key.get(), EVP_sha256());
  return crl;
}

class TdxPki : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_node("Test Root CA", nullptr, true);
    inter_ = make_node("Test PCK Platform CA", &root_, true);
    leaf_ = make_node("Test PCK Certificate", &inter_, false);
  }
  CertChain chain(std::initializer_list<const Node*> nodes) {
    CertChain out;
    for (const Node* n : nodes) {
      X509_up_ref(n->cert.get());
      out.emplace_back(n->cert.get());
    }
    return out;
  }
  std::time_t now_ = std::time(nullptr);
  Node root_, inter_, leaf_;
};

TEST_F(TdxPki, ChainVerifiesAtATimeWithCrls) {
  const auto c = chain({&leaf_, &inter_, &root_});
  EXPECT_FALSE(check_chain_order(c, "test"));
  EXPECT_FALSE(verify_chain_at(c, now_, {}, "test"))
      << verify_chain_at(c, now_, {}, "test")->text();
  auto inter_crl = make_crl(inter_, now_ - 3600, now_ + 3600);
  auto root_crl = make_crl(root_, now_ - 3600, now_ + 3600);
  const auto ok = verify_chain_at(c, now_, {inter_crl.get(), root_crl.get()}, "test");
  EXPECT_FALSE(ok) << ok->text();
  const auto late = verify_chain_at(c, now_ + 40 * 86400, {}, "test");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->code, "bad_certificate");
}

TEST_F(TdxPki, RevokedLeafIsRefused) {
  const auto c = chain({&leaf_, &inter_, &root_});
  auto inter_crl = make_crl(inter_, now_ - 3600, now_ + 3600, leaf_.cert.get());
  auto root_crl = make_crl(root_, now_ - 3600, now_ + 3600);
  const auto f = verify_chain_at(c, now_, {inter_crl.get(), root_crl.get()}, "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "bad_certificate");
  EXPECT_NE(f->detail.find("revoked"), std::string::npos) << f->detail;
}

TEST_F(TdxPki, CrlProblemsAreCollateralFailures) {
  const auto c = chain({&leaf_, &inter_, &root_});
  auto root_crl = make_crl(root_, now_ - 3600, now_ + 3600);
  auto expired = make_crl(inter_, now_ - 7200, now_ - 3600);
  auto f = verify_chain_at(c, now_, {expired.get(), root_crl.get()}, "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "collateral_expired") << f->text();
  auto forged = make_crl(inter_, now_ - 3600, now_ + 3600, nullptr, leaf_.key.get());
  f = verify_chain_at(c, now_, {forged.get(), root_crl.get()}, "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "collateral_signature") << f->text();
  f = verify_chain_at(c, now_, {root_crl.get()}, "test");  // no CRL for the leaf's issuer
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "collateral_invalid") << f->text();
}

TEST_F(TdxPki, ChainOrderAndPinnedRoot) {
  auto f = check_chain_order(chain({&inter_, &leaf_, &root_}), "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "chain_order");
  f = check_chain_order(chain({&root_, &inter_, &leaf_}), "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "chain_order");
  const Node stranger = make_node("Other Root", nullptr, true);
  f = check_chain_order(chain({&leaf_, &stranger}), "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "bad_certificate");

  const auto c = chain({&leaf_, &inter_, &root_});
  const std::string fp = cert_sha256_hex(root_.cert.get());
  EXPECT_EQ(fp.size(), 64u);
  EXPECT_FALSE(check_pinned_root(c, {fp}, "test"));
  f = check_pinned_root(c, {cert_sha256_hex(stranger.cert.get())}, "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "untrusted_root");
  // A chain that ends in a look-alike root signs nothing the pin accepts.
  const Node fake_root = make_node("Test Root CA", nullptr, true);
  f = check_pinned_root(chain({&leaf_, &inter_, &fake_root}), {fp}, "test");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->code, "untrusted_root");
}

// r || s of an ECDSA P-256/SHA-256 signature by `key`.
std::array<std::uint8_t, 64> sign_raw(EVP_PKEY* key, std::span<const std::uint8_t> msg) {
  MdCtxPtr md(EVP_MD_CTX_new());
  EXPECT_EQ(EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key), 1);
  std::vector<unsigned char> der(128);
  std::size_t len = der.size();
  EXPECT_EQ(EVP_DigestSign(md.get(), der.data(), &len, msg.data(), msg.size()), 1);
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::array<std::uint8_t, 64> out{};
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out.data(), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out.data() + 32, 32);
  return out;
}

TEST_F(TdxPki, RawEcdsaSignatures) {
  const std::vector<std::uint8_t> msg = {'q', 'u', 'o', 't', 'e'};
  auto sig = sign_raw(leaf_.key.get(), msg);
  EXPECT_TRUE(ecdsa_p256_verify(leaf_.key.get(), msg, sig));
  EXPECT_FALSE(ecdsa_p256_verify(inter_.key.get(), msg, sig));
  auto other = msg;
  other[0] ^= 1;
  EXPECT_FALSE(ecdsa_p256_verify(leaf_.key.get(), other, sig));
  sig[63] ^= 1;
  EXPECT_FALSE(ecdsa_p256_verify(leaf_.key.get(), msg, sig));
  // The same key as raw x || y.
  std::array<std::uint8_t, 65> point{};
  std::size_t len = 0;
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(leaf_.key.get(), "encoded-pub-key", point.data(),
                                            point.size(), &len),
            1);
  ASSERT_EQ(len, 65u);
  auto raw = p256_key_from_xy(std::span<const std::uint8_t, 64>(point.data() + 1, 64));
  ASSERT_TRUE(raw);
  sig[63] ^= 1;
  EXPECT_TRUE(ecdsa_p256_verify(raw.get(), msg, sig));
  std::array<std::uint8_t, 64> off_curve{};
  off_curve[63] = 1;
  EXPECT_FALSE(p256_key_from_xy(off_curve));
}

TEST_F(TdxPki, CertificateWithoutSgxExtension) {
  auto pck = parse_pck_extension(leaf_.cert.get());
  ASSERT_FALSE(pck.ok());
  EXPECT_EQ(pck.error().code, "bad_certificate");
}

}  // namespace
}  // namespace aegis::attest
