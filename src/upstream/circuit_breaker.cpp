#include "upstream/circuit_breaker.h"

#include <map>
#include <memory>
#include <mutex>

namespace aegis::upstream {

void CircuitBreakers::set_limits(const config::CircuitBreakers& l) {
  limits_[index(Resource::kConnections)].store(l.max_connections, std::memory_order_relaxed);
  limits_[index(Resource::kPendingRequests)].store(l.max_pending_requests, std::memory_order_relaxed);
  limits_[index(Resource::kRequests)].store(l.max_requests, std::memory_order_relaxed);
  limits_[index(Resource::kRetries)].store(l.max_retries, std::memory_order_relaxed);
}

bool CircuitBreakers::try_acquire(Resource r) { return try_acquire(r, limit(r)); }

bool CircuitBreakers::try_acquire(Resource r, std::uint64_t limit) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): index(r) < kResources (enum of kResources values)
  auto& count = active_[index(r)];
  auto cur = count.load(std::memory_order_relaxed);
  do {
    if (cur >= limit) return false;
  } while (!count.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed));
  return true;
}

void CircuitBreakers::release(Resource r) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): index(r) < kResources (enum of kResources values)
  active_[index(r)].fetch_sub(1, std::memory_order_relaxed);
}

const char* CircuitBreakers::name(Resource r) {
  switch (r) {
    case Resource::kConnections: return "max_connections";
    case Resource::kPendingRequests: return "max_pending_requests";
    case Resource::kRequests: return "max_requests";
    case Resource::kRetries: return "max_retries";
  }
  return "unknown";
}

CircuitBreakers& circuit_breakers_for(const std::string& cluster) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<CircuitBreakers>, std::less<>> all;
  const std::lock_guard lock(mu);
  auto& slot = all[cluster];
  if (!slot) {
    slot = std::make_unique<CircuitBreakers>();
    slot->set_limits(config::CircuitBreakers{});
  }
  return *slot;
}

BreakerSlot acquire(CircuitBreakers& b, CircuitBreakers::Resource r) {
  return b.try_acquire(r) ? BreakerSlot(b, r) : BreakerSlot();
}

}  // namespace aegis::upstream
