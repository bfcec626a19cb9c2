#include "upstream/lb/least_request.h"

namespace aegis::upstream::lb {

std::optional<std::size_t> LeastRequestPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext&) {
  // a.active / a.weight < b.active / b.weight, without division (fits in 64 bits).
  return p2c_.pick(endpoints, [&](std::size_t a, std::size_t b) {
    return std::uint64_t{endpoints[a].active_requests} * endpoints[b].weight <
           std::uint64_t{endpoints[b].active_requests} * endpoints[a].weight;
  });
}

}  // namespace aegis::upstream::lb
