// L4 TCP proxy sessions. serve_tcp: pick an endpoint of the listener's
// cluster, connect, then relay bytes both ways (half-close aware) until both
// sides finish, an error, or the listener's idle timeout. serve_transparent:
// the same relay, to where the connection's original destination (netfilter
// REDIRECT) leads: a mesh service over mTLS, the destination itself in plain
// TCP, or the local app (inbound).
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <fmt/format.h>
#include <sys/socket.h>

#include <array>

#include "net/original_dst.h"
#include "net/stream.h"
#include "net/tcp_splice.h"
#include "proxy/access_log.h"
#include "proxy/protocol_sniff.h"
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
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, core::Executor>;

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

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Downstream TLS (when the listener has it), then the listener's allow_peers:
// false when the connection must be closed (there is no protocol to say 403
// in); `flags` says why.
core::Task<bool> admit_downstream(const ListenerRuntime& lr, net::Stream& down,
                                  std::chrono::steady_clock::time_point start, const std::string& client,
                                  std::optional<DownstreamTls>& tls, std::string_view& flags) {
  if (!lr.tls) co_return true;
  const auto& rt = *lr.tls;
  auto [hec, timed_out] = co_await timed_handshake(down, rt.config().handshake_timeout);
  tls = finish_downstream_handshake(rt, down, hec, timed_out, seconds_since(start), client);
  if (!tls) {
    flags = "tls_handshake_failure";
    co_return false;
  }
  const auto id = tls->peer_identity.empty() ? std::nullopt : std::optional<std::string>(tls->peer_identity);
  if (!config::peers_allowed(rt.config().allow_peers, id)) {
    lr.authz_denied->inc();
    spdlog::info("tcp listener '{}': peer {} ({}) is not in allow_peers: closing", lr.config->name, client,
                 id.value_or("no SPIFFE ID"));
    flags = "authz_denied";
    co_return false;
  }
  co_return true;
}

// Connects `up` to `to`, then (when `tls` is set) handshakes as its TLS
// client, all within `timeout`. On failure `flags` says which step failed.
core::Task<boost::system::error_code> connect_upstream(net::Stream& up, const tcp::endpoint& to,
                                                       std::chrono::milliseconds timeout, const tls::TlsRuntime* tls,
                                                       tls::SessionCache* sessions, std::string_view name,
                                                       std::string_view& flags) {
  Timer timer(up.get_executor(), timeout);
  bool timed_out = false;
  timer.async_wait([&up, &timed_out](const boost::system::error_code& e) {
    if (!e) {
      timed_out = true;
      up.cancel();
    }
  });
  auto [cec] = co_await up.socket().async_connect(to, core::kAwait);
  boost::system::error_code ignored;
  if (!cec) up.socket().set_option(tcp::no_delay(true), ignored);
  if (!cec && tls && sessions) {
    cec = co_await upstream_tls_handshake(up, *tls, *sessions, name, timed_out);
    if (cec) flags = "upstream_tls_failure";
  }
  timer.cancel();
  if (cec) {
    if (flags.empty()) flags = "upstream_connect_failure";
    spdlog::debug("connect to {} failed: {}", name, timed_out ? "timed out" : cec.message());
    up.close();
  }
  co_return cec;
}

// Waits up to `timeout` for the client's first bytes and classifies them
// without consuming them (MSG_PEEK). A client that sends nothing in time (a
// server-first protocol) or closes is opaque TCP.
core::Task<Sniffed> detect_protocol(core::Socket& s, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Timer timer(s.get_executor(), timeout);
  timer.async_wait([&s](const boost::system::error_code& e) {
    if (!e) s.cancel();
  });
  std::array<std::uint8_t, 32> buf{};
  Sniffed result = Sniffed::kOther;
  for (;;) {
    auto [ec] = co_await s.async_wait(tcp::socket::wait_read, core::kAwait);
    if (ec) break;  // the deadline (cancelled) or an error: opaque TCP
    const auto n = ::recv(s.native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0) break;  // closed or reset: nothing to detect
    result = sniff_protocol(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)));
    if (result != Sniffed::kNeedMore) break;
    // A prefix ("GE"): the bytes stay readable, so poll again shortly.
    result = Sniffed::kOther;
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(5) >= deadline) break;
    Timer pause(s.get_executor(), std::chrono::milliseconds(5));
    auto [pec] = co_await pause.async_wait(core::kAwait);
    if (pec) break;
  }
  timer.cancel();
  co_return result;
}

// One downstream TCP connection's bookkeeping: counted open on
// construction; finish() counts its bytes and duration, closes the gauge and
// writes the access-log line.
struct TcpRecord {
  TcpRecord(const Snapshot& snap, const ListenerRuntime& lr, const core::Socket& socket) : snap(snap), lr(lr) {
    lr.connections->inc();
    lr.connections_active->add();
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (!ec) client = fmt::format("{}:{}", peer.address().to_string(), peer.port());
  }
  void finish(std::string_view protocol) const {
    lr.bytes_received->inc(result.bytes_down_to_up);
    lr.bytes_sent->inc(result.bytes_up_to_down);
    lr.connections_active->sub();
    const double secs = seconds_since(start);
    lr.request_duration->observe(secs);
    if (!snap.access_log) return;
    AccessLogEntry e;
    e.start = wall_start;
    e.listener = lr.config->name;
    e.protocol = protocol;
    e.bytes_in = result.bytes_down_to_up;
    e.bytes_out = result.bytes_up_to_down;
    e.duration_ms = secs * 1000.0;
    e.upstream = upstream_name;
    e.client = client;
    e.flags = flags;
    e.tls = tls ? &*tls : nullptr;
    snap.access_log->write(e);
  }

  const Snapshot& snap;
  const ListenerRuntime& lr;
  const std::chrono::system_clock::time_point wall_start = std::chrono::system_clock::now();
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string client;  // "ip:port", or "" when unknown
  net::SpliceResult result;
  std::string upstream_name;
  std::string_view flags;  // why the connection ended early, or ""
  std::optional<DownstreamTls> tls;
};

}  // namespace

core::Task<void> serve_tcp(Worker& worker, core::Socket socket, std::string listener) {
  TcpConnection registration(worker);
  auto snap = worker.snapshot();
  const auto* lr = snap ? snap->find_listener(listener) : nullptr;
  if (!lr || !lr->tcp_cluster) co_return;
  TcpRecord rec(*snap, *lr, socket);
  net::Stream down =
      lr->tls ? net::Stream(std::move(socket), lr->tls->ctx(), /*server=*/true) : net::Stream(std::move(socket));
  const auto* cluster = lr->tcp_cluster;

  const bool admitted = co_await admit_downstream(*lr, down, rec.start, rec.client, rec.tls, rec.flags);
  Worker::NoPick no_pick{};
  if (!admitted) {
    // nothing to relay
  } else if (auto pick = worker.pick(cluster->config->name, {}, {}, &no_pick); !pick) {
    const bool unhealthy = no_pick == Worker::NoPick::kNoHealthyUpstream;
    (unhealthy ? cluster->no_healthy : cluster->overflow)->inc();
    rec.flags = unhealthy ? "no_healthy_upstream" : "upstream_overflow";
  } else {
    const auto& ep = *pick->runtime;
    rec.upstream_name = ep.name;
    ++pick->state->active_requests;
    ep.requests_active->add();
    ep.requests->inc();
    net::Stream up{core::Socket(down.get_executor())};
    const auto cec = co_await connect_upstream(up, ep.address, cluster->config->connect_timeout, cluster->tls.get(),
                                               &pick->state->tls_sessions, ep.name, rec.flags);
    if (cec) {
      ep.connect_failures->inc();
    } else {
      ep.connections_opened->inc();
      ep.connections_active->add();
      rec.result = co_await net::splice(down, up, lr->config->idle_timeout);
      ep.connections_active->sub();
      if (rec.result.idle_timeout) rec.flags = "idle_timeout";
    }
    --pick->state->active_requests;
    ep.requests_active->sub();
  }
  down.close();
  rec.finish("tcp");
}

core::Task<void> serve_transparent(Worker& worker, core::Socket socket, std::string listener) {
  TcpConnection registration(worker);
  auto snap = worker.snapshot();
  const auto* lr = snap ? snap->find_listener(listener) : nullptr;
  if (!lr) co_return;
  const auto& cfg = *lr->config;
  const bool inbound = cfg.transparent == config::TransparentMode::kInbound;
  TcpRecord rec(*snap, *lr, socket);
  boost::system::error_code ec;
  const auto local = socket.local_endpoint(ec);
  const auto original = net::original_destination(socket.native_handle(), ec);

  std::string_view action = "refused";
  std::string_view service;
  std::string_view protocol = "tcp";
  auto& flags = rec.flags;
  auto& upstream_name = rec.upstream_name;
  // Not redirected (no NAT entry, or the listener's own address): refused,
  // or a client dialling the listener directly would loop through it.
  if (!original || *original == local) {
    flags = "not_redirected";
    spdlog::info(
        "transparent listener '{}': connection from {} was not redirected by netfilter (no original "
        "destination): closing",
        cfg.name, rec.client);
  }
  net::Stream down = inbound && lr->tls ? net::Stream(std::move(socket), lr->tls->ctx(), /*server=*/true)
                                        : net::Stream(std::move(socket));
  net::Stream up{core::Socket(down.get_executor())};
  bool connected = false;
  if (!flags.empty()) {
    // refused above
  } else if (inbound) {
    // Mesh mTLS (policy, identity, attestation) ends here; the app listens
    // on loopback at the port the client asked for.
    if (co_await admit_downstream(*lr, down, rec.start, rec.client, rec.tls, flags)) {
      const tcp::endpoint app(original->address().is_v6() && !original->address().to_v6().is_v4_mapped()
                                  ? boost::asio::ip::address(boost::asio::ip::address_v6::loopback())
                                  : boost::asio::ip::address(boost::asio::ip::address_v4::loopback()),
                              original->port());
      upstream_name = fmt::format("{}:{}", app.address().to_string(), app.port());
      connected = !co_await connect_upstream(up, app, std::chrono::seconds(1), nullptr, nullptr, upstream_name, flags);
      if (connected) action = "inbound";
    }
  } else {
    const ServiceRuntime* svc = snap->match_service(*original);
    if (svc) service = svc->config->name;
    upstream_name = fmt::format("{}:{}", original->address().to_string(), original->port());
    if (!svc && cfg.outbound_policy == config::OutboundPolicy::kRegistryOnly) {
      flags = "registry_only";
      spdlog::info(
          "transparent listener '{}': {} -> {} is in no service and outbound_policy is registry_only: "
          "closing",
          cfg.name, rec.client, upstream_name);
    } else {
      Sniffed sniffed = Sniffed::kOther;
      const auto hint = svc ? svc->config->protocol : config::ServiceProtocol::kAuto;
      if (hint == config::ServiceProtocol::kAuto) {
        sniffed = co_await detect_protocol(down.socket(), cfg.detect_timeout);
      } else if (hint == config::ServiceProtocol::kHttp) {
        sniffed = Sniffed::kHttp1;
      } else if (hint == config::ServiceProtocol::kTls) {
        sniffed = Sniffed::kTls;
      }
      protocol = sniffed_name(sniffed);
      // A mesh service goes over mesh mTLS, unless the app speaks TLS itself
      // (passed through untouched, like everything outside the mesh).
      const ClusterRuntime* cluster = svc && sniffed != Sniffed::kTls ? svc->cluster : nullptr;
      if (!cluster) {
        connected =
            !co_await connect_upstream(up, *original, std::chrono::seconds(1), nullptr, nullptr, upstream_name, flags);
        if (connected) action = "passthrough";
      } else {
        const bool original_dst = cluster->config->type == config::ClusterType::kOriginalDst;
        std::optional<Pick> pick;
        // Held through the relay: the TLS connection files its new tickets there.
        std::shared_ptr<tls::SessionCache> sessions;
        tcp::endpoint target = *original;
        if (!original_dst) {
          Worker::NoPick no_pick{};
          pick = worker.pick(cluster->config->name, {}, {}, &no_pick);
          if (!pick) {
            const bool unhealthy = no_pick == Worker::NoPick::kNoHealthyUpstream;
            (unhealthy ? cluster->no_healthy : cluster->overflow)->inc();
            flags = unhealthy ? "no_healthy_upstream" : "upstream_overflow";
          } else {
            target = pick->runtime->address;
            upstream_name = pick->runtime->name;
            ++pick->state->active_requests;
          }
        }
        if (flags.empty()) {
          if (original_dst) sessions = worker.destination_sessions(upstream_name);
          tls::SessionCache* cache = original_dst ? sessions.get() : &pick->state->tls_sessions;
          connected = !co_await connect_upstream(up, target, cluster->config->connect_timeout, cluster->tls.get(),
                                                 cache, upstream_name, flags);
          if (!connected && pick) pick->runtime->connect_failures->inc();
        }
        const auto& want = svc->config->peer_spiffe_id;
        if (connected && !want.empty() && up.is_tls()) {
          const auto got = tls::peer_spiffe_id(up.ssl());
          if (got != want) {
            spdlog::warn("transparent listener '{}': {} (service '{}') presented {}, not {}: closing", cfg.name,
                         upstream_name, service, got.value_or("no SPIFFE ID"), want);
            flags = "peer_identity_mismatch";
            connected = false;
            up.close();
          }
        }
        if (connected) action = "mesh";
        if (connected) {
          rec.result = co_await net::splice(down, up, cfg.idle_timeout);
          if (rec.result.idle_timeout) flags = "idle_timeout";
        }
        if (pick) --pick->state->active_requests;
      }
    }
  }
  if (connected && action != "mesh") {  // a mesh relay ran above, while its pick was held
    rec.result = co_await net::splice(down, up, cfg.idle_timeout);
    if (rec.result.idle_timeout) flags = "idle_timeout";
  }
  if (!connected) lr->transparent_refused(flags)->inc();
  lr->transparent(action, service, protocol)->inc();
  down.close();
  rec.finish(protocol);
}

}  // namespace aegis::proxy
