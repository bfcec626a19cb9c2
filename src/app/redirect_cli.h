// `aegis-flow redirect`: transparent capture of a pod's (or network
// namespace's) TCP traffic into the sidecar, like Istio's istio-iptables init
// container. The rules are built in redirect_rules.h; this runs
// iptables-save / iptables-restore --noflush (and the ip6tables ones) on them.
//
// Usage:
//   aegis-flow redirect install [--proxy-uid 1337] [--proxy-gid GID] [--outbound-port 15001]
//       [--inbound-port 15006] [--inbound-ports '*'|P,...] [--exclude-inbound-ports 15000,15020]
//       [--exclude-outbound-ports P,...] [--exclude-outbound-cidrs CIDR,...] [--ipv6 auto|on|off] [--dry-run]
//   aegis-flow redirect remove [--ipv6 auto|on|off]
//   aegis-flow redirect show [same options as install]   (prints the rules, touches nothing)
// Exit status: 0 success (remove when nothing is installed included); 2 usage or
// invalid option; 1 no privilege (CAP_NET_ADMIN), a tool missing or failing.
#pragma once

namespace CLI {
class App;
}

namespace aegis::app {

// Registers `redirect` on the top-level app; its own options are parsed by
// run_redirect_command (usage errors exit 2).
CLI::App* add_redirect_command(CLI::App& app);

// Runs the parsed `redirect` subcommand; returns the exit status.
int run_redirect_command(const CLI::App& redirect);

}  // namespace aegis::app
