// The process: loads config, starts workers and the admin server, hands each
// worker its SO_REUSEPORT listening sockets, and owns reload (SIGHUP or file
// change) and graceful drain (SIGTERM/SIGINT). Runs on the main thread.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "config/types.h"

namespace aegis::app {

struct ServerOptions {
  std::string config_path;              // watched and reloaded; empty for an embedded config
  std::optional<std::string> embedded;  // YAML text used instead of a file
  std::size_t concurrency = 0;          // 0: number of cores
  // `run --node-region/--node-zone`: replace the file's node.region/zone at
  // every load (Kubernetes passes the node's topology labels this way).
  std::optional<std::string> node_region;
  std::optional<std::string> node_zone;
  // Called on the main thread once every listener is accepting (quickstart
  // uses it to print what to curl).
  std::function<void(const config::Config&)> on_ready;
};

// Runs until drained; returns the process exit code.
int run_server(const ServerOptions& options);

}  // namespace aegis::app
