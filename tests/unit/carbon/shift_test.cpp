// The carbon_aware weight computation, one rule per test (docs/carbon.md).
#include "carbon/shift.h"

#include <gtest/gtest.h>

#include <numeric>

namespace aegis::carbon {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(24 * 365 * 50);

Reading reading(double g, Clock::time_point at = kT0) {
  Reading r;
  r.gco2_per_kwh = g;
  r.at = at;
  r.fetched = at;
  r.provider = "test";
  return r;
}

LocalityObservation loc(double capacity, std::optional<double> intensity, std::optional<double> latency = 20.0) {
  LocalityObservation l;
  l.capacity = capacity;
  l.latency_ms = latency;
  if (intensity) l.reading = reading(*intensity);
  return l;
}

ShiftOptions unsmoothed() {
  ShiftOptions o;
  o.max_step = 1.0;
  o.rebalance_interval = seconds(10);
  return o;
}

double total(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

TEST(ShiftPlanner, ShiftsToTheCleanestZoneUpToMaxUtilization) {
  ShiftPlanner p(unsmoothed(), 3);
  const std::vector<LocalityObservation> l{loc(100, 400), loc(100, 50), loc(100, 200)};
  // Demand 120 rps: the cleanest takes 0.8 × 100 = 80 (2/3), the next cleanest the rest.
  const auto& plan = p.plan(l, 120, kT0);
  ASSERT_TRUE(plan.shifting);
  EXPECT_NEAR(plan.shares[1], 80.0 / 120, 1e-9);
  EXPECT_NEAR(plan.shares[2], 40.0 / 120, 1e-9);
  EXPECT_NEAR(plan.shares[0], 0.0, 1e-9);
}

TEST(ShiftPlanner, NeverAboveMaxUtilizationOfAnyLocality) {
  ShiftOptions o = unsmoothed();
  o.max_utilization = 0.6;
  ShiftPlanner p(o, 3);
  const std::vector<LocalityObservation> l{loc(100, 10), loc(50, 20), loc(300, 900)};
  for (double demand : {10.0, 60.0, 89.0, 200.0, 270.0}) {
    const auto& plan = p.rebalance(l, demand, kT0);
    EXPECT_NEAR(total(plan.shares), 1.0, 1e-9);
    for (std::size_t i = 0; i < l.size(); ++i)
      EXPECT_LE(plan.shares[i] * demand, 0.6 * l[i].capacity + 1e-9) << "demand " << demand << " locality " << i;
  }
}

TEST(ShiftPlanner, OverloadSpreadsByCapacity) {
  ShiftPlanner p(unsmoothed(), 2);
  const std::vector<LocalityObservation> l{loc(100, 10), loc(300, 900)};
  // 400 rps > 0.8 × 400: nobody can stay under the limit; shares follow capacity.
  const auto& plan = p.plan(l, 400, kT0);
  EXPECT_NEAR(plan.shares[0], 0.25, 1e-9);
  EXPECT_NEAR(plan.shares[1], 0.75, 1e-9);
}

TEST(ShiftPlanner, LocalityBreakingTheSloTakesNoShiftedTraffic) {
  ShiftOptions o = unsmoothed();
  o.latency_slo = milliseconds(150);
  ShiftPlanner p(o, 3);
  // The cleanest locality is slow: it keeps its unshifted third, no more.
  std::vector<LocalityObservation> l{loc(100, 10, 170.0), loc(100, 100, 40.0), loc(100, 300, 30.0)};
  const auto& plan = p.plan(l, 60, kT0);
  EXPECT_NEAR(plan.shares[0], 1.0 / 3, 1e-9);
  EXPECT_NEAR(plan.shares[1], 2.0 / 3, 1e-9);
  EXPECT_NEAR(plan.shares[2], 0.0, 1e-9);
  // Within the objective again: it takes the shifted traffic.
  l[0].latency_ms = 140.0;
  const auto& later = p.plan(l, 60, kT0 + seconds(10));
  EXPECT_NEAR(later.shares[0], 1.0, 1e-9);  // 0.8 × 100 rps covers all 60
}

TEST(ShiftPlanner, SloBreakCutsSharesAtOnceDespiteMaxStep) {
  ShiftOptions o;
  o.max_step = 0.05;
  o.latency_slo = milliseconds(100);
  ShiftPlanner p(o, 2);
  std::vector<LocalityObservation> l{loc(100, 10, 20.0), loc(100, 500, 20.0)};
  auto t = kT0;
  for (int i = 0; i < 40; ++i, t += o.rebalance_interval) p.plan(l, 50, t);
  ASSERT_NEAR(p.current().shares[0], 1.0, 1e-9);
  l[0].latency_ms = 300.0;
  const auto& plan = p.plan(l, 50, t);
  EXPECT_NEAR(plan.shares[0], 0.5, 1e-9);  // its unshifted share, immediately
}

TEST(ShiftPlanner, RecomputesAtMostEveryRebalanceInterval) {
  ShiftOptions o = unsmoothed();
  o.rebalance_interval = seconds(30);
  ShiftPlanner p(o, 2);
  std::vector<LocalityObservation> l{loc(100, 10), loc(100, 500)};
  EXPECT_NEAR(p.plan(l, 50, kT0).shares[0], 1.0, 1e-9);
  // The zones swap, but the interval has not passed: the plan stands.
  l[0].reading = reading(500, kT0 + seconds(29));
  l[1].reading = reading(10, kT0 + seconds(29));
  EXPECT_NEAR(p.plan(l, 50, kT0 + seconds(29)).shares[0], 1.0, 1e-9);
  EXPECT_NEAR(p.plan(l, 50, kT0 + seconds(30)).shares[0], 0.0, 1e-9);
}

TEST(ShiftPlanner, MovesAtMostMaxStepPerRebalance) {
  ShiftOptions o;
  o.max_step = 0.1;
  ShiftPlanner p(o, 2);
  const std::vector<LocalityObservation> l{loc(100, 10), loc(100, 500)};
  auto t = kT0;
  double prev = 0.5;  // starts capacity-proportional
  for (int i = 0; i < 5; ++i, t += o.rebalance_interval) {
    const double now = p.plan(l, 50, t).shares[0];
    EXPECT_NEAR(now - prev, 0.1, 1e-9) << "rebalance " << i;
    prev = now;
  }
  EXPECT_NEAR(p.plan(l, 50, t).shares[0], 1.0, 1e-9);  // then it stays at the target
}

TEST(ShiftPlanner, StaleOrMissingZoneCountsAsAverage) {
  ShiftOptions o = unsmoothed();
  o.max_age = minutes(30);
  ShiftPlanner p(o, 3);
  std::vector<LocalityObservation> l{loc(100, 100), loc(100, 300), loc(100, std::nullopt)};
  auto eff = effective_intensities(l, o.max_age, kT0);
  ASSERT_TRUE(eff);
  EXPECT_DOUBLE_EQ((*eff)[2], 200.0);  // missing → mean of 100 and 300
  // A stale reading of 1 g/kWh is not believed either.
  l[2].reading = reading(1, kT0 - minutes(31));
  eff = effective_intensities(l, o.max_age, kT0);
  EXPECT_DOUBLE_EQ((*eff)[2], 200.0);
  // Ranked between the two: demand 200 fills zone 0 (80), then the "average" zone (80), then zone 1.
  const auto& plan = p.plan(l, 200, kT0);
  EXPECT_NEAR(plan.shares[0], 0.4, 1e-9);
  EXPECT_NEAR(plan.shares[2], 0.4, 1e-9);
  EXPECT_NEAR(plan.shares[1], 0.2, 1e-9);
}

TEST(ShiftPlanner, AllStaleMeansNoShifting) {
  ShiftOptions o = unsmoothed();
  o.max_age = minutes(30);
  ShiftPlanner p(o, 2);
  std::vector<LocalityObservation> l{loc(100, 10), loc(300, 500)};
  ASSERT_TRUE(p.plan(l, 50, kT0).shifting);
  l[0].reading = reading(10, kT0 - minutes(60));
  l[1].reading.reset();
  const auto& plan = p.plan(l, 50, kT0 + seconds(10));
  EXPECT_FALSE(plan.shifting);
  EXPECT_NEAR(plan.shares[0], 0.25, 1e-9);  // capacity-proportional: the caller balances by least_request
  EXPECT_NEAR(plan.shares[1], 0.75, 1e-9);
}

TEST(ShiftPlanner, ZeroDemandSendsEverythingToTheCleanest) {
  ShiftPlanner p(unsmoothed(), 2);
  const std::vector<LocalityObservation> l{loc(100, 500), loc(100, 10)};
  EXPECT_NEAR(p.plan(l, 0, kT0).shares[1], 1.0, 1e-9);
}

// The worked example of docs/carbon.md, step by step.
TEST(ShiftPlanner, WorkedExampleFromTheDocs) {
  ShiftOptions o;  // max_utilization 0.8, max_step 0.1, rebalance_interval 10 s
  o.latency_slo = milliseconds(150);
  ShiftPlanner p(o, 3);
  std::vector<LocalityObservation> l{loc(1000, 350, 30.0), loc(1000, 180, 45.0), loc(1000, 50, 60.0)};  // DE GB FR
  auto t = kT0;
  const auto& first = p.plan(l, 1500, t);
  EXPECT_NEAR(first.shares[0], 0.2333, 1e-4);
  EXPECT_NEAR(first.shares[1], 0.3733, 1e-4);
  EXPECT_NEAR(first.shares[2], 0.3933, 1e-4);
  for (int i = 0; i < 3; ++i) p.plan(l, 1500, t += seconds(10));
  EXPECT_NEAR(p.current().shares[0], 0.0, 1e-9);
  EXPECT_NEAR(p.current().shares[1], 0.4667, 1e-4);
  EXPECT_NEAR(p.current().shares[2], 0.5333, 1e-4);
  // FR's latency EWMA breaks the SLO: back to its third at once, GB full, DE the rest.
  l[2].latency_ms = 170.0;
  const auto& slo = p.plan(l, 1500, t += seconds(10));
  EXPECT_NEAR(slo.shares[2], 1.0 / 3, 1e-4);
  EXPECT_NEAR(slo.shares[1], 0.5333, 1e-4);
  EXPECT_NEAR(slo.shares[0], 0.1333, 1e-4);
  // FR recovers, DE's feed goes stale: DE counts as the mean of GB and FR (115),
  // cleaner than GB, so the traffic above FR's limit moves to DE, 0.1 per rebalance.
  l[2].latency_ms = 60.0;
  l[0].reading.reset();
  const auto eff = effective_intensities(l, o.max_age, t);
  EXPECT_DOUBLE_EQ((*eff)[0], 115.0);
  for (int i = 0; i < 10; ++i) p.plan(l, 1500, t += seconds(10));
  EXPECT_NEAR(p.current().shares[2], 0.5333, 1e-4);
  EXPECT_NEAR(p.current().shares[0], 0.4667, 1e-4);
  EXPECT_NEAR(p.current().shares[1], 0.0, 1e-4);
}

TEST(ClipToLimits, SpillsExcessInProportionToShares) {
  std::vector<double> s{0.7, 0.2, 0.1};
  clip_to_limits(s, std::vector<double>{0.5, 1.0, 1.0});
  EXPECT_NEAR(s[0], 0.5, 1e-12);
  EXPECT_NEAR(s[1], 0.2 + 0.2 * 2 / 3, 1e-12);
  EXPECT_NEAR(s[2], 0.1 + 0.2 / 3, 1e-12);
}

TEST(ClipToLimits, SpillsByHeadroomWhenOthersHaveNoShare) {
  std::vector<double> s{1.0, 0.0, 0.0};
  clip_to_limits(s, std::vector<double>{0.4, 0.4, 0.2});
  EXPECT_NEAR(s[0], 0.4, 1e-12);
  EXPECT_NEAR(s[1], 0.4, 1e-12);
  EXPECT_NEAR(s[2], 0.2, 1e-12);
}

TEST(ClipToLimits, CascadesOverSeveralRounds) {
  std::vector<double> s{0.6, 0.3, 0.1};
  clip_to_limits(s, std::vector<double>{0.3, 0.35, 1.0});
  EXPECT_NEAR(s[0], 0.3, 1e-12);
  EXPECT_NEAR(s[1], 0.35, 1e-12);
  EXPECT_NEAR(s[2], 0.35, 1e-12);
}

}  // namespace
}  // namespace aegis::carbon
