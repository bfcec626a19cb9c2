#include "upstream/lb_policy.h"

#include "upstream/lb_least_request.h"
#include "upstream/lb_round_robin.h"

namespace aegis::upstream {

std::unique_ptr<LbPolicy> make_lb_policy(config::LbPolicy kind, std::uint64_t seed) {
  switch (kind) {
    case config::LbPolicy::kRoundRobin:
      return std::make_unique<RoundRobinPolicy>();
    case config::LbPolicy::kLeastRequest:
      return std::make_unique<LeastRequestPolicy>(seed);
  }
  return std::make_unique<RoundRobinPolicy>();  // unreachable: every enumerator handled above
}

}  // namespace aegis::upstream
