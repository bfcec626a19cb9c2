// Polls the configured intensity feeds on one io_context (the server's main
// thread), never on a worker, and publishes every reading to an
// IntensityBoard. One loop per provider: each round fetches every zone, then
// waits poll_interval, or after a failed round an exponential back-off
// (initial_backoff × 2^(failures-1), capped at max_backoff). A failed fetch
// leaves the zone's last reading on the board, where it ages into staleness.
// start() with a new config (reload) stops the old loops and starts new ones.
//
// Metrics: aegis_grid_intensity_gco2_per_kwh{zone,provider},
// aegis_grid_reading_age_seconds{zone} (refreshed every second),
// aegis_carbon_feed_polls_total{provider,result}, aegis_carbon_feed_errors_total{provider,kind}.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "carbon/feed.h"
#include "carbon/intensity.h"
#include "config/carbon.h"

namespace aegis::carbon {

// Delay before the next round after `failures` (>= 1) failed rounds in a row.
std::chrono::milliseconds backoff_delay(unsigned failures, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max);

class FeedRunner {
 public:
  FeedRunner(boost::asio::io_context& ioc, IntensityBoard& board, NowFn now = [] { return Clock::now(); });
  ~FeedRunner();
  FeedRunner(const FeedRunner&) = delete;
  FeedRunner& operator=(const FeedRunner&) = delete;

  // On the io_context's thread.
  void start(const config::CarbonConfig& config);
  void stop();

  // The zones being fed: which provider, and when its readings turn stale.
  struct ZoneSource {
    std::string provider;
    std::chrono::milliseconds max_age{0};
  };
  const std::map<std::string, ZoneSource>& zones() const { return zones_; }

  struct Loop;  // one provider's poll loop; shared with its coroutine

 private:
  boost::asio::io_context& ioc_;
  IntensityBoard& board_;
  NowFn now_;
  std::map<std::string, std::shared_ptr<Loop>> loops_;  // by provider name
  std::map<std::string, ZoneSource> zones_;
  struct Ticker;
  std::shared_ptr<Ticker> ticker_;
};

}  // namespace aegis::carbon
