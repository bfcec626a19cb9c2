#include "upstream/lb/round_robin.h"

#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {

std::optional<std::size_t> RoundRobinPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext&) {
  if (current_.size() != endpoints.size()) current_.assign(endpoints.size(), 0);

  std::int64_t total = 0;
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const EndpointLoad& e = endpoints[i];
    if (!eligible(e)) continue;
    current_[i] += e.weight;
    total += e.weight;
    // Strictly greater: ties go to the lowest index, which keeps equal weights
    // in a stable 0, 1, 2, ... order.
    if (!best || current_[i] > current_[*best]) best = i;
  }
  if (best) current_[*best] -= total;
  return best;
}

}  // namespace aegis::upstream::lb
