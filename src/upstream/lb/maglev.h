// Maglev hashing (Eisenbud et al., NSDI 2016) with Envoy's weighting: each
// endpoint walks its own permutation of a 65537-slot table (offset and skip
// from two hashes of its name) and claims the next free slot, as often as its
// weight allows, until the table is full. A pick is one table lookup. Balance
// is near perfect (equal weights: slot counts differ by at most one); when an
// endpoint is removed, its slots move, and a few others may too (the paper's
// "minimal disruption" is approximate, unlike ring_hash). An unavailable
// endpoint's keys are re-hashed to another slot; other keys stay where they are.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class MaglevPolicy final : public LbPolicy {
 public:
  static constexpr std::uint64_t kTableSize = 65537;  // prime, as the paper requires

  MaglevPolicy(std::span<const EndpointInfo> endpoints, std::uint64_t seed);
  // Without a hash key, a random slot (weighted random).
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;
  // Slots endpoint `index` holds.
  std::size_t slots_of(std::size_t index) const;

 private:
  static constexpr std::uint32_t kNone = ~0u;
  static constexpr int kRehashes = 32;  // probes past unavailable endpoints before weighted random
  std::size_t endpoint_count_;
  std::vector<std::uint32_t> table_;  // slot → endpoint index (empty when no endpoint has weight)
  LbRandom rng_;
};

}  // namespace aegis::upstream::lb
