// The typed, validated configuration. Shaped one-to-one on Envoy's xDS
// resources (Listener, RouteConfiguration, Cluster + ClusterLoadAssignment) so
// that an xDS client can later build the same Snapshot that YAML builds today.
// Every field is documented, with an example, in docs/configuration.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace aegis::config {

using Millis = std::chrono::milliseconds;

struct SocketAddress {
  std::string address;  // IPv4/IPv6 literal, unbracketed (the loader turns "localhost" into 127.0.0.1)
  std::uint16_t port = 0;
  std::string str() const;  // "127.0.0.1:10000", "[::1]:10000"
};

struct AdminConfig {
  SocketAddress address{"127.0.0.1", 9901};
};

struct AccessLogConfig {
  // "stdout", "stderr", a file path, or empty (off).
  std::string path;
};

// Limits on what a downstream HTTP/1.1 client may send (safe defaults).
struct HttpLimits {
  std::uint32_t max_request_header_bytes = 64 * 1024;  // whole head → 431
  std::uint32_t max_request_headers = 100;             // field count → 431
  std::uint32_t max_request_line_bytes = 8 * 1024;     // request target → 414
  std::uint64_t max_request_body_bytes = 1ull << 30;   // default per route → 413
  std::uint32_t max_response_header_bytes = 64 * 1024; // upstream head → 502
};

enum class ListenerProtocol { kTcp, kHttp };

struct Listener {  // xDS Listener
  std::string name;
  SocketAddress address{"127.0.0.1", 0};  // loopback unless the file says otherwise
  ListenerProtocol protocol = ListenerProtocol::kHttp;
  std::string route_config;  // http: name of a RouteConfiguration
  std::string cluster;       // tcp: the cluster to forward to
  Millis idle_timeout{300'000};
  Millis request_headers_timeout{10'000};  // http: whole request head must arrive within
  HttpLimits limits;
  bool xff_trust_downstream = false;  // append to an incoming x-forwarded-for (else replace)
};

struct HeaderValue {
  std::string name;   // lower-case
  std::string value;
};

struct HeaderMatcher {
  std::string name;  // lower-case
  // Exactly one of these (or none: presence match).
  std::optional<std::string> exact;
  std::optional<std::string> prefix;
  bool invert = false;
};

struct RouteMatch {
  // Exactly one of prefix / path.
  std::optional<std::string> prefix;
  std::optional<std::string> path;
  std::vector<HeaderMatcher> headers;  // all must match
};

struct RouteAction {
  std::string cluster;
  Millis timeout{15'000};  // whole upstream response; 0 = none
  std::optional<std::uint64_t> max_request_body_bytes;  // overrides listener limit
  std::vector<HeaderValue> request_headers_to_add;
  std::vector<std::string> request_headers_to_remove;
  std::vector<HeaderValue> response_headers_to_add;
  std::vector<std::string> response_headers_to_remove;
};

struct Route {
  std::string name;
  RouteMatch match;
  RouteAction action;
};

struct VirtualHost {
  std::string name;
  std::vector<std::string> domains;  // "*", "example.com", "*.example.com", "example.com:8080"
  std::vector<Route> routes;         // first match wins
};

struct RouteConfiguration {  // xDS RouteConfiguration
  std::string name;
  std::vector<VirtualHost> virtual_hosts;
};

enum class LbPolicy { kRoundRobin, kLeastRequest };

struct Endpoint {  // xDS LbEndpoint
  std::string host;  // IP literal; a DNS name in the file is resolved at config load
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
  std::string hostname;  // the DNS name as written, when `host` was resolved from one
  std::string str() const;
};

struct LocalityEndpoints {  // xDS LocalityLbEndpoints
  std::string region;
  std::string zone;
  std::uint32_t priority = 0;
  std::vector<Endpoint> endpoints;
};

struct ClusterLoadAssignment {  // xDS ClusterLoadAssignment
  std::vector<LocalityEndpoints> localities;
};

struct Cluster {  // xDS Cluster
  std::string name;
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  Millis connect_timeout{1'000};
  std::uint32_t max_connections = 1024;       // per endpoint per worker (circuit breaker)
  std::uint32_t max_idle_connections = 64;    // kept-alive, per endpoint per worker
  Millis idle_timeout{60'000};                // idle upstream connection is closed after
  ClusterLoadAssignment load_assignment;
};

struct Config {
  std::string source;  // file name it came from (or "<embedded>")
  AdminConfig admin;
  AccessLogConfig access_log;
  Millis drain_timeout{30'000};
  std::vector<Listener> listeners;
  std::vector<RouteConfiguration> route_configs;
  std::vector<Cluster> clusters;

  const Cluster* find_cluster(const std::string& name) const;
  const RouteConfiguration* find_route_config(const std::string& name) const;
};

}  // namespace aegis::config
