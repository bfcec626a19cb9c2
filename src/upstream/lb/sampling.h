// What every policy shares: which endpoints may take traffic, and drawing one
// of them at random in proportion to weight.
#pragma once

#include <algorithm>
#include <optional>
#include <span>

#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

inline bool eligible(const EndpointLoad& e) { return e.available && e.weight > 0; }

// A random eligible endpoint, chosen in proportion to weight, never one listed
// in `skip`; nullopt when none is left.
inline std::optional<std::size_t> weighted_random(std::span<const EndpointLoad> endpoints, LbRandom& rng,
                                                  std::span<const std::size_t> skip = {}) {
  auto usable = [&](std::size_t i) {
    return eligible(endpoints[i]) && std::find(skip.begin(), skip.end(), i) == skip.end();
  };
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < endpoints.size(); ++i)
    if (usable(i)) total += endpoints[i].weight;
  if (total == 0) return std::nullopt;
  std::uint64_t r = rng.below64(total);
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (!usable(i)) continue;
    if (r < endpoints[i].weight) return i;
    r -= endpoints[i].weight;
  }
  return std::nullopt;  // unreachable: r < total
}

}  // namespace aegis::upstream::lb
