// The retry decision (retry_on × attempt, method × body), back-off bounds,
// the budget's arithmetic and RetryState's verdicts and counters.
#include <gtest/gtest.h>

#include <random>

#include "proxy/retry.h"

namespace aegis::proxy::retry {
namespace {

using Kind = upstream::AttemptResult::Kind;
using namespace std::chrono_literals;

config::RetryPolicy policy(std::uint32_t on, std::vector<unsigned> codes = {}) {
  config::RetryPolicy p;
  p.retry_on = on;
  p.retriable_status_codes = std::move(codes);
  return p;
}
Attempt response(unsigned status, std::optional<int> grpc = std::nullopt) { return {Kind::kResponse, status, grpc, false}; }
const Attempt kReset{Kind::kReset, 0, {}, false};
const Attempt kConnect{Kind::kConnectFailure, 0, {}, false};
const Attempt kPerTry{Kind::kTimeout, 0, {}, true};
const Attempt kRouteTimeout{Kind::kTimeout, 0, {}, false};

TEST(RetryOn, TableOfConditionsAndAttempts) {
  struct Row {
    std::uint32_t on;
    Attempt attempt;
    bool retried;
  };
  const Row rows[] = {
      {config::kRetryOn5xx, response(500), true},
      {config::kRetryOn5xx, response(503), true},
      {config::kRetryOn5xx, response(404), false},
      {config::kRetryOn5xx, response(200), false},
      {config::kRetryOn5xx, kReset, true},
      {config::kRetryOn5xx, kConnect, true},
      {config::kRetryOn5xx, kPerTry, true},
      {config::kRetryOn5xx, kRouteTimeout, false},
      {config::kRetryOnGatewayError, response(500), false},
      {config::kRetryOnGatewayError, response(502), true},
      {config::kRetryOnGatewayError, response(503), true},
      {config::kRetryOnGatewayError, response(504), true},
      {config::kRetryOnGatewayError, kReset, true},
      {config::kRetryOnGatewayError, kPerTry, true},
      {config::kRetryOnReset, kReset, true},
      {config::kRetryOnReset, kConnect, true},
      {config::kRetryOnReset, response(503), false},
      {config::kRetryOnReset, kPerTry, false},
      {config::kRetryOnConnectFailure, kConnect, true},
      {config::kRetryOnConnectFailure, kReset, false},
      {config::kRetryOnConnectFailure, response(503), false},
      {config::kRetryOnUnavailable, response(200, 14), true},
      {config::kRetryOnUnavailable, response(200, 4), false},
      {config::kRetryOnUnavailable, response(503), false},  // no grpc-status: not gRPC-retriable
      {config::kRetryOnCancelled, response(200, 1), true},
      {config::kRetryOnDeadlineExceeded, response(200, 4), true},
      {config::kRetryOnInternal, response(200, 13), true},
      {config::kRetryOnResourceExhausted, response(200, 8), true},
      {config::kRetryOnResourceExhausted, response(200, 0), false},
      {config::kRetryOnUnavailable, kRouteTimeout, false},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(retriable(policy(row.on), row.attempt), row.retried)
        << "retry_on bits " << row.on << ", kind " << static_cast<int>(row.attempt.kind) << ", status "
        << row.attempt.status << ", grpc " << row.attempt.grpc_status.value_or(-1);
  }
}

TEST(RetryOn, RetriableStatusCodes) {
  const auto p = policy(config::kRetryOnRetriableStatusCodes, {409, 429});
  EXPECT_TRUE(retriable(p, response(409)));
  EXPECT_TRUE(retriable(p, response(429)));
  EXPECT_FALSE(retriable(p, response(503)));
  EXPECT_FALSE(retriable(p, kReset));
}

TEST(Replay, MethodTimesBody) {
  auto p = policy(config::kRetryOn5xx);
  struct Row {
    std::string_view method;
    bool has_body, buffered, non_idempotent, replay;
  };
  const Row rows[] = {
      {"GET", false, false, false, true},     {"HEAD", false, false, false, true},
      {"OPTIONS", false, false, false, true}, {"TRACE", false, false, false, true},
      {"PUT", false, false, false, true},     {"DELETE", false, false, false, true},
      {"PUT", true, true, false, true},       {"PUT", true, false, false, false},
      {"POST", false, false, false, false},   {"POST", true, true, false, false},
      {"PATCH", true, true, false, false},    {"POST", true, true, true, true},
      {"POST", true, false, true, false},     {"POST", false, false, true, true},
      {"get", false, false, false, false},    // methods are case-sensitive
  };
  for (const auto& row : rows) {
    p.retry_non_idempotent = row.non_idempotent;
    EXPECT_EQ(replayable(p, Request{row.method, row.has_body, row.buffered}, Kind::kReset), row.replay)
        << row.method << " body " << row.has_body << " buffered " << row.buffered << " non_idempotent "
        << row.non_idempotent;
  }
  // Nothing was sent on a connect failure: any request may go again.
  p.retry_non_idempotent = false;
  EXPECT_TRUE(replayable(p, Request{"POST", true, false}, Kind::kConnectFailure));
}

TEST(Backoff, FullJitterWithinExponentialBounds) {
  const config::RetryBackOff b{25ms, 250ms};
  std::mt19937_64 rng(42);  // fixed seed: the same draws every run
  const std::chrono::milliseconds ceilings[] = {25ms, 50ms, 100ms, 200ms, 250ms, 250ms, 250ms};
  for (std::uint32_t n = 1; n <= 7; ++n) {
    std::chrono::milliseconds lo = ceilings[n - 1], hi{0};
    for (int i = 0; i < 2000; ++i) {
      const auto d = backoff(b, n, rng());
      ASSERT_GE(d, 0ms);
      ASSERT_LE(d, ceilings[n - 1]) << "retry " << n;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter spreads over the whole range.
    EXPECT_LE(lo, ceilings[n - 1] / 10) << "retry " << n;
    EXPECT_GE(hi, ceilings[n - 1] * 9 / 10) << "retry " << n;
  }
  EXPECT_EQ(backoff(b, 1, 0), 0ms);
  EXPECT_EQ(backoff(b, 1, 25), 25ms);
  EXPECT_EQ(backoff(b, 1, 26), 0ms);
  EXPECT_EQ(backoff(b, 1000, ~0ull), std::chrono::milliseconds(~0ull % 251));  // no overflow for large n
}

TEST(Budget, Arithmetic) {
  const config::RetryBudget b{20, 3};
  EXPECT_EQ(budget_limit(b, 0), 3u);
  EXPECT_EQ(budget_limit(b, 15), 3u);
  EXPECT_EQ(budget_limit(b, 19), 3u);
  EXPECT_EQ(budget_limit(b, 20), 4u);
  EXPECT_EQ(budget_limit(b, 100), 20u);
  EXPECT_EQ(budget_limit(b, 1001), 200u);
  EXPECT_EQ(budget_limit(config::RetryBudget{100, 0}, 7), 7u);
  EXPECT_EQ(budget_limit(config::RetryBudget{1, 0}, 99), 0u);
}

struct RetryStateTest : ::testing::Test {
  stats::Counter attempted, succeeded, exhausted, budget, overflow;
  Counters counters{&attempted, &succeeded, &exhausted, &budget, &overflow};
  upstream::CircuitBreakers breakers;
  config::Cluster cluster;
  config::RetryPolicy p = policy(config::kRetryOn5xx);
  RetryStateTest() { breakers.set_limits(config::CircuitBreakers{}); }
};

TEST_F(RetryStateTest, RetriesUpToNumRetriesThenExhausted) {
  p.num_retries = 2;
  RetryState s(&p, cluster, breakers, counters);
  const Request get{"GET", false, false};
  EXPECT_EQ(s.decide(response(503), get), RetryState::Verdict::kRetry);
  EXPECT_EQ(breakers.active(upstream::CircuitBreakers::Resource::kRetries), 1u);
  s.attempt_done();
  EXPECT_EQ(breakers.active(upstream::CircuitBreakers::Resource::kRetries), 0u);
  EXPECT_EQ(s.decide(kReset, get), RetryState::Verdict::kRetry);
  EXPECT_EQ(s.decide(response(503), get), RetryState::Verdict::kExhausted);
  EXPECT_EQ(breakers.active(upstream::CircuitBreakers::Resource::kRetries), 0u);
  s.finished();
  EXPECT_EQ(s.retries(), 2u);
  EXPECT_EQ(attempted.value(), 2u);
  EXPECT_EQ(exhausted.value(), 1u);
  EXPECT_EQ(succeeded.value(), 0u);
}

TEST_F(RetryStateTest, SuccessAfterRetryIsCounted) {
  RetryState s(&p, cluster, breakers, counters);
  EXPECT_EQ(s.decide(kConnect, Request{"POST", true, false}), RetryState::Verdict::kRetry);
  EXPECT_EQ(s.decide(response(200), Request{"POST", true, false}), RetryState::Verdict::kNotRetriable);
  s.finished();
  EXPECT_EQ(succeeded.value(), 1u);
}

TEST_F(RetryStateTest, NoPolicyNeverRetries) {
  RetryState s(nullptr, cluster, breakers, counters);
  EXPECT_EQ(s.decide(response(503), Request{"GET", false, false}), RetryState::Verdict::kNotRetriable);
  EXPECT_EQ(attempted.value(), 0u);
}

TEST_F(RetryStateTest, MaxRetriesBreakerWithoutBudget) {
  config::CircuitBreakers limits;
  limits.max_retries = 1;
  breakers.set_limits(limits);
  RetryState a(&p, cluster, breakers, counters), b(&p, cluster, breakers, counters);
  const Request get{"GET", false, false};
  EXPECT_EQ(a.decide(response(500), get), RetryState::Verdict::kRetry);
  EXPECT_EQ(b.decide(response(500), get), RetryState::Verdict::kOverflow);
  EXPECT_EQ(overflow.value(), 1u);
  a.attempt_done();
  EXPECT_EQ(b.decide(response(500), get), RetryState::Verdict::kRetry);
}

TEST_F(RetryStateTest, BudgetCapsRetriesInFlight) {
  cluster.retry_budget = config::RetryBudget{50, 1};
  config::CircuitBreakers limits;
  limits.max_retries = 0;  // ignored with a budget
  breakers.set_limits(limits);
  using R = upstream::CircuitBreakers::Resource;
  // 4 requests in flight: 50% → 2 retries at once.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(breakers.try_acquire(R::kRequests));
  RetryState s1(&p, cluster, breakers, counters), s2(&p, cluster, breakers, counters),
      s3(&p, cluster, breakers, counters);
  const Request get{"GET", false, false};
  EXPECT_EQ(s1.decide(response(502), get), RetryState::Verdict::kRetry);
  EXPECT_EQ(s2.decide(response(502), get), RetryState::Verdict::kRetry);
  EXPECT_EQ(s3.decide(response(502), get), RetryState::Verdict::kBudgetExceeded);
  EXPECT_EQ(budget.value(), 1u);
  s1.finished();
  EXPECT_EQ(s3.decide(response(502), get), RetryState::Verdict::kRetry);
  for (int i = 0; i < 4; ++i) breakers.release(R::kRequests);
}

}  // namespace
}  // namespace aegis::proxy::retry
