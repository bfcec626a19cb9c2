// Getting a connection to an endpoint of a route's cluster, shared by the
// HTTP/1.1 session and each HTTP/2 stream: pick (LB policy and circuit
// breaker), reuse a pooled keep-alive connection or connect (+ TLS and the
// server's identity check) within connect_timeout. Failures come back as the
// 503 the client gets, already counted and reported to the LB policy.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string_view>

#include "core/io.h"
#include "http/h2_connection.h"
#include "proxy/request_path.h"
#include "proxy/worker.h"
#include "upstream/pool.h"

namespace aegis::proxy {

// Read and write deadlines of one socket (max(): none).
struct IoDeadlines {
  Clock::time_point read = Clock::time_point::max();
  Clock::time_point write = Clock::time_point::max();
  Clock::time_point next() const { return std::min(read, write); }
};

// The upstream socket of one exchange (or its stream on a shared HTTP/2
// connection) and its deadlines, which the owning session's on_tick enforces
// (cancel the socket or reset the stream, and timed_out says why).
struct UpstreamSlot {
  upstream::Stream* sock = nullptr;  // non-owning
  http::h2::H2Stream* h2 = nullptr;  // non-owning; set instead of sock on an HTTP/2 upstream
  IoDeadlines dl;
  bool timed_out = false;

  // The connect deadline is kept in the write slot (a connect waits for writability).
  void attach(upstream::Stream& s, Clock::time_point connect_deadline) {
    sock = &s;
    dl = {Clock::time_point::max(), connect_deadline};
    timed_out = false;
  }
  void attach(http::h2::H2Stream& s) {
    h2 = &s;
    dl = {};
    timed_out = false;
  }
  void detach() {
    sock = nullptr;
    h2 = nullptr;
    dl = {};
  }
  // The route's idle_timeout (Envoy's stream idle timeout): no byte either
  // way (nor the response head) for `limit` ends the attempt as timed out.
  struct Idle {
    const Exchange* x = nullptr;  // null: no idle_timeout in force
    std::chrono::milliseconds limit{0};
    Clock::time_point since{};
    std::uint64_t progress = 0;  // bytes both ways + the response status, at `since`
    bool fired = false;
    void arm(const Exchange& ex, std::chrono::milliseconds l) {
      *this = {};
      if (l.count() > 0) *this = Idle{&ex, l, Clock::now(), 0, false};
    }
    void restart() { since = Clock::now(); }  // each attempt starts the clock again
  };
  Idle idle;

  bool attached() const { return sock != nullptr || h2 != nullptr; }
  // Ends the operation in flight as timed out.
  void expire() {
    timed_out = true;
    dl = {};
    if (sock) sock->cancel();
    if (h2) h2->reset(NGHTTP2_CANCEL);
  }
  // Enforces the deadlines and the idle timeout; true when the idle timeout
  // fired now (the owner may stop its downstream side too).
  bool tick(Clock::time_point now) {
    if (attached() && now >= dl.next()) expire();
    if (idle.x == nullptr || !attached()) return false;
    const auto progress = idle.x->bytes_in + idle.x->bytes_out + idle.x->status;
    if (progress != idle.progress) {
      idle.progress = progress;
      idle.since = now;
      return false;
    }
    if (now - idle.since < idle.limit) return false;
    idle.fired = true;
    expire();
    return true;
  }
};

struct UpstreamConn {
  std::optional<Pick> pick;
  std::optional<upstream::Stream> stream;
  bool reused = false;               // from the pool (may turn out dead: retry once)
  std::optional<LocalReply> failure;  // 503: overflow, connect or TLS failure
  bool connect_failed = false;        // the failure was the connect or TLS handshake (a retry may help)
};

// The endpoints a request's attempts went to (Envoy's previous-hosts
// predicate keeps retries away from them while others are available).
struct EndpointsTried {
  std::array<std::size_t, 8> index{};
  std::size_t count = 0;
  void add(std::size_t i) {
    const auto used = span();
    if (std::find(used.begin(), used.end(), i) == used.end() && count < index.size()) index.at(count++) = i;
  }
  std::span<const std::size_t> span() const { return {index.data(), count}; }
};

// Picks an endpoint of the cluster (LB policy, health, `avoid`) and sets
// x.upstream; else `failure` is the 503 (counted).
UpstreamConn pick_upstream(Worker& w, std::string_view cluster_name, Exchange& x, const upstream::PickContext& ctx,
                           std::span<const std::size_t> avoid);
// A new connection to `c.pick`'s endpoint within the cluster's connect_timeout
// (circuit breakers, TLS with `alpn` offered and required when not empty):
// sets c.stream, or c.failure (503) and c.connect_failed.
core::Task<void> connect_upstream(Worker& w, const ClusterRuntime& cluster, UpstreamSlot& slot, Exchange& x,
                                  UpstreamConn& c, std::string_view alpn = {});

// pick_upstream, then a pooled keep-alive connection or connect_upstream.
// `check_liveness`: a pooled connection is checked first (callers that
// cannot retry, e.g. a body is being read). Sets x.upstream.
// `ctx`: the request's hash key (route hash_policy); `avoid`: endpoint
// indexes a retry should not go back to.
core::Task<UpstreamConn> open_upstream(Worker& w, std::string_view cluster_name, UpstreamSlot& slot,
                                       bool check_liveness, Exchange& x, const upstream::PickContext& ctx = {},
                                       std::span<const std::size_t> avoid = {});

// Closes an upstream connection that is not going back to its pool.
void close_upstream(upstream::Stream& up, const EndpointRuntime& ep);
// Bookkeeping of an upstream connection that closed (gauge, connection breaker).
void connection_closed(const EndpointRuntime& ep);

// Marks an endpoint busy for the duration of one exchange.
struct ActiveRequest {
  ActiveRequest(const Pick& p, const EndpointRuntime& ep) : st(*p.state), rt(ep) {
    ++st.active_requests;
    rt.requests_active->add();
  }
  ~ActiveRequest() {
    --st.active_requests;
    rt.requests_active->sub();
  }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;
  EndpointState& st;
  const EndpointRuntime& rt;
};

}  // namespace aegis::proxy
