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
  // Called on the main thread once every listener is accepting (quickstart
  // uses it to print what to curl).
  std::function<void(const config::Config&)> on_ready;
};

// Runs until drained; returns the process exit code.
int run_server(const ServerOptions& options);

}  // namespace aegis::app
