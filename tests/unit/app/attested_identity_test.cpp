// attestation.identity issued in the process: a key in a private state
// directory, simulated TDX and SNP evidence bound to it, the CA's signature;
// each issue a new key and certificate; a failed issue leaves the previous
// pair in place and is counted.
#include "app/attested_identity.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "attest/simulated_roots.h"
#include "stats/stats.h"
#include "tls/certs.h"

namespace aegis::app {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t issues(const char* result) {
  return stats::global()
      .counter("aegis_attestation_identity_issues_total",
               "Issues of this sidecar's own attested certificate (attestation.identity), by result",
               {{"result", result}})
      .value();
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? st.st_mode & 0777U : 0U;
}

class AttestedIdentity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("aegis-identity-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    auto fps = attest::generate_simulated_roots(dir_ / "roots", false);
    ASSERT_TRUE(fps.ok()) << fps.error().message;
    trust_.test_roots = {fps->tdx_root_sha256, fps->snp_ark_sha256};
    tls::CaRequest ca;
    ca.trust_domain = "aegis.test";
    ca.out_dir = dir_ / "ca";
    ASSERT_TRUE(tls::init_ca(ca).ok());
    id_.state_dir = (dir_ / "state").string();
    id_.ca_dir = (dir_ / "ca").string();
    id_.spiffe_id = "spiffe://aegis.test/ns/demo/sa/inbound";
    id_.dns = {"localhost"};
    id_.evidence_ttl = std::chrono::seconds(30);
    id_.source = "simulated";
    id_.simulated_roots = (dir_ / "roots").string();
    id_.simulated_tee = "tdx";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  config::AttestedIdentity id_;
  config::AttestationTrust trust_;
};

TEST_F(AttestedIdentity, EachIssueIsANewKeyWithFreshEvidenceInThePrivateStateDirectory) {
  const auto ok_before = issues("success");
  const auto first = issue_attested_identity(id_, trust_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->verdict.verified) << first->verdict.failure.text();
  EXPECT_TRUE(first->verdict.claims.simulated);
  EXPECT_EQ(first->verdict.claims.tee, attest::Tee::kTdx);
  EXPECT_EQ(first->source, "simulated");
  EXPECT_EQ(first->spiffe_id, id_.spiffe_id);
  EXPECT_EQ(first->renews_at - first->issued_at, std::chrono::seconds(30));
  EXPECT_EQ(mode_of(id_.state_dir), 0700U);
  EXPECT_EQ(mode_of(dir_ / "state" / "key.pem"), 0600U);
  const std::string key1 = slurp(dir_ / "state" / "key.pem");

  const auto second = issue_attested_identity(id_, trust_);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(second->certificate_sha256, first->certificate_sha256);
  EXPECT_NE(second->verdict.claims.report_data, first->verdict.claims.report_data) << "same key bound twice";
  EXPECT_NE(slurp(dir_ / "state" / "key.pem"), key1) << "the key was not renewed";
  EXPECT_EQ(issues("success"), ok_before + 2);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "state")) ++entries;
  EXPECT_EQ(entries, 2U) << "a staging directory was left behind";
}

TEST_F(AttestedIdentity, SnpEvidenceVerifiesWithTheHostsCertificateTable) {
  id_.simulated_tee = "snp";
  const auto own = issue_attested_identity(id_, trust_);
  ASSERT_TRUE(own.ok()) << own.error().message;
  EXPECT_TRUE(own->verdict.verified) << own->verdict.failure.text();
  EXPECT_EQ(own->verdict.claims.tee, attest::Tee::kSevSnp);
}

TEST_F(AttestedIdentity, AFailedIssueLeavesThePreviousPairAndIsCounted) {
  ASSERT_TRUE(issue_attested_identity(id_, trust_).ok());
  const std::string cert = slurp(dir_ / "state" / "cert.pem");
  const std::string key = slurp(dir_ / "state" / "key.pem");
  const auto failed_before = issues("failure");
  fs::remove(dir_ / "ca" / "ca.key");
  const auto r = issue_attested_identity(id_, trust_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ca.key"), std::string::npos) << r.error().message;
  EXPECT_EQ(slurp(dir_ / "state" / "cert.pem"), cert);
  EXPECT_EQ(slurp(dir_ / "state" / "key.pem"), key);
  EXPECT_EQ(issues("failure"), failed_before + 1);

  // Without trust in the TEST roots the issue still succeeds; /attestation
  // shows why this sidecar's own trust does not verify it.
  fs::remove_all(dir_ / "ca");
  tls::CaRequest ca;
  ca.trust_domain = "aegis.test";
  ca.out_dir = dir_ / "ca";
  ASSERT_TRUE(tls::init_ca(ca).ok());
  const auto untrusted = issue_attested_identity(id_, config::AttestationTrust{});
  ASSERT_TRUE(untrusted.ok()) << untrusted.error().message;
  EXPECT_FALSE(untrusted->verdict.verified);
  EXPECT_FALSE(untrusted->verdict.failure.code.empty());
}

}  // namespace
}  // namespace aegis::app
