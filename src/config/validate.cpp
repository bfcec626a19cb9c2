// Checks that span sections: unique names, references that resolve, and
// listeners that do not fight over one address:port.
#include <map>

#include "config/sections.h"

namespace aegis::config::detail {
namespace {

std::string at_index(std::string_view list, std::size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

std::string line_of(const Diagnostics& d, const std::string& path) {
  const YAML::Mark m = d.mark_of(path);
  return m.line >= 0 ? " (first defined at line " + std::to_string(m.line + 1) + ")" : "";
}

template <typename T>
void check_unique_names(const std::vector<T>& items, std::string_view list, std::string_view what,
                        Diagnostics& d) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].name.empty()) continue;  // missing name already reported
    const auto [it, fresh] = seen.emplace(items[i].name, i);
    if (!fresh) {
      d.error_at(at_index(list, i) + ".name", "duplicate " + std::string(what) + " name '" + items[i].name + "'" +
                                                   line_of(d, at_index(list, it->second)));
    }
  }
}

template <typename T>
std::string known_names(const std::vector<T>& items) {
  constexpr std::size_t kMaxShown = 10;
  std::string out;
  std::size_t shown = 0;
  for (const auto& item : items) {
    if (item.name.empty()) continue;
    if (shown++ == kMaxShown) {
      out += ", ...";
      break;
    }
    out += out.empty() ? "" : ", ";
    out += item.name;
  }
  return out.empty() ? "none are defined" : "defined: " + out;
}

void check_listeners(const Config& c, Diagnostics& d) {
  std::map<std::string, std::size_t> bound;  // "addr:port" → listener index
  for (std::size_t i = 0; i < c.listeners.size(); ++i) {
    const Listener& l = c.listeners[i];
    const std::string path = at_index("listeners", i);
    if (l.protocol == ListenerProtocol::kHttp && !l.route_config.empty() && !c.find_route_config(l.route_config)) {
      d.error_at(path + ".route_config", "listener '" + l.name + "' names route_config '" + l.route_config +
                                             "', which does not exist (" + known_names(c.route_configs) + ")");
    }
    if (l.protocol == ListenerProtocol::kTcp && !l.cluster.empty()) {
      if (const Cluster* cl = c.find_cluster(l.cluster); !cl) {
        d.error_at(path + ".cluster", "listener '" + l.name + "' names cluster '" + l.cluster +
                                          "', which does not exist (" + known_names(c.clusters) + ")");
      } else if (cl->type == ClusterType::kOriginalDst) {
        d.error_at(path + ".cluster", "listener '" + l.name + "' names cluster '" + l.cluster +
                                          "', a type: original_dst cluster, which only transparent listeners' "
                                          "services can use (a plain listener has no original destination)");
      }
    }
    if (l.address.port == 0) continue;  // missing port already reported
    const std::string addr = l.address.str();
    if (const auto [it, fresh] = bound.emplace(addr, i); !fresh) {
      d.error_at(path + ".port", "listener '" + l.name + "' uses " + addr + ", already used by listener '" +
                                     c.listeners[it->second].name + "'");
    }
    if (addr == c.admin.address.str()) {
      d.error_at(path + ".port", "listener '" + l.name + "' uses " + addr + ", which is the admin address");
    }
  }
}

void check_route_clusters(const Config& c, Diagnostics& d) {
  for (std::size_t i = 0; i < c.route_configs.size(); ++i) {
    const auto& rc = c.route_configs[i];
    for (std::size_t j = 0; j < rc.virtual_hosts.size(); ++j) {
      const auto& routes = rc.virtual_hosts[j].routes;
      for (std::size_t k = 0; k < routes.size(); ++k) {
        const std::string& cluster = routes[k].action.cluster;
        if (cluster.empty()) continue;
        const Cluster* cl = c.find_cluster(cluster);
        if (cl && cl->type != ClusterType::kOriginalDst) continue;
        const std::string path = at_index("route_configs", i) + at_index(".virtual_hosts", j) +
                                 at_index(".routes", k) + ".route.cluster";
        d.error_at(path, cl ? "route sends to cluster '" + cluster +
                                  "', a type: original_dst cluster, which only "
                                  "transparent listeners' services can use"
                            : "route sends to cluster '" + cluster + "', which does not exist (" +
                                  known_names(c.clusters) + ")");
      }
    }
  }
}

// A route's allow_peers can only pass for clients that presented a verified
// certificate: served by a listener without require_client_cert, such a
// route would answer every request with 403.
void check_route_peers(const Config& c, Diagnostics& d) {
  for (std::size_t i = 0; i < c.route_configs.size(); ++i) {
    const auto& rc = c.route_configs[i];
    std::string plain_listener;
    for (const auto& l : c.listeners)
      if (l.protocol == ListenerProtocol::kHttp && l.route_config == rc.name && !(l.tls && l.tls->require_client_cert))
        plain_listener = l.name;
    if (plain_listener.empty()) continue;
    for (std::size_t j = 0; j < rc.virtual_hosts.size(); ++j) {
      const auto& routes = rc.virtual_hosts[j].routes;
      for (std::size_t k = 0; k < routes.size(); ++k) {
        if (routes[k].allow_peers.empty()) continue;
        d.error_at(at_index("route_configs", i) + at_index(".virtual_hosts", j) + at_index(".routes", k) +
                       ".allow_peers",
                   "allow_peers: route config '" + rc.name + "' is served by listener '" + plain_listener +
                       "', which does not verify client certificates (tls.require_client_cert), so no peer "
                       "could ever be allowed");
      }
    }
  }
}

// Services name existing clusters; a mesh service without a TLS cluster would
// carry the app's bytes in the clear, which is allowed (a plain upstream) but
// must be what the operator asked for, so only missing clusters are errors.
void check_services(const Config& c, Diagnostics& d) {
  bool outbound = false;
  for (const auto& l : c.listeners) outbound = outbound || l.transparent == TransparentMode::kOutbound;
  for (std::size_t i = 0; i < c.services.size(); ++i) {
    const Service& s = c.services[i];
    if (s.cluster.empty() || c.find_cluster(s.cluster)) continue;
    d.error_at(at_index("services", i) + ".cluster", "service '" + s.name + "' names cluster '" + s.cluster +
                                                         "', which does not exist (" + known_names(c.clusters) + ")");
  }
  if (!c.services.empty() && !outbound) {
    d.error_at("services",
               "services: only transparent: outbound listeners use the service table, and there is "
               "none (add a tcp listener with transparent: outbound, or remove services)");
  }
}

}  // namespace

void validate_across_sections(const Config& config, Diagnostics& diags) {
  check_unique_names(config.listeners, "listeners", "listener", diags);
  check_unique_names(config.route_configs, "route_configs", "route config", diags);
  check_unique_names(config.clusters, "clusters", "cluster", diags);
  check_unique_names(config.services, "services", "service", diags);
  check_listeners(config, diags);
  check_route_clusters(config, diags);
  check_route_peers(config, diags);
  check_services(config, diags);
}

}  // namespace aegis::config::detail
