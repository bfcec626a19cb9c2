// Load balancing: given a cluster's endpoints and their current load, pick one.
// Sits between route selection and the connection pool. One policy instance per
// cluster per worker thread, so implementations keep plain (unlocked) state.
// Later policies (ewma, ring_hash, maglev, carbon_aware) implement the same
// interface; make_lb_policy is the only place that names them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "config/types.h"

namespace aegis::upstream {

struct EndpointLoad {
  std::uint32_t weight;           // 0 is treated as "take no traffic"
  std::uint32_t active_requests;  // in flight on this worker
  bool available;                 // false: skip (circuit open / connect failing)
};

// What one attempt at an endpoint came to. The session reports every attempt
// (Worker::report): latency-aware policies learn from it, and so does
// outlier detection.
struct AttemptResult {
  enum class Kind {
    kResponse,        // a response head arrived (`status`)
    kConnectFailure,  // TCP connect or upstream TLS handshake failed
    kReset,           // closed/reset before a complete response, or invalid response
    kTimeout,         // the route's timeout passed first
  };
  Kind kind = Kind::kResponse;
  unsigned status = 0;                // kResponse
  std::chrono::nanoseconds latency{}; // attempt start → response head (or failure)
};

class LbPolicy {  // not thread-safe: one instance per cluster per worker
 public:
  virtual ~LbPolicy() = default;
  // Index into `endpoints`, or nullopt if none is available. The caller passes
  // the cluster's endpoints in the same order on every call; a change in their
  // number resets any per-endpoint state the policy keeps.
  virtual std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints) = 0;
  // Feedback on an attempt at endpoints[index] (same indexing as pick).
  virtual void on_result(std::size_t /*index*/, const AttemptResult& /*result*/) {}
};

// `seed` feeds the policy's PRNG, if it has one; give each worker its own seed.
std::unique_ptr<LbPolicy> make_lb_policy(config::LbPolicy kind, std::uint64_t seed);

}  // namespace aegis::upstream
