// The health monitor: runs every active check and the outlier detector's
// decisions for the whole process, on one io_context (the server's main
// thread), never on a worker. Workers see its verdicts through each
// endpoint's EndpointHealth. update() is called with every published
// snapshot: endpoints that stay keep their state and their check loop,
// new ones start (unhealthy until their first check, which runs at once),
// removed ones stop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "config/types.h"
#include "tls/runtime.h"
#include "upstream/health/endpoint_health.h"

namespace aegis::upstream::health {

struct MonitoredEndpoint {
  std::string key;   // EndpointRuntime::key
  std::string name;  // "host:port"
  boost::asio::ip::tcp::endpoint address;
  std::shared_ptr<EndpointHealth> health;
};

struct MonitoredCluster {
  std::string name;
  std::vector<config::HealthCheck> health_checks;
  std::optional<config::OutlierDetection> outlier_detection;
  std::shared_ptr<const tls::TlsRuntime> tls;
  std::vector<MonitoredEndpoint> endpoints;
};

// How often ejections are decided and expired ones returned: a tripped
// detector ejects within this.
inline constexpr std::chrono::milliseconds kOutlierTick{100};

class Monitor {
 public:
  explicit Monitor(boost::asio::io_context& ioc);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // On the io_context's thread.
  void update(std::vector<MonitoredCluster> clusters);
  void stop();

  struct State;  // opaque; shared with the coroutines it runs

 private:
  std::shared_ptr<State> state_;  // shared with the coroutines it runs
};

}  // namespace aegis::upstream::health
