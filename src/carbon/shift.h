// Carbon-aware traffic shifting: how much of a cluster's traffic each
// locality should take, given each locality's grid zone intensity, capacity,
// load and latency. Pure and clock-injected (the caller passes `now`), so the
// carbon_aware load-balancing policy (upstream/lb/carbon_aware) and the
// trace-driven simulator (sim/) run exactly this code. See docs/carbon.md.
//
// Rules, applied at every rebalance:
//  1. Stale or missing intensity → the locality counts as the average of the
//     fresh ones; no fresh reading at all → no shifting (the caller falls
//     back to plain least_request).
//  2. Target: fill localities in order of increasing intensity, each up to
//     max_utilization × capacity, given the observed demand.
//  3. A locality whose latency EWMA breaks latency_slo takes no shifted
//     traffic: its limit is its capacity-proportional (unshifted) share.
//  4. Smooth change: targets are recomputed at most every rebalance_interval,
//     and at most max_step of the traffic moves per rebalance (total
//     variation distance). Limits (rules 2 and 3) apply at once: safety first.
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "carbon/intensity.h"

namespace aegis::carbon {

struct ShiftOptions {
  double max_utilization = 0.8;                   // of each locality's capacity, (0, 1]
  std::chrono::milliseconds latency_slo{0};       // 0: no latency objective
  std::chrono::milliseconds rebalance_interval{10'000};
  double max_step = 0.1;                          // share of traffic moved per rebalance, (0, 1]
  std::chrono::milliseconds max_age{2 * 3600'000};  // older readings are stale...
  bool feed_max_age = false;  // ...unless this is set and the reading carries its feed's max_age
};

// What the planner knows about one locality at a rebalance.
struct LocalityObservation {
  double capacity = 0;                      // requests/s it can serve (> 0)
  std::optional<double> latency_ms;         // latency EWMA; none: no samples yet
  std::optional<Reading> reading;           // latest reading of its grid zone, if any
};

// The result of a rebalance: each locality's share of traffic (sums to 1).
// `shifting` is false when no zone has fresh data: the shares are then
// capacity-proportional and the caller should balance by least_request.
struct ShiftPlan {
  std::vector<double> shares;
  bool shifting = false;
};

class ShiftPlanner {
 public:
  ShiftPlanner(ShiftOptions options, std::size_t localities);

  // The current plan; recomputed when rebalance_interval has passed since the
  // last recomputation (or on the first call). `demand` is the cluster's
  // current request rate (requests/s), which turns capacities into shares.
  const ShiftPlan& plan(std::span<const LocalityObservation> localities, double demand, Clock::time_point now);

  // Recomputes now, ignoring rebalance_interval.
  const ShiftPlan& rebalance(std::span<const LocalityObservation> localities, double demand, Clock::time_point now);

  const ShiftPlan& current() const { return plan_; }
  const ShiftOptions& options() const { return options_; }

 private:
  ShiftOptions options_;
  ShiftPlan plan_;
  std::optional<Clock::time_point> last_;
};

// --- The pieces of a rebalance, exposed for tests and the simulator's oracle.

// Each locality's intensity for ranking: fresh readings as they are, stale or
// missing ones as the mean of the fresh ones; nullopt when none is fresh.
std::optional<std::vector<double>> effective_intensities(std::span<const LocalityObservation> localities,
                                                         std::chrono::milliseconds max_age, Clock::time_point now,
                                                         bool feed_max_age = false);

// Capacity-proportional shares (what plain balancing over equal endpoints
// approximates, and the "unshifted" share of rule 3).
std::vector<double> capacity_shares(std::span<const LocalityObservation> localities);

// Greedy fill: localities in order of increasing `intensity` take traffic up
// to `limits` (shares); what exceeds every limit is spread in proportion to
// capacity (overload: no locality can be kept under its limit).
std::vector<double> fill_cleanest(std::span<const double> intensity, std::span<const double> limits,
                                  std::span<const LocalityObservation> localities);

// Moves `shares` so that none exceeds its limit: the excess goes to the
// localities below their limits, in proportion to their shares (in proportion
// to their headroom when those shares are all 0). When the limits add up to
// less than 1, every locality ends at its limit scaled up alike.
void clip_to_limits(std::vector<double>& shares, std::span<const double> limits);

}  // namespace aegis::carbon
