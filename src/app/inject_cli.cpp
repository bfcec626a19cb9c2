#include "app/inject_cli.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "app/inject.h"

namespace aegis::app {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

bool read_input(const std::string& file, std::string& text) {
  std::ostringstream buffer;
  if (file == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) return false;
    buffer << in.rdbuf();
  }
  text = buffer.str();
  return true;
}

}  // namespace

CLI::App* add_inject_command(CLI::App& app) {
  auto* inject = app.add_subcommand("inject",
                                    "Add the aegis-flow sidecar to Kubernetes manifests: inject -f app.yaml "
                                    "| kubectl apply -f - (docs/kubernetes.md)");
  // Everything after `inject` goes to run_inject_command, --help included.
  inject->prefix_command();
  inject->set_help_flag();
  return inject;
}

int run_inject_command(const CLI::App& inject) {
  CLI::App app{
      "Add the aegis-flow sidecar (init container aegis-flow-init: iptables capture; container "
      "aegis-flow-proxy) to every pod template of Kubernetes manifests. Kinds without pods pass through; "
      "other kinds are refused. Injecting twice changes nothing.",
      "aegis-flow inject"};
  InjectOptions o;
  o.version = AEGIS_VERSION;
  o.image = fmt::format("aegis-flow:{}", AEGIS_VERSION);
  std::string file, out_file = "-";
  app.add_option("-f,--filename", file, "Manifests (multi-document YAML); - for stdin")->required();
  app.add_option("-o,--output", out_file, "Where the injected manifests go; - for stdout")->capture_default_str();
  app.add_option("--image", o.image, "Image of the proxy and init containers")->capture_default_str();
  app.add_option("--proxy-uid", o.proxy_uid, "User and group the proxy runs as; its traffic is not captured")
      ->capture_default_str()
      ->check(CLI::Range(1, 2147483647));
  app.add_option("--identity-secret", o.identity_secret,
                 "Secret with tls.crt, tls.key, ca.crt (default: aegis-flow-identity-<serviceAccountName or "
                 "default>)");
  app.add_option("--config-map", o.config_map, "ConfigMap with the mesh config (key config.yaml)")
      ->capture_default_str();
  app.add_option("--runtime-class", o.runtime_class,
                 "runtimeClassName for the pods, e.g. kata-qemu-snp for confidential pods (default: unchanged)");
  app.add_option("--exclude-inbound-ports", o.exclude_inbound_ports,
                 "Comma-separated ports not captured inbound (15000, the admin port, always is excluded)");
  app.add_option("--exclude-outbound-ports", o.exclude_outbound_ports, "Comma-separated ports not captured outbound");
  app.add_option("--exclude-outbound-cidrs", o.exclude_outbound_cidrs, "Comma-separated CIDRs not captured outbound");

  std::vector<std::string> args = inject.remaining();
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }

  std::string text;
  if (!read_input(file, text)) {
    fmt::print(stderr, "aegis-flow inject: cannot read {}\n", file);
    return kExitFailure;
  }
  const InjectResult r = inject_manifests(text, o, file);
  for (const auto& w : r.warnings) fmt::print(stderr, "aegis-flow inject: warning: {}\n", w);
  if (!r.ok()) {
    for (const auto& e : r.errors) fmt::print(stderr, "aegis-flow inject: {}\n", e);
    fmt::print(stderr, "aegis-flow inject: {} error(s), nothing written\n", r.errors.size());
    return kExitInvalid;
  }
  if (out_file == "-") {
    fmt::print("{}", r.yaml);
    return std::fflush(stdout) == 0 ? 0 : kExitFailure;
  }
  std::ofstream out(out_file, std::ios::binary | std::ios::trunc);
  out << r.yaml;
  out.close();
  if (!out) {
    fmt::print(stderr, "aegis-flow inject: cannot write {}\n", out_file);
    return kExitFailure;
  }
  return 0;
}

}  // namespace aegis::app
