// Least request by the power of two choices: draw two distinct available
// endpoints at random and take the one with fewer active requests per unit of
// weight. Near-best balance at O(1) state, and no herding onto the single
// least-loaded endpoint when many workers decide at once.
#pragma once

#include "upstream/lb_policy.h"
#include "upstream/lb_random.h"

namespace aegis::upstream {

class LeastRequestPolicy final : public LbPolicy {
 public:
  explicit LeastRequestPolicy(std::uint64_t seed) : rng_(seed) {}
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints) override;

 private:
  LbRandom rng_;
};

}  // namespace aegis::upstream
