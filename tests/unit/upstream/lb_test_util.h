// Helpers shared by the load-balancer tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "upstream/lb_policy.h"

namespace aegis::upstream::testing {

inline EndpointLoad ep(std::uint32_t weight, std::uint32_t active = 0, bool available = true) {
  return EndpointLoad{weight, active, available};
}

// Picks `picks` times (no hash key, or `hash(i)` when given) and counts per endpoint.
template <class HashOf = std::nullptr_t>
std::vector<int> count_picks(LbPolicy& lb, const std::vector<EndpointLoad>& eps, int picks, HashOf hash = nullptr) {
  std::vector<int> counts(eps.size(), 0);
  for (int i = 0; i < picks; ++i) {
    PickContext ctx;
    if constexpr (!std::is_same_v<HashOf, std::nullptr_t>) ctx.hash = hash(i);
    const auto p = lb.pick(eps, ctx);
    EXPECT_TRUE(p.has_value());
    if (!p) break;
    EXPECT_LT(*p, eps.size());
    ++counts[*p];
  }
  return counts;
}

// `n` endpoints "10.0.0.<i>:80" (i from 1) of weight 1 at priority 0.
inline std::vector<EndpointInfo> named_endpoints(std::size_t n) {
  std::vector<EndpointInfo> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(EndpointInfo{"10.0.0." + std::to_string(i + 1) + ":80", 1, 0, {}});
  return out;
}

}  // namespace aegis::upstream::testing
