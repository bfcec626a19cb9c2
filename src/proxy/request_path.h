// The codec-independent steps of one proxied HTTP request, shared by the
// HTTP/1.1 session and each HTTP/2 stream: what the access log and metrics
// record (Exchange, record_exchange), the admission checks (listener and
// route allow_peers, route, rate limit, declared body size), the request id,
// and the rewrite of the head that goes upstream. Both codecs express a
// request head as Beast fields, so one implementation serves both.
#pragma once

#include <boost/beast/http/message.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/types.h"
#include "proxy/access_log.h"
#include "proxy/snapshot.h"
#include "route/router.h"
#include "upstream/lb_policy.h"

namespace aegis::proxy {

class Worker;
using Clock = std::chrono::steady_clock;

// What the access log and the metrics need to know about one exchange.
struct Exchange {
  std::chrono::system_clock::time_point wall_start = std::chrono::system_clock::now();
  Clock::time_point start = Clock::now();
  // Views into the request head (alive for the whole exchange), the
  // snapshot, or rid_buf: no copies on the request path.
  std::string_view method, authority, path, request_id, upstream, protocol = "HTTP/1.1";
  std::array<char, 36> rid_buf{};
  std::string_view flags;
  unsigned status = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  // The latest upstream attempt, reported to the worker (LB feedback).
  Clock::time_point attempt_start{};
  upstream::AttemptResult attempt;
  std::uint32_t retries = 0;  // retry_policy retries made so far
};

// The request's deadline: the route's timeout, or a gRPC client's
// grpc-timeout when that is sooner (a saturated one is no deadline of its own).
std::optional<Clock::time_point> request_deadline(Clock::time_point now, std::chrono::milliseconds route,
                                                  std::optional<std::chrono::nanoseconds> grpc);

// Per-class request counter, duration histogram and the access-log line.
void record_exchange(const ListenerRuntime& lr, const Snapshot* snap, const Exchange& x, std::string_view client,
                     const DownstreamTls* tls);

// A response the proxy gives itself instead of forwarding the request.
struct LocalReply {
  LocalReply(unsigned s, std::string_view f, std::string d, bool c = false, std::string_view en = {},
             std::string ev = {})
      : status(s), flag(f), detail(std::move(d)), close(c), extra_name(en), extra_value(std::move(ev)) {}
  unsigned status = 0;
  std::string_view flag;    // access-log flag
  std::string detail;       // response body
  bool close = false;       // HTTP/1.1: the connection closes after it
  std::string_view extra_name;  // one more response field, if not empty
  std::string extra_value;
};

// The request may go upstream on this route.
struct Admitted {
  const config::Route* route;
  std::uint64_t body_limit;  // bytes; beyond it → 413
};

struct Requester {
  std::string_view client;                   // "ip:port", for logs
  const std::optional<std::string>& peer_id;  // verified SPIFFE ID
};

// listener allow_peers (403, closes), route (404), route allow_peers (403),
// route rate limit (429 + retry-after), declared content length (413, closes).
// Counts each refusal.
std::variant<Admitted, LocalReply> admit_request(const ListenerRuntime& lr, const Snapshot& snap,
                                                 const boost::beast::http::request_header<>& head,
                                                 std::string_view authority, std::string_view path,
                                                 std::optional<std::uint64_t> content_length, const Requester& who);

// The request's fields by name, as the router and hash_policy look them up
// (views into `fields`, which must outlive the lookup).
route::HeaderLookup header_lookup(const boost::beast::http::fields& fields);

// The client's x-request-id when it has a usable one, else a new one in x.rid_buf.
std::string_view pick_request_id(const boost::beast::http::fields& fields, Worker& w, Exchange& x);

struct Forwarding {
  std::string_view client_ip;
  bool tls;                  // x-forwarded-proto https
  bool xff_trust_downstream;
  const std::optional<std::string>& peer_id;
  std::string_view request_id;
  bool generated_id;         // request_id is ours: it goes upstream too
};

// Hop-by-hop fields out; x-forwarded-*, x-aegis-peer-identity (only ours),
// x-request-id and the route's request header rules in.
void rewrite_upstream_request(boost::beast::http::fields& fields, const Forwarding& f,
                              const config::RouteAction& action);

// A read or write that failed because the peer went away (closed, reset,
// truncated TLS) or the operation was cancelled, rather than bad bytes.
bool is_disconnect(const boost::system::error_code& ec);

// The route's header rules on a message going either way.
void apply_header_rules(boost::beast::http::fields& fields, const std::vector<std::string>& remove,
                        const std::vector<config::HeaderValue>& add);

}  // namespace aegis::proxy
