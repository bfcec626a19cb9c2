// `aegis-flow attest verify` as a user runs it on the real vectors in
// AEGIS_TESTDATA/attestation: the README's values in --json, the collateral
// window, policy refusals, and exit codes (0 verified, 1 refused, 2 bad input).
#include <nlohmann/json.hpp>

#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

fs::path vectors() { return testdata_dir() / "attestation"; }

CommandResult attest(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {proxy_binary(), "attest"});
  return run_command("attest", args, dir.path(), 60s);
}

nlohmann::json json_of(const CommandResult& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out << r.err;
    return {};
  }
}

#define AEGIS_NEED_VECTORS() \
  if (!fs::is_directory(vectors())) GTEST_SKIP() << "test data not found under " << vectors() << " (AEGIS_TESTDATA)"

bool exited_with(const CommandResult& r, int code) { return r.status.exited && r.status.code == code; }

// AMD KDS's cert_chain: the ASK, then the ARK.
fs::path milan_chain(const TempDir& dir) {
  const auto path = dir / "milan_chain.pem";
  write_file(path, read_file(vectors() / "amd-roots/milan/ask.pem") + read_file(vectors() / "amd-roots/milan/ark.pem"));
  return path;
}

TEST(AttestCli, SnpMilanReportVerifiesWithTheReadmeValues) {
  AEGIS_NEED_VECTORS();
  TempDir dir("attest");
  const auto r =
      attest(dir, {"verify", "--evidence", (vectors() / "snp-milan/report.bin").string(), "--vcek",
                   (vectors() / "snp-milan/vcek.der").string(), "--cert-chain", milan_chain(dir).string(), "--json"});
  ASSERT_TRUE(exited_with(r, 0)) << r.status.describe() << r.out << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["verified"], true);
  EXPECT_EQ(j["tee"], "sev-snp");
  EXPECT_EQ(j["measurement"],
            "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f");
  EXPECT_EQ(j["report_data"],
            "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c645810b0f2cdfca0040433be063fc1a8293f0f3f8dae7b7"
            "9fecb3d1cd82bd6a93ebfd");
  EXPECT_EQ(j["tcb_status"], "not_evaluated");
  EXPECT_EQ(j["fields"]["reported_tcb"], "0300000000000873");
  EXPECT_EQ(j["fields"]["vmpl"], "0");
  EXPECT_EQ(j["simulated"], false);

  // Without its chain the VCEK cannot be trusted.
  const auto no_chain = attest(dir, {"verify", "--evidence", (vectors() / "snp-milan/report.bin").string(), "--json"});
  EXPECT_TRUE(exited_with(no_chain, 1)) << no_chain.status.describe() << no_chain.out << no_chain.err;
  EXPECT_EQ(json_of(no_chain)["verified"], false);
}

TEST(AttestCli, TdxV4IsUpToDateInsideItsCollateralWindowAndRefusedOutside) {
  AEGIS_NEED_VECTORS();
  TempDir dir("attest");
  const std::vector<std::string> base = {"verify",
                                         "--evidence",
                                         (vectors() / "tdx-v4/quote.bin").string(),
                                         "--collateral",
                                         (vectors() / "tdx-v4/collateral.json").string(),
                                         "--json",
                                         "--at"};
  auto inside = base;
  inside.push_back("2025-07-01T00:00:00Z");
  const auto ok = attest(dir, inside);
  ASSERT_TRUE(exited_with(ok, 0)) << ok.status.describe() << ok.out << ok.err;
  const auto j = json_of(ok);
  EXPECT_EQ(j["tee"], "tdx");
  EXPECT_EQ(j["tcb_status"], "UpToDate");
  EXPECT_EQ(j["mrtd"],
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
  EXPECT_EQ(j["report_data"],
            "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51e"
            "c39b7e518fadb92c2b523f20");

  auto outside = base;
  outside.push_back("2025-08-01T00:00:00Z");
  const auto expired = attest(dir, outside);
  EXPECT_TRUE(exited_with(expired, 1)) << expired.status.describe() << expired.out << expired.err;
  EXPECT_EQ(json_of(expired)["reason"].get<std::string>().rfind("collateral_expired: ", 0), 0u) << expired.out;
}

TEST(AttestCli, TdxV5WithoutCollateralIsNotEvaluatedAndWithItNotUpToDate) {
  AEGIS_NEED_VECTORS();
  TempDir dir("attest");
  const auto r = attest(dir, {"verify", "--evidence", (vectors() / "tdx-v5/quote.bin").string(), "--json"});
  ASSERT_TRUE(exited_with(r, 0)) << r.status.describe() << r.out << r.err;
  const auto j = json_of(r);
  EXPECT_EQ(j["tcb_status"], "not_evaluated");
  EXPECT_EQ(j["fields"]["body_type"], "3");
  EXPECT_EQ(j["mrtd"],
            "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd");

  const auto with =
      attest(dir, {"verify", "--evidence", (vectors() / "tdx-v5/quote.bin").string(), "--collateral",
                   (vectors() / "tdx-v5/collateral.json").string(), "--at", "2026-03-01T00:00:00Z", "--json"});
  EXPECT_NE(json_of(with)["tcb_status"], "UpToDate") << with.out;
}

TEST(AttestCli, PolicyBadInputAndUnknownFiles) {
  AEGIS_NEED_VECTORS();
  TempDir dir("attest");
  const auto policy = dir / "policy.yaml";
  write_file(policy, "tee: snp\nmeasurements: [" + std::string(96, '0') + "]\n");
  const auto refused = attest(dir, {"verify", "--evidence", (vectors() / "snp-milan/report.bin").string(), "--vcek",
                                    (vectors() / "snp-milan/vcek.der").string(), "--cert-chain",
                                    milan_chain(dir).string(), "--policy", policy.string()});
  EXPECT_TRUE(exited_with(refused, 1)) << refused.status.describe();
  EXPECT_NE(refused.err.find("refused: policy: measurement 7a1e5c26"), std::string::npos) << refused.err;

  write_file(policy, "tee: snp\nallow_debug: maybe\n");
  const auto bad_policy =
      attest(dir, {"verify", "--evidence", (vectors() / "snp-milan/report.bin").string(), "--policy", policy.string()});
  EXPECT_TRUE(exited_with(bad_policy, 2)) << bad_policy.status.describe();
  EXPECT_NE(bad_policy.err.find(policy.string() + ":2:"), std::string::npos) << bad_policy.err;

  const auto bad_time =
      attest(dir, {"verify", "--evidence", (vectors() / "tdx-v4/quote.bin").string(), "--at", "yesterday"});
  EXPECT_TRUE(exited_with(bad_time, 2)) << bad_time.status.describe();

  write_file(dir / "notes.txt", "not evidence\n");
  const auto unknown = attest(dir, {"verify", "--evidence", (dir / "notes.txt").string()});
  EXPECT_TRUE(exited_with(unknown, 1)) << unknown.status.describe();
  EXPECT_NE(unknown.err.find("unknown_format"), std::string::npos) << unknown.err;

  const auto missing = attest(dir, {"verify", "--evidence", (dir / "nope.bin").string()});
  EXPECT_TRUE(exited_with(missing, 2)) << missing.status.describe();
}

}  // namespace
}  // namespace aegis::itest
