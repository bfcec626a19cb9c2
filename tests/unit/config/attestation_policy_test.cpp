// Attestation policy files (`attest verify --policy`): every field read, and
// every mistake reported at its FILE:LINE:COL.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/loader.h"

namespace aegis::config {
namespace {

const std::string kMeasurement(96, 'a');

class PolicyFile {
 public:
  explicit PolicyFile(const std::string& text) {
    char tmpl[] = "/tmp/aegis-policy-XXXXXX.yaml";
    const int fd = ::mkstemps(tmpl, 5);
    static_cast<void>(::close(fd));
    path_ = tmpl;
    std::ofstream(path_) << text;
  }
  ~PolicyFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(AttestationPolicyFile, EveryFieldIsRead) {
  PolicyFile f(
      "mode: optional\n"
      "tee: snp\n"
      "measurements: [" +
      std::string(96, 'A') +
      "]\n"
      "rtmrs: ['*', " +
      kMeasurement +
      "]\n"
      "min_tcb: {snp: 8, microcode: 115}\n"
      "allow_debug: true\n"
      "accepted_tcb_status: [UpToDate, SWHardeningNeeded]\n");
  const auto r = load_attestation_policy(f.path());
  ASSERT_TRUE(r.policy) << (r.diagnostics.empty() ? "" : r.diagnostics[0].str());
  const auto& p = *r.policy;
  EXPECT_EQ(p.mode, AttestationPolicy::Mode::kOptional);
  EXPECT_EQ(p.tee, AttestationPolicy::TeeKind::kSnp);
  ASSERT_EQ(p.measurements.size(), 1u);
  EXPECT_EQ(p.measurements[0], kMeasurement);  // lower-cased
  EXPECT_EQ(p.rtmrs, (std::vector<std::string>{"*", kMeasurement}));
  EXPECT_EQ(p.min_tcb.at("snp"), 8u);
  EXPECT_EQ(p.min_tcb.at("microcode"), 115u);
  EXPECT_TRUE(p.allow_debug);
  EXPECT_EQ(p.accepted_tcb_status, (std::vector<std::string>{"UpToDate", "SWHardeningNeeded"}));
}

TEST(AttestationPolicyFile, DefaultsAreStrict) {
  PolicyFile f("tee: any\n");
  const auto r = load_attestation_policy(f.path());
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->mode, AttestationPolicy::Mode::kRequire);
  EXPECT_FALSE(r.policy->allow_debug);
  EXPECT_EQ(r.policy->accepted_tcb_status, std::vector<std::string>{"UpToDate"});
}

TEST(AttestationPolicyFile, MistakesAreReportedAtTheirLine) {
  PolicyFile f(
      "mode: sometimes\n"
      "measurements: [abc]\n"
      "rtmrs: ['*', '*', '*', '*', '*']\n"
      "min_tcb: {snp: 300, ucode: 1}\n"
      "accepted_tcb_status: [Fine]\n"
      "colour: blue\n");
  const auto r = load_attestation_policy(f.path());
  ASSERT_FALSE(r.policy);
  std::string all;
  for (const auto& d : r.diagnostics) all += d.str() + "\n";
  EXPECT_NE(all.find(f.path() + ":1:7: "), std::string::npos) << all;   // mode
  EXPECT_NE(all.find(f.path() + ":2:16: "), std::string::npos) << all;  // measurements[0]
  EXPECT_NE(all.find("4 RTMRs"), std::string::npos) << all;
  EXPECT_NE(all.find(f.path() + ":4:"), std::string::npos) << all;  // min_tcb
  EXPECT_NE(all.find("ucode"), std::string::npos) << all;
  EXPECT_NE(all.find("'Fine' is not a TCB status"), std::string::npos) << all;
  EXPECT_NE(all.find("colour"), std::string::npos) << all;
}

TEST(AttestationPolicyFile, AMissingFileIsOneClearError) {
  const auto r = load_attestation_policy("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.policy);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].str().find("/nonexistent/policy.yaml: cannot open"), std::string::npos);
}

}  // namespace
}  // namespace aegis::config
