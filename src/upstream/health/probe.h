// One active health check of one endpoint: TCP connect, an HTTP/1.1 GET
// whose status must be expected, or gRPC's grpc.health.v1.Health/Check.
// Each probe opens its own connection (TLS when the cluster has it), is
// bounded as a whole by the check's timeout, and closes the connection.
// Runs on the health monitor's io_context, never on a worker.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>

#include "config/types.h"
#include "core/io.h"
#include "tls/runtime.h"

namespace aegis::upstream::health {

struct ProbeTarget {
  std::string cluster;
  std::string endpoint;  // "host:port", for logs and TLS metrics
  boost::asio::ip::tcp::endpoint address;
  config::HealthCheck check;
  std::shared_ptr<const tls::TlsRuntime> tls;  // null: plain TCP
};

struct ProbeResult {
  bool success = false;
  bool timed_out = false;
  std::string detail;  // why it failed ("connection refused", "status 500", ...)
};

core::Task<ProbeResult> run_probe(const ProbeTarget& target);

}  // namespace aegis::upstream::health
