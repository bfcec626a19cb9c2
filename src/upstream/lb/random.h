// Weighted random: each pick is independent, an endpoint's chance is its
// share of the eligible weight. No state besides the PRNG; useful when many
// proxies pick for the same endpoints and round robin's lockstep is unwanted.
#pragma once

#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class RandomPolicy final : public LbPolicy {
 public:
  explicit RandomPolicy(std::uint64_t seed) : rng_(seed) {}
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;

 private:
  LbRandom rng_;
};

}  // namespace aegis::upstream::lb
