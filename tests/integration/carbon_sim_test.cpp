// The acceptance run of `aegis-flow carbon simulate` (issue 5): the real
// binary on the real 2020 grid-intensity traces of Germany, Great Britain and
// France and the real English-Wikipedia hourly workload, with equal
// capacities, round trips 10/25/40 ms, peak utilization 0.6 and a 150 ms p99
// objective. carbon_aware must cut gCO2 per request by >= 15% vs random,
// reach >= 80% of the oracle's reduction, never exceed a region's capacity
// (nor max_utilization) and keep p99 within the SLO. Also: bad input exits 2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness.h"

namespace aegis::itest {
namespace {

fs::path testdata() {
  const char* env = std::getenv("AEGIS_TESTDATA");
  return env ? env : "../shared/testdata";
}

std::vector<std::string> acceptance_args(const fs::path& data) {
  return {proxy_binary(), "carbon", "simulate",
          "--region", "de=" + (data / "carbon/de_2020_ci.csv").string() + ",capacity=1000,rtt_ms=10",
          "--region", "gb=" + (data / "carbon/gb_2020_ci.csv").string() + ",capacity=1000,rtt_ms=25",
          "--region", "fr=" + (data / "carbon/fr_2020_ci.csv").string() + ",capacity=1000,rtt_ms=40",
          "--workload", (data / "workload/wikipedia_en_hourly_requests.csv").string(),
          "--peak-utilization", "0.6", "--slo-p99-ms", "150", "--json"};
}

TEST(CarbonSimulate, AcceptanceRunOnRealTraces) {
  const fs::path data = testdata();
  if (!fs::exists(data / "carbon/de_2020_ci.csv")) GTEST_SKIP() << "no test data at " << data;
  TempDir dir("carbon-sim");
  auto args = acceptance_args(data);
  args.push_back("--svg");
  args.push_back((dir / "run.svg").string());
  const auto r = run_command("simulate", args, dir.path(), 290s);  // a bound for sanitizer builds
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& p = j.at("policies");
  for (const char* name : {"random", "round_robin", "least_request", "locality", "carbon_aware", "oracle"}) {
    ASSERT_TRUE(p.contains(name)) << name;
    for (const char* key : {"grams_per_request", "reduction_vs_random", "share_of_oracle", "p99_ms",
                            "slo_violation_minutes", "capacity_violation_minutes"})
      EXPECT_TRUE(p.at(name).contains(key)) << name << "." << key;
  }
  const auto& ca = p.at("carbon_aware");
  const auto& random = p.at("random");
  const auto& oracle = p.at("oracle");
  // A year (2020-01-01 .. 2021-01-09) at one-minute steps.
  EXPECT_GT(j.at("steps").get<double>(), 365 * 24 * 60);
  EXPECT_LT(ca.at("grams_per_request").get<double>(), 0.85 * random.at("grams_per_request").get<double>());
  EXPECT_GE(ca.at("reduction_vs_random").get<double>(), 0.15);
  EXPECT_GE(ca.at("share_of_oracle").get<double>(), 0.80);
  EXPECT_GT(oracle.at("reduction_vs_random").get<double>(), 0.0);
  EXPECT_EQ(ca.at("capacity_violation_minutes").get<double>(), 0.0);
  EXPECT_EQ(ca.at("over_max_utilization_minutes").get<double>(), 0.0);
  EXPECT_LE(ca.at("p99_ms").get<double>(), 150.0);
  EXPECT_EQ(ca.at("slo_violation_minutes").get<double>(), 0.0);
  // Every policy served the same requests; the SVG was written.
  EXPECT_NEAR(ca.at("requests").get<double>(), random.at("requests").get<double>(), 1e-6 * random.at("requests").get<double>());
  const auto svg = read_file(dir / "run.svg");
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("carbon_aware: traffic share"), std::string::npos);
}

TEST(CarbonSimulate, BadInputExitsTwoWithAMessage) {
  const fs::path data = testdata();
  if (!fs::exists(data / "carbon/de_2020_ci.csv")) GTEST_SKIP() << "no test data at " << data;
  TempDir dir("carbon-sim-bad");
  const std::string de = "de=" + (data / "carbon/de_2020_ci.csv").string();
  write_file(dir / "broken.csv", "Time,Carbon Intensity\n2020-01-01 00:00:00,12\n2020-01-01 00:30:00,oops\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases{
      {{"--region", de}, "need 2 to 16 --region"},
      {{"--region", de, "--region", "x=" + (dir / "broken.csv").string()}, "line 3: intensity 'oops' is not a number"},
      {{"--region", de, "--region", "x=" + (dir / "none.csv").string()}, "cannot open"},
      {{"--region", de, "--region", de}, "given twice"},
      {{"--region", de, "--region", "fr=" + (data / "carbon/fr_2020_ci.csv").string() + ",capacity=-3"}, "capacity=RPS"},
      {{"--region", de, "--region", "fr=" + (data / "carbon/fr_2020_ci.csv").string(), "--policies", "random,magic"},
       "unknown policy 'magic'"},
      {{"--region", de, "--region", "fr=" + (data / "carbon/fr_2020_ci.csv").string(), "--start", "yesterday"},
       "--start: expected an ISO 8601"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{proxy_binary(), "carbon", "simulate"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    const auto r = run_command("simulate-bad", argv, dir.path(), 30s);
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe() << " " << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace aegis::itest
