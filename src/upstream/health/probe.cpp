#include "upstream/health/probe.h"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <fmt/format.h>

#include "upstream/health/grpc_probe.h"
#include "upstream/health/probe_connection.h"

namespace aegis::upstream::health {

namespace {

namespace bhttp = boost::beast::http;

constexpr std::size_t kMaxResponseHead = std::size_t{16} * 1024;

bool expected(const config::HealthCheck& check, unsigned status) {
  if (check.expected_statuses.empty()) return status == 200;
  for (const auto& r : check.expected_statuses)
    if (status >= r.start && status < r.end) return true;
  return false;
}

core::Task<ProbeResult> http_probe(ProbeConnection& conn, const ProbeTarget& t) {
  const std::string& host = t.check.host.empty() ? t.cluster : t.check.host;
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nhost: {}\r\nuser-agent: aegis-flow-health-check\r\nconnection: close\r\n\r\n",
      t.check.path, host);
  auto [wec, written] = co_await boost::asio::async_write(conn.stream(), boost::asio::buffer(request), core::kAwait);
  if (wec) co_return ProbeResult{false, conn.timed_out(), fmt::format("sending the request: {}", wec.message())};
  boost::beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.header_limit(kMaxResponseHead);
  auto [rec, got] = co_await bhttp::async_read_header(conn.stream(), buffer, parser, core::kAwait);
  if (rec) co_return ProbeResult{false, conn.timed_out(), fmt::format("reading the response: {}", rec.message())};
  const unsigned status = parser.get().result_int();
  if (!expected(t.check, status)) co_return ProbeResult{false, false, fmt::format("unexpected status {}", status)};
  co_return ProbeResult{true, false, {}};
}

}  // namespace

core::Task<ProbeResult> run_probe(const ProbeTarget& t) {
  const auto ex = co_await boost::asio::this_coro::executor;
  ProbeConnection conn(ex, t.check.timeout);
  const std::string_view alpn = t.check.kind == config::HealthCheckKind::kGrpc ? "h2" : "";
  const std::string failure = co_await conn.open(t.address, t.tls.get(), alpn, t.endpoint);
  if (!failure.empty()) co_return ProbeResult{false, conn.timed_out(), failure};
  switch (t.check.kind) {
    case config::HealthCheckKind::kTcp:
      co_return ProbeResult{true, false, {}};
    case config::HealthCheckKind::kHttp:
      co_return co_await http_probe(conn, t);
    case config::HealthCheckKind::kGrpc:
      co_return co_await grpc_probe(conn, t);
  }
  co_return ProbeResult{false, false, "unknown check"};
}

}  // namespace aegis::upstream::health
