// L4 TCP proxy session: pick an endpoint of the listener's cluster, connect,
// then relay bytes both ways (half-close aware) until both sides finish, an
// error, or the listener's idle timeout.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include "net/tcp_splice.h"
#include "proxy/access_log.h"
#include "proxy/sessions.h"
#include "proxy/worker.h"

namespace aegis::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

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

}  // namespace

asio::awaitable<void> serve_tcp(Worker& worker, tcp::socket socket, std::string listener) {
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

  net::SpliceResult result;
  std::string upstream_name;
  std::string_view flags;
  const auto* cluster = lr->tcp_cluster;
  if (auto pick = worker.pick(cluster->config->name); !pick) {
    cluster->overflow->inc();
    flags = "upstream_overflow";
  } else {
    const auto& ep = *pick->runtime;
    upstream_name = ep.name;
    ++pick->state->active_requests;
    ep.requests_active->add();
    ep.requests->inc();
    tcp::socket up(socket.get_executor());
    asio::steady_timer timer(socket.get_executor(), cluster->config->connect_timeout);
    timer.async_wait([&up](const boost::system::error_code& e) {
      if (!e) {
        boost::system::error_code ignored;
        up.close(ignored);
      }
    });
    auto [cec] = co_await up.async_connect(ep.address, asio::as_tuple(asio::use_awaitable));
    timer.cancel();
    if (cec) {
      ep.connect_failures->inc();
      flags = "upstream_connect_failure";
      spdlog::debug("tcp listener '{}': connect to {} failed: {}", listener, ep.name, cec.message());
    } else {
      ep.connections_opened->inc();
      ep.connections_active->add();
      up.set_option(tcp::no_delay(true), ec);
      result = co_await net::splice(socket, up, lr->config->idle_timeout);
      ep.connections_active->sub();
      if (result.idle_timeout) flags = "idle_timeout";
    }
    --pick->state->active_requests;
    ep.requests_active->sub();
  }
  socket.close(ec);
  lr->bytes_received->inc(result.bytes_down_to_up);
  lr->bytes_sent->inc(result.bytes_up_to_down);
  lr->connections_active->sub();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  lr->request_duration->observe(secs);
  if (snap->access_log)
    snap->access_log->write(AccessLogEntry{wall_start, listener, "tcp", {}, {}, {}, 0,
                                           result.bytes_down_to_up, result.bytes_up_to_down,
                                           secs * 1000.0, upstream_name, {}, client, flags});
}

}  // namespace aegis::proxy
