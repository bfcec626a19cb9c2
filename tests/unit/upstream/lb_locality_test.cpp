// locality_aware: priority failover (Envoy's priority load) and same-locality
// preference, as a mask in front of any policy.
#include <gtest/gtest.h>

#include "lb_test_util.h"
#include "upstream/lb/locality_aware.h"
#include "upstream/lb/random.h"
#include "upstream/lb/round_robin.h"

namespace aegis::upstream::lb {
namespace {

using testing::count_picks;
using testing::ep;
using Locality = EndpointInfo::Locality;

EndpointInfo at(std::uint32_t priority, Locality locality = Locality::kOther, std::uint32_t weight = 1) {
  return EndpointInfo{"x", weight, priority, locality};
}

LocalityAwarePolicy make(const std::vector<EndpointInfo>& infos, config::LocalityAwareConfig config = {}) {
  config.enabled = true;
  return LocalityAwarePolicy(std::make_unique<RandomPolicy>(7), infos, config, 3);
}

TEST(LocalityAware, HealthyPriorityZeroTakesEverything) {
  auto lb = make({at(0), at(0), at(1), at(1)});
  const auto counts = count_picks(lb, {ep(1), ep(1), ep(1), ep(1)}, 4'000);
  EXPECT_EQ(counts[2] + counts[3], 0);
  EXPECT_NEAR(counts[0], 2'000, 250);
}

TEST(LocalityAware, OverprovisioningHidesSmallLosses) {
  // 4 of 5 available = 80% × 1.4 = 112% → still 100% of the load.
  auto lb = make({at(0), at(0), at(0), at(0), at(0), at(1)});
  const std::vector<EndpointLoad> loads{ep(1), ep(1), ep(1), ep(1), ep(1, 0, false), ep(1)};
  EXPECT_EQ(lb.priority_load(loads), (std::vector<double>{100, 0}));
  EXPECT_EQ(count_picks(lb, loads, 2'000)[5], 0);
}

TEST(LocalityAware, SpillsToTheNextPriorityInProportion) {
  // 2 of 4 available at P0 = 50% × 1.4 = 70%; P1 takes the other 30%.
  auto lb = make({at(0), at(0), at(0), at(0), at(1), at(1)});
  const std::vector<EndpointLoad> loads{ep(1), ep(1), ep(1, 0, false), ep(1, 0, false), ep(1), ep(1)};
  const auto load = lb.priority_load(loads);
  ASSERT_EQ(load.size(), 2u);
  EXPECT_NEAR(load[0], 70.0, 1e-9);
  EXPECT_NEAR(load[1], 30.0, 1e-9);
  const auto counts = count_picks(lb, loads, 20'000);
  EXPECT_NEAR(counts[4] + counts[5], 6'000, 400);
  EXPECT_EQ(counts[2] + counts[3], 0);
}

TEST(LocalityAware, WeightsCountInHealth) {
  // The unavailable endpoint carries 3/4 of P0's weight: 25% × 1.4 = 35%.
  auto lb = make({at(0, Locality::kOther, 1), at(0, Locality::kOther, 3), at(1)});
  const auto load = lb.priority_load(std::vector<EndpointLoad>{ep(1), ep(3, 0, false), ep(1)});
  EXPECT_NEAR(load[0], 35.0, 1e-9);
  EXPECT_NEAR(load[1], 65.0, 1e-9);
}

TEST(LocalityAware, TooLittleEverywhereIsNormalised) {
  // P0 1/4 → 35%, P1 1/4 → 35%: 70% in total, so each gets half.
  auto lb = make({at(0), at(0), at(0), at(0), at(1), at(1), at(1), at(1)});
  std::vector<EndpointLoad> loads(8, ep(1, 0, false));
  loads[0].available = true;
  loads[4].available = true;
  const auto load = lb.priority_load(loads);
  EXPECT_NEAR(load[0], 50.0, 1e-9);
  EXPECT_NEAR(load[1], 50.0, 1e-9);
}

TEST(LocalityAware, AllUnavailableIsNullopt) {
  auto lb = make({at(0), at(1), at(2)});
  EXPECT_FALSE(lb.pick(std::vector<EndpointLoad>(3, ep(1, 0, false)), {}).has_value());
  EXPECT_FALSE(lb.pick(std::vector<EndpointLoad>(3, ep(1, 0, false)), PickContext{9}).has_value());
}

TEST(LocalityAware, PrefersTheNodesZoneThenRegion) {
  auto lb = make({at(0, Locality::kOther), at(0, Locality::kSameRegion), at(0, Locality::kSameRegion),
                  at(0, Locality::kSameZone), at(0, Locality::kSameZone)});
  std::vector<EndpointLoad> loads(5, ep(1));
  auto counts = count_picks(lb, loads, 2'000);
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 0);
  EXPECT_NEAR(counts[3], 1'000, 150);
  // The zone loses one of two (50% × 1.4 = 70% < 100%); the region (zone
  // included) still has 3 of 4 (105%): it takes over.
  loads[4].available = false;
  counts = count_picks(lb, loads, 3'000);
  EXPECT_EQ(counts[0] + counts[4], 0);
  for (int i : {1, 2, 3}) EXPECT_NEAR(counts[i], 1'000, 150) << i;
  // Nothing healthy in the region either: the whole level.
  loads[1].available = loads[2].available = loads[3].available = false;
  counts = count_picks(lb, loads, 100);
  EXPECT_EQ(counts[0], 100);
}

TEST(LocalityAware, MinLocalHealthyPercentSetsTheBar) {
  // Zone at 70% health: kept with a bar of 50, dropped with the default 100.
  const std::vector<EndpointInfo> infos{at(0, Locality::kSameZone), at(0, Locality::kSameZone), at(0)};
  const std::vector<EndpointLoad> loads{ep(1), ep(1, 0, false), ep(1)};
  auto strict = make(infos);
  EXPECT_GT(count_picks(strict, loads, 1'000)[2], 300);
  auto lenient = make(infos, config::LocalityAwareConfig{true, 1.4, 50});
  EXPECT_EQ(count_picks(lenient, loads, 1'000)[2], 0);
}

TEST(LocalityAware, LocalityIsChosenWithinThePriorityLevel) {
  // The same-zone endpoint is at priority 1: priority wins.
  auto lb = make({at(0), at(0), at(1, Locality::kSameZone)});
  EXPECT_EQ(count_picks(lb, {ep(1), ep(1), ep(1)}, 1'000)[2], 0);
}

TEST(LocalityAware, InnerPolicySeesTheMaskAndKeepsItsOrder) {
  // Round robin inside: the two P0 endpoints alternate exactly.
  LocalityAwarePolicy lb(std::make_unique<RoundRobinPolicy>(), std::vector<EndpointInfo>{at(0), at(1), at(0)},
                         config::LocalityAwareConfig{true, 1.4, 100}, 1);
  const std::vector<EndpointLoad> loads{ep(1), ep(1), ep(1)};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(lb.pick(loads, {}), i % 2 == 0 ? 0u : 2u);
}

}  // namespace
}  // namespace aegis::upstream::lb
