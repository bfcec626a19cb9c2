#include "app/redirect_rules.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace aegis::app {

namespace {

constexpr std::string_view kInbound = "AEGIS_INBOUND";
constexpr std::string_view kInRedirect = "AEGIS_IN_REDIRECT";
constexpr std::string_view kOutput = "AEGIS_OUTPUT";
constexpr std::string_view kRedirect = "AEGIS_REDIRECT";
constexpr std::array<std::string_view, 4> kOurChains = {kInbound, kInRedirect, kOutput, kRedirect};
constexpr std::string_view kPreroutingJump = "-A PREROUTING -p tcp -j AEGIS_INBOUND";
constexpr std::string_view kOutputJump = "-A OUTPUT -p tcp -j AEGIS_OUTPUT";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "a,b" and {"a", "b"} alike; empty items are an error.
core::Result<std::vector<std::string>> split_list(std::string_view option, const std::vector<std::string>& values) {
  std::vector<std::string> items;
  for (const auto& value : values) {
    std::string_view rest = value;
    while (true) {
      const auto comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (item.empty()) return core::Error{fmt::format("{}: empty item in '{}'", option, value)};
      items.emplace_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return items;
}

template <typename T>
bool parse_decimal(std::string_view text, T max, T& out) {
  if (text.empty() || text.size() > 10) return false;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v > static_cast<std::uint64_t>(max)) return false;
  out = static_cast<T>(v);
  return true;
}

core::Result<std::uint16_t> parse_port(std::string_view option, std::string_view text) {
  std::uint16_t port = 0;
  if (!parse_decimal<std::uint16_t>(text, 65535, port) || port == 0) {
    return core::Error{fmt::format("{}: '{}' is not a TCP port (1-65535)", option, text)};
  }
  return port;
}

core::Result<std::vector<std::uint16_t>> parse_ports(std::string_view option, const std::vector<std::string>& values) {
  auto items = split_list(option, values);
  if (!items) return items.error();
  std::vector<std::uint16_t> ports;
  for (const auto& item : *items) {
    auto port = parse_port(option, item);
    if (!port) return port.error();
    if (std::find(ports.begin(), ports.end(), *port) == ports.end()) ports.push_back(*port);
  }
  return ports;
}

core::Result<std::vector<std::uint32_t>> parse_ids(std::string_view option, const std::vector<std::string>& values) {
  auto items = split_list(option, values);
  if (!items) return items.error();
  std::vector<std::uint32_t> ids;
  for (const auto& item : *items) {
    std::uint32_t id = 0;
    // (uid_t)-1 means "no id" to the kernel.
    if (!parse_decimal<std::uint32_t>(item, std::numeric_limits<std::uint32_t>::max() - 1, id)) {
      return core::Error{fmt::format("{}: '{}' is not a numeric id (0-4294967294)", option, item)};
    }
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

core::Result<Cidr> parse_cidr(std::string_view option, std::string_view text) {
  const auto slash = text.find('/');
  const std::string address{text.substr(0, slash)};
  Cidr cidr;
  unsigned max_prefix = 32;
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  if (::inet_pton(AF_INET, address.c_str(), buf.data()) == 1) {
    cidr.family = IpFamily::v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), buf.data()) == 1) {
    cidr.family = IpFamily::v6;
    max_prefix = 128;
  } else {
    return core::Error{fmt::format("{}: '{}' is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, fd00::/8)", option, text)};
  }
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos && !parse_decimal<unsigned>(text.substr(slash + 1), max_prefix, prefix)) {
    return core::Error{fmt::format("{}: '{}' has a bad prefix length (0-{})", option, text, max_prefix)};
  }
  cidr.text = fmt::format("{}/{}", address, prefix);
  return cidr;
}

template <typename... Args>
void append_line(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
  out += '\n';
}

void add_unique(std::vector<std::uint16_t>& ports, std::uint16_t port) {
  if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
}

}  // namespace

std::string_view family_name(IpFamily family) { return family == IpFamily::v4 ? "IPv4" : "IPv6"; }

core::Result<RedirectPlan> make_redirect_plan(const RedirectFlags& flags) {
  RedirectPlan plan;
  auto uids = parse_ids("--proxy-uid", flags.proxy_uids);
  if (!uids) return uids.error();
  plan.proxy_uids = std::move(*uids);
  auto gids = parse_ids("--proxy-gid", flags.proxy_gids);
  if (!gids) return gids.error();
  plan.proxy_gids = std::move(*gids);
  if (plan.proxy_uids.empty() && plan.proxy_gids.empty()) {
    return core::Error{"--proxy-uid / --proxy-gid: name the proxy's uid or gid, or its own traffic loops back into it"};
  }

  auto outbound = parse_port("--outbound-port", flags.outbound_port);
  if (!outbound) return outbound.error();
  auto inbound = parse_port("--inbound-port", flags.inbound_port);
  if (!inbound) return inbound.error();
  if (*outbound == *inbound) {
    return core::Error{fmt::format("--outbound-port and --inbound-port are both {}: they must differ", *inbound)};
  }
  plan.outbound_port = *outbound;
  plan.inbound_port = *inbound;

  auto inbound_items = split_list("--inbound-ports", flags.inbound_ports);
  if (!inbound_items) return inbound_items.error();
  plan.capture_all_inbound = inbound_items->size() == 1 && inbound_items->front() == "*";
  if (!plan.capture_all_inbound) {
    auto ports = parse_ports("--inbound-ports", *inbound_items);
    if (!ports) return ports.error();
    plan.inbound_ports = std::move(*ports);
  }

  auto excluded_in = parse_ports("--exclude-inbound-ports", flags.exclude_inbound_ports);
  if (!excluded_in) return excluded_in.error();
  plan.exclude_inbound_ports = std::move(*excluded_in);
  add_unique(plan.exclude_inbound_ports, plan.inbound_port);
  add_unique(plan.exclude_inbound_ports, plan.outbound_port);

  auto excluded_out = parse_ports("--exclude-outbound-ports", flags.exclude_outbound_ports);
  if (!excluded_out) return excluded_out.error();
  plan.exclude_outbound_ports = std::move(*excluded_out);

  auto cidr_items = split_list("--exclude-outbound-cidrs", flags.exclude_outbound_cidrs);
  if (!cidr_items) return cidr_items.error();
  for (const auto& item : *cidr_items) {
    auto cidr = parse_cidr("--exclude-outbound-cidrs", item);
    if (!cidr) return cidr.error();
    plan.exclude_outbound_cidrs.push_back(std::move(*cidr));
  }

  if (flags.ipv6 == "auto") {
    plan.ipv6 = Ipv6Mode::automatic;
  } else if (flags.ipv6 == "on") {
    plan.ipv6 = Ipv6Mode::on;
  } else if (flags.ipv6 == "off") {
    plan.ipv6 = Ipv6Mode::off;
  } else {
    return core::Error{fmt::format("--ipv6: '{}' is not auto, on or off", flags.ipv6)};
  }
  return plan;
}

NatState parse_nat_state(std::string_view text) {
  NatState state;
  std::vector<std::string_view> declared;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    const std::string_view line = trim(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (line == kPreroutingJump) ++state.prerouting_jumps;
    if (line == kOutputJump) ++state.output_jumps;
    if (line.size() >= 2 && line.front() == ':') declared.push_back(line.substr(1, line.find(' ') - 1));
  }
  for (const auto chain : kOurChains) {
    if (std::find(declared.begin(), declared.end(), chain) != declared.end()) state.chains.emplace_back(chain);
  }
  return state;
}

std::string install_rules(const RedirectPlan& plan, IpFamily family, const NatState& state) {
  std::string out = "*nat\n";
  for (const auto chain : kOurChains) append_line(out, ":{} - [0:0]", chain);

  // Inbound: never the proxy's own ports, then the application's ports (or all).
  for (const auto port : plan.exclude_inbound_ports)
    append_line(out, "-A {} -p tcp --dport {} -j RETURN", kInbound, port);
  if (plan.capture_all_inbound) {
    append_line(out, "-A {} -p tcp -j {}", kInbound, kInRedirect);
  } else {
    for (const auto port : plan.inbound_ports)
      append_line(out, "-A {} -p tcp --dport {} -j {}", kInbound, port, kInRedirect);
  }
  append_line(out, "-A {} -p tcp -j REDIRECT --to-ports {}", kInRedirect, plan.inbound_port);

  // Outbound: the proxy's own connections, loopback and the exclusions leave as they are.
  for (const auto uid : plan.proxy_uids) append_line(out, "-A {} -m owner --uid-owner {} -j RETURN", kOutput, uid);
  for (const auto gid : plan.proxy_gids) append_line(out, "-A {} -m owner --gid-owner {} -j RETURN", kOutput, gid);
  append_line(out, "-A {} -d {} -j RETURN", kOutput, family == IpFamily::v4 ? "127.0.0.1/32" : "::1/128");
  for (const auto port : plan.exclude_outbound_ports)
    append_line(out, "-A {} -p tcp --dport {} -j RETURN", kOutput, port);
  for (const auto& cidr : plan.exclude_outbound_cidrs) {
    if (cidr.family == family) append_line(out, "-A {} -d {} -j RETURN", kOutput, cidr.text);
  }
  append_line(out, "-A {} -j {}", kOutput, kRedirect);
  append_line(out, "-A {} -p tcp -j REDIRECT --to-ports {}", kRedirect, plan.outbound_port);

  if (state.prerouting_jumps == 0) append_line(out, "{}", kPreroutingJump);
  if (state.output_jumps == 0) append_line(out, "{}", kOutputJump);
  out += "COMMIT\n";
  return out;
}

std::string remove_rules(const NatState& state) {
  if (!state.installed()) return {};
  std::string out = "*nat\n";
  // "-A X ..." → "-D X ...": one delete per copy.
  for (int i = 0; i < state.prerouting_jumps; ++i)
    fmt::format_to(std::back_inserter(out), "-D{}\n", kPreroutingJump.substr(2));
  for (int i = 0; i < state.output_jumps; ++i) fmt::format_to(std::back_inserter(out), "-D{}\n", kOutputJump.substr(2));
  // All flushed before any is deleted: AEGIS_INBOUND refers to AEGIS_IN_REDIRECT.
  for (const auto& chain : state.chains) fmt::format_to(std::back_inserter(out), "-F {}\n", chain);
  for (const auto& chain : state.chains) fmt::format_to(std::back_inserter(out), "-X {}\n", chain);
  out += "COMMIT\n";
  return out;
}

std::string describe_plan(const RedirectPlan& plan) {
  std::string s = fmt::format("outbound -> {}, inbound -> {}", plan.outbound_port, plan.inbound_port);
  if (!plan.capture_all_inbound) s += fmt::format(" (ports {})", fmt::join(plan.inbound_ports, ","));
  if (!plan.proxy_uids.empty()) {
    s += fmt::format(", proxy uid {} excluded", fmt::join(plan.proxy_uids, ","));
  }
  if (!plan.proxy_gids.empty()) s += fmt::format(", proxy gid {} excluded", fmt::join(plan.proxy_gids, ","));
  return s;
}

}  // namespace aegis::app
