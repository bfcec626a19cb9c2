// The trace-driven carbon simulator behind `aegis-flow carbon simulate`: a
// cluster with one locality per region, recorded grid intensities and a
// recorded workload, stepped on a simulated clock. Traffic is modelled as a
// rate per step. carbon_aware runs the policy's own shift plan
// (carbon/shift.h) fed the simulated observations (intensity as late as
// --data-delay-minutes, the last step's demand and latencies), and its
// pick-time capacity cap; random and round_robin are the shares the real
// lb policies give; the oracle fills the truly cleanest regions. See
// docs/carbon.md for the model and its limits.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "carbon/csv_trace.h"
#include "carbon/shift.h"
#include "core/result.h"

namespace aegis::sim {

using carbon::Clock;

struct Region {
  std::string name;
  std::vector<carbon::SeriesPoint> intensity;  // gCO2/kWh
  double capacity = 1000;                     // requests/s
  double rtt_ms = 0;
};

enum class PolicyKind { kRandom, kRoundRobin, kLeastRequest, kLocality, kCarbonAware, kOracle };
const char* to_string(PolicyKind p);
std::optional<PolicyKind> parse_policy(std::string_view name);

struct SimOptions {
  std::vector<Region> regions;                          // 2..16
  std::optional<std::vector<carbon::SeriesPoint>> workload;  // request counts; none: flat
  double peak_utilization = 0.6;  // peak demand / total capacity
  double slo_p99_ms = 150;
  double service_ms = 20;
  double joules_per_request = 1;
  std::chrono::minutes data_delay{60};
  std::optional<Clock::time_point> start, end;  // default: the span every trace covers
  std::chrono::seconds step{60};
  std::uint64_t seed = 1;
  std::vector<PolicyKind> policies{PolicyKind::kRandom,   PolicyKind::kRoundRobin,  PolicyKind::kLeastRequest,
                                   PolicyKind::kLocality, PolicyKind::kCarbonAware, PolicyKind::kOracle};
  carbon::ShiftOptions carbon_aware;  // max_age is raised by data_delay (see docs/carbon.md)
  std::size_t svg_bins = 365;         // time resolution of the per-bin series
};

struct PolicyResult {
  PolicyKind kind;
  double requests = 0;
  double grams = 0;
  double grams_per_request = 0;
  double p50_ms = 0, p99_ms = 0;
  double slo_violation_minutes = 0;         // steps whose p99 was above the SLO
  double capacity_violation_minutes = 0;    // steps with some region above its capacity
  double over_max_utilization_minutes = 0;  // steps with some region above max_utilization
  std::optional<double> reduction_vs_random;
  std::optional<double> share_of_oracle;
  std::vector<double> mean_share;               // per region, request-weighted
  std::vector<std::vector<double>> share_bins;  // [bin][region]
};

struct SimResult {
  Clock::time_point start, end;
  std::size_t steps = 0;
  std::vector<std::string> regions;
  std::vector<std::vector<double>> intensity_bins;  // [bin][region], true intensity
  std::vector<Clock::time_point> bin_start;
  std::vector<PolicyResult> policies;  // in the order asked for
};

core::Result<SimResult> simulate(const SimOptions& options);

}  // namespace aegis::sim
