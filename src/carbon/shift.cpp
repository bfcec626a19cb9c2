#include "carbon/shift.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace aegis::carbon {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double sum(std::span<const double> v) { return std::accumulate(v.begin(), v.end(), 0.0); }

bool fresh(const LocalityObservation& l, std::chrono::milliseconds max_age, bool feed_max_age,
           Clock::time_point now) {
  if (!l.reading) return false;
  const auto limit = feed_max_age && l.reading->max_age.count() > 0 ? l.reading->max_age : max_age;
  return now - l.reading->at <= limit && std::isfinite(l.reading->gco2_per_kwh) && l.reading->gco2_per_kwh >= 0;
}

// Half the L1 distance: the share of traffic that moves from a to b.
double moved(std::span<const double> a, std::span<const double> b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += std::abs(a[i] - b[i]);
  return d / 2;
}

}  // namespace

std::optional<std::vector<double>> effective_intensities(std::span<const LocalityObservation> localities,
                                                         std::chrono::milliseconds max_age, Clock::time_point now,
                                                         bool feed_max_age) {
  double total = 0;
  std::size_t n = 0;
  for (const auto& l : localities) {
    if (!fresh(l, max_age, feed_max_age, now)) continue;
    total += l.reading->gco2_per_kwh;
    ++n;
  }
  if (n == 0) return std::nullopt;
  const double average = total / static_cast<double>(n);
  std::vector<double> out;
  out.reserve(localities.size());
  for (const auto& l : localities)
    out.push_back(fresh(l, max_age, feed_max_age, now) ? l.reading->gco2_per_kwh : average);
  return out;
}

std::vector<double> capacity_shares(std::span<const LocalityObservation> localities) {
  double total = 0;
  for (const auto& l : localities) total += std::max(l.capacity, 0.0);
  std::vector<double> out(localities.size(), localities.empty() ? 0.0 : 1.0 / static_cast<double>(localities.size()));
  if (total <= 0) return out;
  for (std::size_t i = 0; i < localities.size(); ++i) out[i] = std::max(localities[i].capacity, 0.0) / total;
  return out;
}

std::vector<double> fill_cleanest(std::span<const double> intensity, std::span<const double> limits,
                                  std::span<const LocalityObservation> localities) {
  const std::size_t n = intensity.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return intensity[a] < intensity[b]; });
  std::vector<double> out(n, 0.0);
  double left = 1.0;
  for (const auto i : order) {
    const double take = std::clamp(limits[i], 0.0, left);
    out[i] = take;
    left -= take;
  }
  if (left > 1e-12) {  // overload: every limit is reached; spread the rest by capacity
    const auto base = capacity_shares(localities);
    for (std::size_t i = 0; i < n; ++i) out[i] += left * base[i];
  }
  return out;
}

void clip_to_limits(std::vector<double>& shares, std::span<const double> limits) {
  const std::size_t n = shares.size();
  if (sum(limits) < 1.0) {  // cannot keep everyone under the limit: scale the limits up alike
    const double total = sum(limits);
    for (std::size_t i = 0; i < n; ++i)
      shares[i] = total > 0 ? limits[i] / total : 1.0 / static_cast<double>(n);
    return;
  }
  // Water-filling: each round pins the localities over their limits and hands
  // the excess to the rest; at most n rounds (one more pinned per round).
  std::vector<bool> pinned(n, false);
  for (std::size_t round = 0; round < n; ++round) {
    double excess = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!pinned[i] && shares[i] > limits[i]) {
        excess += shares[i] - limits[i];
        shares[i] = limits[i];
        pinned[i] = true;
      }
    }
    if (excess <= 0) return;
    double weight = 0, headroom = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (pinned[i]) continue;
      weight += shares[i];
      headroom += limits[i] - shares[i];
    }
    std::size_t unbounded = 0;  // unpinned localities without a limit
    for (std::size_t i = 0; i < n; ++i) unbounded += !pinned[i] && !std::isfinite(limits[i]);
    for (std::size_t i = 0; i < n; ++i) {
      if (pinned[i]) continue;
      if (weight > 0) {
        shares[i] += excess * shares[i] / weight;
      } else if (unbounded > 0) {
        if (!std::isfinite(limits[i])) shares[i] += excess / static_cast<double>(unbounded);
      } else {
        shares[i] += excess * (limits[i] - shares[i]) / headroom;
      }
    }
  }
}

ShiftPlanner::ShiftPlanner(ShiftOptions options, std::size_t localities) : options_(options) {
  plan_.shares.assign(localities, localities ? 1.0 / static_cast<double>(localities) : 0.0);
}

const ShiftPlan& ShiftPlanner::plan(std::span<const LocalityObservation> localities, double demand,
                                    Clock::time_point now) {
  if (last_ && now - *last_ < options_.rebalance_interval && plan_.shares.size() == localities.size()) return plan_;
  return rebalance(localities, demand, now);
}

const ShiftPlan& ShiftPlanner::rebalance(std::span<const LocalityObservation> localities, double demand,
                                         Clock::time_point now) {
  last_ = now;
  const auto base = capacity_shares(localities);
  const auto intensity = effective_intensities(localities, options_.max_age, now, options_.feed_max_age);
  if (!intensity) {  // rule 1: nothing fresh, nothing to shift on
    plan_ = ShiftPlan{base, false};
    return plan_;
  }
  // Share limits: max_utilization of capacity at the current demand (rule 2),
  // and no more than the unshifted share when the latency objective is broken (rule 3).
  std::vector<double> limits(localities.size(), kInf);
  for (std::size_t i = 0; i < localities.size(); ++i) {
    if (demand > 0) limits[i] = options_.max_utilization * std::max(localities[i].capacity, 0.0) / demand;
    const auto& latency = localities[i].latency_ms;
    if (options_.latency_slo.count() > 0 && latency && *latency > static_cast<double>(options_.latency_slo.count()))
      limits[i] = std::min(limits[i], base[i]);
  }
  const auto target = fill_cleanest(*intensity, limits, localities);

  // Rule 4: from where we are (capacity shares after a period without data),
  // move at most max_step of the traffic towards the target.
  std::vector<double> next = plan_.shifting && plan_.shares.size() == localities.size() ? plan_.shares : base;
  const double distance = moved(next, target);
  const double step = distance > options_.max_step ? options_.max_step / distance : 1.0;
  for (std::size_t i = 0; i < next.size(); ++i) next[i] += step * (target[i] - next[i]);
  clip_to_limits(next, limits);
  plan_ = ShiftPlan{std::move(next), true};
  return plan_;
}

}  // namespace aegis::carbon
