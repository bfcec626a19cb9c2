#include "upstream/health/probe_connection.h"

#include <openssl/ssl.h>

#include <fmt/format.h>

#include "tls/alpn.h"

namespace aegis::upstream::health {

ProbeConnection::ProbeConnection(const core::Executor& ex, std::chrono::milliseconds timeout)
    : state_(std::make_shared<State>(State{net::Stream(core::Socket(ex)), false})), deadline_(ex) {
  deadline_.expires_after(timeout);
  deadline_.async_wait([state = state_](const boost::system::error_code& ec) {
    if (ec) return;
    state->timed_out = true;
    state->stream.close();
  });
}

ProbeConnection::~ProbeConnection() { deadline_.cancel(); }

core::Task<std::string> ProbeConnection::open(const boost::asio::ip::tcp::endpoint& address,
                                              const tls::TlsRuntime* tls, std::string_view alpn,
                                              std::string_view endpoint_name) {
  auto& s = state_->stream;
  auto [ec] = co_await s.socket().async_connect(address, core::kAwait);
  if (timed_out()) co_return "timed out";
  if (ec) co_return fmt::format("connect: {}", ec.message());
  if (!tls) co_return std::string();

  const auto start = std::chrono::steady_clock::now();
  s = net::Stream(std::move(s.socket()), tls->ctx(), /*server=*/false);
  tls->prepare_client(s.ssl());
  if (!alpn.empty() && !tls::offer_alpn(s.ssl(), alpn)) co_return "cannot offer ALPN";
  ec = co_await s.handshake();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ec || timed_out()) {
    std::string why = s.tls_error().empty() ? ec.message() : s.tls_error();
    tls->on_handshake_failed(s.ssl(), s.tls_first_error(), timed_out(), secs, endpoint_name, why);
    if (timed_out()) why = "timed out";
    else why = "TLS handshake: " + why;
    co_return why;
  }
  if (auto refused = tls->on_handshake_done(s.ssl(), secs, endpoint_name)) co_return fmt::format("TLS: {}", *refused);
  if (!alpn.empty() && tls::selected_alpn(s.ssl()) != alpn)
    co_return fmt::format("TLS: the server did not accept ALPN '{}'", alpn);
  co_return std::string();
}

}  // namespace aegis::upstream::health
