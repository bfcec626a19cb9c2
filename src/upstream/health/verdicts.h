// The pure rules of health: when active checks change an endpoint's verdict,
// how long an ejection lasts, how many endpoints may be ejected at once,
// which endpoints are success-rate outliers, and when the cluster panics.
// No I/O and no clocks, so each rule is tested alone (tests/unit/upstream).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace aegis::upstream::health {

// Active-check verdict of one endpoint (Envoy's behaviour): a new endpoint
// is unhealthy until its first check, and that first success admits it at
// once; after that, healthy_threshold consecutive successes re-admit an
// unhealthy endpoint and unhealthy_threshold consecutive failures mark a
// healthy one unhealthy.
class CheckVerdict {
 public:
  bool healthy() const { return healthy_; }
  bool pending() const { return pending_; }  // no check has completed yet
  // Returns true when healthy() changed.
  bool on_result(bool success, std::uint32_t healthy_threshold, std::uint32_t unhealthy_threshold);
  void reset() { *this = CheckVerdict{}; }

 private:
  bool healthy_ = false;
  bool pending_ = true;
  std::uint32_t successes_ = 0;  // consecutive, while unhealthy
  std::uint32_t failures_ = 0;   // consecutive, while healthy
};

// base × times ejected (including this one), capped by max.
std::chrono::milliseconds ejection_time(std::chrono::milliseconds base, std::chrono::milliseconds max,
                                        std::uint32_t times_ejected);

// Envoy's rule: one more ejection is allowed if the ejected share after it
// stays within max_percent, or (always_eject_one) when none is ejected yet.
bool may_eject(std::size_t ejected_now, std::size_t endpoints, std::uint32_t max_percent, bool always_eject_one);

struct RequestTally {
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
};

// Envoy's success-rate outliers: among endpoints with at least
// request_volume requests, if there are at least minimum_hosts of them, an
// endpoint whose success rate is below mean − (stdev_factor / 1000) × stdev
// is an outlier. Returns one flag per entry of `tallies`.
std::vector<bool> success_rate_outliers(std::span<const RequestTally> tallies, std::uint32_t minimum_hosts,
                                        std::uint32_t request_volume, std::uint32_t stdev_factor);

// Panic (Envoy): fewer than threshold_percent of the endpoints may take
// traffic, so every endpoint is used regardless of health. 0 never panics.
inline bool in_panic(std::size_t usable, std::size_t endpoints, std::uint32_t threshold_percent) {
  return endpoints > 0 && usable * 100 < std::size_t{threshold_percent} * endpoints;
}

}  // namespace aegis::upstream::health
