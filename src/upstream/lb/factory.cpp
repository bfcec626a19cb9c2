// The one place that names the policies.
#include "carbon/intensity.h"
#include "upstream/lb/carbon_aware.h"
#include "upstream/lb/least_request.h"
#include "upstream/lb/locality_aware.h"
#include "upstream/lb/maglev.h"
#include "upstream/lb/peak_ewma.h"
#include "upstream/lb/random.h"
#include "upstream/lb/ring_hash.h"
#include "upstream/lb/round_robin.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream {
namespace {

EndpointInfo::Locality locality_of(const config::LocalityEndpoints& group, const config::NodeConfig& node) {
  if (node.region.empty() || group.region != node.region) return EndpointInfo::Locality::kOther;
  if (!node.zone.empty() && group.zone == node.zone) return EndpointInfo::Locality::kSameZone;
  return EndpointInfo::Locality::kSameRegion;
}

std::unique_ptr<LbPolicy> make_inner(const config::Cluster& c, std::span<const EndpointInfo> endpoints,
                                     std::uint64_t seed) {
  switch (c.lb_policy) {
    case config::LbPolicy::kRoundRobin:
      return std::make_unique<lb::RoundRobinPolicy>();
    case config::LbPolicy::kRandom:
      return std::make_unique<lb::RandomPolicy>(seed);
    case config::LbPolicy::kLeastRequest:
      return std::make_unique<lb::LeastRequestPolicy>(seed, c.least_request.choice_count);
    case config::LbPolicy::kPeakEwma:
      return std::make_unique<lb::PeakEwmaPolicy>(endpoints.size(), c.peak_ewma, seed);
    case config::LbPolicy::kRingHash:
      return std::make_unique<lb::RingHashPolicy>(endpoints, c.ring_hash, seed);
    case config::LbPolicy::kMaglev:
      return std::make_unique<lb::MaglevPolicy>(endpoints, seed);
    case config::LbPolicy::kCarbonAware: {
      std::vector<lb::CarbonLocality> localities;
      std::size_t next = 0;
      for (const auto& group : c.load_assignment.localities) {
        auto& l = localities.emplace_back(lb::CarbonLocality{group.grid_zone, group.capacity, {}});
        for (std::size_t i = 0; i < group.endpoints.size(); ++i) l.endpoints.push_back(next++);
      }
      return std::make_unique<lb::CarbonAwarePolicy>(std::move(localities), c.carbon_aware, carbon::process_board(),
                                                     [] { return carbon::Clock::now(); }, seed,
                                                     lb::carbon_aware_workers());
    }
  }
  return std::make_unique<lb::RoundRobinPolicy>();  // unreachable: every enumerator handled above
}

}  // namespace

std::vector<EndpointInfo> describe_endpoints(const config::Cluster& cluster, const config::NodeConfig& node) {
  std::vector<EndpointInfo> out;
  for (const auto& group : cluster.load_assignment.localities) {
    const auto locality = locality_of(group, node);
    for (const auto& e : group.endpoints) out.push_back(EndpointInfo{e.str(), e.weight, group.priority, locality});
  }
  return out;
}

std::unique_ptr<LbPolicy> make_lb_policy(const config::Cluster& cluster, const config::NodeConfig& node,
                                         std::uint64_t seed) {
  const auto endpoints = describe_endpoints(cluster, node);
  auto policy = make_inner(cluster, endpoints, seed);
  if (!cluster.locality_aware.enabled) return policy;
  // A different stream for the wrapper's level draws than the inner policy's.
  return std::make_unique<lb::LocalityAwarePolicy>(std::move(policy), endpoints, cluster.locality_aware,
                                                   seed ^ 0x9e3779b97f4a7c15ULL);
}

}  // namespace aegis::upstream
