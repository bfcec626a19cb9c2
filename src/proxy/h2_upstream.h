// HTTP/2 to a cluster's endpoints (cluster `protocol: http2`): per endpoint
// per worker, a few connections (ALPN h2 over the cluster's TLS, h2c with
// prior knowledge without it), each carrying as many requests at once as the
// endpoint's SETTINGS_MAX_CONCURRENT_STREAMS allows; a new connection opens
// only when every open one is full, up to the cluster's max_connections.
// Both downstream codecs forward over it through forward_h2, which streams
// both directions with back-pressure and carries trailers (gRPC).
#pragma once

#include <boost/beast/http/message.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/io.h"
#include "core/signal.h"
#include "http/h2_connection.h"
#include "net/stream.h"
#include "proxy/request_path.h"
#include "proxy/retry.h"
#include "proxy/upstream_connect.h"
#include "proxy/worker.h"

namespace aegis::proxy {

// One multiplexed connection to an endpoint. Owned by its own run()
// coroutine; the endpoint's pool holds weak references. A LiveSession: the
// worker's tick closes it after the cluster's idle_timeout without streams,
// and drain sends GOAWAY (open streams finish).
class H2UpstreamConn final : public LiveSession, public std::enable_shared_from_this<H2UpstreamConn> {
 public:
  H2UpstreamConn(Worker& w, net::Stream stream, std::shared_ptr<EndpointState> state, const EndpointRuntime& ep,
                 const config::Cluster& cluster);
  ~H2UpstreamConn();
  H2UpstreamConn(const H2UpstreamConn&) = delete;
  H2UpstreamConn& operator=(const H2UpstreamConn&) = delete;

  // Starts reading and writing; the object lives until the connection ends.
  void start();
  http::h2::Connection& h2() { return conn_; }
  void on_drain() override { conn_.shutdown(); }
  void on_tick(std::chrono::steady_clock::time_point now) override;

 private:
  core::Task<void> run(std::shared_ptr<H2UpstreamConn> self);

  Worker& w_;
  std::shared_ptr<EndpointState> state_;  // its TLS session cache outlives our SSL
  net::Stream io_;
  stats::Gauge* connections_active_;      // process-lifetime metrics and breakers
  upstream::CircuitBreakers* breakers_;
  std::chrono::milliseconds idle_timeout_;
  std::string endpoint_;
  http::h2::Connection conn_;
};

// A connection to an endpoint being opened: requests that arrive meanwhile
// wait for it (up to kWaiters of them) instead of each opening their own.
struct H2Connecting {
  static constexpr std::uint32_t kWaiters = 100;  // the usual SETTINGS_MAX_CONCURRENT_STREAMS
  explicit H2Connecting(const core::Executor& ex) : done(ex) {}
  core::Signal done;  // notified once, when `finished`
  bool finished = false;
  std::uint32_t waiters = 0;
  std::optional<LocalReply> failure;  // the connect failed: every waiter gets it
};

// A new request stream to an endpoint of `cluster`: a connection of the
// endpoint's pool with room, or one being opened, or a new one. On failure `failure` is the 503
// (counted) and `connect_failed` whether a connect or TLS handshake failed.
struct H2Upstream {
  std::optional<Pick> pick;
  std::shared_ptr<H2UpstreamConn> conn;
  std::shared_ptr<http::h2::H2Stream> stream;
  std::optional<LocalReply> failure;
  bool connect_failed = false;
};
core::Task<H2Upstream> open_h2_stream(Worker& w, const ClusterRuntime& cluster, UpstreamSlot& slot, Exchange& x,
                                      const upstream::PickContext& ctx, std::span<const std::size_t> avoid,
                                      const http::h2::Fields& head, bool end_stream);
// GOAWAY on every connection of an endpoint's pool (endpoint removed, drain).
void shutdown_h2_pool(EndpointState& state);

// The downstream side of an exchange forwarded over an upstream HTTP/2
// stream, as each downstream codec provides it. The attempt loop reads the
// public state between attempts.
class DownstreamHalf {
 public:
  struct Piece {
    std::string_view data;  // valid until the next read_body()
    bool end = false;       // the body is complete
    bool failed = false;    // the client went away or broke a rule (then `refusal` says which rule)
  };
  virtual core::Task<Piece> read_body() = 0;
  // `n` bytes of the last piece are with the upstream (flow-control credit).
  virtual void forwarded(std::size_t /*n*/) {}
  virtual http::h2::Fields request_trailers() { return {}; }
  // The response head, rewritten (hop-by-hop out, route rules, x-request-id).
  virtual core::Task<bool> send_head(boost::beast::http::response_header<>& head, bool has_body) = 0;
  virtual core::Task<bool> send_data(std::string_view data) = 0;
  // End of the response body, with the upstream's trailers (maybe empty).
  virtual core::Task<bool> send_end(const http::h2::Fields& trailers) = 0;
  // Stops a read_body() or send_*() in flight: the other half ended.
  virtual void cancel() = 0;

  bool body_done = false;              // read_body() returned the end of the client's body
  bool response_started = false;       // send_head() was called
  std::optional<LocalReply> refusal;   // the body broke a rule (413, 400): the answer, if nothing went downstream

 protected:
  ~DownstreamHalf() = default;
};

// A request for an HTTP/2 cluster, from either downstream codec.
struct H2Request {
  Worker& w;
  const ClusterRuntime& cluster;
  const config::RouteAction& action;
  const ListenerRuntime& lr;
  UpstreamSlot& slot;                      // ticked by the session: deadlines reset the stream
  Exchange& x;
  const upstream::PickContext& pick_ctx;
  const http::h2::Fields& fields;          // http::h2::request_fields
  bool has_body = false;
  retry::RequestRetries& retries;          // the route's retry policy (maybe none)
  DownstreamHalf& down;
  // Called as each attempt's exchange starts (optional).
  std::function<void()> on_attempt;
  const bool* idle_fired = nullptr;        // the route idle_timeout (not per_try) ended the attempt
};

// What became of the request; the session answers `reply` in its codec's way.
struct H2Result {
  enum class Kind {
    kComplete,          // relayed (x.status is the upstream's)
    kReply,             // nothing went downstream: answer `reply` (503, 502, 504, 413 ...)
    kAbortedMidResponse,// the head went downstream, then the upstream failed: truncate (x.flags says why)
    kDownstreamGone,    // the client went away (x.flags set)
  };
  Kind kind = Kind::kComplete;
  std::optional<LocalReply> reply;
  bool refusal = false;  // `reply` is the client's body breaking a rule (count it as malformed)
};
// Every attempt of one request: open_h2_stream, the exchange, the retry
// policy (connect failures, refused streams, resets, timeouts, retriable
// statuses; a retry replays the body kept by RequestRetries), the LB and
// outlier feedback and the endpoint's metrics.
core::Task<H2Result> forward_h2(H2Request& r);

}  // namespace aegis::proxy
