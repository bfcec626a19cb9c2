// Priority failover and same-locality preference around any policy: it masks
// the endpoints a request may not use (available = false) and lets the inner
// policy pick among the rest.
//
// Priority (Envoy's priority load): level P's health is its available share of
// weight × overprovisioning_factor, capped at 100%. Level 0 takes min(100%,
// health_0) of requests, level 1 as much of the rest as its health allows, and
// so on; when the levels' health adds up to less than 100%, each gets its
// health's proportion. Locality: within the chosen level, endpoints in the
// node's region+zone, else its region, take all of the level's requests while
// that tier's health is at least min_local_healthy_percent; else the whole
// level is used.
#pragma once

#include <memory>
#include <vector>

#include "config/types.h"
#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class LocalityAwarePolicy final : public LbPolicy {
 public:
  LocalityAwarePolicy(std::unique_ptr<LbPolicy> inner, std::span<const EndpointInfo> endpoints,
                      const config::LocalityAwareConfig& config, std::uint64_t seed);
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;
  void on_result(std::size_t index, const AttemptResult& result) override { inner_->on_result(index, result); }

  // Each level's share of requests in percent, lowest priority number first
  // (what pick() draws from); all 0 when nothing is available.
  std::vector<double> priority_load(std::span<const EndpointLoad> endpoints) const;

 private:
  struct Level {
    std::vector<std::uint32_t> members;  // indices into the endpoints
  };
  double health(std::span<const EndpointLoad> endpoints, const std::vector<std::uint32_t>& members) const;
  void fill_priority_load(std::span<const EndpointLoad> endpoints, std::vector<double>& load) const;
  // The members of `level` that may take this request.
  const std::vector<std::uint32_t>& tier_for(std::span<const EndpointLoad> endpoints, const Level& level);

  std::unique_ptr<LbPolicy> inner_;
  std::vector<EndpointInfo::Locality> locality_;
  std::vector<Level> levels_;  // by ascending priority
  double overprovisioning_;
  double min_local_percent_;
  LbRandom rng_;
  // Scratch, kept to spare an allocation per pick.
  std::vector<EndpointLoad> masked_;
  std::vector<std::uint32_t> zone_, region_;
  std::vector<double> load_;
};

}  // namespace aegis::upstream::lb
