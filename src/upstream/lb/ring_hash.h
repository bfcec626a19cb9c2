// Ketama-style consistent hashing (Envoy's ring_hash): every endpoint puts
// virtual nodes on a 64-bit ring in proportion to its weight, and a request
// goes to the first node at or after its hash. Removing one of N endpoints
// moves only the keys it held (about 1/N); an endpoint that is unavailable is
// skipped by walking on along the ring, which moves only its own keys too.
#pragma once

#include <cstdint>
#include <vector>

#include "config/types.h"
#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class RingHashPolicy final : public LbPolicy {
 public:
  RingHashPolicy(std::span<const EndpointInfo> endpoints, const config::RingHashConfig& config, std::uint64_t seed);
  // Without a hash key, a random point of the ring (weighted random).
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;
  std::size_t ring_size() const { return ring_.size(); }

 private:
  struct Node {
    std::uint64_t hash;
    std::uint32_t endpoint;
  };
  std::size_t endpoint_count_;
  std::vector<Node> ring_;  // sorted by hash
  LbRandom rng_;
};

}  // namespace aegis::upstream::lb
