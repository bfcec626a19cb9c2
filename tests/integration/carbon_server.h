// The local grid-intensity provider (carbon/provider_server.py, Debian's
// python3): speaks Electricity Maps, WattTime, UK Carbon Intensity and the
// Carbon Aware SDK's wire formats, serving the rows of real traces from
// ../shared/testdata/carbon, with switches for errors (status codes, hangs,
// malformed bodies, revoked tokens). See the script's docstring.
#pragma once

#include "harness.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aegis::itest {

// AEGIS_TESTDATA/carbon, else the source tree's ../shared/testdata/carbon.
fs::path carbon_testdata_dir();

class ProviderServer {
 public:
  struct Options {
    std::vector<std::pair<std::string, std::string>> traces;  // provider id → CSV file name in carbon_testdata_dir()
    std::string em_token;                                     // empty: no check
    std::string wt_user, wt_password;                         // empty user: WattTime login refused
    fs::path cert, key;                                       // HTTPS when set
    std::string name = "provider-server";
    // Accelerated clock: serve the rows in force at replay_start + speed × (time since start).
    std::string replay_start;  // ISO 8601; empty: the next row per request
    double replay_speed = 1;
  };
  ProviderServer(const fs::path& dir, const Options& o);  // throws if it does not start
  ~ProviderServer();
  ProviderServer(const ProviderServer&) = delete;
  ProviderServer& operator=(const ProviderServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // mode: ok | 500 | 401 | 429 | hang | malformed | html, for the next `count` API requests (0: until changed).
  void set_mode(const std::string& mode, int count = 0) const;
  void expire_tokens() const;
  void restart_clock() const;  // the accelerated clock (replay_start) starts again now
  // g/kWh values served for a provider id, in order.
  std::vector<double> served(const std::string& id) const;
  nlohmann::json stats() const;
  std::string process_stderr() const { return process_->stderr_tail(8000); }

 private:
  nlohmann::json control(const std::string& path) const;  // plain HTTP only
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace aegis::itest
