#include "proxy/snapshot.h"

#include "http/h2_settings.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <mutex>

#include "attest/peer_check.h"
#include "proxy/access_log.h"

namespace aegis::proxy {

namespace {

stats::Store& S() { return stats::global(); }

EndpointRuntime make_endpoint(const config::Cluster& c, const config::Endpoint& e, upstream::CircuitBreakers& breakers,
                              core::Result<void>& status) {
  EndpointRuntime ep;
  ep.breakers = &breakers;
  ep.name = e.str();
  ep.key = c.name + "|" + ep.name;
  ep.weight = e.weight;
  ep.health = upstream::health::acquire_endpoint_health(ep.key, c.name, ep.name);
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(e.host, ec);
  if (ec) status = core::Error{fmt::format("cluster '{}': endpoint '{}' is not an IP address", c.name, ep.name)};
  ep.address = boost::asio::ip::tcp::endpoint(addr, e.port);
  const stats::Labels l{{"cluster", c.name}, {"endpoint", ep.name}};
  ep.requests = &S().counter("aegis_upstream_requests_total", "Requests sent to an upstream endpoint", l);
  ep.connections_opened = &S().counter("aegis_upstream_connections_total", "Upstream connections opened", l);
  ep.connect_failures =
      &S().counter("aegis_upstream_connect_failures_total", "Upstream connection attempts that failed or timed out", l);
  ep.errors_reset_before_response =
      &S().counter("aegis_upstream_reset_before_response_total",
                   "Upstream connections reset or closed before a complete response head", l);
  ep.errors_reset_mid_response = &S().counter("aegis_upstream_reset_mid_response_total",
                                              "Upstream responses aborted after the head was sent downstream", l);
  ep.timeouts = &S().counter("aegis_upstream_timeouts_total", "Upstream requests that hit the route timeout", l);
  ep.connections_active =
      &S().gauge("aegis_upstream_connections_active", "Open upstream connections (idle or busy)", l);
  ep.requests_active = &S().gauge("aegis_upstream_requests_active", "Upstream requests in flight", l);
  ep.response_time = &S().histogram("aegis_upstream_response_seconds",
                                    "Time from upstream request start to the end of its response", l);
  return ep;
}

void register_resilience_metrics(ClusterRuntime& cr) {
  const std::string& name = cr.config->name;
  auto overflow = [&](std::string breaker) {
    return &S().counter("aegis_upstream_overflow_total", "Requests refused by a circuit breaker, by breaker",
                        {{"cluster", name}, {"breaker", std::move(breaker)}});
  };
  cr.overflow = overflow("endpoint_max_connections");
  for (std::size_t i = 0; i < upstream::CircuitBreakers::kResources; ++i)
    cr.breaker_overflow.at(i) =
        overflow(upstream::CircuitBreakers::name(static_cast<upstream::CircuitBreakers::Resource>(i)));
  auto retries = [&](std::string result) {
    return &S().counter("aegis_upstream_retries_total", "Upstream retries by result",
                        {{"cluster", name}, {"result", std::move(result)}});
  };
  cr.retries =
      retry::Counters{retries("attempted"), retries("succeeded"), retries("exhausted"), retries("budget_exceeded"),
                      cr.breaker_overflow[static_cast<std::size_t>(upstream::CircuitBreakers::Resource::kRetries)]};
  cr.per_try_timeouts =
      &S().counter("aegis_upstream_per_try_timeouts_total",
                   "Upstream attempts that hit the retry policy's per_try_timeout", {{"cluster", name}});
}

// The attestation check of a tls block's peers, if it has a policy.
core::Result<tls::PeerCertificateCheck> peer_check_for(const config::TlsConfig& t, const config::Config& cfg,
                                                       tls::Side side, const std::string& owner) {
  if (!t.attestation) return tls::PeerCertificateCheck{};
  return attest::make_peer_check(*t.attestation, cfg.attestation, side, owner);
}

}  // namespace

stats::Counter* ListenerRuntime::malformed(std::string_view reason) const {
  return &S().counter("aegis_http_malformed_requests_total", "Requests refused by the proxy before routing, by reason",
                      {{"listener", config->name}, {"reason", std::string(reason)}});
}

stats::Counter* ListenerRuntime::downstream_timeouts(std::string_view kind) const {
  return &S().counter("aegis_http_downstream_timeouts_total",
                      "Downstream connections closed because the client stalled, by kind",
                      {{"listener", config->name}, {"kind", std::string(kind)}});
}

stats::Counter* ListenerRuntime::transparent(std::string_view action, std::string_view service,
                                             std::string_view protocol) const {
  return &S().counter("aegis_transparent_connections_total",
                      "Connections taken by transparent listeners, by what was done with them (mesh: mTLS to the "
                      "destination's sidecar, passthrough: plain TCP, inbound: to the local app, refused)",
                      {{"listener", config->name},
                       {"action", std::string(action)},
                       {"service", std::string(service)},
                       {"protocol", std::string(protocol)}});
}

stats::Counter* ListenerRuntime::transparent_refused(std::string_view reason) const {
  return &S().counter("aegis_transparent_refused_total",
                      "Connections a transparent listener closed without relaying them, by reason",
                      {{"listener", config->name}, {"reason", std::string(reason)}});
}

bool IpNetwork::contains(const boost::asio::ip::address& a) const {
  std::array<std::uint8_t, 16> b{};
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return !v6 && contains(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()));
  }
  if (a.is_v6() != v6) return false;
  if (v6) {
    b = a.to_v6().to_bytes();
  } else {
    const auto v4 = a.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), b.begin());
  }
  const std::size_t full = length / 8;
  for (std::size_t i = 0; i < full; ++i)
    if (b.at(i) != bytes.at(i)) return false;
  if (const unsigned rest = length % 8; rest != 0) {
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
    if ((b.at(full) & mask) != bytes.at(full)) return false;
  }
  return true;
}

bool ServiceRuntime::matches(const boost::asio::ip::tcp::endpoint& destination) const {
  const auto& ports = config->ports;
  if (!ports.empty() && std::find(ports.begin(), ports.end(), destination.port()) == ports.end()) return false;
  return std::any_of(networks.begin(), networks.end(),
                     [&](const IpNetwork& n) { return n.contains(destination.address()); });
}

const ServiceRuntime* Snapshot::match_service(const boost::asio::ip::tcp::endpoint& destination) const {
  for (const auto& s : services)
    if (s.matches(destination)) return &s;
  return nullptr;
}

const ClusterRuntime* Snapshot::find_cluster(std::string_view name) const {
  for (const auto& c : clusters)
    if (c.config->name == name) return &c;
  return nullptr;
}

const RouteLimit* Snapshot::find_route_limit(const config::Route* route) const {
  if (route_limits.empty()) return nullptr;
  auto it = route_limits.find(route);
  return it == route_limits.end() ? nullptr : &it->second;
}

const ListenerRuntime* Snapshot::find_listener(std::string_view name) const {
  for (const auto& l : listeners)
    if (l.config->name == name) return &l;
  return nullptr;
}

core::Result<std::shared_ptr<const Snapshot>> build_snapshot(config::Config config, std::uint64_t version,
                                                             std::shared_ptr<AccessLog> previous_log) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  snap->config = std::move(config);
  const auto& cfg = snap->config;

  if (!cfg.access_log.path.empty()) {
    if (previous_log && previous_log->path() == cfg.access_log.path) {
      snap->access_log = std::move(previous_log);
    } else {
      auto log = AccessLog::open(cfg.access_log.path);
      if (!log) return log.error();
      snap->access_log = *log;
    }
  }

  core::Result<void> status;
  snap->clusters.reserve(cfg.clusters.size());
  for (const auto& c : cfg.clusters) {
    ClusterRuntime cr{};
    cr.config = &c;
    cr.breakers = &upstream::circuit_breakers_for(c.name);
    cr.breakers->set_limits(c.circuit_breakers);
    std::vector<carbon::Accountant::Locality> carbon_localities;
    for (const auto& loc : c.load_assignment.localities) {
      for (const auto& e : loc.endpoints) {
        cr.endpoints.push_back(make_endpoint(c, e, *cr.breakers, status));
        cr.endpoint_locality.push_back(static_cast<std::uint32_t>(carbon_localities.size()));
      }
      carbon_localities.push_back({carbon::locality_label(loc), loc.grid_zone, loc.endpoints.size()});
    }
    if (c.carbon_accounting) {
      cr.carbon = std::make_shared<const carbon::Accountant>(c.name, *c.carbon_accounting, std::move(carbon_localities),
                                                             carbon::process_board());
    }
    register_resilience_metrics(cr);
    cr.no_healthy = &S().counter(
        "aegis_upstream_no_healthy_total",
        "Requests answered 503 because no endpoint of the cluster was healthy (and the panic threshold is 0)",
        {{"cluster", c.name}});
    if (c.tls) {
      auto check = peer_check_for(*c.tls, cfg, tls::Side::kClient, c.name);
      if (!check) return core::Error{fmt::format("cluster '{}': tls: attestation: {}", c.name, check.error().message)};
      auto rt = tls::TlsRuntime::build(*c.tls, tls::Side::kClient, c.name, {"http/1.1"}, std::move(check.value()));
      if (!rt) return core::Error{fmt::format("cluster '{}': tls: {}", c.name, rt.error().message)};
      cr.tls = std::move(*rt);
    }
    snap->clusters.push_back(std::move(cr));
  }
  if (!status) return status.error();

  std::map<std::string, const route::Router*, std::less<>> routers;
  for (const auto& rc : cfg.route_configs) {
    snap->routers.push_back(std::make_unique<route::Router>(rc));
    routers[rc.name] = snap->routers.back().get();
    for (const auto& vh : rc.virtual_hosts) {
      for (const auto& r : vh.routes) {
        if (!r.action.rate_limit) continue;
        snap->route_limits.emplace(
            &r, RouteLimit{
                    std::make_unique<RateLimiter>(*r.action.rate_limit),
                    &S().counter("aegis_http_rate_limited_total", "Requests answered 429 by a route's local rate limit",
                                 {{"route_config", rc.name}, {"virtual_host", vh.name}, {"route", r.name}})});
      }
    }
  }

  for (const auto& l : cfg.listeners) {
    ListenerRuntime lr;
    lr.config = &l;
    if (l.protocol == config::ListenerProtocol::kHttp) {
      auto it = routers.find(l.route_config);
      if (it == routers.end())
        return core::Error{fmt::format("listener '{}': unknown route_config '{}'", l.name, l.route_config)};
      lr.router = it->second;
    } else if (l.transparent == config::TransparentMode::kNone) {
      lr.tcp_cluster = snap->find_cluster(l.cluster);
      if (!lr.tcp_cluster) return core::Error{fmt::format("listener '{}': unknown cluster '{}'", l.name, l.cluster)};
    }
    if (l.tls) {
      // ALPN per the listener's codec (tcp listeners keep http/1.1).
      std::vector<std::string> alpn{"http/1.1"};
      if (l.protocol == config::ListenerProtocol::kHttp && l.codec == config::HttpCodec::kAuto)
        alpn = {"h2", "http/1.1"};
      if (l.protocol == config::ListenerProtocol::kHttp && l.codec == config::HttpCodec::kHttp2) alpn = {"h2"};
      auto check = peer_check_for(*l.tls, cfg, tls::Side::kServer, l.name);
      if (!check) return core::Error{fmt::format("listener '{}': tls: attestation: {}", l.name, check.error().message)};
      auto rt = tls::TlsRuntime::build(*l.tls, tls::Side::kServer, l.name, alpn, std::move(check.value()));
      if (!rt) return core::Error{fmt::format("listener '{}': tls: {}", l.name, rt.error().message)};
      lr.tls = std::move(*rt);
    }
    const stats::Labels lab{{"listener", l.name}};
    lr.connections = &S().counter("aegis_downstream_connections_total", "Downstream connections accepted", lab);
    lr.connections_active = &S().gauge("aegis_downstream_connections_active", "Open downstream connections", lab);
    lr.bytes_received =
        &S().counter("aegis_downstream_received_bytes_total", "Bytes received from downstream clients", lab);
    lr.bytes_sent = &S().counter("aegis_downstream_sent_bytes_total", "Bytes sent to downstream clients", lab);
    lr.no_route = &S().counter("aegis_http_no_route_total", "Requests that matched no route (404)", lab);
    lr.grpc_timeout_invalid = &S().counter("aegis_grpc_timeout_invalid_total",
                                           "gRPC requests whose malformed grpc-timeout header was ignored", lab);
    lr.authz_denied = &S().counter(
        "aegis_authz_denied_total",
        "Requests (http: 403) or connections (tcp: closed) refused because the peer's SPIFFE ID is not allowed", lab);
    lr.request_duration =
        &S().histogram("aegis_downstream_request_seconds",
                       "Downstream request duration, first byte of the request to last byte of the response", lab);
    if (l.protocol == config::ListenerProtocol::kHttp) {
      for (std::string_view cls : {"1xx", "2xx", "3xx", "4xx", "5xx"})
        lr.requests_by_class[std::string(cls)] =
            &S().counter("aegis_downstream_requests_total", "Downstream requests by response status class",
                         {{"listener", l.name}, {"status_class", std::string(cls)}});
      lr.h2_connections =
          &S().counter("aegis_http2_connections_total", "Downstream connections that spoke HTTP/2", lab);
      lr.h2_streams = &S().counter("aegis_http2_streams_total", "HTTP/2 request streams from downstream clients", lab);
      lr.h2_streams_active = &S().gauge("aegis_http2_streams_active", "Open HTTP/2 request streams", lab);
      lr.h2_resets_received = &S().counter("aegis_http2_resets_total", "HTTP/2 RST_STREAM frames by direction",
                                           {{"listener", l.name}, {"direction", "received"}});
      lr.h2_resets_sent = &S().counter("aegis_http2_resets_total", "HTTP/2 RST_STREAM frames by direction",
                                       {{"listener", l.name}, {"direction", "sent"}});
      lr.h2_goaways_sent = &S().counter("aegis_http2_goaways_sent_total", "HTTP/2 GOAWAY frames sent to clients", lab);
      using http::h2::FloodKind;
      for (auto kind :
           {FloodKind::kRapidReset, FloodKind::kContinuation, FloodKind::kSettings, FloodKind::kPing,
            FloodKind::kEmptyFrames, FloodKind::kOutboundQueue, FloodKind::kWindowUpdate, FloodKind::kPriority})
        lr.h2_floods.at(static_cast<std::size_t>(kind)) =
            &S().counter("aegis_http2_flood_total", "HTTP/2 connections closed (GOAWAY) for a flood, by kind",
                         {{"listener", l.name}, {"kind", std::string(http::h2::flood_kind_name(kind))}});
    }
    snap->listeners.push_back(std::move(lr));
  }
  for (const auto& svc : cfg.services) {
    ServiceRuntime sr{&svc, snap->find_cluster(svc.cluster), {}};
    if (!sr.cluster) return core::Error{fmt::format("service '{}': unknown cluster '{}'", svc.name, svc.cluster)};
    for (const auto& cidr : svc.addresses) {
      // canonical "ADDRESS/LENGTH" (config::canonical_cidr)
      const auto slash = cidr.find('/');
      boost::system::error_code ec;
      const auto addr = boost::asio::ip::make_address(cidr.substr(0, slash), ec);
      if (ec || slash == std::string::npos)
        return core::Error{fmt::format("service '{}': bad address '{}'", svc.name, cidr)};
      IpNetwork n;
      n.v6 = addr.is_v6();
      n.length = static_cast<std::uint8_t>(std::stoi(cidr.substr(slash + 1)));
      if (n.v6) {
        n.bytes = addr.to_v6().to_bytes();
      } else {
        const auto v4 = addr.to_v4().to_bytes();
        std::copy(v4.begin(), v4.end(), n.bytes.begin());
      }
      sr.networks.push_back(n);
    }
    snap->services.push_back(std::move(sr));
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace aegis::proxy
