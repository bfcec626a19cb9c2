#include "upstream/lb/locality_aware.h"

#include <algorithm>
#include <map>

#include "core/hash.h"
#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {
namespace {
constexpr std::uint64_t kLevelSeed = 0x6c6576656c;  // "level"
}  // namespace

LocalityAwarePolicy::LocalityAwarePolicy(std::unique_ptr<LbPolicy> inner, std::span<const EndpointInfo> endpoints,
                                         const config::LocalityAwareConfig& config, std::uint64_t seed)
    : inner_(std::move(inner)),
      overprovisioning_(config.overprovisioning_factor),
      min_local_percent_(config.min_local_healthy_percent),
      rng_(seed) {
  std::map<std::uint32_t, Level> by_priority;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    locality_.push_back(endpoints[i].locality);
    by_priority[endpoints[i].priority].members.push_back(static_cast<std::uint32_t>(i));
  }
  for (auto& [priority, level] : by_priority) levels_.push_back(std::move(level));
}

// Percent of the members' weight that is available, × overprovisioning, ≤ 100.
double LocalityAwarePolicy::health(std::span<const EndpointLoad> endpoints,
                                   const std::vector<std::uint32_t>& members) const {
  double total = 0, healthy = 0;
  for (auto i : members) {
    total += endpoints[i].weight;
    if (eligible(endpoints[i])) healthy += endpoints[i].weight;
  }
  if (total == 0) return 0;
  return std::min(100.0, 100.0 * healthy / total * overprovisioning_);
}

std::vector<double> LocalityAwarePolicy::priority_load(std::span<const EndpointLoad> endpoints) const {
  std::vector<double> load;
  fill_priority_load(endpoints, load);
  return load;
}

void LocalityAwarePolicy::fill_priority_load(std::span<const EndpointLoad> endpoints, std::vector<double>& load) const {
  load.assign(levels_.size(), 0.0);
  double sum = 0;
  for (std::size_t p = 0; p < levels_.size(); ++p) {
    load[p] = health(endpoints, levels_[p].members);
    sum += load[p];
  }
  if (sum <= 0) {
    load.assign(levels_.size(), 0.0);
  } else if (sum < 100) {  // not enough anywhere: each level in proportion to its health
    for (auto& l : load) l = l * 100 / sum;
  } else {
    double left = 100;
    for (auto& l : load) {
      l = std::min(l, left);
      left -= l;
    }
  }
}

const std::vector<std::uint32_t>& LocalityAwarePolicy::tier_for(std::span<const EndpointLoad> endpoints,
                                                                const Level& level) {
  zone_.clear();
  region_.clear();
  for (auto i : level.members) {
    if (locality_[i] == EndpointInfo::Locality::kSameZone) zone_.push_back(i);
    if (locality_[i] != EndpointInfo::Locality::kOther) region_.push_back(i);  // the zone is in the region
  }
  auto enough = [&](const std::vector<std::uint32_t>& tier) {
    const double h = tier.empty() ? 0 : health(endpoints, tier);
    return h > 0 && h >= min_local_percent_;
  };
  if (enough(zone_)) return zone_;
  if (enough(region_)) return region_;
  return level.members;
}

std::optional<std::size_t> LocalityAwarePolicy::pick(std::span<const EndpointLoad> endpoints,
                                                     const PickContext& ctx) {
  if (endpoints.size() != locality_.size()) return std::nullopt;
  fill_priority_load(endpoints, load_);
  const auto& load = load_;
  // A hashed request chooses its level by its key too, so that the same key
  // lands on the same level while availability stays the same.
  // (Re-mixed: the inner policy uses the key's own bits.)
  const std::uint64_t r = ctx.hash ? core::stable_hash(*ctx.hash, kLevelSeed) : rng_.next();
  const double draw = static_cast<double>(r % 10'000) / 100.0;
  const Level* chosen = nullptr;
  double upto = 0;
  for (std::size_t p = 0; p < levels_.size(); ++p) {
    if (load[p] <= 0) continue;
    chosen = &levels_[p];  // the last level with load takes any rounding remainder
    upto += load[p];
    if (draw < upto) break;
  }
  if (chosen == nullptr) return std::nullopt;

  masked_.assign(endpoints.begin(), endpoints.end());
  for (auto& m : masked_) m.available = false;
  for (auto i : tier_for(endpoints, *chosen)) masked_[i].available = endpoints[i].available;
  return inner_->pick(masked_, ctx);
}

}  // namespace aegis::upstream::lb
