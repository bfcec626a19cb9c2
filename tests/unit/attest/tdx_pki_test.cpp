// The TDX verifier's PKI building blocks on a test PKI (tdx_forge.h, made
// with OpenSSL root → intermediate → leaf, ECDSA P-256, CRLs): the revocation,
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

#include "attest/tdx_pck.h"
#include "tdx_forge.h"

namespace aegis::attest::tdx {
namespace {

using forge::make_crl;
using forge::make_node;
using forge::Node;
using forge::sign_raw;

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
  const auto point = forge::raw_point(leaf_.key.get());
  ASSERT_EQ(point.size(), 64u);
  auto raw = p256_key_from_xy(std::span<const std::uint8_t, 64>(point.data(), 64));
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
}  // namespace aegis::attest::tdx
