#include "carbon/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include "net/stream.h"

// GCC 12 false positive on coroutine frames (operator new/delete of Asio's
// awaitable frame), as in proxy/tcp_session.cpp. Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::carbon {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

std::string_view to_string(FeedErrorKind k) {
  switch (k) {
    case FeedErrorKind::kConnect: return "connect";
    case FeedErrorKind::kTimeout: return "timeout";
    case FeedErrorKind::kTls: return "tls";
    case FeedErrorKind::kHttpStatus: return "http_status";
    case FeedErrorKind::kAuth: return "auth";
    case FeedErrorKind::kMalformed: return "malformed";
    case FeedErrorKind::kSetup: return "setup";
  }
  return "other";
}

std::string query_escape(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

core::Result<std::shared_ptr<tls::SslCtxPtr>> make_provider_tls(const std::string& ca_file) {
  tls::TlsOptions o;
  o.policy = tls::PqPolicy::kCompat;  // public APIs: hybrid groups first, classical accepted
  o.trust_bundle = ca_file.empty() ? std::string(config::kSystemCaBundle) : ca_file;
  o.alpn = {"http/1.1"};
  auto ctx = tls::make_client_context(o);
  if (!ctx) return ctx.error();
  // The mesh is TLS 1.3 only; public provider APIs may still be 1.2.
  if (SSL_CTX_set_min_proto_version(ctx->get(), TLS1_2_VERSION) != 1)
    return core::Error{"cannot allow TLS 1.2 for provider APIs"};
  return std::make_shared<tls::SslCtxPtr>(std::move(*ctx));
}

namespace {

using Resolver = asio::ip::basic_resolver<asio::ip::tcp, core::Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>,
                                         core::Executor>;

// Shared with the deadline's handler, which closes everything when it fires.
struct Exchange {
  explicit Exchange(const core::Executor& ex) : resolver(ex), stream(core::Socket(ex)) {}
  Resolver resolver;
  net::Stream stream;
  bool timed_out = false;
};

FeedError fail(FeedErrorKind k, std::string m) { return FeedError{k, std::move(m)}; }

}  // namespace

core::Task<FeedResult<HttpResponse>> http_get(HttpGet req) {
  const auto ex = co_await asio::this_coro::executor;
  auto x = std::make_shared<Exchange>(ex);
  Timer deadline(ex);
  deadline.expires_after(req.timeout);
  deadline.async_wait([x](const boost::system::error_code& ec) {
    if (ec) return;
    x->timed_out = true;
    x->resolver.cancel();
    x->stream.close();
  });
  struct CancelOnExit {
    Timer& t;
    ~CancelOnExit() { t.cancel(); }
  } cancel_deadline{deadline};
  const std::string where = fmt::format("{}://{}:{}", req.base.tls ? "https" : "http", req.base.host, req.base.port);
  const auto timeout = [&] { return fail(FeedErrorKind::kTimeout, fmt::format("{}: no answer within {} ms", where, req.timeout.count())); };

  const std::string port = std::to_string(req.base.port);
  auto [rec, endpoints] = co_await x->resolver.async_resolve(req.base.host, port, core::kAwait);
  if (x->timed_out) co_return timeout();
  if (rec) co_return fail(FeedErrorKind::kConnect, fmt::format("{}: cannot resolve: {}", where, rec.message()));
  auto [cec, connected] = co_await asio::async_connect(x->stream.socket(), endpoints, core::kAwait);
  if (x->timed_out) co_return timeout();
  if (cec) co_return fail(FeedErrorKind::kConnect, fmt::format("{}: connect: {}", where, cec.message()));

  if (req.base.tls) {
    if (!req.tls) co_return fail(FeedErrorKind::kSetup, "https without a TLS context");
    x->stream = net::Stream(std::move(x->stream.socket()), req.tls->get(), /*server=*/false);
    SSL* ssl = x->stream.ssl();
    const bool ip_literal = req.base.host.find_first_not_of("0123456789.") == std::string::npos ||
                            req.base.host.find(':') != std::string::npos;
    if (!ip_literal) SSL_set_tlsext_host_name(ssl, req.base.host.c_str());
    if (ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), req.base.host.c_str()) != 1 : SSL_set1_host(ssl, req.base.host.c_str()) != 1)
      co_return fail(FeedErrorKind::kSetup, fmt::format("{}: cannot set the expected server name", where));
    auto hec = co_await x->stream.handshake();
    if (x->timed_out) co_return timeout();
    if (hec) {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = x->stream.tls_error().empty() ? hec.message() : x->stream.tls_error();
      if (verify != X509_V_OK) why += fmt::format(" (certificate: {})", X509_verify_cert_error_string(verify));
      co_return fail(FeedErrorKind::kTls, fmt::format("{}: TLS handshake: {}", where, why));
    }
  }

  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, req.base.prefix + req.target, 11};
  const bool default_port = req.base.port == (req.base.tls ? 443 : 80);
  const bool v6 = req.base.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + req.base.host + "]" : req.base.host;
  request.set(bhttp::field::host, default_port ? host : host + ":" + port);
  request.set(bhttp::field::user_agent, "aegis-flow-carbon");
  request.set(bhttp::field::accept, "application/json, text/csv");
  request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : req.headers) request.set(name, value);
  auto [wec, written] = co_await bhttp::async_write(x->stream, request, core::kAwait);
  if (x->timed_out) co_return timeout();
  if (wec) co_return fail(FeedErrorKind::kConnect, fmt::format("{}: sending the request: {}", where, wec.message()));

  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(kMaxProviderBody);
  auto [rdec, got] = co_await bhttp::async_read(x->stream, buffer, parser, core::kAwait);
  if (x->timed_out) co_return timeout();
  if (rdec == bhttp::error::body_limit)
    co_return fail(FeedErrorKind::kMalformed, fmt::format("{}: response body over {} bytes", where, kMaxProviderBody));
  if (rdec) {
    // Beast's own errors mean the bytes were not HTTP (a closed connection
    // mid-message is not the peer's syntax: connect).
    const bool parse_error = rdec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
                             rdec != bhttp::error::end_of_stream && rdec != bhttp::error::partial_message;
    co_return fail(parse_error ? FeedErrorKind::kMalformed : FeedErrorKind::kConnect,
                   fmt::format("{}: reading the response: {}", where, rdec.message()));
  }
  co_return HttpResponse{parser.get().result_int(), std::move(parser.get().body())};
}

}  // namespace aegis::carbon
