#include "upstream/health/monitor.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <random>

#include "upstream/health/probe.h"

namespace aegis::upstream::health {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, core::Executor>;

// One endpoint's check loop. The loop reads `target` afresh every round, so
// a reload that keeps the endpoint changes its check in place.
struct CheckLoop {
  ProbeTarget target;
  std::shared_ptr<EndpointHealth> health;
  Timer timer;
  bool stopped = false;
};

struct ClusterOutliers {
  config::OutlierDetection od;
  std::vector<std::shared_ptr<EndpointHealth>> endpoints;
  stats::Gauge* ejected_gauge = nullptr;
  Clock::time_point next_success_rate{};
};

}  // namespace

struct Monitor::State {
  explicit State(asio::io_context& io) : ioc(io), tick(io.get_executor()), rng(std::random_device{}()) {}
  asio::io_context& ioc;
  std::map<std::string, std::shared_ptr<CheckLoop>> checks;  // by endpoint key
  std::map<std::string, ClusterOutliers> outliers;           // by cluster name
  Timer tick;
  std::mt19937_64 rng;
  bool ticking = false;
  bool stopped = false;

  Clock::duration jitter(std::chrono::milliseconds max) {
    if (max.count() <= 0) return {};
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, max.count())(rng));
  }
  void outlier_round(Clock::time_point now);
  void eject(ClusterOutliers& c, EndpointHealth& e, EjectReason reason, Clock::time_point now);
};

namespace {

asio::awaitable<void, core::Executor> run_checks(std::shared_ptr<Monitor::State> state,
                                                 std::shared_ptr<CheckLoop> loop);

}  // namespace

Monitor::Monitor(asio::io_context& ioc) : state_(std::make_shared<State>(ioc)) {}

Monitor::~Monitor() { stop(); }

void Monitor::stop() {
  state_->stopped = true;
  for (auto& [key, loop] : state_->checks) {
    loop->stopped = true;
    loop->timer.cancel();
  }
  state_->checks.clear();
  state_->tick.cancel();
}

void Monitor::update(std::vector<MonitoredCluster> clusters) {
  auto& st = *state_;
  if (st.stopped) return;
  decltype(st.checks) checks;
  decltype(st.outliers) outliers;
  for (auto& c : clusters) {
    if (c.outlier_detection) {
      auto& co = outliers[c.name];
      auto old = st.outliers.find(c.name);
      if (old != st.outliers.end()) co.next_success_rate = old->second.next_success_rate;
      co.od = *c.outlier_detection;
      co.ejected_gauge = &stats::global().gauge("aegis_upstream_endpoints_ejected",
                                                "Endpoints of the cluster ejected by outlier detection now",
                                                {{"cluster", c.name}});
      for (const auto& e : c.endpoints) co.endpoints.push_back(e.health);
    } else {
      // Outlier detection removed (or never there): nothing stays ejected.
      for (const auto& e : c.endpoints)
        if (e.health->ejected()) e.health->uneject(Clock::now());
    }
    for (const auto& e : c.endpoints) {
      if (c.health_checks.empty()) {
        e.health->verdict.reset();
        e.health->set_healthy(true);  // unchecked: in rotation
        continue;
      }
      ProbeTarget target{c.name, e.name, e.address, c.health_checks.front(), c.tls};
      auto old = st.checks.find(e.key);
      if (old != st.checks.end()) {
        old->second->target = std::move(target);
        checks.emplace(e.key, old->second);
        continue;
      }
      if (e.health->verdict.pending()) e.health->set_healthy(false);  // Envoy: unhealthy until the first check
      auto loop = std::make_shared<CheckLoop>(CheckLoop{std::move(target), e.health, Timer(st.ioc.get_executor()), false});
      checks.emplace(e.key, loop);
      asio::co_spawn(st.ioc.get_executor(), run_checks(state_, loop), asio::detached);
    }
  }
  for (auto& [key, loop] : st.checks) {
    if (checks.count(key)) continue;
    loop->stopped = true;
    loop->timer.cancel();
  }
  st.checks = std::move(checks);
  st.outliers = std::move(outliers);
  if (!st.ticking && !st.outliers.empty()) {
    st.ticking = true;
    asio::co_spawn(
        st.ioc.get_executor(),
        [](std::shared_ptr<State> s) -> asio::awaitable<void, core::Executor> {
          for (;;) {
            s->tick.expires_after(kOutlierTick);
            auto [ec] = co_await s->tick.async_wait(core::kAwait);
            if (ec || s->stopped) co_return;
            s->outlier_round(Clock::now());
          }
        }(state_),
        asio::detached);
  }
}

void Monitor::State::eject(ClusterOutliers& c, EndpointHealth& e, EjectReason reason, Clock::time_point now) {
  std::size_t ejected = 0;
  for (const auto& other : c.endpoints) ejected += other->ejected() ? 1 : 0;
  if (!may_eject(ejected, c.endpoints.size(), c.od.max_ejection_percent, c.od.always_eject_one_host)) {
    // Logged once until the endpoint is ejected: a failing endpoint trips
    // again every few requests.
    if (!e.ejection_refused)
      spdlog::info("cluster '{}': endpoint {} not ejected ({}): max_ejection_percent {} reached ({} of {} ejected)",
                   e.cluster(), e.endpoint(), to_string(reason), c.od.max_ejection_percent, ejected,
                   c.endpoints.size());
    e.ejection_refused = true;
    return;
  }
  e.ejection_refused = false;
  const auto time = ejection_time(c.od.base_ejection_time, c.od.max_ejection_time, e.times_ejected + 1);
  e.eject(reason, now + time);
  e.last_change = now;
  spdlog::info("cluster '{}': endpoint {} ejected for {} ms ({}, ejection #{})", e.cluster(), e.endpoint(),
               time.count(), to_string(reason), e.times_ejected);
}

void Monitor::State::outlier_round(Clock::time_point now) {
  for (auto& [name, c] : outliers) {
    for (auto& e : c.endpoints) {
      if (e->ejected() && now >= e->ejected_until) {
        e->uneject(now);
        spdlog::info("cluster '{}': endpoint {} returns after its ejection time", e->cluster(), e->endpoint());
      }
      // Un-ejected for a whole base_ejection_time: the next ejection is shorter.
      if (!e->ejected() && e->times_ejected > 0 && now - e->last_change >= c.od.base_ejection_time) {
        --e->times_ejected;
        e->last_change = now;
      }
    }
    for (auto& e : c.endpoints) {  // after the returns, so that they leave room under max_ejection_percent
      EjectReason reason{};
      if (e->take_trip(reason) && !e->ejected()) eject(c, *e, reason, now);
    }
    if (now >= c.next_success_rate) {
      c.next_success_rate = now + c.od.interval;
      std::vector<RequestTally> tallies;
      for (auto& e : c.endpoints) tallies.push_back(e->take_tally());
      const auto flagged = success_rate_outliers(tallies, c.od.success_rate_minimum_hosts,
                                                 c.od.success_rate_request_volume, c.od.success_rate_stdev_factor);
      for (std::size_t i = 0; i < flagged.size(); ++i)
        if (flagged[i] && !c.endpoints[i]->ejected()) eject(c, *c.endpoints[i], EjectReason::kSuccessRate, now);
    }
    std::int64_t ejected = 0;
    for (const auto& e : c.endpoints) ejected += e->ejected() ? 1 : 0;
    c.ejected_gauge->set(ejected);
  }
}

namespace {

asio::awaitable<void, core::Executor> run_checks(std::shared_ptr<Monitor::State> state,
                                                 std::shared_ptr<CheckLoop> loop) {
  auto& h = *loop->health;
  for (;;) {
    const ProbeTarget target = loop->target;  // a reload may replace it meanwhile
    const ProbeResult r = co_await run_probe(target);
    if (loop->stopped) co_return;
    h.count_check(r.success, r.timed_out);
    const bool was_pending = h.verdict.pending();
    if (h.verdict.on_result(r.success, target.check.healthy_threshold, target.check.unhealthy_threshold) ||
        was_pending) {
      h.set_healthy(h.verdict.healthy());
      if (h.verdict.healthy())
        spdlog::info("cluster '{}': endpoint {} is healthy (active check passed{})", target.cluster, target.endpoint,
                     was_pending ? ", first check" : "");
      else
        spdlog::info("cluster '{}': endpoint {} is unhealthy (active check: {})", target.cluster, target.endpoint,
                     r.detail);
    }
    loop->timer.expires_after(target.check.interval + state->jitter(target.check.interval_jitter));
    co_await loop->timer.async_wait(core::kAwait);  // cancelled: stopped
    if (loop->stopped || state->stopped) co_return;
  }
}

}  // namespace

}  // namespace aegis::upstream::health
