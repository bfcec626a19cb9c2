// The immutable view of configuration that the request path reads: the typed
// config plus what is precompiled from it (routers, resolved endpoints, metric
// handles). Published to every worker as shared_ptr<const Snapshot>; a request
// keeps the snapshot it started with, so a reload never changes a request
// midway.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "carbon/accounting.h"
#include "config/types.h"
#include "core/result.h"
#include "http/h2_settings.h"
#include "proxy/rate_limiter.h"
#include "proxy/retry.h"
#include "route/router.h"
#include "stats/stats.h"
#include "tls/runtime.h"
#include "upstream/circuit_breaker.h"
#include "upstream/health/endpoint_health.h"

namespace aegis::proxy {

class AccessLog;

struct EndpointRuntime {
  std::string key;  // "cluster|host:port": identifies per-worker pool state across reloads
  std::string name; // "host:port"
  boost::asio::ip::tcp::endpoint address;
  std::uint32_t weight = 1;
  upstream::CircuitBreakers* breakers;  // the cluster's (its max_connections count)
  // Health verdicts (active checks, ejection), shared with the health monitor;
  // the same object across reloads while the key stays.
  std::shared_ptr<upstream::health::EndpointHealth> health;
  // metrics
  stats::Counter* requests;
  stats::Counter* connections_opened;
  stats::Counter* connect_failures;
  stats::Counter* errors_reset_before_response;
  stats::Counter* errors_reset_mid_response;
  stats::Counter* timeouts;
  stats::Gauge* connections_active;
  stats::Gauge* requests_active;
  stats::Histogram* response_time;
};

struct ClusterRuntime {
  const config::Cluster* config;
  std::vector<EndpointRuntime> endpoints;
  upstream::CircuitBreakers* breakers;  // cluster-wide, shared by all workers, lives for the process
  stats::Counter* overflow;        // no endpoint available (every one at the per-endpoint max_connections)
  // aegis_upstream_overflow_total{breaker}, indexed by CircuitBreakers::Resource
  std::array<stats::Counter*, upstream::CircuitBreakers::kResources> breaker_overflow;
  retry::Counters retries;
  stats::Counter* per_try_timeouts;
  stats::Counter* no_healthy;      // no endpoint healthy, panic threshold 0 (503 no_healthy_upstream)
  std::shared_ptr<const tls::TlsRuntime> tls;  // client TLS to the endpoints, or null
  // carbon_accounting: the cluster's accountant (null when not configured)
  // and each endpoint's locality index (parallel to `endpoints`).
  std::shared_ptr<const carbon::Accountant> carbon;
  std::vector<std::uint32_t> endpoint_locality;
};

struct ListenerRuntime {
  const config::Listener* config;
  const route::Router* router = nullptr;        // http listeners
  const ClusterRuntime* tcp_cluster = nullptr;  // tcp listeners
  std::shared_ptr<const tls::TlsRuntime> tls;   // server TLS, or null
  // metrics
  stats::Counter* connections;
  stats::Gauge* connections_active;
  stats::Counter* bytes_received;
  stats::Counter* bytes_sent;
  std::map<std::string, stats::Counter*, std::less<>> requests_by_class;  // "2xx" ...
  stats::Histogram* request_duration;
  stats::Counter* no_route;
  stats::Counter* grpc_timeout_invalid;  // grpc-timeout headers ignored as malformed
  stats::Counter* authz_denied;  // peer identity not allowed (listener or route allow_peers)
  // transparent listeners: aegis_transparent_connections_total{listener, action, service, protocol},
  // registered lazily (bounded: actions × services × protocols).
  stats::Counter* transparent(std::string_view action, std::string_view service, std::string_view protocol) const;
  // aegis_transparent_refused_total{listener, reason}: connections closed without a relay.
  stats::Counter* transparent_refused(std::string_view reason) const;
  stats::Counter* malformed(std::string_view reason) const;  // registered lazily (bounded set)
  // Downstream connections ended by a timeout, by kind ("response_write": the
  // client stopped reading). Registered lazily (bounded set).
  stats::Counter* downstream_timeouts(std::string_view kind) const;
  // HTTP/2 (http listeners)
  stats::Counter* h2_connections = nullptr;
  stats::Counter* h2_streams = nullptr;
  stats::Gauge* h2_streams_active = nullptr;
  stats::Counter* h2_resets_received = nullptr;  // RST_STREAM from clients
  stats::Counter* h2_resets_sent = nullptr;
  stats::Counter* h2_goaways_sent = nullptr;
  std::array<stats::Counter*, http::h2::kFloodKinds> h2_floods{};  // indexed by http::h2::FloodKind
};

// An IP network of a service's `addresses` (v4 or v6), compiled for matching.
struct IpNetwork {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network address (host bits zero); v4 in the first 4
  std::uint8_t length = 0;
  bool contains(const boost::asio::ip::address& a) const;
};

// One entry of the service table (config.services), resolved.
struct ServiceRuntime {
  const config::Service* config;
  const ClusterRuntime* cluster;
  std::vector<IpNetwork> networks;
  bool matches(const boost::asio::ip::tcp::endpoint& destination) const;
};

// A route's local rate limit: the shared bucket and its counter.
struct RouteLimit {
  std::unique_ptr<RateLimiter> limiter;
  stats::Counter* limited;  // requests answered 429
};

struct Snapshot {
  std::uint64_t version = 0;
  config::Config config;
  std::vector<std::unique_ptr<route::Router>> routers;
  std::vector<ClusterRuntime> clusters;
  std::vector<ListenerRuntime> listeners;
  std::shared_ptr<AccessLog> access_log;  // null when off
  // Routes with a rate_limit, keyed by the route (inside `config`). A reload
  // starts every bucket full.
  std::unordered_map<const config::Route*, RouteLimit> route_limits;
  std::vector<ServiceRuntime> services;  // in config order: the first match wins

  const ClusterRuntime* find_cluster(std::string_view name) const;
  const ListenerRuntime* find_listener(std::string_view name) const;
  const RouteLimit* find_route_limit(const config::Route* route) const;
  // The first service whose addresses and ports hold `destination` (a
  // v4-mapped IPv6 address matches as IPv4), or null.
  const ServiceRuntime* match_service(const boost::asio::ip::tcp::endpoint& destination) const;
};

// Builds the runtime view. `previous_log` is reused when the path is unchanged.
core::Result<std::shared_ptr<const Snapshot>> build_snapshot(
    config::Config config, std::uint64_t version, std::shared_ptr<AccessLog> previous_log);

}  // namespace aegis::proxy
