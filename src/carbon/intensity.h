// Grid carbon intensity as the proxy knows it: the latest reading per grid
// zone. Feeds (carbon/feeds: Electricity Maps, WattTime, UK Carbon Intensity,
// GSF Carbon Aware SDK, CSV files) poll off the request path and publish here;
// the carbon_aware load-balancing policy, carbon accounting and the admin
// /carbon page read. Publishing and reading are thread-safe: feeds run on the
// main thread, policies on every worker. Readers never take a lock: the board
// is a copy-on-write map behind an atomic shared_ptr (publishing is rare).
#pragma once

#include <chrono>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace aegis::carbon {

using Clock = std::chrono::system_clock;

struct Reading {
  double gco2_per_kwh = 0;     // always grams CO2(eq) per kWh (feeds convert units)
  Clock::time_point at;        // when the grid was at this intensity (provider's timestamp)
  Clock::time_point fetched;   // when the proxy received it
  bool estimated = false;      // provider marked it estimated / forecast
  std::string provider;        // "electricity_maps", "watttime", "file", ...
  std::chrono::milliseconds max_age{0};  // the feed's max_age (0: none); the policy's default
};

// Latest reading per zone. A zone without a reading, or whose reading is
// older than the caller's max_age, is stale: callers treat it as average.
class IntensityBoard {
 public:
  using Map = std::map<std::string, Reading>;

  void publish(const std::string& zone, Reading r) {
    const std::lock_guard lock(write_mu_);  // writers only
    auto next = std::make_shared<Map>(*map_.load());
    (*next)[zone] = std::move(r);
    map_.store(std::move(next));
  }
  std::optional<Reading> latest(const std::string& zone) const {
    const auto m = map_.load();
    auto it = m->find(zone);
    if (it == m->end()) return std::nullopt;
    return it->second;
  }
  std::shared_ptr<const Map> snapshot() const { return map_.load(); }

 private:
  std::mutex write_mu_;
  std::atomic<std::shared_ptr<const Map>> map_{std::make_shared<const Map>()};
};

// The proxy process's board: feeds started by the server publish here and the
// carbon_aware policies of every worker read it. Code that runs its own clock
// (the simulator, unit tests) makes its own IntensityBoard instead.
IntensityBoard& process_board();

}  // namespace aegis::carbon
