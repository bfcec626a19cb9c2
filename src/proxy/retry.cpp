#include "proxy/retry.h"

#include "http/grpc.h"

#include <boost/asio/basic_waitable_timer.hpp>

#include <algorithm>

namespace aegis::proxy::retry {

namespace {
using Kind = upstream::AttemptResult::Kind;

bool has(const config::RetryPolicy& p, std::uint32_t bit) { return (p.retry_on & bit) != 0; }

bool grpc_retriable(const config::RetryPolicy& p, int code) {
  switch (code) {
    case 1: return has(p, config::kRetryOnCancelled);
    case 4: return has(p, config::kRetryOnDeadlineExceeded);
    case 8: return has(p, config::kRetryOnResourceExhausted);
    case 13: return has(p, config::kRetryOnInternal);
    case 14: return has(p, config::kRetryOnUnavailable);
    default: return false;
  }
}
}  // namespace

bool idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

bool retriable(const config::RetryPolicy& p, const Attempt& a) {
  constexpr auto kGateway = config::kRetryOn5xx | config::kRetryOnGatewayError;
  switch (a.kind) {
    case Kind::kConnectFailure:
      return has(p, kGateway | config::kRetryOnReset | config::kRetryOnConnectFailure);
    case Kind::kReset:
      return has(p, kGateway | config::kRetryOnReset);
    case Kind::kTimeout:
      return a.per_try_timeout && has(p, kGateway);
    case Kind::kResponse:
      break;
  }
  if (a.status >= 500 && has(p, config::kRetryOn5xx)) return true;
  if ((a.status == 502 || a.status == 503 || a.status == 504) && has(p, config::kRetryOnGatewayError)) return true;
  if (has(p, config::kRetryOnRetriableStatusCodes) &&
      std::find(p.retriable_status_codes.begin(), p.retriable_status_codes.end(), a.status) !=
          p.retriable_status_codes.end())
    return true;
  return a.grpc_status && grpc_retriable(p, *a.grpc_status);
}

bool replayable(const config::RetryPolicy& p, const Request& r, Kind kind) {
  if (kind == Kind::kConnectFailure) return true;
  if (!idempotent(r.method) && !p.retry_non_idempotent) return false;
  return !r.has_body || r.body_buffered;
}

std::chrono::milliseconds backoff(const config::RetryBackOff& b, std::uint32_t n, std::uint64_t random) {
  const auto max_ms = static_cast<std::uint64_t>(b.max_interval.count());
  std::uint64_t ceiling = static_cast<std::uint64_t>(b.base_interval.count());
  for (std::uint32_t i = 1; i < n && ceiling < max_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_ms);
  return std::chrono::milliseconds(random % (ceiling + 1));
}

std::uint64_t budget_limit(const config::RetryBudget& budget, std::uint64_t active_requests) {
  return std::max<std::uint64_t>(budget.min_retry_concurrency, active_requests * budget.budget_percent / 100);
}

bool RetryState::may_retry(const Attempt& attempt, const Request& request) const {
  return policy_ && retriable(*policy_, attempt) && replayable(*policy_, request, attempt.kind);
}

RetryState::Verdict RetryState::decide(const Attempt& attempt, const Request& request) {
  slot_.release();
  if (!may_retry(attempt, request)) return Verdict::kNotRetriable;
  using R = upstream::CircuitBreakers::Resource;
  if (retries_ >= policy_->num_retries) {
    counters_.exhausted->inc();
    gave_up_ = true;
    return Verdict::kExhausted;
  }
  if (cluster_.retry_budget) {
    const auto limit = budget_limit(*cluster_.retry_budget, breakers_.active(R::kRequests));
    if (!breakers_.try_acquire(R::kRetries, limit)) {
      counters_.budget_exceeded->inc();
      gave_up_ = true;
      return Verdict::kBudgetExceeded;
    }
  } else if (!breakers_.try_acquire(R::kRetries)) {
    counters_.overflow->inc();
    gave_up_ = true;
    return Verdict::kOverflow;
  }
  slot_ = upstream::BreakerSlot(breakers_, R::kRetries);
  ++retries_;
  counters_.attempted->inc();
  return Verdict::kRetry;
}

void RetryState::finished() {
  slot_.release();
  if (retries_ > 0 && !gave_up_) counters_.succeeded->inc();
  gave_up_ = true;  // counted once
}

RetryState::~RetryState() = default;

Attempt answered(const boost::beast::http::response_header<>& head) {
  std::optional<int> grpc_status;
  if (auto it = head.find("grpc-status"); it != head.end()) grpc_status = http::grpc::parse_status(it->value());
  return Attempt{upstream::AttemptResult::Kind::kResponse, head.result_int(), grpc_status, false};
}

core::Task<void> sleep(core::Executor ex, std::chrono::milliseconds wait) {
  if (wait.count() == 0) co_return;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                    core::Executor>
      timer(ex, wait);
  co_await timer.async_wait(core::kAwait);
}

RequestRetries::RequestRetries(RetryState& state, std::string_view method, bool has_body,
                               std::optional<Clock::time_point> deadline)
    : state_(state), method_(method), has_body_(has_body), deadline_(deadline) {
  // A body is kept as it is forwarded only when a retry could replay it.
  const auto* p = state.policy();
  if (p && has_body && (idempotent(method) || p->retry_non_idempotent)) {
    limit_ = p->retry_buffer_limit;
    overflow_ = false;
  }
}

bool RequestRetries::granted(const Attempt& attempt, bool body_buffered, std::uint64_t random) {
  const auto* p = state_.policy();
  if (!p) return false;
  const Request request{method_, has_body_, body_buffered};
  if (!state_.may_retry(attempt, request)) return false;
  const auto wait = retry::backoff(p->back_off, state_.retries() + 1, random);
  if (deadline_ && Clock::now() + wait >= *deadline_) return false;
  if (state_.decide(attempt, request) != RetryState::Verdict::kRetry) return false;
  backoff_ = wait;
  return true;
}

std::optional<RequestRetries::Clock::time_point> RequestRetries::attempt_deadline() {
  per_try_armed_ = false;
  const auto* p = state_.policy();
  if (!p || p->per_try_timeout.count() == 0) return deadline_;
  const auto per_try = Clock::now() + p->per_try_timeout;
  if (deadline_ && *deadline_ <= per_try) return deadline_;
  per_try_armed_ = true;
  return per_try;
}

void RequestRetries::keep(std::string_view data) {
  if (overflow_) return;
  if (body_.size() + data.size() > limit_) {
    overflow_ = true;
    std::string().swap(body_);
    return;
  }
  body_.append(data);
}

}  // namespace aegis::proxy::retry
