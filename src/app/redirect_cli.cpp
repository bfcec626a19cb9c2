#include "app/redirect_cli.h"

#include <fmt/core.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "app/redirect_rules.h"
#include "app/tool_process.h"

namespace aegis::app {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

struct FamilyTools {
  IpFamily family;
  std::string save;     // iptables-save / ip6tables-save
  std::string restore;  // iptables-restore / ip6tables-restore
};

int fail(const std::string& reason) {
  fmt::print(stderr, "aegis-flow redirect: {}\n", reason);
  return kExitFailure;
}

bool has_net_admin() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, _LINUX_CAPABILITY_U32S_3> data{};
  if (::syscall(SYS_capget, &header, data.data()) != 0) return false;
  return (data[0].effective & (1U << CAP_NET_ADMIN)) != 0;
}

// A tool's stderr on one line.
std::string one_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  std::replace(text.begin(), text.end(), '\n', ';');
  return text.empty() ? "(no message)" : text;
}

std::vector<IpFamily> families(Ipv6Mode mode) {
  const bool v6 =
      mode == Ipv6Mode::on || (mode == Ipv6Mode::automatic && std::filesystem::exists("/proc/net/if_inet6"));
  if (v6) return {IpFamily::v4, IpFamily::v6};
  return {IpFamily::v4};
}

std::string family_list(const std::vector<IpFamily>& fams) {
  return fams.size() == 2 ? "IPv4 and IPv6" : std::string(family_name(fams.front()));
}

// The tools of each family, or the reason one is missing.
core::Result<std::vector<FamilyTools>> find_tools(const std::vector<IpFamily>& fams) {
  std::vector<FamilyTools> tools;
  for (const auto family : fams) {
    const std::string prefix = family == IpFamily::v4 ? "iptables" : "ip6tables";
    FamilyTools t{family, find_sbin_tool(prefix + "-save"), find_sbin_tool(prefix + "-restore")};
    for (const auto* path : {&t.save, &t.restore}) {
      if (path->empty()) {
        const std::string name = prefix + (path == &t.save ? "-save" : "-restore");
        return core::Error{
            fmt::format("{} not found in /usr/sbin or /sbin: install Debian's iptables package "
                        "(apt-get install iptables){}",
                        name, family == IpFamily::v6 ? ", or pass --ipv6 off" : "")};
      }
    }
    tools.push_back(std::move(t));
  }
  return tools;
}

core::Result<NatState> read_state(const FamilyTools& t) {
  auto saved = run_tool({t.save, "-t", "nat"});
  if (!saved) return saved.error();
  if (saved->exit_code != 0) {
    return core::Error{fmt::format("{} -t nat failed (exit {}): {}", t.save, saved->exit_code, one_line(saved->err))};
  }
  return parse_nat_state(saved->out);
}

core::Result<void> apply_rules(const FamilyTools& t, const std::string& rules) {
  auto restored = run_tool({t.restore, "--noflush"}, rules);
  if (!restored) return restored.error();
  if (restored->exit_code != 0) {
    return core::Error{
        fmt::format("{} --noflush failed (exit {}): {}", t.restore, restored->exit_code, one_line(restored->err))};
  }
  return {};
}

int cmd_show(const RedirectPlan& plan) {
  for (const auto family : families(plan.ipv6)) {
    fmt::print("# {}: {}-restore --noflush\n", family_name(family), family == IpFamily::v4 ? "iptables" : "ip6tables");
    fmt::print("{}", install_rules(plan, family, NatState{}));
  }
  return 0;
}

int cmd_install(const RedirectPlan& plan) {
  const auto fams = families(plan.ipv6);
  auto tools = find_tools(fams);
  if (!tools) return fail(tools.error().message);
  for (const auto& t : *tools) {
    // A later family failing leaves the earlier ones installed: say so, and how to undo them.
    const std::string partly =
        t.family == IpFamily::v4 ? "" : " (the IPv4 rules are installed: `redirect remove` takes them out)";
    auto state = read_state(t);
    if (!state) return fail(state.error().message + partly);
    if (auto applied = apply_rules(t, install_rules(plan, t.family, *state)); !applied) {
      return fail(applied.error().message + partly);
    }
  }
  fmt::print("redirect: installed {} rules: {}\n", family_list(fams), describe_plan(plan));
  return 0;
}

int cmd_remove(Ipv6Mode mode) {
  const auto fams = families(mode);
  auto tools = find_tools(fams);
  if (!tools) return fail(tools.error().message);
  std::vector<IpFamily> removed;
  for (const auto& t : *tools) {
    auto state = read_state(t);
    if (!state) return fail(state.error().message);
    if (!state->installed()) continue;
    if (auto applied = apply_rules(t, remove_rules(*state)); !applied) return fail(applied.error().message);
    removed.push_back(t.family);
  }
  if (removed.empty()) {
    fmt::print("redirect: nothing to remove: no aegis-flow chains or jumps in the nat table ({})\n", family_list(fams));
  } else {
    fmt::print("redirect: removed {} rules (chains and jumps)\n", family_list(removed));
  }
  return 0;
}

void add_rule_options(CLI::App* cmd, RedirectFlags& f) {
  cmd->add_option("--proxy-uid", f.proxy_uids,
                  "The proxy's uid: its own connections are not captured (repeatable "
                  "or comma list)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--proxy-gid", f.proxy_gids, "The proxy's gid: also not captured (repeatable or comma list)")
      ->delimiter(',');
  cmd->add_option("--outbound-port", f.outbound_port, "Where outgoing TCP connections are redirected")
      ->capture_default_str();
  cmd->add_option("--inbound-port", f.inbound_port, "Where incoming TCP connections are redirected")
      ->capture_default_str();
  cmd->add_option("--inbound-ports", f.inbound_ports, "Incoming ports to capture: '*' for all, or a comma list")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--exclude-inbound-ports", f.exclude_inbound_ports,
                  "Incoming ports never captured (the inbound and "
                  "outbound ports always are too)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--exclude-outbound-ports", f.exclude_outbound_ports, "Destination ports never captured")
      ->delimiter(',');
  cmd->add_option("--exclude-outbound-cidrs", f.exclude_outbound_cidrs,
                  "Destination CIDRs never captured (IPv4 and "
                  "IPv6, each applied to its family)")
      ->delimiter(',');
}

void add_ipv6_option(CLI::App* cmd, RedirectFlags& f) {
  cmd->add_option("--ipv6", f.ipv6, "auto (also ip6tables when the kernel has IPv6), on or off")->capture_default_str();
}

}  // namespace

CLI::App* add_redirect_command(CLI::App& app) {
  auto* redirect = app.add_subcommand("redirect",
                                      "Transparent capture (root): install, remove or show the netfilter "
                                      "rules that redirect TCP traffic into the sidecar");
  // Everything after `redirect` goes to run_redirect_command, --help included.
  redirect->prefix_command();
  redirect->set_help_flag();
  return redirect;
}

int run_redirect_command(const CLI::App& redirect) {
  CLI::App app{
      "Transparent capture: netfilter nat rules (iptables-nft) that redirect a network namespace's TCP "
      "traffic to the sidecar; needs root (CAP_NET_ADMIN) except for show",
      "aegis-flow redirect"};
  app.require_subcommand(1);
  RedirectFlags flags;
  bool dry_run = false;

  auto* install = app.add_subcommand("install", "Install the rules (again: the same ruleset); other rules untouched");
  add_rule_options(install, flags);
  add_ipv6_option(install, flags);
  install->add_flag("--dry-run", dry_run, "Print the rules instead (as show)");

  auto* remove = app.add_subcommand("remove",
                                    "Remove our chains and jumps, restoring the nat table as it was before "
                                    "install; a no-op when not installed");
  add_ipv6_option(remove, flags);

  auto* show = app.add_subcommand("show",
                                  "Print the iptables-restore input install would apply, per family; "
                                  "touches nothing");
  add_rule_options(show, flags);
  add_ipv6_option(show, flags);

  std::vector<std::string> args = redirect.remaining();
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }

  auto plan = make_redirect_plan(flags);
  if (!plan) {
    fmt::print(stderr, "aegis-flow redirect: {}\n", plan.error().message);
    return kExitInvalid;
  }
  if (show->parsed() || dry_run) return cmd_show(*plan);

  if (!has_net_admin()) {
    return fail(
        "changing netfilter rules needs root (CAP_NET_ADMIN): run as root or in a privileged init "
        "container, or use `redirect show` to see the rules");
  }
  // A tool that stops reading its input must not kill us; its exit status says why.
  static_cast<void>(std::signal(SIGPIPE, SIG_IGN));
  return install->parsed() ? cmd_install(*plan) : cmd_remove(plan->ipv6);
}

}  // namespace aegis::app
