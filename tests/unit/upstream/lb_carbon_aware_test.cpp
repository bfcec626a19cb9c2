// lb_policy carbon_aware on its own clock and board: traffic follows the
// cleanest zone within capacity, the SLO and staleness rules hold, and within
// a locality least_request picks.
#include <gtest/gtest.h>

#include "lb_test_util.h"
#include "upstream/lb/carbon_aware.h"

namespace aegis::upstream {
namespace {

using namespace std::chrono_literals;
using carbon::Clock;
using testing::ep;

struct Rig {
  carbon::IntensityBoard board;
  Clock::time_point now = Clock::time_point{} + std::chrono::hours(24 * 365 * 50);
  config::CarbonAwareConfig cfg;
  std::unique_ptr<lb::CarbonAwarePolicy> policy;
  std::vector<EndpointLoad> eps = std::vector<EndpointLoad>(6, ep(1));  // DE: 0,1  FR: 2,3  GB: 4,5

  Rig() {
    cfg.rebalance_interval = 10s;
    cfg.max_step = 0.2;
  }
  void make() {
    std::vector<lb::CarbonLocality> l{{"DE", 100, {0, 1}}, {"FR", 100, {2, 3}}, {"GB", 100, {4, 5}}};
    policy = std::make_unique<lb::CarbonAwarePolicy>(std::move(l), cfg, board, [this] { return now; }, 7);
  }
  void publish(const std::string& zone, double g, Clock::duration age = 0s,
               std::chrono::milliseconds feed_max_age = 0ms) {
    carbon::Reading r;
    r.max_age = feed_max_age;
    r.gco2_per_kwh = g;
    r.at = now - age;
    r.fetched = now;
    r.provider = "test";
    board.publish(zone, r);
  }
  // The usual grid: FR cleanest, then GB, DE dirtiest.
  void publish_fr_gb_de() {
    publish("DE", 400);
    publish("FR", 50);
    publish("GB", 200);
  }
  // `seconds` of traffic at `rps`; returns the picks per locality.
  std::vector<int> run(int seconds, int rps) {
    std::vector<int> per_locality(3, 0);
    const auto gap = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rps));
    for (int i = 0; i < seconds * rps; ++i) {
      now += gap;
      const auto p = policy->pick(eps, {});
      EXPECT_TRUE(p);
      if (!p) break;
      EXPECT_TRUE(eps[*p].available);
      ++per_locality[*p / 2];
    }
    return per_locality;
  }
};

double share(const std::vector<int>& v, std::size_t i) {
  return static_cast<double>(v[i]) / (v[0] + v[1] + v[2]);
}

TEST(CarbonAwarePolicy, TrafficFollowsTheCleanestZoneWithinCapacity) {
  Rig rig;
  rig.make();
  rig.publish_fr_gb_de();
  rig.run(120, 100);  // 100 rps against 3 × 100 capacity: converge
  for (int window = 0; window < 6; ++window) {
    const auto v = rig.run(10, 100);
    EXPECT_LE(v[1], 0.8 * 100 * 10 + 1) << "FR above max_utilization in window " << window;
    EXPECT_GT(share(v, 1), 0.7);
    EXPECT_GT(share(v, 2), 0.15);
    EXPECT_LT(share(v, 0), 0.03);
  }
  // GB becomes the cleanest: its share rises, FR's falls.
  rig.publish("GB", 10);
  rig.run(120, 100);
  const auto v = rig.run(30, 100);
  EXPECT_GT(share(v, 2), 0.7);
  EXPECT_LT(share(v, 1), 0.3);
  EXPECT_LE(v[2], 0.8 * 100 * 30 + 1);
}

// The limit holds between rebalances too: demand doubling within a window
// (the plan still sized for the old demand) does not push the cleanest
// locality over max_utilization × capacity in any second; the excess spills.
TEST(CarbonAwarePolicy, CapacityHoldsWhenDemandJumpsBetweenRebalances) {
  Rig rig;
  rig.cfg.rebalance_interval = 250ms;
  rig.make();
  rig.publish_fr_gb_de();
  rig.run(60, 100);  // converged: FR near its 80/s limit
  for (int second = 0; second < 5; ++second) {
    const auto v = rig.run(1, 200);
    EXPECT_LE(v[1], 0.8 * 100 + 8) << "FR above its limit in second " << second << " after the jump";
    EXPECT_EQ(v[0] + v[1] + v[2], 200);  // nothing refused: the rest spilled
  }
}

TEST(CarbonAwarePolicy, ShiftsGraduallyNotAtOnce) {
  Rig rig;
  rig.cfg.max_step = 0.1;
  rig.make();
  rig.publish("DE", 400);
  rig.publish("FR", 50);
  rig.publish("GB", 400);
  const auto first = rig.run(10, 100);  // first window: at most 0.1 moved from the even split
  EXPECT_LT(share(first, 1), 0.50);
  EXPECT_NEAR(rig.policy->plan().shares[1], 1.0 / 3 + 0.1, 1e-9);
}

TEST(CarbonAwarePolicy, AllStaleIsPlainLeastRequest) {
  Rig rig;
  rig.cfg.max_age = config::Millis(30min);
  rig.make();
  rig.publish("DE", 400, 1h);
  rig.publish("FR", 50, 1h);
  rig.eps[0] = ep(1, 10);  // busy: least_request never takes it with 6 endpoints
  const auto v = rig.run(60, 100);
  EXPECT_FALSE(rig.policy->plan().shifting);
  EXPECT_NEAR(share(v, 1), 1.0 / 2.5, 0.05);  // 5 idle endpoints, 2 of them in FR
  EXPECT_NEAR(share(v, 2), 1.0 / 2.5, 0.05);
}

// Without its own max_age the policy takes each reading's feed's: the same
// staleness /carbon shows. Its own max_age, when set, wins.
TEST(CarbonAwarePolicy, StalenessFollowsTheFeedsMaxAgeUnlessTheClusterSetsOne) {
  {
    Rig rig;
    rig.make();  // cfg.max_age unset
    rig.publish("DE", 400, 1h, 30min);  // older than their feeds' 30 min: stale
    rig.publish("FR", 50, 1h, 30min);
    rig.run(20, 100);
    EXPECT_FALSE(rig.policy->plan().shifting);
  }
  {
    Rig rig;
    rig.make();
    rig.publish("DE", 400, 1h, 3h);  // a slow feed allows 3 h: fresh
    rig.publish("FR", 50, 1h, 3h);
    rig.run(20, 100);
    EXPECT_TRUE(rig.policy->plan().shifting);
  }
  {
    Rig rig;
    rig.cfg.max_age = config::Millis(30min);  // the cluster's own limit overrides the feed's 3 h
    rig.make();
    rig.publish("DE", 400, 1h, 3h);
    rig.publish("FR", 50, 1h, 3h);
    rig.run(20, 100);
    EXPECT_FALSE(rig.policy->plan().shifting);
  }
}

TEST(CarbonAwarePolicy, LocalityBreakingTheSloGetsNoShiftedTraffic) {
  Rig rig;
  rig.cfg.latency_slo = 150ms;
  rig.make();
  rig.publish_fr_gb_de();
  for (std::size_t e = 2; e <= 3; ++e)
    for (int i = 0; i < 20; ++i) rig.policy->on_result(e, AttemptResult{AttemptResult::Kind::kResponse, 200, 300ms});
  for (std::size_t e : {0u, 1u, 4u, 5u}) rig.policy->on_result(e, AttemptResult{AttemptResult::Kind::kResponse, 200, 30ms});
  rig.run(120, 100);
  const auto v = rig.run(30, 100);
  EXPECT_LT(share(v, 1), 1.0 / 3 + 0.03);  // its unshifted third at most
  EXPECT_GT(share(v, 2), 0.6);             // GB, the next cleanest, takes the shifted traffic
}

TEST(CarbonAwarePolicy, LeastRequestWithinTheLocalityAndSkipsUnavailable) {
  Rig rig;
  rig.make();
  rig.publish_fr_gb_de();
  rig.eps[2] = ep(1, 8);  // FR's first endpoint is busy
  std::vector<int> per_endpoint(6, 0);
  for (int i = 0; i < 3000; ++i) {
    rig.now += 10ms;
    ++per_endpoint[*rig.policy->pick(rig.eps, {})];
  }
  EXPECT_EQ(per_endpoint[2], 0);
  EXPECT_GT(per_endpoint[3], 1000);
  // FR down entirely: its traffic goes elsewhere, never to an unavailable endpoint.
  rig.eps[2] = ep(1, 0, false);
  rig.eps[3] = ep(1, 0, false);
  const auto v = rig.run(30, 100);
  EXPECT_EQ(v[1], 0);
  EXPECT_GT(v[2], v[0]);  // GB, the cleaner of the rest, takes more
}

TEST(CarbonAwarePolicy, SurvivesTheWallClockSteppingBack) {
  Rig rig;
  rig.make();
  rig.publish_fr_gb_de();
  rig.run(60, 100);
  const double before = rig.policy->plan().shares[1];
  rig.now -= 1h;
  rig.publish("FR", 50);  // readings stay fresh relative to the new time
  rig.publish("GB", 200);
  rig.publish("DE", 400);
  const auto v = rig.run(60, 100);
  EXPECT_GT(share(v, 1), 0.7);  // still shifting, within capacity
  EXPECT_LE(v[1], 0.8 * 100 * 60 + 100);
  EXPECT_GE(rig.policy->plan().shares[1], before - 1e-9);
}

TEST(CarbonAwarePolicy, FactoryBuildsItFromConfig) {
  config::Cluster c;
  c.lb_policy = config::LbPolicy::kCarbonAware;
  for (const char* zone : {"ZZ-TEST-A", "ZZ-TEST-B"}) {
    auto& g = c.load_assignment.localities.emplace_back();
    g.grid_zone = zone;
    g.capacity = 1000;
    g.endpoints.push_back(config::Endpoint{"127.0.0.1", 1, 1, {}});
  }
  auto policy = make_lb_policy(c, {}, 1);
  const std::vector<EndpointLoad> eps{ep(1), ep(1)};
  // No readings on the process board for these zones: least_request over both.
  const auto counts = testing::count_picks(*policy, eps, 2000);
  EXPECT_GT(counts[0], 800);
  EXPECT_GT(counts[1], 800);
}

}  // namespace
}  // namespace aegis::upstream
