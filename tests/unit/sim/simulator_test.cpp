// The simulator on small synthetic traces whose answers can be worked out by
// hand, and its queueing model against textbook values.
#include "sim/simulator.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sim/queueing.h"
#include "sim/report.h"

namespace aegis::sim {
namespace {

using namespace std::chrono;

const Clock::time_point kT0 = time_point_cast<Clock::duration>(sys_days(year_month_day{year{2020}, month{1}, day{1}}));

// A constant trace, or one that jumps from `a` to `b` at `switch_after`.
std::vector<carbon::SeriesPoint> trace(double a, double b = -1, hours switch_after = hours(12), hours span = hours(24)) {
  std::vector<carbon::SeriesPoint> out;
  for (auto t = kT0; t <= kT0 + span; t += minutes(30))
    out.push_back({t, b < 0 || t < kT0 + switch_after ? a : b});
  return out;
}

SimOptions two_regions(double a, double b, double cap_a = 1000, double cap_b = 1000) {
  SimOptions o;
  o.regions = {Region{"a", trace(a), cap_a, 10}, Region{"b", trace(b), cap_b, 10}};
  o.peak_utilization = 0.5;
  o.data_delay = minutes(0);
  return o;
}

const PolicyResult& get(const SimResult& r, PolicyKind k) {
  for (const auto& p : r.policies)
    if (p.kind == k) return p;
  throw std::runtime_error("policy missing");
}

TEST(RegionQueue, ErlangCMatchesTextbookValues) {
  const RegionQueue mm1(50, 20, 0);  // 50 rps × 20 ms = 1 server
  ASSERT_EQ(mm1.servers(), 1u);
  EXPECT_NEAR(mm1.wait_probability(0.5), 0.5, 1e-3);  // M/M/1: P(wait) = rho
  const RegionQueue mm2(100, 20, 0);                   // 2 servers
  ASSERT_EQ(mm2.servers(), 2u);
  EXPECT_NEAR(mm2.wait_probability(0.5), 1.0 / 3, 1e-3);  // 2 rho^2 / (1 + rho)
  // M/M/1 mean wait at rho 0.5: rho / (mu - lambda) = 0.5 / 25 s = 20 ms.
  EXPECT_NEAR(mm1.mean_ms(25), 20 + 20, 0.1);
}

TEST(RegionQueue, MaxRateWithinKeepsTheQuantile) {
  const RegionQueue q(1000, 20, 40);
  const double rate = q.max_rate_within(70, 0.99);
  EXPECT_GT(rate, 0);
  EXPECT_LT(rate, 1000);
  EXPECT_NEAR(q.exceed_probability(rate, 70), 0.01, 1e-3);
  EXPECT_EQ(q.max_rate_within(50, 0.99), 0);  // slower than 50 ms even idle
}

TEST(Simulate, CarbonAwareFillsTheCleanRegionUpToMaxUtilization) {
  const auto r = simulate(two_regions(100, 400));
  ASSERT_TRUE(r) << r.error().message;
  const auto& ca = get(*r, PolicyKind::kCarbonAware);
  // Demand 0.5 × 2000 = 1000 rps: a takes 0.8 × 1000, b the rest; random splits evenly.
  EXPECT_NEAR(ca.mean_share[0], 0.8, 0.005);
  const auto& random = get(*r, PolicyKind::kRandom);
  EXPECT_NEAR(random.mean_share[0], 0.5, 0.01);
  EXPECT_NEAR(*ca.reduction_vs_random, 1 - (0.8 * 100 + 0.2 * 400) / 250, 0.01);
  EXPECT_NEAR(*ca.share_of_oracle, 1.0, 0.01);
  EXPECT_EQ(ca.capacity_violation_minutes, 0);
  EXPECT_EQ(ca.over_max_utilization_minutes, 0);
  // grams = requests × 1 J / 3.6e6 J/kWh × intensity
  const double mean_intensity = random.mean_share[0] * 100 + random.mean_share[1] * 400;
  EXPECT_NEAR(random.grams, random.requests / 3.6e6 * mean_intensity, random.grams * 1e-9);
}

TEST(Simulate, HigherDemandSpillsAtMaxUtilization) {
  auto o = two_regions(100, 400);
  o.peak_utilization = 0.6;  // 1200 rps: a takes 800, b 400
  const auto r = simulate(o);
  ASSERT_TRUE(r) << r.error().message;
  const auto& ca = get(*r, PolicyKind::kCarbonAware);
  EXPECT_NEAR(ca.mean_share[0], 800.0 / 1200, 0.01);
  EXPECT_EQ(ca.over_max_utilization_minutes, 0);
}

TEST(Simulate, DataDelayCostsSavingsWhenTheCleanestZoneChanges) {
  SimOptions o;
  o.regions = {Region{"a", trace(100, 400, hours(6)), 1000, 10}, Region{"b", trace(400, 100, hours(6)), 1000, 10}};
  o.peak_utilization = 0.4;
  o.data_delay = minutes(0);
  const auto fresh = simulate(o);
  o.data_delay = minutes(180);
  const auto late = simulate(o);
  ASSERT_TRUE(fresh && late);
  const double fresh_share = *get(*fresh, PolicyKind::kCarbonAware).share_of_oracle;
  const double late_share = *get(*late, PolicyKind::kCarbonAware).share_of_oracle;
  EXPECT_GT(fresh_share, 0.95);
  EXPECT_LT(late_share, fresh_share - 0.1);  // 3 h of 24 on the wrong region
}

TEST(Simulate, SmallCleanRegionIsFilledOnlyToMaxUtilization) {
  auto o = two_regions(100, 400, 200, 1000);  // a is small and clean
  o.peak_utilization = 0.6;                   // 720 rps
  const auto r = simulate(o);
  ASSERT_TRUE(r) << r.error().message;
  const auto& ca = get(*r, PolicyKind::kCarbonAware);
  EXPECT_EQ(ca.capacity_violation_minutes, 0);
  EXPECT_EQ(ca.over_max_utilization_minutes, 0);
  EXPECT_NEAR(ca.mean_share[0], 0.8 * 200 / 720, 0.01);
}

TEST(Simulate, ReportsErrors) {
  SimOptions o = two_regions(1, 2);
  o.regions.pop_back();
  EXPECT_FALSE(simulate(o));
  o = two_regions(1, 2);
  o.regions[1].name = "a";
  EXPECT_FALSE(simulate(o));
  o = two_regions(1, 2);
  o.start = kT0 + hours(30);
  EXPECT_FALSE(simulate(o));
}

TEST(Report, JsonHasTheContractKeys) {
  auto o = two_regions(100, 400);
  o.policies = {PolicyKind::kCarbonAware, PolicyKind::kLocality};
  const auto r = simulate(o);
  ASSERT_TRUE(r);
  const auto j = nlohmann::json::parse(to_json(o, *r));
  ASSERT_EQ(j.at("policies").size(), 2u);  // only those asked for
  for (const char* key : {"grams_per_request", "reduction_vs_random", "share_of_oracle", "p99_ms",
                          "slo_violation_minutes", "capacity_violation_minutes"})
    EXPECT_TRUE(j.at("policies").at("carbon_aware").contains(key)) << key;
  EXPECT_NE(to_svg(*r).find("</svg>"), std::string::npos);
}

}  // namespace
}  // namespace aegis::sim
