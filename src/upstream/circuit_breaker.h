// Cluster-wide circuit breakers (Envoy's thresholds): connections, pending
// requests, requests and retries in flight, counted across all workers with
// atomics. A breaker opens exactly at its limit: try_acquire is a
// compare-and-swap that never lets the count pass it. One object per cluster
// name for the life of the process, so that what a request took under one
// config snapshot is given back to the same counts after a reload.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "config/types.h"

namespace aegis::upstream {

class CircuitBreakers {
 public:
  enum class Resource : std::size_t { kConnections, kPendingRequests, kRequests, kRetries };
  static constexpr std::size_t kResources = 4;

  // New limits apply to the next try_acquire; counts are kept.
  void set_limits(const config::CircuitBreakers& limits);
  // Takes one unit of `r` unless `limit` (default: the configured one) is
  // already reached; false leaves the count unchanged.
  bool try_acquire(Resource r);
  bool try_acquire(Resource r, std::uint64_t limit);
  void release(Resource r);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): index(r) < kResources (enum of kResources values)
  std::uint64_t active(Resource r) const { return active_[index(r)].load(std::memory_order_relaxed); }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): index(r) < kResources (enum of kResources values)
  std::uint32_t limit(Resource r) const { return limits_[index(r)].load(std::memory_order_relaxed); }
  // The config field that limits `r`: "max_connections", ... (the breaker label of the overflow counter).
  static const char* name(Resource r);

 private:
  static constexpr std::size_t index(Resource r) { return static_cast<std::size_t>(r); }
  std::array<std::atomic<std::uint32_t>, kResources> limits_{};
  std::array<std::atomic<std::uint64_t>, kResources> active_{};
};

// The breakers of cluster `name` (created on first use, never freed, like the
// metrics). Called when a snapshot is built, not on the request path.
CircuitBreakers& circuit_breakers_for(const std::string& cluster);

// One unit of a resource, given back when the slot is destroyed (or released).
class BreakerSlot {
 public:
  BreakerSlot() = default;
  BreakerSlot(CircuitBreakers& b, CircuitBreakers::Resource r) : b_(&b), r_(r) {}
  ~BreakerSlot() { release(); }
  BreakerSlot(BreakerSlot&& o) noexcept : b_(std::exchange(o.b_, nullptr)), r_(o.r_) {}
  BreakerSlot& operator=(BreakerSlot&& o) noexcept {
    if (this != &o) {
      release();
      b_ = std::exchange(o.b_, nullptr);
      r_ = o.r_;
    }
    return *this;
  }
  BreakerSlot(const BreakerSlot&) = delete;
  BreakerSlot& operator=(const BreakerSlot&) = delete;
  bool held() const { return b_ != nullptr; }
  void release() {
    if (b_) std::exchange(b_, nullptr)->release(r_);
  }
  // Keeps the unit taken past this slot's life (e.g. a connection handed to a pool).
  void keep() { b_ = nullptr; }

 private:
  CircuitBreakers* b_ = nullptr;  // non-owning: breakers live for the process
  CircuitBreakers::Resource r_ = CircuitBreakers::Resource::kRequests;
};

// try_acquire as a slot: held() tells whether it was taken.
BreakerSlot acquire(CircuitBreakers& b, CircuitBreakers::Resource r);

}  // namespace aegis::upstream
