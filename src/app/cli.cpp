#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include "tls/openssl_info.h"

namespace aegis::app {

int main_cli(int argc, char** argv) {
  CLI::App app{"aegis-flow: post-quantum, carbon-aware service-mesh sidecar proxy"};
  app.require_subcommand(1);
  auto* version = app.add_subcommand("version", "Print version, OpenSSL version, TLS groups and signature algorithms");
  CLI11_PARSE(app, argc, argv);
  if (version->parsed()) {
    fmt::print("aegis-flow 0.1.0\n{}\n", tls::openssl_version());
    fmt::print("tls13 groups: {}\n", fmt::join(tls::tls13_groups(), ":"));
    fmt::print("signature algorithms: {}\n", fmt::join(tls::signature_algorithms(), ":"));
  }
  return 0;
}

}  // namespace aegis::app
