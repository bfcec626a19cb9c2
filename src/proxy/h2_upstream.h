// HTTP/2 to a cluster's endpoints (cluster `protocol: http2`): per endpoint
// per worker, a few connections (ALPN h2 over the cluster's TLS, h2c with
// prior knowledge without it), each carrying as many requests at once as the
// endpoint's SETTINGS_MAX_CONCURRENT_STREAMS allows; a new connection opens
// only when every open one is full, up to the cluster's max_connections.
// Both downstream codecs forward over it through exchange_h2, which streams
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
  explicit H2Connecting(core::Executor ex) : done(ex) {}
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
// stream, as each downstream codec provides it.
class DownstreamHalf {
 public:
  struct Piece {
    std::string_view data;  // valid until the next read_body()
    bool end = false;       // the body is complete
    bool failed = false;    // the client went away or broke a rule (the half knows which)
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

 protected:
  ~DownstreamHalf() = default;
};

enum class H2Outcome {
  kComplete,
  kRefused,              // REFUSED_STREAM / GOAWAY: the upstream did not process it (safe to retry)
  kResetBeforeResponse,  // reset or connection lost before a response head
  kInvalidResponse,      // a response head without a valid :status
  kTimeout,              // the deadline (or idle timeout) passed before the response head
  kRetryNext,            // `retry_on_head` wanted another attempt (nothing went downstream)
  kResetMidResponse,     // the head went downstream, then the upstream reset
  kTimeoutMidResponse,
  kDownstreamGone,       // the downstream half failed (client gone, or its refusal)
};

struct H2ExchangeOptions {
  const config::RouteAction* action = nullptr;       // response header rules
  std::optional<Clock::time_point> deadline;          // route timeout / per try / grpc-timeout
  std::chrono::milliseconds idle_timeout{0};          // each upstream wait when there is no deadline
  bool has_body = false;                              // the request has a body to pump
  const ListenerRuntime* lr = nullptr;                // bytes counters
  // Called with the response head before it goes downstream: true means
  // "retry instead" (the stream is reset, kRetryNext).
  std::function<bool(const retry::Attempt&)> retry_on_head;
};

// One attempt: the request body (downstream → `up`) and the response
// (`up` → downstream) at the same time. Sets x.attempt, x.status and the
// byte counts; `slot` is ticked by the caller for the deadlines.
core::Task<H2Outcome> exchange_h2(http::h2::H2Stream& up, DownstreamHalf& down, Exchange& x, UpstreamSlot& slot,
                                  const H2ExchangeOptions& o);

}  // namespace aegis::proxy
