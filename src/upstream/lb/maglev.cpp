#include "upstream/lb/maglev.h"

#include <algorithm>

#include "core/hash.h"
#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {
namespace {

struct Permutation {
  std::uint32_t endpoint;
  std::uint64_t weight;
  std::uint64_t offset, skip;
  std::uint64_t next = 0;    // position in this endpoint's permutation
  std::uint64_t target = 0;  // Envoy's target_weight: when it may claim again
  std::uint64_t slot() const { return (offset + skip * next) % MaglevPolicy::kTableSize; }
};

}  // namespace

MaglevPolicy::MaglevPolicy(std::span<const EndpointInfo> endpoints, std::uint64_t seed)
    : endpoint_count_(endpoints.size()), rng_(seed) {
  std::vector<Permutation> perms;
  std::uint64_t max_weight = 0;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto& e = endpoints[i];
    if (e.weight == 0) continue;
    perms.push_back(Permutation{static_cast<std::uint32_t>(i), e.weight,
                                core::stable_hash(e.name, 0) % kTableSize,
                                core::stable_hash(e.name, 1) % (kTableSize - 1) + 1});
    max_weight = std::max<std::uint64_t>(max_weight, e.weight);
  }
  if (perms.empty()) return;
  table_.assign(kTableSize, kNone);
  // Each round, an endpoint of the largest weight claims one slot; one of a
  // third of that weight claims a slot every third round.
  std::uint64_t filled = 0;
  for (std::uint64_t round = 1; filled < kTableSize; ++round) {
    for (auto& p : perms) {
      if (filled == kTableSize) break;
      if (round * p.weight < p.target) continue;
      p.target += max_weight;
      while (table_[p.slot()] != kNone) ++p.next;
      table_[p.slot()] = p.endpoint;
      ++p.next;
      ++filled;
    }
  }
}

std::size_t MaglevPolicy::slots_of(std::size_t index) const {
  return static_cast<std::size_t>(std::count(table_.begin(), table_.end(), static_cast<std::uint32_t>(index)));
}

std::optional<std::size_t> MaglevPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) {
  if (endpoints.size() != endpoint_count_ || table_.empty()) return std::nullopt;
  std::uint64_t h = ctx.hash ? *ctx.hash : rng_.next();
  for (int probe = 0; probe <= kRehashes; ++probe) {
    const std::uint32_t e = table_[h % kTableSize];
    if (eligible(endpoints[e])) return e;
    h = core::stable_hash(h, static_cast<std::uint64_t>(probe) + 1);
  }
  // Nearly every slot is unavailable: any eligible endpoint will do.
  return weighted_random(endpoints, rng_);
}

}  // namespace aegis::upstream::lb
