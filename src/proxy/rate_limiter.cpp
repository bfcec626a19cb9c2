#include "proxy/rate_limiter.h"

#include <algorithm>

namespace aegis::proxy {

RateLimiter::RateLimiter(const config::RateLimit& limit)
    : interval_ns_(std::max<std::int64_t>(1, 1'000'000'000LL / std::max<std::uint32_t>(1, limit.requests_per_second))),
      tolerance_ns_(interval_ns_ * (std::max<std::uint32_t>(1, limit.burst) - 1)) {}

bool RateLimiter::try_acquire(Clock::time_point now, std::chrono::nanoseconds& retry_after) {
  const std::int64_t t = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  std::int64_t tat = tat_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t start = std::max(tat, t);
    if (start - t > tolerance_ns_) {
      retry_after = std::chrono::nanoseconds(start - tolerance_ns_ - t);
      return false;
    }
    if (tat_ns_.compare_exchange_weak(tat, start + interval_ns_, std::memory_order_relaxed)) return true;
  }
}

}  // namespace aegis::proxy
