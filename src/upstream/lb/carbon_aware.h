// carbon_aware: send each request to a locality chosen by the carbon shift
// plan (carbon/shift.h: cleanest grid zone first, never above max_utilization
// of a locality's capacity, no shifted traffic to a locality breaking the
// latency objective, bounded steps), then to an endpoint of that locality by
// least_request. Without fresh intensity data it is plain least_request over
// all endpoints. Intensities come from an IntensityBoard (the process's, fed
// by carbon/ feeds); the clock is injected so tests run on their own time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "carbon/intensity.h"
#include "carbon/shift.h"
#include "config/types.h"
#include "upstream/lb/least_request.h"
#include "upstream/lb/rng.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

struct CarbonLocality {
  std::string grid_zone;
  double capacity = 0;                 // requests/s of the whole locality
  std::vector<std::size_t> endpoints;  // indices into pick()'s span
};

class CarbonAwarePolicy final : public LbPolicy {
 public:
  using NowFn = std::function<carbon::Clock::time_point()>;

  // `instances`: how many policy instances share the cluster's traffic (one
  // per worker); each takes that fraction of every capacity.
  CarbonAwarePolicy(std::vector<CarbonLocality> localities, const config::CarbonAwareConfig& config,
                    const carbon::IntensityBoard& board, NowFn now, std::uint64_t seed, std::uint32_t instances = 1);

  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;
  void on_result(std::size_t index, const AttemptResult& result) override;

  const carbon::ShiftPlan& plan() const { return planner_.current(); }
  static carbon::ShiftOptions shift_options(const config::CarbonAwareConfig& config);

 private:
  void maybe_rebalance(carbon::Clock::time_point now);
  std::optional<std::size_t> draw_locality(std::span<const EndpointLoad> endpoints, carbon::Clock::time_point now);
  bool has_eligible(std::span<const EndpointLoad> endpoints, std::size_t locality) const;
  bool full(std::size_t locality, carbon::Clock::time_point now) const;
  std::optional<std::size_t> pick_within(std::span<const EndpointLoad> endpoints, std::size_t locality,
                                         const PickContext& ctx);

  std::vector<CarbonLocality> localities_;
  std::vector<std::size_t> locality_of_;  // endpoint index → locality
  const carbon::IntensityBoard& board_;
  NowFn now_;
  double instances_;
  carbon::ShiftPlanner planner_;
  LeastRequestPolicy least_request_;
  LbRandom rng_;
  // Per locality: latency EWMA (ms; negative = no sample), picks since the
  // window start, and the hard limit as a GCRA token bucket: the theoretical
  // arrival time of the next pick, one pick per `interval_`, `tolerance_`
  // early at most (a burst of ~100 ms of the rate).
  std::vector<double> latency_ms_;
  std::vector<std::uint64_t> window_picks_;
  std::vector<carbon::Clock::time_point> tat_;
  std::vector<carbon::Clock::duration> interval_;
  std::vector<carbon::Clock::duration> tolerance_;
  std::optional<carbon::Clock::time_point> window_start_;
  double demand_ = 0;  // cluster requests/s measured over the last window
  // Scratch, kept to spare an allocation per pick.
  std::vector<carbon::LocalityObservation> observations_;
  std::vector<EndpointLoad> masked_;
  std::vector<double> weights_;
};

// How many workers share each cluster's traffic (the server sets it at start;
// 1 until then). make_lb_policy gives every carbon_aware instance this share
// of each locality's capacity.
void set_carbon_aware_workers(std::uint32_t workers);
std::uint32_t carbon_aware_workers();

}  // namespace aegis::upstream::lb
