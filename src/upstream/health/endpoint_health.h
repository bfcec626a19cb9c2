// The health of one upstream endpoint, shared by every thread: the health
// monitor (active checks, ejections) writes the verdicts, and the workers
// read them in Worker::pick and feed attempt outcomes in Worker::report,
// all through relaxed atomics (no locks on the request path). One object
// per EndpointRuntime::key for the whole process, so the state survives a
// reload that keeps the endpoint (acquire_endpoint_health).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "config/types.h"
#include "stats/stats.h"
#include "upstream/health/verdicts.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::health {

enum class EjectReason { kConsecutive5xx, kConsecutiveGatewayFailure, kSuccessRate };
const char* to_string(EjectReason r);

class EndpointHealth {
 public:
  EndpointHealth(std::string cluster, std::string endpoint);
  EndpointHealth(const EndpointHealth&) = delete;
  EndpointHealth& operator=(const EndpointHealth&) = delete;

  const std::string& cluster() const { return cluster_; }
  const std::string& endpoint() const { return endpoint_; }

  // --- any thread, lock-free ---
  // May take traffic: not ejected, and healthy by active checks when the
  // cluster has them (`checked`).
  bool usable(bool checked) const {
    return !ejected_.load(std::memory_order_relaxed) && (!checked || healthy_.load(std::memory_order_relaxed));
  }
  bool healthy() const { return healthy_.load(std::memory_order_relaxed); }
  bool ejected() const { return ejected_.load(std::memory_order_relaxed); }
  // Passive outlier detection: one attempt's outcome (workers).
  void record(const AttemptResult& result, const config::OutlierDetection& od);

  // --- the monitor's thread only ---
  // The consecutive-failure detectors that tripped since the last call
  // (their counters restart).
  bool take_trip(EjectReason& reason);
  // Requests and successes since the last call.
  RequestTally take_tally();
  void set_healthy(bool healthy);
  void eject(EjectReason reason, std::chrono::steady_clock::time_point until);
  void uneject(std::chrono::steady_clock::time_point now);
  void count_check(bool success, bool timed_out);

  CheckVerdict verdict;                        // active checks
  std::uint32_t times_ejected = 0;             // multiplies base_ejection_time; decays while healthy
  std::chrono::steady_clock::time_point ejected_until{};
  std::chrono::steady_clock::time_point last_change{};  // last ejection, return or decay step
  bool ejection_refused = false;               // max_ejection_percent refusal logged (until ejected)

 private:
  static constexpr unsigned kTrip5xx = 1;
  static constexpr unsigned kTripGateway = 2;

  const std::string cluster_;
  const std::string endpoint_;
  std::atomic<bool> healthy_{false};
  std::atomic<bool> ejected_{false};
  std::atomic<std::uint32_t> consecutive_5xx_{0};
  std::atomic<std::uint32_t> consecutive_gateway_{0};
  std::atomic<unsigned> tripped_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> successes_{0};

  stats::Gauge* healthy_gauge_;
  stats::Gauge* ejected_gauge_;
  stats::Counter* checks_success_;
  stats::Counter* checks_failure_;
  stats::Counter* checks_timeout_;
  std::array<stats::Counter*, 3> ejections_{};
};

// The process-wide object for `key` (EndpointRuntime::key), created (with its
// metrics) on first use; the same object as long as some snapshot holds it.
// Takes a lock: snapshot-build time only.
std::shared_ptr<EndpointHealth> acquire_endpoint_health(const std::string& key, const std::string& cluster,
                                                        const std::string& endpoint);

}  // namespace aegis::upstream::health
