// The rules of `aegis-flow redirect` (transparent capture, like Istio's
// istio-iptables init container), as pure functions: the command-line strings
// are validated into a RedirectPlan, and a plan becomes iptables-restore text
// for one address family. redirect_cli.cpp only runs the tools.
//
// Chains (nat table): PREROUTING -p tcp -j AEGIS_INBOUND (inbound capture) and
// OUTPUT -p tcp -j AEGIS_OUTPUT (locally generated traffic); AEGIS_IN_REDIRECT
// and AEGIS_REDIRECT hold the one REDIRECT each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace aegis::app {

enum class IpFamily { v4, v6 };
enum class Ipv6Mode { automatic, on, off };

std::string_view family_name(IpFamily family);  // "IPv4" / "IPv6"

// The options as given on the command line. List options may hold
// comma-separated items in any element ("15000,15020" or {"15000", "15020"}).
struct RedirectFlags {
  std::vector<std::string> proxy_uids = {"1337"};
  std::vector<std::string> proxy_gids;
  std::string outbound_port = "15001";
  std::string inbound_port = "15006";
  std::vector<std::string> inbound_ports = {"*"};
  std::vector<std::string> exclude_inbound_ports = {"15000", "15020"};
  std::vector<std::string> exclude_outbound_ports;
  std::vector<std::string> exclude_outbound_cidrs;
  std::string ipv6 = "auto";
};

struct Cidr {
  IpFamily family = IpFamily::v4;
  std::string text;  // address/prefix, as iptables takes it (a bare address gets /32 or /128)
};

// Validated options.
struct RedirectPlan {
  std::vector<std::uint32_t> proxy_uids;
  std::vector<std::uint32_t> proxy_gids;
  std::uint16_t outbound_port = 0;
  std::uint16_t inbound_port = 0;
  bool capture_all_inbound = true;
  std::vector<std::uint16_t> inbound_ports;          // when !capture_all_inbound
  std::vector<std::uint16_t> exclude_inbound_ports;  // the inbound and outbound ports included
  std::vector<std::uint16_t> exclude_outbound_ports;
  std::vector<Cidr> exclude_outbound_cidrs;
  Ipv6Mode ipv6 = Ipv6Mode::automatic;
};

// Every error names the option and the bad value.
core::Result<RedirectPlan> make_redirect_plan(const RedirectFlags& flags);

// What of ours is in a family's nat table, read from `iptables-save -t nat`.
struct NatState {
  std::vector<std::string> chains;  // our chains that exist, in kOurChains order
  int prerouting_jumps = 0;         // copies of `-A PREROUTING -p tcp -j AEGIS_INBOUND`
  int output_jumps = 0;             // copies of `-A OUTPUT -p tcp -j AEGIS_OUTPUT`
  bool installed() const { return !chains.empty() || prerouting_jumps > 0 || output_jumps > 0; }
};
NatState parse_nat_state(std::string_view iptables_save_text);

// iptables-restore --noflush input that (re)writes our chains (declaring a
// chain creates it or, when it exists, flushes it) and appends each jump the
// state lacks. Applying it twice leaves the same ruleset.
std::string install_rules(const RedirectPlan& plan, IpFamily family, const NatState& state);

// iptables-restore --noflush input that deletes every copy of our jumps, then
// flushes and deletes our chains. Empty when nothing of ours is there.
std::string remove_rules(const NatState& state);

// One line for the log: "outbound -> 15001, inbound -> 15006, proxy uid 1337 excluded".
std::string describe_plan(const RedirectPlan& plan);

}  // namespace aegis::app
