#include "upstream/lb/random.h"

#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {

std::optional<std::size_t> RandomPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext&) {
  return weighted_random(endpoints, rng_);
}

}  // namespace aegis::upstream::lb
