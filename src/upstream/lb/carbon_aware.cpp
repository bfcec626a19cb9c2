#include "upstream/lb/carbon_aware.h"

#include <algorithm>
#include <atomic>

#include "upstream/lb/sampling.h"

namespace aegis::upstream::lb {
namespace {

constexpr double kLatencyAlpha = 0.1;  // weight of a new latency sample in the EWMA
constexpr double kBurstSeconds = 0.1;  // the hard limit lets this much of a locality's rate through at once
std::atomic<std::uint32_t> g_workers{1};

double seconds_between(carbon::Clock::time_point a, carbon::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

void set_carbon_aware_workers(std::uint32_t workers) { g_workers.store(std::max(workers, 1u)); }
std::uint32_t carbon_aware_workers() { return g_workers.load(); }

carbon::ShiftOptions CarbonAwarePolicy::shift_options(const config::CarbonAwareConfig& c) {
  carbon::ShiftOptions o;
  o.max_utilization = c.max_utilization;
  o.latency_slo = c.latency_slo;
  o.rebalance_interval = c.rebalance_interval;
  o.max_step = c.max_step;
  if (c.max_age) {
    o.max_age = *c.max_age;
  } else {
    o.feed_max_age = true;  // each reading's own feed's; ShiftOptions' default for a reading without one
  }
  return o;
}

CarbonAwarePolicy::CarbonAwarePolicy(std::vector<CarbonLocality> localities, const config::CarbonAwareConfig& config,
                                     const carbon::IntensityBoard& board, NowFn now, std::uint64_t seed,
                                     std::uint32_t instances)
    : localities_(std::move(localities)),
      board_(board),
      now_(std::move(now)),
      instances_(std::max(instances, 1u)),
      planner_(shift_options(config), localities_.size()),
      least_request_(seed),
      rng_(seed ^ 0x243f6a8885a308d3ULL),  // a different stream from least_request's draws
      latency_ms_(localities_.size(), -1.0),
      window_picks_(localities_.size(), 0),
      tat_(localities_.size()),
      interval_(localities_.size(), carbon::Clock::duration::max()),
      tolerance_(localities_.size(), carbon::Clock::duration::zero()),
      observations_(localities_.size()),
      weights_(localities_.size(), 0.0) {
  for (std::size_t l = 0; l < localities_.size(); ++l) {
    for (const auto e : localities_[l].endpoints) {
      if (locality_of_.size() <= e) locality_of_.resize(e + 1, 0);
      locality_of_[e] = l;
    }
    // This instance's share of the limit, in picks per second.
    const double rate = planner_.options().max_utilization * localities_[l].capacity / instances_;
    if (rate <= 0) continue;  // never open (interval max)
    const auto per_pick = std::chrono::duration<double>(1.0 / rate);
    interval_[l] = std::max(carbon::Clock::duration(1), std::chrono::duration_cast<carbon::Clock::duration>(per_pick));
    tolerance_[l] = interval_[l] * static_cast<std::int64_t>(std::max(rate * kBurstSeconds, 1.0) - 1.0);
  }
}

void CarbonAwarePolicy::maybe_rebalance(carbon::Clock::time_point now) {
  const bool first = !window_start_;
  if (!first && now < *window_start_) {  // the wall clock stepped back: restart the window and the limit
    std::fill(window_picks_.begin(), window_picks_.end(), 0);
    std::fill(tat_.begin(), tat_.end(), now);
    window_start_ = now;
    return;
  }
  if (!first && now - *window_start_ < planner_.options().rebalance_interval) return;
  if (!first) {
    // This instance's rate × instances: the cluster's demand, workers being alike.
    std::uint64_t picks = 0;
    for (const auto n : window_picks_) picks += n;
    const double elapsed = seconds_between(*window_start_, now);
    demand_ = elapsed > 0 ? instances_ * static_cast<double>(picks) / elapsed : 0.0;
  }
  for (std::size_t l = 0; l < localities_.size(); ++l) {
    auto& o = observations_[l];
    o.capacity = localities_[l].capacity;
    o.latency_ms = latency_ms_[l] >= 0 ? std::optional<double>(latency_ms_[l]) : std::nullopt;
    o.reading = board_.latest(localities_[l].grid_zone);
  }
  planner_.rebalance(observations_, demand_, now);
  std::fill(window_picks_.begin(), window_picks_.end(), 0);
  window_start_ = now;
}

bool CarbonAwarePolicy::has_eligible(std::span<const EndpointLoad> endpoints, std::size_t locality) const {
  return std::any_of(localities_[locality].endpoints.begin(), localities_[locality].endpoints.end(),
                     [&](std::size_t e) { return e < endpoints.size() && eligible(endpoints[e]); });
}

// The hard limit, whatever the plan and however bursty the demand: over any
// span T this instance's picks for the locality stay within
// rate × T + burst, rate being its share of max_utilization × capacity.
bool CarbonAwarePolicy::full(std::size_t locality, carbon::Clock::time_point now) const {
  if (interval_[locality] == carbon::Clock::duration::max()) return true;
  return tat_[locality] - now > tolerance_[locality];
}

std::optional<std::size_t> CarbonAwarePolicy::draw_locality(std::span<const EndpointLoad> endpoints,
                                                            carbon::Clock::time_point now) {
  const auto& shares = planner_.current().shares;
  double total = 0;
  for (std::size_t l = 0; l < localities_.size(); ++l) {
    const bool open = has_eligible(endpoints, l) && !full(l, now);
    weights_[l] = open ? shares[l] : 0.0;
    total += weights_[l];
  }
  if (total <= 0) {  // the planned localities are full or down: spill by capacity to the rest
    for (std::size_t l = 0; l < localities_.size(); ++l) {
      weights_[l] = has_eligible(endpoints, l) && !full(l, now) ? localities_[l].capacity : 0.0;
      total += weights_[l];
    }
  }
  if (total <= 0) return std::nullopt;
  double r = static_cast<double>(rng_.next() >> 11) * 0x1.0p-53 * total;
  for (std::size_t l = 0; l < localities_.size(); ++l) {
    if (weights_[l] <= 0) continue;
    if (r < weights_[l]) return l;
    r -= weights_[l];
  }
  for (std::size_t l = localities_.size(); l-- > 0;)  // rounding left r at the top
    if (weights_[l] > 0) return l;
  return std::nullopt;
}

std::optional<std::size_t> CarbonAwarePolicy::pick_within(std::span<const EndpointLoad> endpoints,
                                                          std::size_t locality, const PickContext& ctx) {
  masked_.assign(endpoints.begin(), endpoints.end());
  for (std::size_t e = 0; e < masked_.size(); ++e)
    if (e >= locality_of_.size() || locality_of_[e] != locality) masked_[e].available = false;
  return least_request_.pick(masked_, ctx);
}

std::optional<std::size_t> CarbonAwarePolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) {
  const auto now = now_();
  maybe_rebalance(now);
  std::optional<std::size_t> picked;
  if (planner_.current().shifting) {
    if (const auto l = draw_locality(endpoints, now)) picked = pick_within(endpoints, *l, ctx);
  }
  // No fresh data, or every locality full or down: plain least_request.
  if (!picked) picked = least_request_.pick(endpoints, ctx);
  if (picked && *picked < locality_of_.size()) {
    const auto l = locality_of_[*picked];
    ++window_picks_[l];
    if (interval_[l] != carbon::Clock::duration::max()) tat_[l] = std::max(tat_[l], now) + interval_[l];
  }
  return picked;
}

void CarbonAwarePolicy::on_result(std::size_t index, const AttemptResult& result) {
  if (index >= locality_of_.size()) return;
  if (result.kind != AttemptResult::Kind::kResponse && result.kind != AttemptResult::Kind::kTimeout) return;
  const double ms = std::chrono::duration<double, std::milli>(result.latency).count();
  double& ewma = latency_ms_[locality_of_[index]];
  ewma = ewma < 0 ? ms : ewma + kLatencyAlpha * (ms - ewma);
}

}  // namespace aegis::upstream::lb
