#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <csignal>
#include <thread>

#include "app/attest_cli.h"
#include "app/carbon_cli.h"
#include "app/certs_cli.h"
#include "app/inject_cli.h"
#include "app/quickstart.h"
#include "app/redirect_cli.h"
#include "app/server.h"
#include "config/loader.h"
#include "core/log.h"
#include "tls/openssl_info.h"

namespace aegis::app {

namespace {

int cmd_version() {
  fmt::print("aegis-flow {}\n{}\n", AEGIS_VERSION, tls::openssl_version());
  fmt::print("tls13 groups: {}\n", fmt::join(tls::tls13_groups(), ":"));
  fmt::print("signature algorithms: {}\n", fmt::join(tls::signature_algorithms(), ":"));
  return 0;
}

int cmd_validate(const std::string& path) {
  auto r = config::load_from_file(path);
  if (!r.ok()) {
    for (const auto& d : r.diagnostics) fmt::print(stderr, "{}\n", d.str());
    fmt::print(stderr, "{}: {} error(s)\n", path, r.diagnostics.size());
    return 2;
  }
  fmt::print("{}: OK ({} listener(s), {} route config(s), {} cluster(s))\n", path,
             r.config->listeners.size(), r.config->route_configs.size(), r.config->clusters.size());
  return 0;
}

}  // namespace

int main_cli(int argc, char** argv) {
  CLI::App app{"aegis-flow: post-quantum, carbon-aware service-mesh sidecar proxy"};
  app.require_subcommand(1);
  app.footer("Run `aegis-flow SUBCOMMAND --help` for the options of each subcommand.");

  std::string config_path, log_level = "info";
  std::size_t concurrency = 0;

  auto* run = app.add_subcommand("run", "Run the proxy with a YAML configuration file (reloaded on SIGHUP and on change; SIGTERM drains)");
  run->add_option("-c,--config", config_path, "Configuration file (YAML)")->required()->check(CLI::ExistingFile);
  run->add_option("--concurrency", concurrency, "Worker threads (default: number of cores)")->check(CLI::Range(1, 256));
  run->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")->capture_default_str();
  std::optional<std::string> node_region, node_zone;
  run->add_option(
      "--node-region", node_region,
      "Replaces the file's node.region (e.g. from the node's topology.kubernetes.io/region label; \"\" = none)");
  run->add_option("--node-zone", node_zone, "Replaces the file's node.zone (topology.kubernetes.io/zone)");

  auto* validate = app.add_subcommand("validate", "Check a configuration file; exit 0 if valid, 2 with every error as FILE:LINE:COL: message");
  validate->add_option("-c,--config", config_path, "Configuration file (YAML)")->required();

  auto* version = app.add_subcommand("version", "Print the version, the OpenSSL version and the TLS groups and signature algorithms on offer");

  QuickstartOptions qs;
  std::string state_dir = default_quickstart_state_dir().string();
  auto* quick = app.add_subcommand("quickstart", "Run the quick start: a two-sidecar mesh on 127.0.0.1 (client -> :10000 outbound sidecar -> mTLS MLKEM1024/ML-DSA-65 -> :15443 inbound sidecar -> demo app :18080; admin :9901 and :9902)");
  quick->add_option("--state-dir", state_dir, "Where certificates are minted (first run) and sidecar configs written")->capture_default_str();
  quick->add_option("--port", qs.listen_port, "Outbound sidecar listener (send requests here)")->capture_default_str();
  quick->add_option("--admin-port", qs.admin_port, "Outbound sidecar admin")->capture_default_str();
  quick->add_option("--inbound-admin-port", qs.inbound_admin_port, "Inbound sidecar admin")->capture_default_str();
  quick->add_option("--mesh-port", qs.mesh_port, "Inbound sidecar mTLS listener")->capture_default_str();
  quick->add_option("--demo-port", qs.demo_port, "Demo app")->capture_default_str();
  quick->add_option("--concurrency", concurrency, "Worker threads per sidecar (default: number of cores)")->check(CLI::Range(1, 256));
  quick->add_option("--log-level", log_level, "trace, debug, info, warn, error, critical, off")->capture_default_str();

  auto* certs = add_certs_command(app);
  auto* carbon = add_carbon_command(app);
  auto* attest = add_attest_command(app);
  auto* inject = add_inject_command(app);
  auto* redirect = add_redirect_command(app);

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) return cmd_version();
  if (certs->parsed()) return run_certs_command(*certs);
  if (carbon->parsed()) return run_carbon_command(*carbon);
  if (attest->parsed()) return run_attest_command(*attest);
  if (inject->parsed()) return run_inject_command(*inject);
  if (redirect->parsed()) return run_redirect_command(*redirect);
  if (validate->parsed()) return cmd_validate(config_path);

  if (!core::init_logging(log_level)) {
    fmt::print(stderr, "unknown --log-level '{}'\n", log_level);
    return 2;
  }
  static_cast<void>(std::signal(SIGPIPE, SIG_IGN));  // cannot fail for SIGPIPE; a closed stdout or socket is an error code, not a death
  tls::init_openssl();
  if (quick->parsed()) {
    qs.state_dir = state_dir;
    qs.concurrency = concurrency;
    qs.log_level = log_level;
    return run_quickstart(qs);
  }
  ServerOptions opts;
  opts.config_path = config_path;
  opts.concurrency = concurrency;
  opts.node_region = node_region;
  opts.node_zone = node_zone;
  return run_server(opts);
}

}  // namespace aegis::app
