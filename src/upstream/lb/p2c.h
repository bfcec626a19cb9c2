// "Power of d choices" (Mitzenmacher): draw `choices` distinct eligible
// endpoints at random, in proportion to weight, and keep the best by the
// caller's cost. least_request and peak_ewma differ only in the cost.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {

class P2cSampler {
 public:
  P2cSampler(std::uint64_t seed, std::uint32_t choices) : rng_(seed), choices_(choices < 2 ? 2 : choices) {
    drawn_.reserve(choices_);
  }

  // better(a, b): endpoint a is strictly cheaper than b. Ties keep the earlier
  // draw, so with equal costs the pick is weighted random.
  template <class Better>
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, Better better) {
    drawn_.clear();
    std::optional<std::size_t> best;
    for (std::uint32_t d = 0; d < choices_; ++d) {
      const auto i = weighted_random(endpoints, rng_, drawn_);
      if (!i) break;  // fewer eligible endpoints than choices: all were drawn
      drawn_.push_back(*i);
      if (!best || better(*i, *best)) best = i;
    }
    return best;
  }

 private:
  LbRandom rng_;
  std::uint32_t choices_;
  std::vector<std::size_t> drawn_;
};

}  // namespace aegis::upstream::lb
