#include "upstream/health/grpc_probe.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <memory>
#include <string_view>
#include <vector>

#include "http/h2_connection.h"

// GCC 12 reports a false -Wmismatched-new-delete on this file's coroutine
// frames (Asio's awaitable frames pair a class operator new with its own
// operator delete), as in proxy/tcp_session.cpp. Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::upstream::health {

namespace {

constexpr std::size_t kMaxResponseBody = std::size_t{64} * 1024;  // a HealthCheckResponse is a few bytes

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

}  // namespace

std::string grpc_health_request(const std::string& service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0a);  // field 1, length-delimited
    put_varint(message, service.size());
    message += service;
  }
  std::string out;
  out.push_back('\0');  // not compressed
  const auto len = static_cast<std::uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((len >> shift) & 0xff));
  return out + message;
}

namespace {

unsigned parse_number(std::optional<std::string_view> v, unsigned otherwise) {
  if (!v) return otherwise;
  unsigned parsed = 0;
  const auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), parsed);
  return ec == std::errc{} && ptr == v->data() + v->size() ? parsed : otherwise;
}

// The one call, on the connection the caller runs: request, whole (small)
// response, verdict; then a graceful GOAWAY so that the connection's run ends.
core::Task<ProbeResult> health_call(http::h2::Connection& h2, const ProbeTarget& t) {
  using http::h2::find_field;
  const http::h2::Fields head{
      {":method", "POST"},
      {":scheme", t.tls ? "https" : "http"},
      {":path", "/grpc.health.v1.Health/Check"},
      {":authority", t.check.authority.empty() ? t.cluster : t.check.authority},
      {"content-type", "application/grpc"},
      {"te", "trailers"},
      {"user-agent", "aegis-flow-health-check"},
  };
  auto stream = h2.submit_request(head, /*end_stream=*/false);
  if (!stream) {
    h2.abort();
    co_return ProbeResult{false, false, "cannot start an HTTP/2 stream"};
  }
  const std::string body = grpc_health_request(t.check.service_name);
  const bool sent = co_await stream->write(body);
  if (sent) stream->finish();
  const bool headed = sent && co_await stream->wait_head();
  std::string response;
  bool reset = !headed;
  while (headed) {
    auto piece = co_await stream->read();
    stream->consume(piece.data.size());
    if (response.size() + piece.data.size() > kMaxResponseBody) {
      stream->reset(NGHTTP2_CANCEL);
      h2.shutdown();
      co_return ProbeResult{false, false, "response body too large"};
    }
    response += piece.data;
    if (piece.reset) reset = true;
    if (piece.end || piece.reset) break;
  }
  h2.shutdown();
  if (reset) co_return ProbeResult{false, false, fmt::format("HTTP/2 stream closed with error {}", stream->error_code())};
  const unsigned http_status = parse_number(find_field(stream->head(), ":status"), 0);
  if (http_status != 200) co_return ProbeResult{false, false, fmt::format("HTTP status {}", http_status)};
  // grpc-status in the trailers, or in the head of a trailers-only response.
  auto grpc = find_field(stream->trailers(), "grpc-status");
  if (!grpc) grpc = find_field(stream->head(), "grpc-status");
  if (!grpc) co_return ProbeResult{false, false, "no grpc-status"};
  const unsigned grpc_status = parse_number(grpc, 2);  // unparsable: UNKNOWN
  if (grpc_status != 0) co_return ProbeResult{false, false, fmt::format("grpc-status {}", grpc_status)};
  const auto status = grpc_serving_status(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(response.data()), response.size()));
  if (!status) co_return ProbeResult{false, false, "malformed HealthCheckResponse"};
  if (*status != kGrpcServing) co_return ProbeResult{false, false, fmt::format("serving status {} (not SERVING)", *status)};
  co_return ProbeResult{true, false, {}};
}

}  // namespace

// The project's HTTP/2 codec in its client role carries the call; the
// connection's deadline (ProbeConnection) bounds it: closing the socket ends
// run() and wakes the stream.
core::Task<ProbeResult> grpc_probe(ProbeConnection& conn, const ProbeTarget& t) {
  using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: && on awaitables
  http::h2::Connection h2(conn.stream(), http::h2::Role::kClient, http::h2::Settings{}, {});
  // Named first (GCC 12: no temporaries with destructors inside co_await).
  auto run = h2.run();
  auto call = health_call(h2, t);
  auto result = co_await (std::move(run) && std::move(call));
  if (!result.success && conn.timed_out()) result.timed_out = true;
  co_return result;
}

}  // namespace aegis::upstream::health
