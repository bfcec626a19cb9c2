// The TCB rules of verify_tdx on evidence from a test PKI (tdx_forge.h):
// level matching, status combination with the QE and TDX module identities,
// revocation, identity mismatches, collateral chain order, and the pin
// keeping test-signed evidence away from the Intel root.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <string>

#include "attest/tdx_verify.h"
#include "tdx_forge.h"

namespace aegis::attest::tdx {
namespace {

using forge::level;
using Comps = std::array<std::uint8_t, 16>;

class TdxTcb : public ::testing::Test {
 protected:
  static forge::Platform platform() {
    forge::Platform p;
    p.sgx_components = {4, 4, 2, 2, 3, 1, 0, 5};
    p.pcesvn = 11;
    return p;
  }
  void SetUp() override {
    // Highest first, as Intel publishes them.
    knobs_.tcb_levels = forge::Json::array({
        level({5, 5, 2, 2, 3, 1, 0, 5}, 11, {5, 0, 2}, "UpToDate"),
        level({4, 4, 2, 2, 3, 1, 0, 5}, 11, {5, 0, 2}, "SWHardeningNeeded"),
        level({3, 3, 2, 2, 3, 1, 0, 5}, 11, {5, 0, 2}, "ConfigurationNeeded"),
        level({2, 2, 2, 2, 3, 1, 0, 5}, 5, {3, 0, 0}, "OutOfDate"),
        level({1, 1, 0, 0, 0, 0, 0, 0}, 0, {0, 0, 0}, "Revoked"),
    });
  }
  Verdict verify(const forge::TestPki& pki, const forge::QuoteKnobs& q) {
    TdxVerifyOptions o;
    o.at = now_;
    o.test_root_fingerprints = {pki.root_fingerprint()};
    json_ = forge::collateral(pki, knobs_, now_);
    o.collateral_json = json_;
    return verify_tdx(pki.quote(q), o);
  }
  std::time_t now_ = std::time(nullptr);
  forge::CollateralKnobs knobs_;
  forge::QuoteKnobs quote_;
  std::string json_;
};

TEST_F(TdxTcb, TestEvidenceVerifiesOnlyAgainstTheTestRoot) {
  const forge::TestPki pki(platform());
  const Verdict v = verify(pki, quote_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.simulated);
  EXPECT_EQ(v.claims.measurement, std::vector<std::uint8_t>(48, 0x42));
  TdxVerifyOptions intel;
  intel.at = now_;
  const Verdict refused = verify_tdx(pki.quote(quote_), intel);
  EXPECT_EQ(refused.failure.code, "untrusted_root") << refused.failure.text();
}

TEST_F(TdxTcb, FirstLevelAtOrBelowThePlatformWins) {
  const forge::TestPki pki(platform());  // SGX 4,4,...: below UpToDate, at SWHardeningNeeded
  Verdict v = verify(pki, quote_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(v.claims.tcb_status, "SWHardeningNeeded");
  // TDX component 3 below what the upper three levels ask: down to OutOfDate.
  quote_.tee_tcb_svn = {5, 0, 1};
  v = verify(pki, quote_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(v.claims.tcb_status, "OutOfDate");
  // PCE SVN 4 is below every level but the Revoked one.
  auto low = platform();
  low.pcesvn = 4;
  const forge::TestPki revoked_pki(low);
  v = verify(revoked_pki, forge::QuoteKnobs{});
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "tcb_status");
  EXPECT_EQ(v.claims.tcb_status, "Revoked");
}

TEST_F(TdxTcb, QeBelowItsLevelsMakesTheResultOutOfDate) {
  const forge::TestPki pki(platform());
  quote_.qe_isvsvn = 7;  // QE levels start at isvsvn 8
  const Verdict v = verify(pki, quote_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(v.claims.tcb_status, "OutOfDate");
  const std::pair<std::string, std::string> qe{"qe_tcb_status", "OutOfDate"};
  EXPECT_NE(std::find(v.claims.fields.begin(), v.claims.fields.end(), qe), v.claims.fields.end());
}

TEST_F(TdxTcb, ConfigurationNeededWithAnOutOfDateModule) {
  auto p = platform();
  p.sgx_components[0] = p.sgx_components[1] = 3;  // ConfigurationNeeded level
  const forge::TestPki pki(p);
  knobs_.module_identities = forge::Json::array({{
      {"id", "TDX_01"},
      {"mrsigner", std::string(96, '0')},
      {"attributes", "0000000000000000"},
      {"attributesMask", "FFFFFFFFFFFFFFFF"},
      {"tcbLevels", forge::Json::array({{{"tcb", {{"isvsvn", 9}}}, {"tcbStatus", "UpToDate"}},
                                        {{"tcb", {{"isvsvn", 2}}}, {"tcbStatus", "OutOfDate"}}})},
  }});
  // Module major version 1, SVN 3: TDX_01's OutOfDate level; indexes 0 and 1
  // are then left out of the TDX component comparison (3 < 5 would fail it).
  quote_.tee_tcb_svn = {3, 1, 2};
  Verdict v = verify(pki, quote_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(v.claims.tcb_status, "OutOfDateConfigurationNeeded");
  // Below every module level: Unrecognized, refused.
  quote_.tee_tcb_svn = {1, 1, 2};
  v = verify(pki, quote_);
  EXPECT_EQ(v.failure.code, "tcb_status") << v.failure.text();
  EXPECT_EQ(v.claims.tcb_status, "Unrecognized");
  // A module version the TCB Info does not list.
  quote_.tee_tcb_svn = {3, 2, 2};
  v = verify(pki, quote_);
  EXPECT_EQ(v.failure.code, "tcb_mismatch") << v.failure.text();
}

TEST_F(TdxTcb, IdentityMismatches) {
  const forge::TestPki pki(platform());
  quote_.qe_mrsigner[0] = 1;  // the QE Identity says all zero
  Verdict v = verify(pki, quote_);
  EXPECT_EQ(v.failure.code, "tcb_mismatch") << v.failure.text();
  quote_ = {};
  quote_.qe_isvprodid = 1;
  v = verify(pki, quote_);
  EXPECT_EQ(v.failure.code, "tcb_mismatch") << v.failure.text();
}

TEST_F(TdxTcb, RevokedPckIsRefused) {
  const forge::TestPki pki(platform());
  knobs_.revoke_pck = true;
  const Verdict v = verify(pki, quote_);
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "bad_certificate");
  EXPECT_NE(v.failure.detail.find("revoked"), std::string::npos) << v.failure.detail;
}

TEST_F(TdxTcb, CollateralChainOutOfOrder) {
  const forge::TestPki pki(platform());
  knobs_.tcb_chain_reversed = true;
  const Verdict v = verify(pki, quote_);
  EXPECT_EQ(v.failure.code, "chain_order") << v.failure.text();
}

TEST_F(TdxTcb, CollateralExpiresWithItsWindow) {
  const forge::TestPki pki(platform());
  TdxVerifyOptions o;
  o.test_root_fingerprints = {pki.root_fingerprint()};
  json_ = forge::collateral(pki, knobs_, now_);
  o.collateral_json = json_;
  o.at = now_ + 86400 + 1;  // certificates still valid, collateral not
  const Verdict v = verify_tdx(pki.quote(quote_), o);
  EXPECT_EQ(v.failure.code, "collateral_expired") << v.failure.text();
}

}  // namespace
}  // namespace aegis::attest::tdx
