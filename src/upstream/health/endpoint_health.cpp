#include "upstream/health/endpoint_health.h"

#include <mutex>
#include <unordered_map>

namespace aegis::upstream::health {

namespace {
constexpr auto kRelaxed = std::memory_order_relaxed;
}

const char* to_string(EjectReason r) {
  switch (r) {
    case EjectReason::kConsecutive5xx: return "consecutive_5xx";
    case EjectReason::kConsecutiveGatewayFailure: return "consecutive_gateway_failure";
    case EjectReason::kSuccessRate: return "success_rate";
  }
  return "unknown";
}

EndpointHealth::EndpointHealth(std::string cluster, std::string endpoint)
    : cluster_(std::move(cluster)), endpoint_(std::move(endpoint)) {
  auto& s = stats::global();
  const stats::Labels l{{"cluster", cluster_}, {"endpoint", endpoint_}};
  healthy_gauge_ = &s.gauge("aegis_upstream_endpoint_healthy",
                            "1 when the endpoint passes its cluster's active health check (or the cluster has none)", l);
  ejected_gauge_ = &s.gauge("aegis_upstream_endpoint_ejected", "1 while outlier detection has the endpoint ejected", l);
  auto check = [&](const char* result) {
    auto labels = l;
    labels.emplace_back("result", result);
    return &s.counter("aegis_upstream_health_checks_total", "Active health checks by result", labels);
  };
  checks_success_ = check("success");
  checks_failure_ = check("failure");
  checks_timeout_ = check("timeout");
  for (auto r : {EjectReason::kConsecutive5xx, EjectReason::kConsecutiveGatewayFailure, EjectReason::kSuccessRate}) {
    auto labels = l;
    labels.emplace_back("reason", to_string(r));
    ejections_.at(static_cast<std::size_t>(r)) =
        &s.counter("aegis_upstream_outlier_ejections_total", "Outlier-detection ejections by reason", labels);
  }
}

void EndpointHealth::record(const AttemptResult& result, const config::OutlierDetection& od) {
  using Kind = AttemptResult::Kind;
  // Envoy without split local-origin errors: a connect failure or reset
  // counts as 503, a timeout as 504.
  const bool local = result.kind != Kind::kResponse;
  const bool error = local || result.status >= 500;
  const bool gateway = local || result.status == 502 || result.status == 503 || result.status == 504;
  requests_.fetch_add(1, kRelaxed);
  if (!error) {
    successes_.fetch_add(1, kRelaxed);
    consecutive_5xx_.store(0, kRelaxed);
    consecutive_gateway_.store(0, kRelaxed);
    return;
  }
  if (!gateway) {
    consecutive_gateway_.store(0, kRelaxed);
  } else if (od.consecutive_gateway_failure != 0 &&
             consecutive_gateway_.fetch_add(1, kRelaxed) + 1 == od.consecutive_gateway_failure) {
    tripped_.fetch_or(kTripGateway, kRelaxed);
  }
  if (od.consecutive_5xx != 0 && consecutive_5xx_.fetch_add(1, kRelaxed) + 1 == od.consecutive_5xx)
    tripped_.fetch_or(kTrip5xx, kRelaxed);
}

bool EndpointHealth::take_trip(EjectReason& reason) {
  const unsigned bits = tripped_.exchange(0, kRelaxed);
  if (bits == 0) return false;
  consecutive_5xx_.store(0, kRelaxed);
  consecutive_gateway_.store(0, kRelaxed);
  reason = (bits & kTrip5xx) ? EjectReason::kConsecutive5xx : EjectReason::kConsecutiveGatewayFailure;
  return true;
}

RequestTally EndpointHealth::take_tally() {
  return RequestTally{requests_.exchange(0, kRelaxed), successes_.exchange(0, kRelaxed)};
}

void EndpointHealth::set_healthy(bool healthy) {
  healthy_.store(healthy, kRelaxed);
  healthy_gauge_->set(healthy ? 1 : 0);
}

void EndpointHealth::eject(EjectReason reason, std::chrono::steady_clock::time_point until) {
  ejected_until = until;
  ++times_ejected;
  ejected_.store(true, kRelaxed);
  ejected_gauge_->set(1);
  ejections_.at(static_cast<std::size_t>(reason))->inc();
}

void EndpointHealth::uneject(std::chrono::steady_clock::time_point now) {
  ejected_.store(false, kRelaxed);
  ejected_gauge_->set(0);
  last_change = now;
}

void EndpointHealth::count_check(bool success, bool timed_out) {
  (success ? checks_success_ : timed_out ? checks_timeout_ : checks_failure_)->inc();
}

std::shared_ptr<EndpointHealth> acquire_endpoint_health(const std::string& key, const std::string& cluster,
                                                        const std::string& endpoint) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::weak_ptr<EndpointHealth>> registry;
  const std::lock_guard lock(mu);
  auto& slot = registry[key];
  if (auto existing = slot.lock()) return existing;
  auto fresh = std::make_shared<EndpointHealth>(cluster, endpoint);
  slot = fresh;
  std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
  return fresh;
}

}  // namespace aegis::upstream::health
