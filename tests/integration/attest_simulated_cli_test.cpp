// `aegis-flow attest test-roots` and `attest evidence --source simulated` as
// a user runs them: exit codes (0 ok, 2 usage or refused overwrite, 1 no
// evidence), the files written, and that the evidence verifies against the
// generated TEST roots only (checked in-process with attest/'s verifiers).
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "attest/snp_verify.h"
#include "attest/tdx_verify.h"
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

CommandResult attest(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {proxy_binary(), "attest"});
  return run_command("attest", args, dir.path(), 60s);
}

std::vector<std::uint8_t> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json roots_json(const fs::path& roots) {
  std::ifstream in(roots / "roots.json");
  return nlohmann::json::parse(in, nullptr, false);
}

TEST(AttestCli, TestRootsRefuseOverwriteWithoutForce) {
  TempDir dir("attest");
  const auto roots = dir / "roots";
  auto r = attest(dir, {"test-roots", "--out", roots.string()});
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << r.out << r.err;
  EXPECT_NE(r.out.find("TEST"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(::stat((roots / "TEST-snp-vcek.key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  const auto first = roots_json(roots);
  ASSERT_TRUE(first.is_object());
  EXPECT_NE(r.out.find(first["snp_ark_sha256"].get<std::string>()), std::string::npos) << r.out;

  r = attest(dir, {"test-roots", "--out", roots.string()});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe();
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(roots_json(roots), first);  // untouched

  r = attest(dir, {"test-roots", "--out", roots.string(), "--force"});
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << r.err;
  EXPECT_NE(roots_json(roots)["snp_ark_sha256"], first["snp_ark_sha256"]);
}

TEST(AttestCli, SimulatedEvidenceVerifiesOnlyAgainstTheTestRoots) {
  TempDir dir("attest");
  const auto roots = dir / "roots";
  ASSERT_EQ(attest(dir, {"test-roots", "--out", roots.string()}).status.code, 0);
  const auto fps = roots_json(roots);
  const std::string measurement(96, 'c');
  auto r = attest(dir, {"evidence", "--source", "simulated", "--simulated-roots", roots.string(), "--tee", "snp",
                        "--report-data", "0102", "--measurement", measurement, "--debug", "--out",
                        (dir / "snp.bin").string(), "--aux-out", (dir / "aux.bin").string()});
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << r.out << r.err;
  EXPECT_NE(r.out.find("SIMULATED"), std::string::npos) << r.out;
  const auto report = bytes_of(dir / "snp.bin");
  ASSERT_EQ(report.size(), 1184U);
  auto inputs = attest::inputs_from_cert_table(bytes_of(dir / "aux.bin"), false);
  ASSERT_TRUE(inputs.ok()) << inputs.error().text();
  EXPECT_EQ(attest::verify_snp(report, inputs.value()).failure.code, "untrusted_root");
  inputs->test_roots = {fps["snp_ark_sha256"].get<std::string>()};
  const auto v = attest::verify_snp(report, inputs.value());
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.simulated);
  EXPECT_TRUE(v.claims.debug);
  EXPECT_EQ(v.claims.report_data.at(0), 0x01);
  EXPECT_EQ(v.claims.report_data.at(1), 0x02);
  EXPECT_EQ(v.claims.measurement, std::vector<std::uint8_t>(48, 0xcc));

  r = attest(dir, {"evidence", "--source", "simulated", "--simulated-roots", roots.string(), "--tee", "tdx", "--out",
                   (dir / "tdx.bin").string()});
  ASSERT_TRUE(r.status.exited && r.status.code == 0) << r.status.describe() << r.out << r.err;
  const auto quote = bytes_of(dir / "tdx.bin");
  EXPECT_EQ(attest::verify_tdx(quote).failure.code, "untrusted_root");
  attest::TdxVerifyOptions o;
  o.test_root_fingerprints = {fps["tdx_root_sha256"].get<std::string>()};
  const auto t = attest::verify_tdx(quote, o);
  ASSERT_TRUE(t.verified) << t.failure.text();
  EXPECT_TRUE(t.claims.simulated);
  EXPECT_FALSE(t.claims.debug);
}

TEST(AttestCli, SimulatedOptionsAreCheckedBeforeAnythingRuns) {
  TempDir dir("attest");
  const auto out = (dir / "x.bin").string();
  // --source simulated without its roots or TEE.
  auto r = attest(dir, {"evidence", "--source", "simulated", "--tee", "snp", "--out", out});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("--simulated-roots"), std::string::npos) << r.err;
  // Simulated-only options with another source.
  r = attest(dir, {"evidence", "--source", "configfs-tsm", "--tee", "snp", "--out", out});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe() << r.err;
  r = attest(dir, {"evidence", "--source", "simulated", "--simulated-roots", (dir / "r").string(), "--tee", "sgx",
                   "--out", out});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe() << r.err;
  // A roots directory that does not exist: no evidence (exit 1), and the fix named.
  r = attest(dir, {"evidence", "--source", "simulated", "--simulated-roots", (dir / "none").string(), "--tee", "tdx",
                   "--out", out});
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("attest test-roots"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace aegis::itest
