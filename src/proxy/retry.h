// Retries: which failed attempts are tried again (Envoy's retry_on), which
// requests are safe to send twice, the back-off before the next try and the
// cluster's retry budget. The decision is codec-neutral: both sessions use
// it. RetryState carries one request's retries (count, the retry slot it
// holds, the metrics); RequestRetries adds what a session drives them with.
#pragma once

#include <boost/beast/http/message.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/types.h"
#include "core/io.h"
#include "stats/stats.h"
#include "upstream/circuit_breaker.h"
#include "upstream/lb_policy.h"

namespace aegis::proxy::retry {

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2).
bool idempotent(std::string_view method);

// What one attempt came to.
struct Attempt {
  upstream::AttemptResult::Kind kind = upstream::AttemptResult::Kind::kResponse;
  unsigned status = 0;                // kResponse: the HTTP status
  std::optional<int> grpc_status;     // kResponse: grpc-status of a trailers-only response
  bool per_try_timeout = false;       // kTimeout: the per-try timeout, not the route's, passed
};

// The attempt a response head represents: its status, and its grpc-status
// when it has one (a trailers-only gRPC answer).
Attempt answered(const boost::beast::http::response_header<>& head);

// Whether retry_on covers this attempt. The route's own timeout is never
// retried (its deadline has passed for every attempt).
bool retriable(const config::RetryPolicy& policy, const Attempt& attempt);

// The request as far as a replay is concerned.
struct Request {
  std::string_view method;
  bool has_body = false;
  bool body_buffered = false;  // the whole body was received and kept (≤ retry_buffer_limit)
};
// Safe to send again after `kind`: a connect failure sent nothing, so always;
// otherwise an idempotent method (or retry_non_idempotent) whose body, if
// any, is fully buffered.
bool replayable(const config::RetryPolicy& policy, const Request& request, upstream::AttemptResult::Kind kind);

// Full-jitter exponential back-off before retry `n` (1 for the first retry):
// `random` scaled into [0, min(max_interval, base_interval × 2^(n-1))].
std::chrono::milliseconds backoff(const config::RetryBackOff& b, std::uint32_t n, std::uint64_t random);

// Retries in flight allowed by a budget with `active_requests` in flight:
// max(min_retry_concurrency, budget_percent % of active_requests).
std::uint64_t budget_limit(const config::RetryBudget& budget, std::uint64_t active_requests);

// A cluster's retry counters (aegis_upstream_retries_total{result}).
struct Counters {
  stats::Counter* attempted = nullptr;
  stats::Counter* succeeded = nullptr;
  stats::Counter* exhausted = nullptr;
  stats::Counter* budget_exceeded = nullptr;
  stats::Counter* overflow = nullptr;  // aegis_upstream_overflow_total{breaker="max_retries"}
};

// One request's retries against one cluster.
class RetryState {
 public:
  enum class Verdict {
    kRetry,           // go again (a retry slot is now held)
    kNotRetriable,    // retry_on does not cover it, or the request is unsafe to replay
    kExhausted,       // num_retries used up
    kBudgetExceeded,  // the cluster's retry_budget is full
    kOverflow,        // circuit_breakers.max_retries reached
  };
  // `policy` null: the route has no retry policy (every verdict is kNotRetriable).
  RetryState(const config::RetryPolicy* policy, const config::Cluster& cluster, upstream::CircuitBreakers& breakers,
             const Counters& counters)
      : policy_(policy), cluster_(cluster), breakers_(breakers), counters_(counters) {}
  ~RetryState();
  RetryState(const RetryState&) = delete;
  RetryState& operator=(const RetryState&) = delete;

  const config::RetryPolicy* policy() const { return policy_; }
  std::uint32_t retries() const { return retries_; }
  // Decides about a failed (or retriable) attempt and counts the verdict.
  Verdict decide(const Attempt& attempt, const Request& request);
  // Side-effect-free preview: whether decide would even consider it.
  bool may_retry(const Attempt& attempt, const Request& request) const;
  // The attempt a kRetry verdict started has ended (its retry slot is given back).
  void attempt_done() { slot_.release(); }
  // An upstream answer was relayed downstream: counts `succeeded` when
  // retries led to it (not when the last verdict gave up).
  void finished();

 private:
  const config::RetryPolicy* policy_;
  const config::Cluster& cluster_;
  upstream::CircuitBreakers& breakers_;
  const Counters& counters_;
  std::uint32_t retries_ = 0;
  bool gave_up_ = false;  // exhausted, over budget or overflow: not a success
  upstream::BreakerSlot slot_;  // the retry in flight, if any
};

// Waits `wait` (a back-off) on `ex`.
core::Task<void> sleep(core::Executor ex, std::chrono::milliseconds wait);

// One request's retries as a session drives them, whichever codec the
// request came in on: whether a failed attempt goes again (and the back-off
// to wait first), each attempt's per-try deadline, and the request body kept
// (up to retry_buffer_limit) so that a retry can send it again.
class RequestRetries {
 public:
  using Clock = std::chrono::steady_clock;
  // `deadline`: the request's (route timeout / grpc-timeout), if any.
  RequestRetries(RetryState& state, std::string_view method, bool has_body, std::optional<Clock::time_point> deadline);
  RequestRetries(const RequestRetries&) = delete;
  RequestRetries& operator=(const RequestRetries&) = delete;

  RetryState& state() { return state_; }
  // Whether `attempt` goes again (counted by RetryState); if so, wait
  // backoff() first. Never when that wait would pass the request's deadline.
  bool granted(const Attempt& attempt, bool body_buffered, std::uint64_t random);
  std::chrono::milliseconds backoff() const { return backoff_; }
  // The next attempt's deadline: the request's, or per_try_timeout from now
  // when sooner (then per_try_armed()).
  std::optional<Clock::time_point> attempt_deadline();
  bool per_try_armed() const { return per_try_armed_; }
  // Body bytes as they are forwarded: kept while a replay stays possible.
  void keep(std::string_view data);
  // The whole body is kept: `complete` (the attempt read all of it) and it fit.
  bool body_kept(bool complete) const { return complete && !overflow_; }
  const std::string& body() const { return body_; }

 private:
  RetryState& state_;
  std::string_view method_;
  bool has_body_;
  std::optional<Clock::time_point> deadline_;
  std::chrono::milliseconds backoff_{0};
  bool per_try_armed_ = false;
  std::string body_;
  std::uint64_t limit_ = 0;
  bool overflow_ = true;  // not kept: no policy, not replayable, or longer than the limit
};

}  // namespace aegis::proxy::retry
