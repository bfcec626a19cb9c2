#include "upstream/lb_policy.h"

#include <gtest/gtest.h>

#include <vector>

#include "upstream/lb_least_request.h"
#include "upstream/lb_random.h"
#include "upstream/lb_round_robin.h"

namespace aegis::upstream {
namespace {

EndpointLoad ep(std::uint32_t weight, std::uint32_t active = 0, bool available = true) {
  return EndpointLoad{weight, active, available};
}

std::vector<int> count_picks(LbPolicy& lb, const std::vector<EndpointLoad>& eps, int picks) {
  std::vector<int> counts(eps.size(), 0);
  for (int i = 0; i < picks; ++i) {
    const auto p = lb.pick(eps);
    EXPECT_TRUE(p.has_value());
    if (!p) break;
    EXPECT_LT(*p, eps.size());
    ++counts[*p];
  }
  return counts;
}

// --- factory ---------------------------------------------------------------

TEST(MakeLbPolicy, ReturnsTheNamedPolicy) {
  auto rr = make_lb_policy(config::LbPolicy::kRoundRobin, 1);
  auto lr = make_lb_policy(config::LbPolicy::kLeastRequest, 1);
  ASSERT_NE(rr, nullptr);
  ASSERT_NE(lr, nullptr);
  EXPECT_NE(dynamic_cast<RoundRobinPolicy*>(rr.get()), nullptr);
  EXPECT_NE(dynamic_cast<LeastRequestPolicy*>(lr.get()), nullptr);
}

TEST(MakeLbPolicy, NoEndpointsOrNoneAvailableGivesNullopt) {
  for (auto kind : {config::LbPolicy::kRoundRobin, config::LbPolicy::kLeastRequest}) {
    auto lb = make_lb_policy(kind, 7);
    EXPECT_FALSE(lb->pick({}).has_value());
    const std::vector<EndpointLoad> down{ep(1, 0, false), ep(5, 0, false), ep(0, 0, true)};
    EXPECT_FALSE(lb->pick(down).has_value());
  }
}

TEST(MakeLbPolicy, SingleAvailableEndpointAlwaysPicked) {
  for (auto kind : {config::LbPolicy::kRoundRobin, config::LbPolicy::kLeastRequest}) {
    auto lb = make_lb_policy(kind, 7);
    const std::vector<EndpointLoad> eps{ep(1, 0, false), ep(3, 100), ep(1, 0, false)};
    for (int i = 0; i < 100; ++i) EXPECT_EQ(lb->pick(eps), 1u);
  }
}

// --- round robin -----------------------------------------------------------

TEST(RoundRobin, EqualWeightsAreStableInIndexOrder) {
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(1), ep(1), ep(1), ep(1)};
  for (int i = 0; i < 40; ++i) EXPECT_EQ(lb.pick(eps), static_cast<std::size_t>(i % 4));
}

TEST(RoundRobin, NginxSmoothSequence) {
  // The sequence nginx documents for weights {5, 1, 1}: a a b a c a a.
  RoundRobinPolicy lb;
  const std::vector<EndpointLoad> eps{ep(5), ep(1), ep(1)};
  const std::vector<std::size_t> expected{0, 0, 1, 0, 2, 0, 0};
  for (int round = 0; round < 3; ++round) {
    for (std::size_t want : expected) EXPECT_EQ(lb.pick(eps), want);
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
  EXPECT_EQ(lb.pick(eps), 0u);
  eps.push_back(ep(1));
  for (int i = 0; i < 9; ++i) EXPECT_EQ(lb.pick(eps), static_cast<std::size_t>(i % 3));
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
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(eps), 1u);
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
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(eps), 1u);
  const std::vector<EndpointLoad> flipped{ep(1, 1), ep(5, 10)};
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(flipped), 0u);
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
    const auto p = lb.pick(eps);
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
    const auto pa = a.pick(eps);
    EXPECT_EQ(pa, b.pick(eps));
    differs |= pa != c.pick(eps);
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

}  // namespace
}  // namespace aegis::upstream
