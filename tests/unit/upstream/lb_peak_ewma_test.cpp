// peak_ewma: latency feedback steers traffic; the estimate peaks and decays.
#include <gtest/gtest.h>

#include <cmath>

#include "lb_test_util.h"
#include "upstream/lb/peak_ewma.h"

namespace aegis::upstream::lb {
namespace {

using namespace std::chrono_literals;
using testing::ep;
using Clock = PeakEwmaPolicy::Clock;

struct FakeClock {
  Clock::time_point now = Clock::time_point{} + 1h;
  PeakEwmaPolicy::Now fn() {
    return [this] { return now; };
  }
};

AttemptResult response(std::chrono::nanoseconds latency) {
  return AttemptResult{AttemptResult::Kind::kResponse, 200, latency};
}

constexpr config::PeakEwmaConfig kDefaults{};

// `picks` picks, one per simulated millisecond, each answered in
// latency(endpoint); the count per endpoint.
template <class Latency>
std::vector<int> run_with_feedback(PeakEwmaPolicy& lb, FakeClock& clock, const std::vector<EndpointLoad>& eps,
                                   int picks, Latency latency) {
  std::vector<int> counts(eps.size(), 0);
  for (int i = 0; i < picks; ++i) {
    const auto p = lb.pick(eps, {});
    EXPECT_TRUE(p.has_value());
    if (!p) break;
    ++counts[*p];
    lb.on_result(*p, response(latency(*p)));
    clock.now += 1ms;
  }
  return counts;
}

TEST(PeakEwma, StartsAtDefaultRtt) {
  FakeClock clock;
  PeakEwmaPolicy lb(2, config::PeakEwmaConfig{10s, 30ms}, 1, clock.fn());
  EXPECT_DOUBLE_EQ(lb.rtt_estimate(0), 30e6);
  EXPECT_DOUBLE_EQ(lb.rtt_estimate(1), 30e6);
}

TEST(PeakEwma, JumpsToAPeakAndDecaysTowardsLowerSamples) {
  FakeClock clock;
  PeakEwmaPolicy lb(1, kDefaults, 1, clock.fn());
  lb.on_result(0, response(200ms));
  EXPECT_DOUBLE_EQ(lb.rtt_estimate(0), 200e6);  // at once, no averaging up
  clock.now += 10s;                              // one time constant later
  lb.on_result(0, response(0ms));
  EXPECT_NEAR(lb.rtt_estimate(0), 200e6 * std::exp(-1.0), 1e3);
  // Left alone, it keeps decaying (so a once-slow endpoint is tried again).
  const double before = lb.rtt_estimate(0);
  clock.now += 30s;
  EXPECT_LT(lb.rtt_estimate(0), before * 0.06);
}

TEST(PeakEwma, FailureCountsAsAPenaltyRtt) {
  FakeClock clock;
  PeakEwmaPolicy lb(1, kDefaults, 1, clock.fn());
  lb.on_result(0, AttemptResult{AttemptResult::Kind::kConnectFailure, 0, 1ms});
  EXPECT_GE(lb.rtt_estimate(0), 1e9);
}

TEST(PeakEwma, SendsMostTrafficToTheFastEndpoint) {
  // Endpoint 1 answers in 100 ms, endpoint 0 in 10 ms; a request every ms.
  FakeClock clock;
  PeakEwmaPolicy lb(2, kDefaults, 17, clock.fn());
  constexpr int kPicks = 20'000;
  const auto counts = run_with_feedback(lb, clock, {ep(1), ep(1)}, kPicks, [](std::size_t i) {
    return i == 0 ? std::chrono::nanoseconds(10ms) : std::chrono::nanoseconds(100ms);
  });
  const int fast = counts[0];
  EXPECT_GE(fast, kPicks * 8 / 10);
  EXPECT_LT(fast, kPicks);  // the slow one is still probed now and then
}

TEST(PeakEwma, InFlightRequestsRaiseTheCost) {
  // Same RTT, but endpoint 0 has 9 requests in flight: cost 10x.
  FakeClock clock;
  PeakEwmaPolicy lb(2, kDefaults, 5, clock.fn());
  const std::vector<EndpointLoad> eps{ep(1, 9), ep(1, 0)};
  for (int i = 0; i < 1'000; ++i) EXPECT_EQ(lb.pick(eps, {}), 1u);
}

TEST(PeakEwma, EqualEndpointsShareEvenly) {
  FakeClock clock;
  PeakEwmaPolicy lb(4, kDefaults, 8, clock.fn());
  const auto counts =
      run_with_feedback(lb, clock, {ep(1), ep(1), ep(1), ep(1)}, 20'000, [](std::size_t) { return 20ms; });
  for (int c : counts) EXPECT_NEAR(c, 5'000, 1'000);
}

TEST(PeakEwma, WeightBiasesTheDraw) {
  // Equal latency: the endpoint of weight 4 is drawn more often, so it gets
  // clearly more than the one of weight 1 (not exactly 4x: cost decides).
  FakeClock clock;
  PeakEwmaPolicy lb(2, kDefaults, 12, clock.fn());
  const auto counts = run_with_feedback(lb, clock, {ep(1), ep(4)}, 10'000, [](std::size_t) { return 20ms; });
  EXPECT_GT(counts[1], counts[0] * 3 / 2);
}

}  // namespace
}  // namespace aegis::upstream::lb
