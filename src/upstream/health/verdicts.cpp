#include "upstream/health/verdicts.h"

#include <algorithm>
#include <cmath>

namespace aegis::upstream::health {

bool CheckVerdict::on_result(bool success, std::uint32_t healthy_threshold, std::uint32_t unhealthy_threshold) {
  const bool was_healthy = healthy_;
  if (pending_) {
    pending_ = false;
    healthy_ = success;
  } else if (success) {
    failures_ = 0;
    if (!healthy_ && ++successes_ >= healthy_threshold) healthy_ = true;
  } else {
    successes_ = 0;
    if (healthy_ && ++failures_ >= unhealthy_threshold) healthy_ = false;
  }
  if (healthy_ != was_healthy) {
    successes_ = 0;
    failures_ = 0;
  }
  return healthy_ != was_healthy;
}

std::chrono::milliseconds ejection_time(std::chrono::milliseconds base, std::chrono::milliseconds max,
                                        std::uint32_t times_ejected) {
  const auto cap = std::max(base, max);
  const auto n = std::max<std::uint32_t>(times_ejected, 1);
  // Compare before multiplying: base × n may not fit.
  if (base.count() > 0 && n > cap.count() / base.count()) return cap;
  return std::min(cap, base * n);
}

bool may_eject(std::size_t ejected_now, std::size_t endpoints, std::uint32_t max_percent, bool always_eject_one) {
  if (endpoints == 0 || ejected_now >= endpoints) return false;
  if (always_eject_one && ejected_now == 0) return true;
  return (ejected_now + 1) * 100 <= std::size_t{max_percent} * endpoints;
}

std::vector<bool> success_rate_outliers(std::span<const RequestTally> tallies, std::uint32_t minimum_hosts,
                                        std::uint32_t request_volume, std::uint32_t stdev_factor) {
  std::vector<bool> out(tallies.size(), false);
  std::vector<double> rates;
  for (const auto& t : tallies)
    if (t.requests >= request_volume && t.requests > 0)
      rates.push_back(100.0 * static_cast<double>(t.successes) / static_cast<double>(t.requests));
  if (rates.empty() || rates.size() < minimum_hosts) return out;
  double mean = 0;
  for (double r : rates) mean += r;
  mean /= static_cast<double>(rates.size());
  double variance = 0;
  for (double r : rates) variance += (r - mean) * (r - mean);
  variance /= static_cast<double>(rates.size());
  const double threshold = mean - (static_cast<double>(stdev_factor) / 1000.0) * std::sqrt(variance);
  for (std::size_t i = 0; i < tallies.size(); ++i) {
    const auto& t = tallies[i];
    if (t.requests >= request_volume && t.requests > 0 &&
        100.0 * static_cast<double>(t.successes) / static_cast<double>(t.requests) < threshold)
      out[i] = true;
  }
  return out;
}

}  // namespace aegis::upstream::health
