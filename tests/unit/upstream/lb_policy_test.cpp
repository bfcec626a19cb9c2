#include "upstream/lb_policy.h"

#include <gtest/gtest.h>

#include <vector>

#include "config/values.h"
#include "lb_test_util.h"
#include "upstream/lb/least_request.h"
#include "upstream/lb/locality_aware.h"
#include "upstream/lb/maglev.h"
#include "upstream/lb/peak_ewma.h"
#include "upstream/lb/random.h"
#include "upstream/lb/ring_hash.h"
#include "upstream/lb/rng.h"
#include "upstream/lb/round_robin.h"

namespace aegis::upstream::lb {
namespace {

using testing::count_picks;
using testing::ep;

// --- factory ---------------------------------------------------------------

constexpr config::LbPolicy kAllPolicies[] = {config::LbPolicy::kRoundRobin, config::LbPolicy::kRandom,
                                             config::LbPolicy::kLeastRequest, config::LbPolicy::kPeakEwma,
                                             config::LbPolicy::kRingHash,   config::LbPolicy::kMaglev};

// A cluster of `weights.size()` endpoints 10.0.0.<i+1>:80 with those weights.
config::Cluster cluster_of(config::LbPolicy kind, const std::vector<std::uint32_t>& weights) {
  config::Cluster c;
  c.name = "c";
  c.lb_policy = kind;
  auto& group = c.load_assignment.localities.emplace_back();
  for (std::size_t i = 0; i < weights.size(); ++i)
    group.endpoints.push_back(config::Endpoint{"10.0.0." + std::to_string(i + 1), 80, weights[i], {}});
  return c;
}

TEST(MakeLbPolicy, ReturnsTheNamedPolicy) {
  const config::NodeConfig node;
  auto is = [&]<class P>(config::LbPolicy kind, P*) {
    auto lb = make_lb_policy(cluster_of(kind, {1, 1}), node, 1);
    return lb != nullptr && dynamic_cast<P*>(lb.get()) != nullptr;
  };
  EXPECT_TRUE(is(config::LbPolicy::kRoundRobin, static_cast<RoundRobinPolicy*>(nullptr)));
  EXPECT_TRUE(is(config::LbPolicy::kRandom, static_cast<RandomPolicy*>(nullptr)));
  EXPECT_TRUE(is(config::LbPolicy::kLeastRequest, static_cast<LeastRequestPolicy*>(nullptr)));
  EXPECT_TRUE(is(config::LbPolicy::kPeakEwma, static_cast<PeakEwmaPolicy*>(nullptr)));
  EXPECT_TRUE(is(config::LbPolicy::kRingHash, static_cast<RingHashPolicy*>(nullptr)));
  EXPECT_TRUE(is(config::LbPolicy::kMaglev, static_cast<MaglevPolicy*>(nullptr)));
  auto c = cluster_of(config::LbPolicy::kMaglev, {1, 1});
  c.locality_aware.enabled = true;
  auto wrapped = make_lb_policy(c, node, 1);
  EXPECT_NE(dynamic_cast<LocalityAwarePolicy*>(wrapped.get()), nullptr);
}

TEST(MakeLbPolicy, DescribesEndpointsInSnapshotOrderWithLocality) {
  config::Cluster c;
  auto& a = c.load_assignment.localities.emplace_back();
  a.region = "eu";
  a.zone = "a";
  a.endpoints.push_back(config::Endpoint{"10.0.0.1", 80, 3, {}});
  auto& b = c.load_assignment.localities.emplace_back();
  b.region = "eu";
  b.zone = "b";
  b.priority = 1;
  b.endpoints.push_back(config::Endpoint{"10.0.0.2", 81, 1, {}});
  auto& d = c.load_assignment.localities.emplace_back();
  d.region = "us";
  d.zone = "a";
  d.endpoints.push_back(config::Endpoint{"10.0.0.3", 82, 1, {}});
  const auto infos = describe_endpoints(c, config::NodeConfig{"eu", "a"});
  ASSERT_EQ(infos.size(), 3u);
  EXPECT_EQ(infos[0].name, "10.0.0.1:80");
  EXPECT_EQ(infos[0].weight, 3u);
  EXPECT_EQ(infos[0].locality, EndpointInfo::Locality::kSameZone);
  EXPECT_EQ(infos[1].priority, 1u);
  EXPECT_EQ(infos[1].locality, EndpointInfo::Locality::kSameRegion);
  EXPECT_EQ(infos[2].locality, EndpointInfo::Locality::kOther);  // same zone name, other region
  // No node locality: no preference.
  for (const auto& i : describe_endpoints(c, config::NodeConfig{})) EXPECT_EQ(i.locality, EndpointInfo::Locality::kOther);
}

// Calls check(kind, policy) for every policy, bare and locality-aware, over
// three endpoints of weights 1, `middle_weight`, 1.
template <class Check>
void for_each_policy(std::uint32_t middle_weight, Check check) {
  for (auto kind : kAllPolicies) {
    for (bool wrapped : {false, true}) {
      auto c = cluster_of(kind, {1, middle_weight, 1});
      c.locality_aware.enabled = wrapped;
      auto lb = make_lb_policy(c, config::NodeConfig{}, 7);
      check(kind, *lb);
    }
  }
}

TEST(MakeLbPolicy, NoneAvailableGivesNullopt) {
  for_each_policy(5, [](config::LbPolicy kind, LbPolicy& lb) {
    const std::vector<EndpointLoad> down{ep(1, 0, false), ep(5, 0, false), ep(1, 0, false)};
    EXPECT_FALSE(lb.pick(down, {}).has_value()) << config::to_string(kind);
    EXPECT_FALSE(lb.pick(down, PickContext{42}).has_value()) << config::to_string(kind);
  });
}

TEST(MakeLbPolicy, SingleAvailableEndpointAlwaysPicked) {
  for_each_policy(3, [](config::LbPolicy kind, LbPolicy& lb) {
    const std::vector<EndpointLoad> eps{ep(1, 0, false), ep(3, 100), ep(1, 0, false)};
    for (std::uint64_t i = 0; i < 100; ++i) {
      EXPECT_EQ(lb.pick(eps, {}), 1u) << config::to_string(kind);
      EXPECT_EQ(lb.pick(eps, PickContext{i * 0x9e3779b97f4a7c15ULL}), 1u) << config::to_string(kind);
    }
  });
}

TEST(MakeLbPolicy, EveryPolicyRespectsWeights) {
  // Weights 1:2:3:4, no load, no hash key: each policy's long-run share is
  // the weight share (round robin exactly; the others within 3 points).
  // peak_ewma is latency-driven: its weights are tested with its feedback.
  const std::vector<std::uint32_t> weights{1, 2, 3, 4};
  for (auto kind : kAllPolicies) {
    if (kind == config::LbPolicy::kPeakEwma) continue;
    auto lb = make_lb_policy(cluster_of(kind, weights), config::NodeConfig{}, 2024);
    const std::vector<EndpointLoad> eps{ep(1), ep(2), ep(3), ep(4)};
    const auto counts = count_picks(*lb, eps, 20'000);
    for (std::size_t i = 0; i < weights.size(); ++i)
      EXPECT_NEAR(counts[i], 2'000 * weights[i], 600) << config::to_string(kind) << " endpoint " << i;
  }
}

// --- round robin -----------------------------------------------------------

TEST(RoundRobin, EqualWeightsAreStableInIndexOrder) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(1), ep(1), ep(1), ep(1)};
  for (int i = 0; i < 40; ++i) EXPECT_EQ(lb.pick(eps, {}), static_cast<std::size_t>(i % 4));
}

TEST(RoundRobin, NginxSmoothSequence) {
  // The sequence nginx documents for weights {5, 1, 1}: a a b a c a a.
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(5), ep(1), ep(1)};
  const std::vector<std::size_t> expected{0, 0, 1, 0, 2, 0, 0};
  for (int round = 0; round < 3; ++round) {
    for (std::size_t want : expected) EXPECT_EQ(lb.pick(eps, {}), want);
  }
}

TEST(RoundRobin, ExactlyProportionalToWeights) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(1), ep(2), ep(3), ep(4)};  // sum 10
  const auto counts = count_picks(lb, eps, 10'000);
  EXPECT_EQ(counts, (std::vector<int>{1'000, 2'000, 3'000, 4'000}));
}

TEST(RoundRobin, ExactInEveryWindowOfTotalWeight) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(7), ep(3), ep(1)};
  for (int window = 0; window < 50; ++window) {
    EXPECT_EQ(count_picks(lb, eps, 11), (std::vector<int>{7, 3, 1}));
  }
}

TEST(RoundRobin, SkipsUnavailableAndZeroWeight) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(2), ep(5, 0, false), ep(1), ep(0)};
  const auto counts = count_picks(lb, eps, 9'000);
  EXPECT_EQ(counts, (std::vector<int>{6'000, 0, 3'000, 0}));
}

TEST(RoundRobin, EndpointComingBackRejoinsProportionally) {
  RoundRobinPolicy lb;
  std::vector<EndpointLoad> eps{ep(1), ep(1), ep(1)};
  eps[1].available = false;
  EXPECT_EQ(count_picks(lb, eps, 100), (std::vector<int>{50, 0, 50}));
  eps[1].available = true;
  const auto counts = count_picks(lb, eps, 3'000);
  for (int c : counts) EXPECT_NEAR(c, 1'000, 2);
}

TEST(RoundRobin, ResetsWhenTheEndpointSetChangesSize) {
  RoundRobinPolicy lb;
  std::vector<EndpointLoad> eps{ep(1), ep(1)};
  EXPECT_EQ(lb.pick(eps, {}), 0u);
  eps.push_back(ep(1));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(lb.pick(eps, {}), static_cast<std::size_t>(i % 3));
}

TEST(RoundRobin, IgnoresActiveRequests) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(1, 1'000), ep(1, 0)};
  EXPECT_EQ(count_picks(lb, eps, 1'000), (std::vector<int>{500, 500}));
}

// --- least request (power of two choices) ------------------------------------

TEST(LeastRequest, EqualLoadSpreadsUniformly) {
  LeastRequestPolicy lb(42);
  const std::vector<EndpointLoad> eps{ep(1), ep(1), ep(1), ep(1), ep(1)};
  const auto counts = count_picks(lb, eps, 10'000);
  for (int c : counts) EXPECT_NEAR(c, 2'000, 250);
}

TEST(LeastRequest, PrefersTheLessLoadedOfTwo) {
  LeastRequestPolicy lb(1);
  const std::vector<EndpointLoad> eps{ep(1, 10), ep(1, 3)};
  // With two endpoints both are always drawn, so the less loaded always wins.
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(eps, {}), 1u);
}

TEST(LeastRequest, MostLoadedIsNeverPickedAmongMany) {
  // p2c can only pick the most loaded endpoint if it is drawn against itself,
  // which distinct draws rule out.
  LeastRequestPolicy lb(3);
  const std::vector<EndpointLoad> eps{ep(1, 5), ep(1, 50), ep(1, 5), ep(1, 5)};
  const auto counts = count_picks(lb, eps, 10'000);
  EXPECT_EQ(counts[1], 0);
}

TEST(LeastRequest, LeastLoadedIsFavoured) {
  // Of 4 endpoints the least loaded wins whenever it is drawn: P = 1/2.
  LeastRequestPolicy lb(9);
  const std::vector<EndpointLoad> eps{ep(1, 8), ep(1, 1), ep(1, 4), ep(1, 6)};
  const auto counts = count_picks(lb, eps, 10'000);
  EXPECT_NEAR(counts[1], 5'000, 300);
  EXPECT_NEAR(counts[2], 3'333, 300);  // wins unless drawn with endpoint 1
  EXPECT_NEAR(counts[3], 1'667, 300);
  EXPECT_EQ(counts[0], 0);
}

TEST(LeastRequest, ComparesActiveRequestsPerWeight) {
  LeastRequestPolicy lb(5);
  // 10 active at weight 5 (= 2 per unit) is less loaded than 3 at weight 1.
  const std::vector<EndpointLoad> eps{ep(1, 3), ep(5, 10)};
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(eps, {}), 1u);
  const std::vector<EndpointLoad> flipped{ep(1, 1), ep(5, 10)};
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(flipped, {}), 0u);
}

TEST(LeastRequest, SkipsUnavailable) {
  LeastRequestPolicy lb(11);
  const std::vector<EndpointLoad> eps{ep(1, 0, false), ep(1, 9), ep(1, 0, false), ep(1, 9),
                                      ep(1, 9, true),  ep(0, 0)};
  const auto counts = count_picks(lb, eps, 9'000);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[5], 0);
  for (std::size_t i : {1u, 3u, 4u}) EXPECT_NEAR(counts[i], 3'000, 300) << i;
}

TEST(LeastRequest, SimulatedLoadStaysBalanced) {
  // Feed picks back as load and retire the oldest request each step: p2c keeps
  // the spread of active requests tight.
  LeastRequestPolicy lb(2024);
  std::vector<EndpointLoad> eps(8, ep(1));
  std::vector<std::size_t> inflight;
  for (int step = 0; step < 10'000; ++step) {
    const auto p = lb.pick(eps, {});
    ASSERT_TRUE(p.has_value());
    ++eps[*p].active_requests;
    inflight.push_back(*p);
    if (inflight.size() > 64) {
      --eps[inflight.front()].active_requests;
      inflight.erase(inflight.begin());
    }
  }
  std::uint32_t lo = ~0u, hi = 0;
  for (const auto& e : eps) {
    lo = std::min(lo, e.active_requests);
    hi = std::max(hi, e.active_requests);
  }
  EXPECT_LE(hi - lo, 4u);
}

TEST(LeastRequest, SameSeedSameSequence) {
  LeastRequestPolicy a(77), b(77), c(78);
  const std::vector<EndpointLoad> eps(16, ep(1));
  bool differs = false;
  for (int i = 0; i < 200; ++i) {
    const auto pa = a.pick(eps, {});
    EXPECT_EQ(pa, b.pick(eps, {}));
    differs |= pa != c.pick(eps, {});
  }
  EXPECT_TRUE(differs);
}

TEST(LbRandom, BelowStaysInRangeAndCoversIt) {
  LbRandom rng(123);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7'000; ++i) {
    const auto v = rng.below(7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int s : seen) EXPECT_NEAR(s, 1'000, 150);
}

TEST(LeastRequest, ZeroLoadFollowsWeights) {
  LeastRequestPolicy lb(31);
  const std::vector<EndpointLoad> eps{ep(1), ep(4)};
  const auto counts = count_picks(lb, eps, 10'000);
  EXPECT_NEAR(counts[1], 8'000, 300);
}

TEST(LeastRequest, MoreChoicesFindTheLeastLoadedMoreOften) {
  // Of 8 endpoints one is idle: with 2 choices it wins when drawn (2/8), with
  // 6 choices far more often (6/8).
  const std::vector<EndpointLoad> eps{ep(1, 5), ep(1, 5), ep(1, 5), ep(1, 0), ep(1, 5), ep(1, 5), ep(1, 5), ep(1, 5)};
  LeastRequestPolicy two(5, 2), six(5, 6);
  EXPECT_NEAR(count_picks(two, eps, 8'000)[3], 2'000, 250);
  EXPECT_NEAR(count_picks(six, eps, 8'000)[3], 6'000, 250);
}

// --- random ------------------------------------------------------------------

TEST(Random, SpreadsByWeightWithinStatisticalBounds) {
  // 40,000 draws at p = 0.1 .. 0.4: sd ≤ 98, so ±400 is over 4 sd.
  RandomPolicy lb(99);
  const std::vector<EndpointLoad> eps{ep(1), ep(2), ep(3), ep(4), ep(4, 0, false)};
  const auto counts = count_picks(lb, eps, 40'000);
  EXPECT_NEAR(counts[0], 4'000, 400);
  EXPECT_NEAR(counts[1], 8'000, 400);
  EXPECT_NEAR(counts[2], 12'000, 400);
  EXPECT_NEAR(counts[3], 16'000, 400);
  EXPECT_EQ(counts[4], 0);
}

TEST(Random, IgnoresLoadAndHashKey) {
  RandomPolicy lb(3);
  const std::vector<EndpointLoad> eps{ep(1, 100), ep(1, 0)};
  int first = 0;
  for (int i = 0; i < 10'000; ++i) first += lb.pick(eps, PickContext{7}) == 0u;
  EXPECT_NEAR(first, 5'000, 300);
}

}  // namespace
}  // namespace aegis::upstream::lb
