#include "config/types.h"

#include <algorithm>

namespace aegis::config {
namespace {

std::string join_host_port(const std::string& host, std::uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

template <typename T>
const T* find_named(const std::vector<T>& items, const std::string& name) {
  const auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.name == name; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

std::string SocketAddress::str() const { return join_host_port(address, port); }

std::string Endpoint::str() const { return join_host_port(host, port); }

bool PeerMatcher::matches(std::string_view id) const {
  if (!exact.empty()) return id == exact;
  return !prefix.empty() && id.substr(0, prefix.size()) == prefix;
}

bool peers_allowed(const std::vector<PeerMatcher>& allow, const std::optional<std::string>& id) {
  if (allow.empty()) return true;
  if (!id) return false;
  for (const auto& m : allow)
    if (m.matches(*id)) return true;
  return false;
}

const Cluster* Config::find_cluster(const std::string& name) const { return find_named(clusters, name); }

const RouteConfiguration* Config::find_route_config(const std::string& name) const {
  return find_named(route_configs, name);
}

}  // namespace aegis::config
