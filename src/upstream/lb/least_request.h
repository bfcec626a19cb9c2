// Least request by the power of two choices: draw two (choice_count) distinct
// available endpoints at random, in proportion to weight, and take the one
// with fewer active requests per unit of weight. Near-best balance at O(1)
// state, and no herding onto the single least-loaded endpoint when many
// workers decide at once. With no load at all it is weighted random.
#pragma once

#include "upstream/lb/p2c.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class LeastRequestPolicy final : public LbPolicy {
 public:
  explicit LeastRequestPolicy(std::uint64_t seed, std::uint32_t choice_count = 2) : p2c_(seed, choice_count) {}
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;

 private:
  P2cSampler p2c_;
};

}  // namespace aegis::upstream::lb
