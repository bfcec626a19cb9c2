// Load balancing: given a cluster's endpoints and their current load, pick one.
// Sits between route selection and the connection pool. One policy instance per
// cluster per worker thread (rebuilt on every config snapshot), so
// implementations keep plain (unlocked) state. The policies live in
// upstream/lb/, one file each; make_lb_policy is the only place naming them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/types.h"

namespace aegis::upstream {

struct EndpointLoad {
  std::uint32_t weight;           // 0 is treated as "take no traffic"
  std::uint32_t active_requests;  // in flight on this worker
  bool available;                 // false: skip (circuit open / connect failing / unhealthy)
};

// What a pick may depend on besides load: the request's hash key (from the
// route's hash_policy), used by ring_hash and maglev; without one they pick at
// random. A retry passes the same context again.
struct PickContext {
  std::optional<std::uint64_t> hash;
};

// Fixed facts about one endpoint, in the order pick() sees them.
struct EndpointInfo {
  enum class Locality { kSameZone, kSameRegion, kOther };  // relative to the proxy's node
  std::string name;            // "host:port": the identity consistent hashing places on its ring
  std::uint32_t weight = 1;
  std::uint32_t priority = 0;  // 0 is the most preferred level
  Locality locality = Locality::kOther;
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
  // Index into `endpoints`, or nullopt if none is available with weight > 0.
  // The caller passes the cluster's endpoints in the same order on every call,
  // the order of the EndpointInfo the policy was made with.
  virtual std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) = 0;
  // Feedback on an attempt at endpoints[index] (same indexing as pick).
  virtual void on_result(std::size_t /*index*/, const AttemptResult& /*result*/) {}
};

// The cluster's endpoints in pick() order (its localities' endpoints, in file
// order), with their locality relative to `node`.
std::vector<EndpointInfo> describe_endpoints(const config::Cluster& cluster, const config::NodeConfig& node);

// The cluster's lb_policy with its options, wrapped in the locality-aware
// filter when the cluster enables it. `seed` feeds the policy's PRNG; give
// each worker its own seed.
std::unique_ptr<LbPolicy> make_lb_policy(const config::Cluster& cluster, const config::NodeConfig& node,
                                         std::uint64_t seed);

}  // namespace aegis::upstream
