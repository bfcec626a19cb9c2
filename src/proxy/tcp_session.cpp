// L4 TCP proxy session: pick an endpoint of the listener's cluster, connect,
// then relay bytes both ways (half-close aware) until both sides finish, an
// error, or the listener's idle timeout.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "net/stream.h"
#include "net/tcp_splice.h"
#include "proxy/access_log.h"
#include "proxy/sessions.h"
#include "proxy/tls_steps.h"
#include "proxy/worker.h"

// GCC 12 reports a false -Wmismatched-new-delete on this file's coroutine
// frames (Asio's awaitable frames pair a class operator new with its own
// operator delete). Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, core::Executor>;

namespace {

// Registers the connection for drain: a TCP stream has no request boundary,
// so it is left to finish (or hit drain_timeout) like an in-flight request.
class TcpConnection final : public LiveSession {
 public:
  explicit TcpConnection(Worker& w) : w_(w) {
    w_.add_session(this);
    w_.connection_opened();
  }
  ~TcpConnection() {
    w_.remove_session(this);
    w_.connection_closed();
  }
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;
  void on_drain() override {}
  void on_tick(std::chrono::steady_clock::time_point) override {}  // splice has its own idle watchdog

 private:
  Worker& w_;
};

// A TLS handshake bounded by `timeout` (the stream's socket is cancelled when
// it passes). Returns the error (empty on success) and whether it timed out.
core::Task<std::pair<boost::system::error_code, bool>> timed_handshake(net::Stream& s,
                                                                          std::chrono::milliseconds timeout) {
  bool timed_out = false;
  Timer timer(s.get_executor(), timeout);
  timer.async_wait([&s, &timed_out](const boost::system::error_code& e) {
    if (!e) {
      timed_out = true;
      s.cancel();
    }
  });
  auto ec = co_await s.handshake();
  timer.cancel();
  co_return std::pair{ec, timed_out};
}

}  // namespace

core::Task<void> serve_tcp(Worker& worker, core::Socket socket, std::string listener) {
  TcpConnection registration(worker);
  auto snap = worker.snapshot();
  const auto* lr = snap ? snap->find_listener(listener) : nullptr;
  if (!lr || !lr->tcp_cluster) co_return;
  lr->connections->inc();
  lr->connections_active->add();
  const auto wall_start = std::chrono::system_clock::now();
  const auto start = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string client = ec ? "" : fmt::format("{}:{}", peer.address().to_string(), peer.port());
  net::Stream down = lr->tls ? net::Stream(std::move(socket), lr->tls->ctx(), /*server=*/true)
                             : net::Stream(std::move(socket));

  net::SpliceResult result;
  std::string upstream_name;
  std::string_view flags;
  std::optional<DownstreamTls> tls;
  const auto* cluster = lr->tcp_cluster;
  auto seconds_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  // Downstream TLS, then the listener's allow_peers: a denied peer's
  // connection is closed (there is no protocol to say 403 in).
  bool admitted = true;
  if (lr->tls) {
    const auto& rt = *lr->tls;
    auto [hec, timed_out] = co_await timed_handshake(down, rt.config().handshake_timeout);
    tls = finish_downstream_handshake(rt, down, hec, timed_out, seconds_since(start), client);
    if (!tls) {
      flags = "tls_handshake_failure";
      admitted = false;
    } else {
      const auto id = tls->peer_identity.empty() ? std::nullopt : std::optional<std::string>(tls->peer_identity);
      if (!config::peers_allowed(rt.config().allow_peers, id)) {
        lr->authz_denied->inc();
        spdlog::info("tcp listener '{}': peer {} ({}) is not in allow_peers: closing", listener, client,
                     id.value_or("no SPIFFE ID"));
        flags = "authz_denied";
        admitted = false;
      }
    }
  }

  Worker::NoPick no_pick{};
  if (!admitted) {
    // nothing to relay
  } else if (auto pick = worker.pick(cluster->config->name, {}, {}, &no_pick); !pick) {
    const bool unhealthy = no_pick == Worker::NoPick::kNoHealthyUpstream;
    (unhealthy ? cluster->no_healthy : cluster->overflow)->inc();
    flags = unhealthy ? "no_healthy_upstream" : "upstream_overflow";
  } else {
    const auto& ep = *pick->runtime;
    upstream_name = ep.name;
    ++pick->state->active_requests;
    ep.requests_active->add();
    ep.requests->inc();
    net::Stream up{core::Socket(down.get_executor())};
    Timer timer(down.get_executor(), cluster->config->connect_timeout);
    bool connect_timed_out = false;
    timer.async_wait([&up, &connect_timed_out](const boost::system::error_code& e) {
      if (!e) {
        connect_timed_out = true;
        up.cancel();
      }
    });
    auto [cec] = co_await up.socket().async_connect(ep.address, core::kAwait);
    if (!cec) up.socket().set_option(tcp::no_delay(true), ec);
    if (!cec && cluster->tls) {
      // TLS to the upstream within the same connect_timeout.
      cec = co_await upstream_tls_handshake(up, *cluster->tls, pick->state->tls_sessions, ep.name, connect_timed_out);
      if (cec) flags = "upstream_tls_failure";
    }
    timer.cancel();
    if (cec) {
      ep.connect_failures->inc();
      if (flags.empty()) flags = "upstream_connect_failure";
      spdlog::debug("tcp listener '{}': connect to {} failed: {}", listener, ep.name,
                    connect_timed_out ? "timed out" : cec.message());
      up.close();
    } else {
      ep.connections_opened->inc();
      ep.connections_active->add();
      result = co_await net::splice(down, up, lr->config->idle_timeout);
      ep.connections_active->sub();
      if (result.idle_timeout) flags = "idle_timeout";
    }
    --pick->state->active_requests;
    ep.requests_active->sub();
  }
  down.close();
  lr->bytes_received->inc(result.bytes_down_to_up);
  lr->bytes_sent->inc(result.bytes_up_to_down);
  lr->connections_active->sub();
  const double secs = seconds_since(start);
  lr->request_duration->observe(secs);
  if (snap->access_log)
    snap->access_log->write(AccessLogEntry{wall_start, listener, "tcp", {}, {}, {}, 0,
                                           result.bytes_down_to_up, result.bytes_up_to_down,
                                           secs * 1000.0, upstream_name, {}, client, flags,
                                           tls ? &*tls : nullptr});
}

}  // namespace aegis::proxy
