#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "sim/queueing.h"
#include "upstream/lb/random.h"
#include "upstream/lb/round_robin.h"

namespace aegis::sim {
namespace {

constexpr double kJoulesPerKwh = 3.6e6;
constexpr double kEps = 1e-9;

// Request latencies of one policy over the whole run, in 0.25 ms buckets up
// to 10 s; above that (or an overloaded region) counts as "10 s or more".
class LatencyHistogram {
 public:
  static constexpr double kBucketMs = 0.25;
  static constexpr std::size_t kBuckets = 40'000;

  LatencyHistogram() : mass_(kBuckets + 1, 0.0) {}
  void add(double ms, double mass) {
    const double b = ms / kBucketMs;
    mass_[b >= static_cast<double>(kBuckets) ? kBuckets : static_cast<std::size_t>(b)] += mass;
    total_ += mass;
  }
  void add_overflow(double mass) { add(kBucketMs * kBuckets, mass); }
  double quantile(double q) const {
    if (total_ <= 0) return 0;
    double seen = 0;
    for (std::size_t i = 0; i <= kBuckets; ++i) {
      seen += mass_[i];
      if (seen >= q * total_) return (static_cast<double>(i) + 1) * kBucketMs;  // bucket's upper edge
    }
    return kBucketMs * kBuckets;
  }

 private:
  std::vector<double> mass_;
  double total_ = 0;
};

// A region's requests in one step: the atom at the base latency (no wait) and
// the exponential wait in geometric bins of survival (1/2, 1/4, ...), which
// resolve the tail where p99 lives.
void add_latencies(LatencyHistogram& h, const RegionQueue& q, double rate, double n) {
  if (n <= 0) return;
  if (rate >= q.capacity()) {
    h.add_overflow(n);
    return;
  }
  const double pw = q.wait_probability(rate / q.capacity());
  h.add(q.base_ms(), n * (1 - pw));
  const double per_ms = q.wait_rate_per_ms(rate);
  constexpr int kBins = 20;
  constexpr double kLn2 = 0.69314718055994531;
  double left = n * pw, half = n * pw;
  for (int i = 0; i < kBins && left > 0; ++i) {
    half *= 0.5;
    const double mass = i + 1 < kBins ? half : left;
    h.add(q.base_ms() + (i + 0.5) * kLn2 / per_ms, mass);
    left -= mass;
  }
}

struct Run {
  PolicyKind kind;
  std::unique_ptr<carbon::ShiftPlanner> planner;  // carbon_aware
  std::vector<double> shares;
  std::vector<std::optional<double>> latency_ms;  // last step's mean, per region
  double last_demand = 0;
  LatencyHistogram histogram;
  std::vector<double> region_requests;
  PolicyResult result;
};

// The shares the real policy gives over a region's endpoints (one endpoint
// per server of the region's queue, all of weight 1), by driving it.
std::vector<double> real_policy_shares(PolicyKind kind, const std::vector<RegionQueue>& queues, std::uint64_t seed) {
  std::vector<upstream::EndpointLoad> endpoints;
  std::vector<std::size_t> region_of;
  for (std::size_t r = 0; r < queues.size(); ++r) {
    for (std::size_t s = 0; s < queues[r].servers(); ++s) {
      endpoints.push_back(upstream::EndpointLoad{1, 0, true});
      region_of.push_back(r);
    }
  }
  std::unique_ptr<upstream::LbPolicy> policy;
  if (kind == PolicyKind::kRandom) policy = std::make_unique<upstream::lb::RandomPolicy>(seed);
  else policy = std::make_unique<upstream::lb::RoundRobinPolicy>();
  // round_robin is exact over every multiple of the endpoint count; random
  // needs enough draws that its sampling noise (~0.05% of a share) is small.
  const std::size_t picks = kind == PolicyKind::kRoundRobin ? endpoints.size() * 100
                                                            : std::max<std::size_t>(2'000'000, endpoints.size() * 1000);
  std::vector<double> shares(queues.size(), 0.0);
  for (std::size_t i = 0; i < picks; ++i) {
    if (const auto p = policy->pick(endpoints, {})) shares[region_of[*p]] += 1.0 / static_cast<double>(picks);
  }
  return shares;
}

std::vector<carbon::LocalityObservation> capacity_observations(const std::vector<RegionQueue>& queues) {
  std::vector<carbon::LocalityObservation> out(queues.size());
  for (std::size_t r = 0; r < queues.size(); ++r) out[r].capacity = queues[r].capacity();
  return out;
}

// least_request (power of two choices on requests in flight) tends to equal
// in-flight requests per endpoint; by Little's law a region then takes a rate
// in proportion to servers / latency. A few fixed-point rounds fold in the
// queueing delay that rate causes.
std::vector<double> least_request_shares(const std::vector<RegionQueue>& queues, double demand) {
  const std::size_t n = queues.size();
  std::vector<double> shares(n, 0.0), latency(n);
  double total_capacity = 0;
  for (const auto& q : queues) total_capacity += q.capacity();
  if (demand >= total_capacity) {
    for (std::size_t r = 0; r < n; ++r) shares[r] = queues[r].capacity() / total_capacity;
    return shares;
  }
  for (std::size_t r = 0; r < n; ++r) latency[r] = queues[r].base_ms();
  for (int round = 0; round < 4; ++round) {
    double sum = 0;
    for (std::size_t r = 0; r < n; ++r) sum += static_cast<double>(queues[r].servers()) / latency[r];
    for (std::size_t r = 0; r < n; ++r) {
      shares[r] = static_cast<double>(queues[r].servers()) / latency[r] / sum;
      const double rate = std::min(shares[r] * demand, 0.999 * queues[r].capacity());
      latency[r] = queues[r].mean_ms(rate);
    }
  }
  return shares;
}

std::vector<double> utilization_limits(const std::vector<RegionQueue>& queues, double max_utilization,
                                       double demand) {
  std::vector<double> limits(queues.size(), std::numeric_limits<double>::infinity());
  if (demand > 0)
    for (std::size_t r = 0; r < queues.size(); ++r) limits[r] = max_utilization * queues[r].capacity() / demand;
  return limits;
}

core::Result<void> check(const SimOptions& o) {
  if (o.regions.size() < 2 || o.regions.size() > 16)
    return core::Error{"need 2 to 16 --region, got " + std::to_string(o.regions.size())};
  std::set<std::string> names;
  for (const auto& r : o.regions) {
    if (!names.insert(r.name).second) return core::Error{"--region " + r.name + " given twice"};
    if (!(r.capacity > 0 && r.capacity <= 1e6))
      return core::Error{"--region " + r.name + ": capacity must be in (0, 1000000] requests/s"};
    if (!(r.rtt_ms >= 0 && r.rtt_ms <= 10'000)) return core::Error{"--region " + r.name + ": rtt_ms must be 0-10000"};
    if (r.intensity.empty()) return core::Error{"--region " + r.name + ": the trace has no data"};
  }
  if (!(o.peak_utilization > 0 && o.peak_utilization <= 10))
    return core::Error{"--peak-utilization must be in (0, 10]"};
  if (!(o.service_ms > 0 && o.service_ms <= 60'000)) return core::Error{"--service-ms must be in (0, 60000]"};
  if (!(o.slo_p99_ms > 0)) return core::Error{"--slo-p99-ms must be > 0"};
  if (!(o.joules_per_request >= 0)) return core::Error{"--joules-per-request must be >= 0"};
  if (o.data_delay.count() < 0) return core::Error{"--data-delay-minutes must be >= 0"};
  if (o.step.count() < 1) return core::Error{"--step-seconds must be >= 1"};
  if (o.policies.empty()) return core::Error{"--policies is empty"};
  if (o.workload && o.workload->empty()) return core::Error{"--workload: no data"};
  return {};
}

// Requests/s at time t, linear between the workload's points (counts per
// interval; only the shape matters, it is scaled to --peak-utilization).
class Workload {
 public:
  explicit Workload(const std::vector<carbon::SeriesPoint>& points) : p_(points) {}
  double at(Clock::time_point t) {
    while (i_ + 1 < p_.size() && p_[i_ + 1].at <= t) ++i_;
    if (i_ + 1 >= p_.size() || t <= p_[i_].at) return p_[i_].value;
    const double f = std::chrono::duration<double>(t - p_[i_].at) / (p_[i_ + 1].at - p_[i_].at);
    return p_[i_].value + f * (p_[i_ + 1].value - p_[i_].value);
  }

 private:
  const std::vector<carbon::SeriesPoint>& p_;
  std::size_t i_ = 0;
};

}  // namespace

const char* to_string(PolicyKind p) {
  switch (p) {
    case PolicyKind::kRandom: return "random";
    case PolicyKind::kRoundRobin: return "round_robin";
    case PolicyKind::kLeastRequest: return "least_request";
    case PolicyKind::kLocality: return "locality";
    case PolicyKind::kCarbonAware: return "carbon_aware";
    case PolicyKind::kOracle: return "oracle";
  }
  return "random";
}

std::optional<PolicyKind> parse_policy(std::string_view name) {
  for (auto k : {PolicyKind::kRandom, PolicyKind::kRoundRobin, PolicyKind::kLeastRequest, PolicyKind::kLocality,
                 PolicyKind::kCarbonAware, PolicyKind::kOracle})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

core::Result<SimResult> simulate(const SimOptions& o) {
  if (auto ok = check(o); !ok) return ok.error();
  const std::size_t n = o.regions.size();

  // The span: what every trace (and the workload) covers, unless given.
  Clock::time_point first = o.regions[0].intensity.front().at, last = o.regions[0].intensity.back().at;
  for (const auto& r : o.regions) {
    first = std::max(first, r.intensity.front().at);
    last = std::min(last, r.intensity.back().at);
  }
  if (o.workload) {
    first = std::max(first, o.workload->front().at);
    last = std::min(last, o.workload->back().at);
  }
  const auto start = o.start.value_or(first);
  const auto end = o.end.value_or(last);
  if (end <= start) return core::Error{"the traces share no time span (or --end is not after --start)"};
  const auto steps = static_cast<std::size_t>((end - start) / o.step);
  if (steps == 0) return core::Error{"the span is shorter than one --step-seconds"};
  if (steps > 50'000'000) return core::Error{"more than 50 million steps; use a larger --step-seconds"};
  const double dt = std::chrono::duration<double>(o.step).count();

  std::vector<RegionQueue> queues;
  double total_capacity = 0;
  for (const auto& r : o.regions) {
    queues.emplace_back(r.capacity, o.service_ms, r.rtt_ms);
    total_capacity += r.capacity;
  }

  // Demand per step: the workload's shape scaled so its peak is
  // peak_utilization × total capacity; flat at that level without one.
  std::vector<double> demand(steps, o.peak_utilization * total_capacity);
  if (o.workload) {
    Workload w(*o.workload);
    double peak = 0;
    for (std::size_t k = 0; k < steps; ++k) peak = std::max(peak, demand[k] = w.at(start + k * o.step));
    if (peak <= 0) return core::Error{"--workload is zero over the simulated span"};
    for (auto& d : demand) d *= o.peak_utilization * total_capacity / peak;
  }

  // Every run needs random and the oracle as references, asked for or not.
  std::vector<PolicyKind> kinds = o.policies;
  for (auto k : {PolicyKind::kRandom, PolicyKind::kOracle})
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);

  carbon::ShiftOptions shift = o.carbon_aware;
  // An operator whose provider lags by data_delay sets max_age above it;
  // otherwise every reading would be stale and nothing would shift.
  shift.max_age += std::chrono::duration_cast<std::chrono::milliseconds>(o.data_delay);
  const std::size_t bins = std::max<std::size_t>(1, std::min(o.svg_bins, steps));

  std::vector<Run> runs;
  for (auto k : kinds) {
    Run run;
    run.kind = k;
    run.latency_ms.assign(n, std::nullopt);
    run.region_requests.assign(n, 0.0);
    run.result.kind = k;
    run.result.share_bins.assign(bins, std::vector<double>(n, 0.0));
    run.last_demand = demand[0];
    if (k == PolicyKind::kRandom || k == PolicyKind::kRoundRobin) run.shares = real_policy_shares(k, queues, o.seed);
    if (k == PolicyKind::kCarbonAware) run.planner = std::make_unique<carbon::ShiftPlanner>(shift, n);
    runs.push_back(std::move(run));
  }

  // The oracle's per-region rate limit: max_utilization, and what keeps the
  // region's own p99 within the SLO.
  std::vector<double> oracle_cap(n);
  for (std::size_t r = 0; r < n; ++r)
    oracle_cap[r] = std::min(shift.max_utilization * queues[r].capacity(), queues[r].max_rate_within(o.slo_p99_ms, 0.99));
  std::vector<double> rtt(n);
  for (std::size_t r = 0; r < n; ++r) rtt[r] = o.regions[r].rtt_ms;

  std::vector<carbon::TraceCursor> truth, seen;
  for (const auto& r : o.regions) {
    truth.emplace_back(r.intensity);
    seen.emplace_back(r.intensity);
  }
  SimResult out;
  out.start = start;
  out.end = start + steps * o.step;
  out.steps = steps;
  for (const auto& r : o.regions) out.regions.push_back(r.name);
  out.intensity_bins.assign(bins, std::vector<double>(n, 0.0));
  std::vector<double> bin_steps(bins, 0.0);
  for (std::size_t b = 0; b < bins; ++b) out.bin_start.push_back(start + (steps * b / bins) * o.step);

  auto observations = capacity_observations(queues);
  std::vector<double> intensity(n);
  const auto rebalances = std::max<std::int64_t>(1, o.step / std::max(shift.rebalance_interval, std::chrono::milliseconds(1)));

  for (std::size_t k = 0; k < steps; ++k) {
    const auto t = start + k * o.step;
    const double d = demand[k];
    const std::size_t bin = k * bins / steps;
    bin_steps[bin] += 1;
    for (std::size_t r = 0; r < n; ++r) {
      intensity[r] = truth[r].value_at(t);
      out.intensity_bins[bin][r] += intensity[r];
      const auto& p = seen[r].at(t - o.data_delay);  // what the feed has delivered by now
      carbon::Reading reading;
      reading.gco2_per_kwh = p.value;
      reading.at = p.at;
      reading.fetched = t;
      observations[r].reading = reading;
    }
    const auto limits = utilization_limits(queues, shift.max_utilization, d);

    for (auto& run : runs) {
      switch (run.kind) {
        case PolicyKind::kRandom:
        case PolicyKind::kRoundRobin:
          break;  // fixed shares
        case PolicyKind::kLeastRequest:
          run.shares = least_request_shares(queues, d);
          break;
        case PolicyKind::kLocality:
          run.shares = carbon::fill_cleanest(rtt, limits, observations);  // nearest first, up to max_utilization
          carbon::clip_to_limits(run.shares, limits);
          break;
        case PolicyKind::kOracle: {
          std::vector<double> oracle_limits(n);
          for (std::size_t r = 0; r < n; ++r) oracle_limits[r] = d > 0 ? oracle_cap[r] / d : 1.0;
          run.shares = carbon::fill_cleanest(intensity, oracle_limits, observations);
          carbon::clip_to_limits(run.shares, oracle_limits);
          break;
        }
        case PolicyKind::kCarbonAware: {
          for (std::size_t r = 0; r < n; ++r) observations[r].latency_ms = run.latency_ms[r];
          // One rebalance per rebalance_interval of simulated time, on the
          // demand measured over the last step.
          for (std::int64_t i = 0; i < rebalances; ++i)
            run.planner->plan(observations, run.last_demand, t + i * shift.rebalance_interval);
          const auto& plan = run.planner->current();
          if (!plan.shifting) {
            run.shares = least_request_shares(queues, d);
          } else {
            run.shares = plan.shares;
            carbon::clip_to_limits(run.shares, limits);  // the pick-time cap ("full" localities spill)
          }
          break;
        }
      }
      run.last_demand = d;
      auto& res = run.result;
      bool over_capacity = false, over_max = false;
      double slow = 0;  // requests/s above the SLO
      for (std::size_t r = 0; r < n; ++r) {
        const double rate = run.shares[r] * d;
        const double requests = rate * dt;
        const double u = rate / queues[r].capacity();
        over_capacity |= u > 1 + kEps;
        over_max |= u > shift.max_utilization + kEps;
        res.requests += requests;
        res.grams += requests * o.joules_per_request / kJoulesPerKwh * intensity[r];
        run.region_requests[r] += requests;
        res.share_bins[bin][r] += requests;
        add_latencies(run.histogram, queues[r], rate, requests);
        slow += rate * queues[r].exceed_probability(rate, o.slo_p99_ms);
        if (rate > 0) run.latency_ms[r] = std::min(queues[r].mean_ms(rate), 1e9);
      }
      if (over_capacity) res.capacity_violation_minutes += dt / 60;
      if (over_max) res.over_max_utilization_minutes += dt / 60;
      if (d > 0 && slow / d > 0.01) res.slo_violation_minutes += dt / 60;
    }
  }

  for (std::size_t b = 0; b < bins; ++b)
    for (auto& v : out.intensity_bins[b]) v /= std::max(bin_steps[b], 1.0);
  double random_gpr = 0, oracle_gpr = 0;
  for (auto& run : runs) {
    auto& res = run.result;
    res.grams_per_request = res.requests > 0 ? res.grams / res.requests : 0;
    res.p50_ms = run.histogram.quantile(0.50);
    res.p99_ms = run.histogram.quantile(0.99);
    for (std::size_t r = 0; r < n; ++r) res.mean_share.push_back(res.requests > 0 ? run.region_requests[r] / res.requests : 0);
    for (auto& row : res.share_bins) {
      double total = 0;
      for (double v : row) total += v;
      for (double& v : row) v = total > 0 ? v / total : 0;
    }
    if (run.kind == PolicyKind::kRandom) random_gpr = res.grams_per_request;
    if (run.kind == PolicyKind::kOracle) oracle_gpr = res.grams_per_request;
  }
  const double oracle_reduction = random_gpr > 0 ? 1 - oracle_gpr / random_gpr : 0;
  for (auto& run : runs) {
    if (std::find(o.policies.begin(), o.policies.end(), run.kind) == o.policies.end()) continue;
    auto& res = run.result;
    if (random_gpr > 0) res.reduction_vs_random = 1 - res.grams_per_request / random_gpr;
    if (res.reduction_vs_random && oracle_reduction > 0) res.share_of_oracle = *res.reduction_vs_random / oracle_reduction;
    out.policies.push_back(std::move(res));
  }
  return out;
}

}  // namespace aegis::sim
