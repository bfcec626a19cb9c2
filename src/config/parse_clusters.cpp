// clusters[]: upstream endpoints and how to pick and connect to them
// (xDS Cluster + ClusterLoadAssignment). DNS names are resolved here, once,
// at load time; the data path only ever sees IP literals.
#include "config/sections.h"

namespace aegis::config::detail {
namespace {

// Turns a host as written into an IP literal; false (with a diagnostic) if it
// is neither a literal, "localhost", nor a name that resolves.
bool resolve_host(ParseContext& ctx, const YAML::Mark& at, std::string_view field, const std::string& host,
                  Endpoint& ep) {
  if (auto ip = canonical_ip(host)) {
    ep.host = *ip;
    if (host == "localhost") ep.hostname = host;
    return true;
  }
  if (!is_dns_name(host)) {
    ctx.diags.error(at, std::string(field) + ": '" + host + "' is neither an IP address nor a valid host name");
    return false;
  }
  auto it = ctx.resolved.find(host);
  if (it == ctx.resolved.end()) it = ctx.resolved.emplace(host, ctx.resolve(host)).first;
  if (!it->second) {
    ctx.diags.error(at, std::string(field) + ": cannot resolve host '" + host + "': " + it->second.error().message +
                            " (use an IP address, or fix DNS)");
    return false;
  }
  ep.host = *it->second;
  ep.hostname = host;
  return true;
}

void parse_shorthand(const Object& o, ParseContext& ctx, Cluster& c) {
  LocalityEndpoints& group = c.load_assignment.localities.emplace_back();
  o.for_each("endpoints", [&](const YAML::Node& item, const std::string&, const YAML::Mark& at) {
    if (!item.IsScalar()) {
      ctx.diags.error(at, "endpoints: expected \"host:port\" strings, got " + describe(item) +
                              " (quote IPv6 ones: \"[::1]:8080\"; use load_assignment for weights)");
      return;
    }
    auto hp = parse_host_port(item.Scalar());
    if (!hp) {
      ctx.diags.error(at, "endpoints: " + hp.error().message);
      return;
    }
    Endpoint ep;
    ep.port = hp->port;
    if (resolve_host(ctx, at, "endpoints", hp->host, ep)) group.endpoints.push_back(std::move(ep));
  });
}

void parse_lb_endpoint(const YAML::Node& node, const std::string& path, const YAML::Mark& at, ParseContext& ctx,
                       LocalityEndpoints& group) {
  const Object o(node, at, "lb_endpoint", path, {"address", "port", "weight"}, ctx.diags);
  if (!o.is_mapping()) return;
  Endpoint ep;
  std::string host;
  bool ok = o.require("address") && o.read_string("address", host) &&
            resolve_host(ctx, o.value_mark("address"), "address", host, ep);
  ok = o.require("port") && o.read_port("port", ep.port) && ok;
  o.read_u32("weight", 1, ep.weight);
  if (ok) group.endpoints.push_back(std::move(ep));
}

void parse_locality_group(const YAML::Node& node, const std::string& path, const YAML::Mark& at,
                          ParseContext& ctx, LocalityEndpoints& group) {
  const Object o(node, at, "load_assignment endpoints entry", path,
                 {"locality", "priority", "lb_endpoints", "grid_zone", "capacity"}, ctx.diags);
  if (!o.is_mapping()) return;
  if (o.present("locality")) {
    const Object loc(o.get("locality"), o.value_mark("locality"), "locality", o.path("locality"),
                     {"region", "zone"}, ctx.diags);
    loc.read_string("region", group.region);
    loc.read_string("zone", group.zone);
  }
  o.read_u32("priority", 0, group.priority);
  o.read_string("grid_zone", group.grid_zone);
  o.read_decimal("capacity", 0.001, 1e9, group.capacity);
  if (o.require("lb_endpoints")) {
    o.for_each("lb_endpoints", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at2) {
      parse_lb_endpoint(item, p, at2, ctx, group);
    });
  }
}

void parse_load_assignment(const Object& cluster, ParseContext& ctx, Cluster& c) {
  const Object o(cluster.get("load_assignment"), cluster.value_mark("load_assignment"), "load_assignment",
                 cluster.path("load_assignment"), {"endpoints"}, ctx.diags);
  if (!o.is_mapping() || !o.require("endpoints")) return;
  o.for_each("endpoints", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
    parse_locality_group(item, p, at, ctx, c.load_assignment.localities.emplace_back());
  });
}

// The option block of one policy (`ring_hash: {...}`); refused when the
// cluster uses another policy, since it would silently do nothing.
std::optional<Object> policy_block(const Object& o, std::string_view field, LbPolicy owner, const Cluster& c,
                                   std::initializer_list<std::string_view> fields) {
  if (!o.has(field)) return std::nullopt;
  if (c.lb_policy != owner) {
    o.diags().error(o.value_mark(field), std::string(field) + ": options of lb_policy '" + std::string(field) +
                                             "', but this cluster's lb_policy is '" + to_string(c.lb_policy) +
                                             "' (remove the block or set lb_policy: " + std::string(field) + ")");
    return std::nullopt;
  }
  Object block(o.get(field), o.value_mark(field), std::string(field), o.path(field), fields, o.diags());
  if (!block.is_mapping()) return std::nullopt;
  return block;
}

void positive_duration(const Object& o, std::string_view field, Millis& out) {
  if (o.read_duration(field, out) && out.count() == 0) {
    o.diags().error(o.value_mark(field), std::string(field) + ": must be greater than 0");
  }
}

void parse_policy_options(const Object& o, Cluster& c) {
  if (auto b = policy_block(o, "least_request", LbPolicy::kLeastRequest, c, {"choice_count"})) {
    std::uint64_t n = 0;
    if (b->read_uint("choice_count", 2, 100, n)) c.least_request.choice_count = static_cast<std::uint32_t>(n);
  }
  if (auto b = policy_block(o, "peak_ewma", LbPolicy::kPeakEwma, c, {"decay_time", "default_rtt"})) {
    positive_duration(*b, "decay_time", c.peak_ewma.decay_time);
    positive_duration(*b, "default_rtt", c.peak_ewma.default_rtt);
  }
  if (auto b = policy_block(o, "ring_hash", LbPolicy::kRingHash, c, {"minimum_ring_size", "maximum_ring_size"})) {
    auto& r = c.ring_hash;
    b->read_uint("minimum_ring_size", 1, RingHashConfig::kMaxRingSize, r.minimum_ring_size);
    b->read_uint("maximum_ring_size", 1, RingHashConfig::kMaxRingSize, r.maximum_ring_size);
    if (r.minimum_ring_size > r.maximum_ring_size) {
      o.diags().error(b->value_mark(b->has("maximum_ring_size") ? "maximum_ring_size" : "minimum_ring_size"),
                      "ring_hash: minimum_ring_size (" + std::to_string(r.minimum_ring_size) +
                          ") is larger than maximum_ring_size (" + std::to_string(r.maximum_ring_size) + ")");
    }
  }
}

void parse_carbon_aware(const Object& o, Cluster& c) {
  auto b = policy_block(o, "carbon_aware", LbPolicy::kCarbonAware, c,
                        {"max_utilization", "latency_slo", "rebalance_interval", "max_step", "max_age"});
  if (!b) return;
  auto& ca = c.carbon_aware;
  b->read_decimal("max_utilization", 0.01, 1.0, ca.max_utilization);
  b->read_duration("latency_slo", ca.latency_slo);
  positive_duration(*b, "rebalance_interval", ca.rebalance_interval);
  b->read_decimal("max_step", 0.001, 1.0, ca.max_step);
  Millis max_age{0};
  if (b->has("max_age")) {
    positive_duration(*b, "max_age", max_age);
    ca.max_age = max_age;
  }
}

void parse_carbon_accounting(const Object& o, Cluster& c) {
  if (!o.has("carbon_accounting")) return;
  const Object b(o.get("carbon_accounting"), o.value_mark("carbon_accounting"), "carbon_accounting",
                 o.path("carbon_accounting"), {"joules_per_request", "joules_per_upstream_second"}, o.diags());
  if (!b.is_mapping()) return;
  auto& a = c.carbon_accounting.emplace();
  const std::size_t errors_before = o.diags().count();
  b.read_decimal("joules_per_request", 0.0, 1e9, a.joules_per_request);
  b.read_decimal("joules_per_upstream_second", 0.0, 1e9, a.joules_per_upstream_second);
  if (o.diags().count() == errors_before && a.joules_per_request <= 0 && a.joules_per_upstream_second <= 0) {
    o.diags().error(o.value_mark("carbon_accounting"),
                    "carbon_accounting: set joules_per_request and/or joules_per_upstream_second (the energy one "
                    "upstream response costs, e.g. joules_per_request: 50)");
  }
}

// carbon_aware ranks localities by their grid zone and limits each by its
// capacity: both are required on every locality, and at least two are needed
// for there to be anywhere to shift to.
void check_carbon_localities(const Object& o, ParseContext& ctx, const Cluster& c) {
  if (c.carbon_accounting) {
    // Accounting prices each response at its locality's grid: every locality needs one.
    if (!o.has("load_assignment")) {
      ctx.diags.error(o.value_mark("carbon_accounting"),
                      "carbon_accounting needs load_assignment with localities that set grid_zone (the endpoints "
                      "shorthand has none)");
    } else {
      const auto& groups = c.load_assignment.localities;
      for (std::size_t i = 0; i < groups.size(); ++i)
        if (groups[i].grid_zone.empty())
          ctx.diags.error_at(o.path("load_assignment") + ".endpoints[" + std::to_string(i) + "]",
                             "carbon_accounting: this locality has no grid_zone (the grid zone its power comes "
                             "from, as the intensity feeds name it, e.g. grid_zone: DE)");
    }
  }
  if (c.lb_policy != LbPolicy::kCarbonAware) return;
  if (!o.has("load_assignment")) {
    ctx.diags.error(o.value_mark(o.has("endpoints") ? "endpoints" : "lb_policy"),
                    "lb_policy carbon_aware needs load_assignment with localities that set grid_zone and capacity "
                    "(the endpoints shorthand has neither)");
    return;
  }
  const auto& groups = c.load_assignment.localities;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string path = o.path("load_assignment") + ".endpoints[" + std::to_string(i) + "]";
    if (groups[i].grid_zone.empty())
      ctx.diags.error_at(path, "lb_policy carbon_aware: this locality has no grid_zone (the grid zone its power "
                               "comes from, as the intensity feeds name it, e.g. grid_zone: DE)");
    if (groups[i].capacity <= 0)
      ctx.diags.error_at(path, "lb_policy carbon_aware: this locality has no capacity (the requests/s it can "
                               "serve, e.g. capacity: 500)");
  }
  if (groups.size() < 2) {
    ctx.diags.error(o.value_mark("load_assignment"),
                    "lb_policy carbon_aware needs at least two localities to shift traffic between, got " +
                        std::to_string(groups.size()));
  }
}

void parse_locality_aware(const Object& o, Cluster& c) {
  if (!o.has("locality_aware")) return;
  const Object b(o.get("locality_aware"), o.value_mark("locality_aware"), "locality_aware", o.path("locality_aware"),
                 {"enabled", "overprovisioning_factor", "min_local_healthy_percent"}, o.diags());
  if (!b.is_mapping()) return;
  auto& la = c.locality_aware;
  la.enabled = true;  // the block itself turns it on; `enabled: false` keeps it written but off
  b.read_bool("enabled", la.enabled);
  b.read_decimal("overprovisioning_factor", 1.0, 10.0, la.overprovisioning_factor);
  b.read_u32("min_local_healthy_percent", 0, la.min_local_healthy_percent);
  if (la.min_local_healthy_percent > 100) {
    o.diags().error(b.value_mark("min_local_healthy_percent"),
                    "min_local_healthy_percent: expected a percentage 0-100, got " +
                        std::to_string(la.min_local_healthy_percent));
  }
}

std::size_t count_endpoints(const Cluster& c) {
  std::size_t n = 0;
  for (const auto& group : c.load_assignment.localities) n += group.endpoints.size();
  return n;
}

void parse_cluster(const YAML::Node& node, const std::string& path, const YAML::Mark& at, ParseContext& ctx,
                   Cluster& c) {
  const Object o(node, at, "cluster", path,
                 {"name",
                  "lb_policy",
                  "connect_timeout",
                  "max_connections",
                  "max_idle_connections",
                  "idle_timeout",
                  "endpoints",
                  "load_assignment",
                  "tls",
                  "least_request",
                  "peak_ewma",
                  "ring_hash",
                  "locality_aware",
                  "circuit_breakers",
                  "retry_budget",
                  "health_checks",
                  "outlier_detection",
                  "healthy_panic_threshold",
                  "protocol",
                  "http2",
                  "carbon_aware",
                  "carbon_accounting",
                  "type"},
                 ctx.diags);
  if (!o.is_mapping()) return;
  o.read_name("name", c.name);
  std::size_t type = 0;
  if (o.read_choice("type", {"static", "original_dst"}, type)) c.type = static_cast<ClusterType>(type);
  std::size_t policy = 0;
  // Same order as the LbPolicy enumerators.
  if (o.read_choice("lb_policy", {"round_robin", "random", "least_request", "peak_ewma", "ring_hash", "maglev",
                                        "carbon_aware"},
                    policy)) {
    c.lb_policy = static_cast<LbPolicy>(policy);
  }
  parse_policy_options(o, c);
  parse_carbon_aware(o, c);
  parse_carbon_accounting(o, c);
  parse_locality_aware(o, c);
  std::size_t protocol = 0;
  if (o.read_choice("protocol", {"http1", "http2"}, protocol)) c.protocol = static_cast<UpstreamProtocol>(protocol);
  parse_http2(o, c.http2);
  if (o.has("http2") && c.protocol != UpstreamProtocol::kHttp2) {
    ctx.diags.error(o.value_mark("http2"), "http2: options for protocol: http2, but this cluster speaks http1 "
                                           "(remove the block or set protocol: http2)");
  }
  if (o.read_duration("connect_timeout", c.connect_timeout) && c.connect_timeout.count() == 0) {
    ctx.diags.error(o.value_mark("connect_timeout"), "connect_timeout: must be greater than 0");
  }
  o.read_u32("max_connections", 1, c.max_connections);
  o.read_u32("max_idle_connections", 0, c.max_idle_connections);
  o.read_duration("idle_timeout", c.idle_timeout);
  parse_tls(o, ctx, TlsSide::kCluster, c.tls);
  if (o.has("circuit_breakers")) parse_circuit_breakers(o, c.circuit_breakers);
  if (o.has("retry_budget")) parse_retry_budget(o, c.retry_budget);
  parse_cluster_health(o, c);

  if (c.type == ClusterType::kOriginalDst) {
    // Every connection has its own destination: nothing to list, balance or probe.
    for (std::string_view field : {"endpoints", "load_assignment", "lb_policy", "health_checks", "outlier_detection",
                                   "protocol", "http2", "carbon_aware", "carbon_accounting", "locality_aware"}) {
      if (o.has(field)) {
        ctx.diags.error(o.value_mark(field), std::string(field) +
                                                 ": a type: original_dst cluster connects to each "
                                                 "connection's original destination; remove '" +
                                                 std::string(field) + "'");
      }
    }
    return;
  }
  const bool shorthand = o.has("endpoints");
  const bool assignment = o.has("load_assignment");
  if (shorthand && assignment) {
    ctx.diags.error(o.value_mark("load_assignment"),
                    "cluster sets both 'endpoints' and 'load_assignment'; use one (endpoints is the short form)");
    return;
  }
  if (!shorthand && !assignment) {
    ctx.diags.error(o.mark(), "cluster '" + c.name + "' has no endpoints; set 'endpoints: [\"host:port\"]' or "
                              "'load_assignment'");
    return;
  }
  const std::size_t errors_before = ctx.diags.count();
  if (shorthand) parse_shorthand(o, ctx, c);
  if (assignment) parse_load_assignment(o, ctx, c);
  // Only complain about emptiness when no entry was rejected (that was reported).
  if (count_endpoints(c) == 0 && ctx.diags.count() == errors_before) {
    ctx.diags.error(o.value_mark(shorthand ? "endpoints" : "load_assignment"),
                    "cluster '" + c.name + "' needs at least one endpoint");
  }
  if (ctx.diags.count() == errors_before) check_carbon_localities(o, ctx, c);
}

}  // namespace

void parse_clusters(const Object& top, ParseContext& ctx, Config& out) {
  top.for_each("clusters", [&](const YAML::Node& item, const std::string& path, const YAML::Mark& at) {
    parse_cluster(item, path, at, ctx, out.clusters.emplace_back());
  });
}

}  // namespace aegis::config::detail
