#include "upstream/lb/ring_hash.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include <cmath>
#include <string>

#include "core/hash.h"
#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {

RingHashPolicy::RingHashPolicy(std::span<const EndpointInfo> endpoints, const config::RingHashConfig& config,
                               std::uint64_t seed)
    : endpoint_count_(endpoints.size()), rng_(seed) {
  std::uint64_t total = 0;
  for (const auto& e : endpoints) total += e.weight;
  if (total == 0) return;
  // Each unit of weight gets the same power-of-two number of nodes, so the ring
  // holds minimum_ring_size to twice that. The rounding is what keeps the
  // other endpoints' nodes where they were when one endpoint comes or goes
  // (Envoy's exact sizing re-cuts every endpoint's share and moves ~6% of keys
  // needlessly when one of ten goes).
  const std::uint64_t per_unit = std::bit_ceil((config.minimum_ring_size + total - 1) / total);
  std::vector<double> nodes(endpoints.size());
  if (total <= config.maximum_ring_size / per_unit) {
    for (std::size_t i = 0; i < endpoints.size(); ++i) nodes[i] = static_cast<double>(endpoints[i].weight * per_unit);
  } else {
    // Too many: maximum_ring_size nodes shared by weight (at least one each).
    for (std::size_t i = 0; i < endpoints.size(); ++i) {
      if (endpoints[i].weight == 0) continue;
      nodes[i] = std::max(1.0, std::floor(static_cast<double>(config.maximum_ring_size) * endpoints[i].weight /
                                          static_cast<double>(total)));
    }
  }
  ring_.reserve(static_cast<std::size_t>(std::accumulate(nodes.begin(), nodes.end(), 0.0)));
  std::string key;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    for (std::uint64_t n = 0; static_cast<double>(n) < nodes[i]; ++n) {
      key.assign(endpoints[i].name).append("_").append(std::to_string(n));
      ring_.push_back(Node{core::stable_hash(key), static_cast<std::uint32_t>(i)});
    }
  }
  // Ties (vanishingly rare) broken by endpoint, so every worker builds the same ring.
  std::sort(ring_.begin(), ring_.end(), [](const Node& a, const Node& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.endpoint < b.endpoint;
  });
}

std::optional<std::size_t> RingHashPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) {
  if (endpoints.size() != endpoint_count_ || ring_.empty()) return std::nullopt;
  if (std::none_of(endpoints.begin(), endpoints.end(), eligible)) return std::nullopt;
  const std::uint64_t h = ctx.hash ? *ctx.hash : rng_.next();
  auto it = std::lower_bound(ring_.begin(), ring_.end(), h, [](const Node& n, std::uint64_t v) { return n.hash < v; });
  std::size_t at = static_cast<std::size_t>(it - ring_.begin());
  for (std::size_t step = 0; step < ring_.size(); ++step, ++at) {
    if (at == ring_.size()) at = 0;
    if (eligible(endpoints[ring_[at].endpoint])) return ring_[at].endpoint;
  }
  return std::nullopt;  // every eligible endpoint has weight 0 in the ring (cannot happen: same weights)
}

}  // namespace aegis::upstream::lb
