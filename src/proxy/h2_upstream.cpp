#include "proxy/h2_upstream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "http/grpc.h"
#include "http/h1_rules.h"
#include "http/h2_translate.h"
#include "proxy/h2_session.h"

// GCC 12 reports a false -Wmismatched-new-delete on coroutine frames (as in
// tcp_session.cpp). Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::proxy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: && on awaitables
using http::h2::H2Stream;

H2UpstreamConn::H2UpstreamConn(Worker& w, net::Stream stream, std::shared_ptr<EndpointState> state,
                               const EndpointRuntime& ep, const config::Cluster& cluster)
    : w_(w),
      state_(std::move(state)),
      io_(std::move(stream)),
      connections_active_(ep.connections_active),
      breakers_(ep.breakers),
      idle_timeout_(cluster.idle_timeout),
      endpoint_(ep.name),
      conn_(io_, http::h2::Role::kClient, h2_settings(cluster.http2), http::h2::Connection::Callbacks{}) {
  w_.add_session(this);
}

H2UpstreamConn::~H2UpstreamConn() { w_.remove_session(this); }

void H2UpstreamConn::start() { asio::co_spawn(w_.io().get_executor(), run(shared_from_this()), asio::detached); }

core::Task<void> H2UpstreamConn::run(std::shared_ptr<H2UpstreamConn> self) {
  co_await conn_.run();
  spdlog::debug("upstream {}: HTTP/2 connection closed", endpoint_);
  if (io_.is_open()) io_.close();
  // As close_upstream does for an HTTP/1.1 connection (connection_closed).
  connections_active_->sub();
  breakers_->release(upstream::CircuitBreakers::Resource::kConnections);
  (void)self;  // held until here: the pool has only weak references
}

void H2UpstreamConn::on_tick(std::chrono::steady_clock::time_point now) {
  if (conn_.open_streams() == 0 && now - conn_.last_activity() >= idle_timeout_) conn_.shutdown();
  // An endpoint that stops reading stalls our writes: bounded like idle.
  if (conn_.write_started() != Clock::time_point::max() && now - conn_.write_started() >= idle_timeout_)
    conn_.abort();
}

void shutdown_h2_pool(EndpointState& state) {
  for (auto& weak : state.h2)
    if (auto c = weak.lock()) c->h2().shutdown();
  state.h2.clear();
}

core::Task<H2Upstream> open_h2_stream(Worker& w, const ClusterRuntime& cluster, UpstreamSlot& slot, Exchange& x,
                                      const upstream::PickContext& ctx, std::span<const std::size_t> avoid,
                                      const http::h2::Fields& head, bool end_stream) {
  H2Upstream r;
  UpstreamConn c = pick_upstream(w, cluster.config->name, x, ctx, avoid);
  if (c.failure) {
    r.failure = std::move(c.failure);
    co_return r;
  }
  r.pick = c.pick;
  auto& st = *c.pick->state;
  for (;;) {
    std::erase_if(st.h2, [](const std::weak_ptr<H2UpstreamConn>& weak) { return weak.expired(); });
    for (const auto& weak : st.h2) {
      auto conn = weak.lock();
      if (conn && conn->h2().can_submit()) {
        r.conn = std::move(conn);
        break;
      }
    }
    if (r.conn) break;
    if (auto pending = st.h2_connecting; pending && pending->waiters < H2Connecting::kWaiters) {
      ++pending->waiters;
      while (!pending->finished) co_await pending->done.wait();
      if (pending->failure) {
        r.failure = pending->failure;
        r.connect_failed = true;
        co_return r;
      }
      continue;  // the new connection is in the pool now
    }
    if (st.h2.size() >= cluster.config->max_connections) {
      cluster.overflow->inc();
      r.failure = LocalReply{503, "upstream_overflow",
                             fmt::format("upstream {}: every HTTP/2 connection (max_connections {}) is at the "
                                         "endpoint's max concurrent streams",
                                         c.pick->runtime->name, cluster.config->max_connections),
                             false, "x-aegis-overloaded", "true"};
      co_return r;
    }
    auto pending = std::make_shared<H2Connecting>(w.io().get_executor());
    st.h2_connecting = pending;
    const std::string_view alpn = cluster.tls ? "h2" : "";
    co_await connect_upstream(w, cluster, slot, x, c, alpn);
    pending->finished = true;
    if (st.h2_connecting == pending) st.h2_connecting.reset();
    if (c.failure) {
      pending->failure = c.failure;
      pending->done.notify();
      r.failure = std::move(c.failure);
      r.connect_failed = c.connect_failed;
      co_return r;
    }
    r.conn = std::make_shared<H2UpstreamConn>(w, std::move(*c.stream), c.pick->state, *c.pick->runtime,
                                              *cluster.config);
    st.h2.push_back(r.conn);
    r.conn->start();
    pending->done.notify();
    break;
  }
  r.stream = r.conn->h2().submit_request(head, end_stream);
  if (!r.stream) {
    // Only a connection that is going away (GOAWAY) refuses: like a refused stream.
    r.failure = LocalReply{503, "upstream_reset_before_response",
                           fmt::format("upstream {}: the HTTP/2 connection refused a new stream", c.pick->runtime->name)};
    r.connect_failed = true;
  }
  co_return r;
}

namespace {

enum class Outcome {
  kComplete,
  kRefused,              // REFUSED_STREAM / GOAWAY: the upstream did not process it (safe to retry)
  kResetBeforeResponse,  // reset or connection lost before a response head
  kInvalidResponse,      // a response head without a valid :status
  kTimeout,              // the deadline (or idle timeout) passed before the response head
  kRetryNext,            // the retry policy wants another attempt (nothing went downstream)
  kResetMidResponse,     // the head went downstream, then the upstream reset
  kTimeoutMidResponse,
  kDownstreamGone,       // the downstream half failed (client gone, or its refusal)
};

// One attempt: the request body (downstream → `up`) and the response
// (`up` → downstream) at the same time.
struct H2Exchange {
  H2Request& r;
  H2Stream& up;
  bool replay;  // the body comes from r.retries.body()
  std::optional<Clock::time_point> deadline;
  bool pump_failed = false, pump_done = false, relay_done = false;

  Clock::time_point wait_deadline() const {
    return deadline ? *deadline : Clock::now() + r.lr.config->idle_timeout;
  }

  // Request body: downstream → upstream stream, piece by piece; credit goes
  // back downstream once a piece is with the upstream stream.
  core::Task<bool> pump() {
    auto& down = r.down;
    for (;;) {
      DownstreamHalf::Piece piece{r.retries.body(), true, false};
      if (!replay) piece = co_await down.read_body();
      if (relay_done) co_return true;
      if (piece.failed) {
        pump_failed = true;
        up.reset(NGHTTP2_CANCEL);  // wakes the relay
        co_return false;
      }
      if (!piece.data.empty()) {
        if (!replay) {
          r.x.bytes_in += piece.data.size();
          r.lr.bytes_received->inc(piece.data.size());
          r.retries.keep(piece.data);
        }
        if (!co_await up.write(piece.data)) co_return false;  // the stream is gone: the relay says why
        if (!replay) down.forwarded(piece.data.size());
      }
      if (piece.end) {
        pump_done = true;
        up.finish(down.request_trailers());
        co_return true;
      }
    }
  }

  // Response: upstream stream → downstream.
  core::Task<Outcome> relay() {
    auto& down = r.down;
    auto& x = r.x;
    auto& slot = r.slot;
    auto done = [&](Outcome o) {
      relay_done = true;
      if (!pump_done) {
        up.reset(NGHTTP2_CANCEL);  // the rest of the request body is not wanted
        down.cancel();             // a pump still waiting for the client's body stops
      } else if (o != Outcome::kComplete) {
        up.reset(NGHTTP2_CANCEL);
      }
      return o;
    };
    slot.dl.read = wait_deadline();
    const bool got = co_await up.wait_head();
    slot.dl.read = Clock::time_point::max();
    if (!got) {
      if (pump_failed) co_return done(Outcome::kDownstreamGone);
      if (slot.timed_out) co_return done(Outcome::kTimeout);
      co_return done(up.error_code() == NGHTTP2_REFUSED_STREAM ? Outcome::kRefused : Outcome::kResetBeforeResponse);
    }
    auto head = http::h2::response_head(up.head());
    if (!head) co_return done(Outcome::kInvalidResponse);
    x.attempt = {upstream::AttemptResult::Kind::kResponse, head->result_int(), Clock::now() - x.attempt_start};
    if (r.retries.state().policy()) {
      // A retriable answer (by status or grpc-status) is not relayed when
      // another attempt is granted.
      const retry::Attempt answered = retry::answered(*head);
      if (r.retries.granted(answered, r.retries.body_kept(pump_done || replay), r.w.random()))
        co_return done(Outcome::kRetryNext);
    }
    http::remove_hop_by_hop(*head);
    head->set("x-request-id", x.request_id);
    apply_header_rules(*head, r.action.response_headers_to_remove, r.action.response_headers_to_add);
    x.status = head->result_int();
    down.response_started = true;
    const bool has_body = up.has_body();
    if (!co_await down.send_head(*head, has_body)) co_return done(Outcome::kDownstreamGone);
    if (has_body) {
      for (;;) {
        slot.dl.read = wait_deadline();
        auto piece = co_await up.read();
        slot.dl.read = Clock::time_point::max();
        if (piece.reset) {
          if (pump_failed) co_return done(Outcome::kDownstreamGone);
          co_return done(slot.timed_out ? Outcome::kTimeoutMidResponse : Outcome::kResetMidResponse);
        }
        if (!piece.data.empty()) {
          x.bytes_out += piece.data.size();
          r.lr.bytes_sent->inc(piece.data.size());
          if (!co_await down.send_data(piece.data)) co_return done(Outcome::kDownstreamGone);
          up.consume(piece.data.size());
        }
        if (piece.end) break;
      }
    }
    if (!co_await down.send_end(up.trailers())) co_return done(Outcome::kDownstreamGone);
    co_return done(Outcome::kComplete);
  }

  core::Task<Outcome> run() {
    pump_done = !r.has_body;
    if (!r.has_body) co_return co_await relay();
    auto [pumped, outcome] = co_await (pump() && relay());
    (void)pumped;
    co_return outcome;
  }
};


}  // namespace

core::Task<H2Result> forward_h2(H2Request& r) {
  using Kind = upstream::AttemptResult::Kind;
  auto& x = r.x;
  auto& down = r.down;
  const auto ex = r.w.io().get_executor();
  EndpointsTried tried;
  bool replay = false;
  auto reply = [](unsigned status, std::string_view flag, std::string detail) {
    return H2Result{H2Result::Kind::kReply, LocalReply{status, flag, std::move(detail)}, false};
  };
  for (int attempt = 0;; ++attempt) {
    x.attempt_start = Clock::now();
    x.attempt = {Kind::kReset, 0, {}};
    x.retries = r.retries.state().retries();
    auto up = co_await open_h2_stream(r.w, r.cluster, r.slot, x, r.pick_ctx, tried.span(), r.fields, !r.has_body);
    if (up.failure) {
      const retry::Attempt failed{Kind::kConnectFailure, 0, {}, false};
      if (up.connect_failed && r.retries.granted(failed, /*body_buffered=*/!r.has_body || replay, r.w.random())) {
        if (up.pick) tried.add(up.pick->index);
        co_await retry::sleep(ex, r.retries.backoff());
        continue;
      }
      co_return H2Result{H2Result::Kind::kReply, std::move(up.failure), false};
    }
    const auto& ep = *up.pick->runtime;
    ActiveRequest active(*up.pick, ep);
    ep.requests->inc();
    if (r.on_attempt) r.on_attempt();
    H2Exchange e{r, *up.stream, replay, r.retries.attempt_deadline()};
    r.slot.attach(*up.stream);
    const auto outcome = co_await e.run();
    r.slot.detach();
    if (x.attempt.kind != Kind::kResponse) x.attempt.latency = Clock::now() - x.attempt_start;
    if (outcome == Outcome::kTimeout) x.attempt.kind = Kind::kTimeout;
    // An attempt the client ended (gone, body rule) says nothing about the
    // endpoint: outlier detection and the LB must not count it against it.
    const bool client_fault =
        !down.response_started && (down.refusal || outcome == Outcome::kDownstreamGone);
    if (!client_fault) r.w.report(r.cluster.config->name, *up.pick, x.attempt);
    ep.response_time->observe(std::chrono::duration<double>(Clock::now() - x.start).count());
    r.retries.state().attempt_done();
    if (down.refusal && !down.response_started) co_return H2Result{H2Result::Kind::kReply, down.refusal, true};
    const bool replayable = !r.has_body || replay || r.retries.body_kept(down.body_done);
    const auto again = [&](const retry::Attempt& a) {
      return replayable && r.retries.granted(a, true, r.w.random());
    };
    bool retry = false;
    switch (outcome) {
      case Outcome::kComplete:
        if (x.attempt.kind == Kind::kResponse) r.retries.state().finished();
        co_return H2Result{};
      case Outcome::kRetryNext:
        retry = true;
        break;
      case Outcome::kRefused:
        // Not processed by the upstream: once more for free (as a dead pooled
        // HTTP/1.1 connection), then as the retry policy says.
        retry = replayable && (attempt == 0 || again({Kind::kReset, 0, {}, false}));
        if (!retry) {
          ep.errors_reset_before_response->inc();
          co_return reply(503, "upstream_reset_before_response", "upstream refused the stream");
        }
        break;
      case Outcome::kResetBeforeResponse:
      case Outcome::kInvalidResponse:
        ep.errors_reset_before_response->inc();
        retry = again({Kind::kReset, 0, {}, false});
        if (!retry) {
          if (outcome == Outcome::kInvalidResponse)
            co_return reply(502, "upstream_invalid_response", "upstream sent an invalid response head");
          co_return reply(502, "upstream_reset_before_response", "upstream stream reset before a response");
        }
        break;
      case Outcome::kTimeout: {
        ep.timeouts->inc();
        const bool per_try = r.retries.per_try_armed() && !(r.idle_fired && *r.idle_fired);
        if (per_try) r.cluster.per_try_timeouts->inc();
        retry = again({Kind::kTimeout, 0, {}, per_try});
        if (!retry) co_return reply(504, "upstream_timeout", "upstream did not respond within the route timeout");
        break;
      }
      case Outcome::kResetMidResponse:
      case Outcome::kTimeoutMidResponse: {
        const bool timeout = outcome == Outcome::kTimeoutMidResponse;
        (timeout ? ep.timeouts : ep.errors_reset_mid_response)->inc();
        x.flags = timeout ? "upstream_timeout_mid_response" : "upstream_reset_mid_response";
        co_return H2Result{H2Result::Kind::kAbortedMidResponse, {}, false};
      }
      case Outcome::kDownstreamGone:
        x.flags = "downstream_disconnect";
        co_return H2Result{H2Result::Kind::kDownstreamGone, {}, false};
    }
    tried.add(up.pick->index);
    replay = r.has_body;
    co_await retry::sleep(ex, r.retries.backoff());
  }
}

}  // namespace aegis::proxy
