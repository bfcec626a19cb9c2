#include "proxy/upstream_connect.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string>

#include "proxy/tls_steps.h"
#include "tls/alpn.h"

namespace aegis::proxy {

using tcp = boost::asio::ip::tcp;

UpstreamConn pick_upstream(Worker& w, std::string_view cluster_name, Exchange& x, const upstream::PickContext& ctx,
                           std::span<const std::size_t> avoid) {
  UpstreamConn c;
  const auto* cluster = w.snapshot() ? w.snapshot()->find_cluster(cluster_name) : nullptr;
  Worker::NoPick no_pick = Worker::NoPick::kOverflow;
  c.pick = w.pick(cluster_name, ctx, avoid, &no_pick);
  if (c.pick && cluster == nullptr) c.pick.reset();
  if (!c.pick && cluster && no_pick == Worker::NoPick::kNoHealthyUpstream) {
    cluster->no_healthy->inc();
    c.failure = LocalReply{503, "no_healthy_upstream", "no healthy upstream"};
    return c;
  }
  if (!c.pick) {
    if (cluster) cluster->overflow->inc();
    c.failure = LocalReply{503, "upstream_overflow", "no upstream endpoint available (all at max_connections)", false,
                           "x-aegis-overloaded", "true"};
    return c;
  }
  x.upstream = c.pick->runtime->name;
  return c;
}

core::Task<UpstreamConn> open_upstream(Worker& w, std::string_view cluster_name, UpstreamSlot& slot,
                                       bool check_liveness, Exchange& x, const upstream::PickContext& ctx,
                                       std::span<const std::size_t> avoid) {
  UpstreamConn c = pick_upstream(w, cluster_name, x, ctx, avoid);
  if (c.failure) co_return c;
  c.stream = c.pick->state->pool.take_idle(check_liveness);
  if (c.stream) {
    c.reused = true;
    co_return c;
  }
  // The cluster of the snapshot the endpoint was picked from (held by the
  // pick): the worker's may change while the connection is made.
  const auto* cluster = c.pick->snap->find_cluster(cluster_name);
  co_await connect_upstream(w, *cluster, slot, x, c);
  co_return c;
}

core::Task<void> connect_upstream(Worker& w, const ClusterRuntime& cluster, UpstreamSlot& slot, Exchange& x,
                                  UpstreamConn& c, std::string_view alpn) {
  const auto& ep = *c.pick->runtime;
  // Circuit breakers: open connections, and requests waiting for one.
  using Breaker = upstream::CircuitBreakers::Resource;
  upstream::BreakerSlot connection_slot = upstream::acquire(*cluster.breakers, Breaker::kConnections);
  upstream::BreakerSlot pending_slot =
      connection_slot.held() ? upstream::acquire(*cluster.breakers, Breaker::kPendingRequests) : upstream::BreakerSlot();
  if (!pending_slot.held()) {
    const auto r = connection_slot.held() ? Breaker::kPendingRequests : Breaker::kConnections;
    cluster.breaker_overflow.at(static_cast<std::size_t>(r))->inc();
    c.failure = LocalReply{503, "upstream_overflow",
                           fmt::format("cluster '{}' is at circuit_breakers.{}", cluster.config->name,
                                       upstream::CircuitBreakers::name(r)),
                           false, "x-aegis-overloaded", "true"};
    co_return;
  }
  auto& up = c.stream.emplace(core::Socket(w.io().get_executor()));
  slot.attach(up, Clock::now() + cluster.config->connect_timeout);
  auto [ec] = co_await up.socket().async_connect(ep.address, core::kAwait);
  bool timed_out = slot.timed_out;
  std::string_view flag = "upstream_connect_failure";
  if (!ec) {
    boost::system::error_code ignored;
    up.socket().set_option(tcp::no_delay(true), ignored);
    if (cluster.tls) {
      // TLS to the upstream within the same connect_timeout.
      slot.attach(up, slot.dl.write);
      ec = co_await upstream_tls_handshake(up, *cluster.tls, c.pick->state->tls_sessions, ep.name, slot.timed_out,
                                           alpn);
      timed_out = slot.timed_out;
      if (ec) flag = "upstream_tls_failure";
    }
  }
  slot.detach();
  pending_slot.release();
  if (ec) {
    ep.connect_failures->inc();
    w.report(cluster.config->name, *c.pick,
             {upstream::AttemptResult::Kind::kConnectFailure, 0, Clock::now() - x.attempt_start});
    spdlog::debug("upstream {} connect failed: {}", ep.name, ec.message());
    std::string detail;
    if (flag != "upstream_tls_failure") {
      detail = fmt::format("upstream connect error: {} ({})", ep.name, timed_out ? "timed out" : ec.message());
    } else if (timed_out) {
      detail = fmt::format("upstream TLS error: {} (timed out)", ep.name);
    } else if (!alpn.empty() && (up.tls_error().find("no application protocol") != std::string::npos ||
                                 (up.tls_error().empty() && up.ssl() && tls::selected_alpn(up.ssl()) != alpn))) {
      detail = fmt::format("upstream TLS error: {} (the server did not select ALPN '{}': does it speak HTTP/2?)",
                           ep.name, alpn);
    } else if (!up.tls_error().empty()) {
      detail = fmt::format("upstream TLS error: {} ({})", ep.name, up.tls_error());
    } else {
      detail = fmt::format("upstream TLS error: {} (peer identity not accepted)", ep.name);
    }
    up.close();
    c.stream.reset();
    c.failure = LocalReply{503, flag, std::move(detail)};
    c.connect_failed = true;
    co_return;
  }
  connection_slot.keep();  // given back when the connection closes (close_upstream or the pool)
  ep.connections_opened->inc();
  ep.connections_active->add();
}

void close_upstream(upstream::Stream& up, const EndpointRuntime& ep) {
  if (!up.is_open()) return;
  up.close();
  connection_closed(ep);
}

void connection_closed(const EndpointRuntime& ep) {
  ep.connections_active->sub();
  ep.breakers->release(upstream::CircuitBreakers::Resource::kConnections);
}

}  // namespace aegis::proxy
