#include "proxy/request_path.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>

#include "http/h1_rules.h"
#include "net/stream.h"
#include "proxy/worker.h"

namespace aegis::proxy {

namespace bhttp = boost::beast::http;

namespace {
constexpr std::string_view kPeerIdentityHeader = "x-aegis-peer-identity";
}  // namespace

void record_exchange(const ListenerRuntime& lr, const Snapshot* snap, const Exchange& x, std::string_view client,
                     const DownstreamTls* tls) {
  const double secs = std::chrono::duration<double>(Clock::now() - x.start).count();
  if (x.status) {
    auto it = lr.requests_by_class.find(http::status_class(x.status));
    if (it != lr.requests_by_class.end()) it->second->inc();
  }
  lr.request_duration->observe(secs);
  if (snap && snap->access_log) {
    snap->access_log->write(AccessLogEntry{x.wall_start, lr.config->name, x.protocol, x.method, x.authority, x.path,
                                           x.status, x.bytes_in, x.bytes_out, secs * 1000.0, x.upstream,
                                           x.request_id, client, x.flags, tls, x.retries});
  }
}

std::optional<Clock::time_point> request_deadline(Clock::time_point now, std::chrono::milliseconds route,
                                                  std::optional<std::chrono::nanoseconds> grpc) {
  std::optional<std::chrono::nanoseconds> d;
  if (route.count() > 0) d = route;
  if (grpc && *grpc < std::chrono::hours(24 * 365)) d = d ? std::min(*d, *grpc) : *grpc;
  if (!d) return std::nullopt;
  return now + std::chrono::duration_cast<Clock::duration>(*d);
}

std::variant<Admitted, LocalReply> admit_request(const ListenerRuntime& lr, const Snapshot& snap,
                                                 const bhttp::request_header<>& head, std::string_view authority,
                                                 std::string_view path, std::optional<std::uint64_t> content_length,
                                                 const Requester& who) {
  const auto& lc = *lr.config;
  if (lr.tls && !config::peers_allowed(lr.tls->config().allow_peers, who.peer_id)) {
    lr.authz_denied->inc();
    spdlog::info("listener '{}': peer {} ({}) is not in allow_peers: 403", lc.name, who.client,
                 who.peer_id.value_or("no SPIFFE ID"));
    return LocalReply{403, "authz_denied", "peer identity not allowed on this listener", true};
  }
  auto match = lr.router->match(authority, path, header_lookup(head));
  if (!match) {
    lr.no_route->inc();
    return LocalReply{404, "no_route", "no route matched this request"};
  }
  if (!config::peers_allowed(match->route->allow_peers, who.peer_id)) {
    lr.authz_denied->inc();
    spdlog::info("listener '{}': peer {} ({}) is not in route '{}' allow_peers: 403", lc.name, who.client,
                 who.peer_id.value_or("no SPIFFE ID"), match->route->name);
    return LocalReply{403, "authz_denied", "peer identity not allowed on this route"};
  }
  if (const auto* limit = snap.find_route_limit(match->route)) {
    std::chrono::nanoseconds wait{};
    if (!limit->limiter->try_acquire(Clock::now(), wait)) {
      limit->limited->inc();
      // Whole seconds, rounded up (RFC 9110 delay-seconds).
      const auto secs = std::chrono::ceil<std::chrono::seconds>(wait).count();
      return LocalReply{429, "rate_limited", "rate limit of this route exceeded", false, "retry-after",
                        std::to_string(std::max<std::int64_t>(1, secs))};
    }
  }
  const auto body_limit = match->route->action.max_request_body_bytes.value_or(lc.limits.max_request_body_bytes);
  if (content_length && *content_length > body_limit) {
    lr.malformed("body_too_large")->inc();
    return LocalReply{413, "body_too_large", "request body exceeds max_request_body_bytes", true};
  }
  return Admitted{match->route, body_limit};
}

route::HeaderLookup header_lookup(const bhttp::fields& fields) {
  return [&fields](std::string_view name) -> std::optional<std::string_view> {
    auto it = fields.find(name);
    if (it == fields.end()) return std::nullopt;
    return std::string_view(it->value());
  };
}

std::string_view pick_request_id(const bhttp::fields& fields, Worker& w, Exchange& x) {
  if (auto it = fields.find("x-request-id"); it != fields.end() && !it->value().empty() && it->value().size() <= 128)
    return it->value();
  return w.new_request_id(x.rid_buf);
}

bool is_disconnect(const boost::system::error_code& ec) {
  namespace asio = boost::asio;
  return ec == asio::error::eof || ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == bhttp::error::partial_message ||
         ec == asio::error::operation_aborted || ec == net::TlsErrc::kTruncated ||
         ec == net::TlsErrc::kProtocolError;
}

void apply_header_rules(bhttp::fields& fields, const std::vector<std::string>& remove,
                        const std::vector<config::HeaderValue>& add) {
  for (const auto& name : remove) fields.erase(name);
  for (const auto& hv : add) fields.set(hv.name, hv.value);
}

void rewrite_upstream_request(bhttp::fields& fields, const Forwarding& f, const config::RouteAction& action) {
  http::remove_hop_by_hop(fields);
  http::set_forwarding_headers(fields, f.client_ip, f.tls ? "https" : "http", f.xff_trust_downstream);
  // Only the proxy speaks for the peer's identity: a client's own copy goes.
  fields.erase(kPeerIdentityHeader);
  if (f.peer_id) fields.set(kPeerIdentityHeader, *f.peer_id);
  if (f.generated_id) fields.set("x-request-id", f.request_id);
  apply_header_rules(fields, action.request_headers_to_remove, action.request_headers_to_add);
}

}  // namespace aegis::proxy
