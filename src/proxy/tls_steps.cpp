#include "proxy/tls_steps.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "tls/alpn.h"

namespace aegis::proxy {

namespace {
std::string_view failure_detail(const net::Stream& s, const boost::system::error_code& ec, std::string& scratch) {
  if (!s.tls_error().empty()) return s.tls_error();
  scratch = ec.message();
  return scratch;
}
}  // namespace

std::optional<DownstreamTls> finish_downstream_handshake(const tls::TlsRuntime& rt, net::Stream& s,
                                                         const boost::system::error_code& ec, bool timed_out,
                                                         double seconds, std::string_view client) {
  if (ec) {
    std::string scratch;
    rt.on_handshake_failed(s.ssl(), s.tls_first_error(), timed_out, seconds, client, failure_detail(s, ec, scratch));
    return std::nullopt;
  }
  rt.on_handshake_done(s.ssl(), seconds, client);
  const auto info = tls::handshake_info(s.ssl());
  return DownstreamTls{info.group, info.cipher, rt.server_sigalg(s.ssl()), tls::peer_spiffe_id(s.ssl()).value_or("")};
}

core::Task<boost::system::error_code> upstream_tls_handshake(net::Stream& up, const tls::TlsRuntime& rt,
                                                             tls::SessionCache& sessions, std::string_view endpoint,
                                                             const bool& timed_out, std::string_view alpn) {
  const auto start = std::chrono::steady_clock::now();
  up = net::Stream(std::move(up.socket()), rt.ctx(), /*server=*/false);
  rt.prepare_client(up.ssl());
  if (!alpn.empty() && !tls::offer_alpn(up.ssl(), alpn)) co_return make_error_code(net::TlsErrc::kHandshakeFailed);
  if (rt.config().session_resumption) sessions.prepare(up.ssl());
  auto ec = co_await up.handshake();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (ec) {
    std::string scratch;
    rt.on_handshake_failed(up.ssl(), up.tls_first_error(), timed_out, secs, endpoint, failure_detail(up, ec, scratch));
    co_return ec;
  }
  if (rt.on_handshake_done(up.ssl(), secs, endpoint)) co_return make_error_code(net::TlsErrc::kHandshakeFailed);
  if (!alpn.empty() && tls::selected_alpn(up.ssl()) != alpn) {
    spdlog::warn("upstream {}: the server did not select ALPN '{}' (cluster protocol: http2)", endpoint, alpn);
    co_return make_error_code(net::TlsErrc::kHandshakeFailed);
  }
  co_return boost::system::error_code{};
}

}  // namespace aegis::proxy
