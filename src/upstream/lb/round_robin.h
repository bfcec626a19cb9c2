// Smooth weighted round robin (nginx's algorithm): over any window of
// sum(weights) picks, each endpoint is chosen exactly `weight` times, and the
// picks are interleaved rather than bunched. Equal weights give plain
// round robin in index order.
#pragma once

#include <cstdint>
#include <vector>

#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class RoundRobinPolicy final : public LbPolicy {
 public:
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;

 private:
  std::vector<std::int64_t> current_;  // nginx's current_weight, per endpoint
};

}  // namespace aegis::upstream::lb
