// Local rate limit of one route, shared by every worker: the generic cell
// rate algorithm (GCRA, a token bucket kept as one "theoretical arrival
// time"), so a decision is one atomic compare-and-swap, no lock and no
// refill timer. `burst` requests may arrive at once; after that one every
// 1/requests_per_second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "config/types.h"

namespace aegis::proxy {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(const config::RateLimit& limit);

  // True if a request arriving at `now` may pass (and counts it). Otherwise
  // false, and `retry_after` is how long until one more would pass.
  bool try_acquire(Clock::time_point now, std::chrono::nanoseconds& retry_after);

 private:
  std::int64_t interval_ns_;   // 1 s / requests_per_second
  std::int64_t tolerance_ns_;  // interval × (burst − 1)
  std::atomic<std::int64_t> tat_ns_{0};  // theoretical arrival time, on Clock's epoch
};

}  // namespace aegis::proxy
