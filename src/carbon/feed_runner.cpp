#include "carbon/feed_runner.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "stats/stats.h"

namespace aegis::carbon {

namespace asio = boost::asio;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                         core::Executor>;

std::chrono::milliseconds backoff_delay(unsigned failures, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max) {
  if (failures == 0) failures = 1;
  auto d = initial;
  for (unsigned i = 1; i < failures && d < max; ++i) d *= 2;
  return std::min(d, max);
}

struct FeedRunner::Loop {
  Loop(asio::io_context& io, config::CarbonProvider p, std::unique_ptr<IntensityFeed> f)
      : provider(std::move(p)), feed(std::move(f)), timer(io.get_executor()) {}
  config::CarbonProvider provider;
  std::unique_ptr<IntensityFeed> feed;
  Timer timer;
  bool stopped = false;
  unsigned failures = 0;                  // rounds in a row with a failed zone
  std::map<std::string, bool> zone_failing;  // to log state changes, not every failure
};

struct FeedRunner::Ticker {
  explicit Ticker(asio::io_context& io) : timer(io.get_executor()) {}
  Timer timer;
  bool stopped = false;
};

namespace {

stats::Counter& polls(const std::string& provider, const char* result) {
  return stats::global().counter("aegis_carbon_feed_polls_total",
                                 "Intensity fetches per provider and zone, by result (ok, error)",
                                 {{"provider", provider}, {"result", result}});
}

stats::Counter& errors(const std::string& provider, FeedErrorKind kind) {
  return stats::global().counter(
      "aegis_carbon_feed_errors_total",
      "Failed intensity fetches by provider and kind: connect, timeout, tls, http_status, auth, malformed, setup",
      {{"provider", provider}, {"kind", std::string(to_string(kind))}});
}

stats::FloatGauge& intensity_gauge(const std::string& zone, const std::string& provider) {
  return stats::global().float_gauge("aegis_grid_intensity_gco2_per_kwh",
                                     "Latest grid carbon intensity per zone, grams CO2(eq) per kWh",
                                     {{"zone", zone}, {"provider", provider}});
}

stats::FloatGauge& age_gauge(const std::string& zone) {
  return stats::global().float_gauge("aegis_grid_reading_age_seconds",
                                     "Seconds since the time of the zone's latest intensity reading",
                                     {{"zone", zone}});
}

asio::awaitable<void, core::Executor> poll_loop(std::shared_ptr<FeedRunner::Loop> loop, IntensityBoard* board,
                                                NowFn now) {
  const auto& p = loop->provider;
  auto& ok_polls = polls(p.name, "ok");
  auto& failed_polls = polls(p.name, "error");
  for (;;) {
    bool all_ok = true;
    for (const auto& [zone, id] : p.zones) {
      auto r = co_await loop->feed->fetch(id);
      if (loop->stopped) co_return;
      bool& failing = loop->zone_failing[zone];
      if (r) {
        ok_polls.inc();
        board->publish(zone, Reading{r->gco2_per_kwh, r->at, now(), r->estimated, p.name, p.max_age});
        intensity_gauge(zone, p.name).set(r->gco2_per_kwh);
        if (failing) spdlog::info("carbon: provider '{}' zone {}: readings again ({} g/kWh)", p.name, zone, r->gco2_per_kwh);
        failing = false;
        continue;
      }
      all_ok = false;
      failed_polls.inc();
      errors(p.name, r.error().kind).inc();
      if (!failing)
        spdlog::warn("carbon: provider '{}' zone {}: {} ({}); keeping the last reading", p.name, zone,
                     r.error().message, to_string(r.error().kind));
      else
        spdlog::debug("carbon: provider '{}' zone {}: {}", p.name, zone, r.error().message);
      failing = true;
    }
    loop->failures = all_ok ? 0 : loop->failures + 1;
    const auto delay = all_ok ? p.poll_interval : backoff_delay(loop->failures, p.initial_backoff, p.max_backoff);
    loop->timer.expires_after(delay);
    co_await loop->timer.async_wait(core::kAwait);  // cancelled: stopped
    if (loop->stopped) co_return;
  }
}

}  // namespace

FeedRunner::FeedRunner(asio::io_context& ioc, IntensityBoard& board, NowFn now)
    : ioc_(ioc), board_(board), now_(std::move(now)) {}

FeedRunner::~FeedRunner() { stop(); }

void FeedRunner::stop() {
  for (auto& [name, loop] : loops_) {
    loop->stopped = true;
    loop->timer.cancel();
  }
  loops_.clear();
  zones_.clear();
  if (ticker_) {
    ticker_->stopped = true;
    ticker_->timer.cancel();
    ticker_.reset();
  }
}

void FeedRunner::start(const config::CarbonConfig& config) {
  stop();
  for (const auto& p : config.providers) {
    for (const auto& [zone, id] : p.zones) zones_[zone] = ZoneSource{p.name, p.max_age};
    auto feed = make_feed(p, now_);
    if (!feed) {
      errors(p.name, feed.error().kind).inc();
      spdlog::error("carbon: provider '{}' not started: {}", p.name, feed.error().message);
      continue;
    }
    auto loop = std::make_shared<Loop>(ioc_, p, std::move(*feed));
    loops_.emplace(p.name, loop);
    asio::co_spawn(ioc_.get_executor(), poll_loop(loop, &board_, now_), asio::detached);
    spdlog::info("carbon: provider '{}' ({}) feeds {} zone(s) every {} ms", p.name, config::to_string(p.type),
                 p.zones.size(), p.poll_interval.count());
  }
  if (zones_.empty()) return;
  ticker_ = std::make_shared<Ticker>(ioc_);
  std::vector<std::string> zones;
  for (const auto& [zone, src] : zones_) zones.push_back(zone);
  asio::co_spawn(
      ioc_.get_executor(),
      [](std::shared_ptr<Ticker> t, IntensityBoard* board, NowFn now,
         std::vector<std::string> zones) -> asio::awaitable<void, core::Executor> {
        for (;;) {
          const auto board_now = board->snapshot();
          const auto wall = now();
          for (const auto& zone : zones) {
            auto it = board_now->find(zone);
            if (it == board_now->end()) continue;
            age_gauge(zone).set(std::chrono::duration<double>(wall - it->second.at).count());
          }
          t->timer.expires_after(std::chrono::seconds(1));
          co_await t->timer.async_wait(core::kAwait);
          if (t->stopped) co_return;
        }
      }(ticker_, &board_, now_, std::move(zones)),
      asio::detached);
}

}  // namespace aegis::carbon
