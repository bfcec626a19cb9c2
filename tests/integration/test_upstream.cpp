// aegis-test-upstream: a small, scriptable origin server for the integration
// tests (Boost.Asio + Beast, C++20 coroutines, one thread). It sits behind
// aegis-flow and reports what it saw, so tests can check the proxy from the
// far side: bodies (checksummed), headers, connection reuse, aborts.
//
//   aegis-test-upstream --port P [--address A] [--tcp] [--delay-ms D] [--fail-first N [--fail-with W]]
//
// --fail-first N: the first N requests (other than /stats) read their whole
// body, then fail as --fail-with says: a status code (default 503), "reset"
// (RST, no response), "hang" (no response until the peer goes away) or
// "grpc-C" (HTTP 200, trailers-only, grpc-status C). N may be "all".
//
// --delay-ms D: every HTTP request but /stats waits D ms before it is
// handled (an endpoint that is uniformly slower than its peers).
// Prints "listening A:PORT" on stdout once it accepts (P may be 0).
// HTTP endpoints:
//   GET  /bytes/N        N bytes of the shared pattern (pattern.h), x-sha256 header;
//                        ?pace_ms=M pauses M ms between 256 KiB chunks
//   POST /echo           streams the request body back as it arrives
//   POST /sha256         "<hex sha256> <length>\n" of the request body
//   GET  /conn           serial number of the TCP connection ("3\n")
//   GET  /headers        JSON {method, target, version, headers: [[name, value], ...]}
//   GET  /slow?ms=N      waits N ms, then "slept N\n"
//   GET  /abort?after=N  head with Content-Length N + 1 MiB, N body bytes, then RST
//   GET  /reset          RST without any response
//   GET  /status/N       status N
//   GET  /stats          JSON {connections, requests, inflight, failed} (tests ask directly)
//   GET  /seen           JSON list of every request received so far except /stats and
//                        /seen (at most 10000): {conn, method, target, version, headers:
//                        [[name, value]...], body (first 64 KiB), body_bytes}; what the
//                        proxy let through, for the attack suite's smuggling checks
//   GET  /healthz        200 "ok" (or the status set by /control/health/N)
//   GET  /control/fail/N from now on every request except /control/*, /stats and
//                        /healthz is answered with status N (0: back to normal)
//   GET  /control/health/N  /healthz answers N from now on (200: healthy again)
// --tcp mode: greets "HELLO <serial>\n", reads until EOF, answers
// "<hex sha256> <length>\n" and closes (exercises a half-close aware relay).
#include "sha256.h"
#include "pattern.h"

#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <linux/sockios.h>
#include <sys/ioctl.h>

namespace {

using aegis::itest::Sha256;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto as_tuple_awaitable = asio::as_tuple(use_awaitable);

struct ServerStats {
  std::uint64_t connections = 0;
  std::uint64_t requests = 0;
  std::int64_t inflight = 0;
  std::uint64_t failed = 0;  // requests failed on purpose (--fail-first)
};
ServerStats g_stats;  // single-threaded server: plain integers are enough
std::chrono::milliseconds g_delay{0};  // --delay-ms
unsigned g_fail_status = 0;     // /control/fail/N
unsigned g_health_status = 200; // /control/health/N

struct FailPlan {
  std::uint64_t remaining = 0;  // requests still to fail
  std::string with = "503";     // status code, "reset", "hang" or "grpc-C"
};
FailPlan g_fail;

// GET /seen: the requests as this server parsed them (bounded).
constexpr std::size_t kSeenMax = 10000;
constexpr std::size_t kSeenBodyMax = 64 * 1024;
nlohmann::json g_seen = nlohmann::json::array();

constexpr std::size_t kChunk = 256 * 1024;


std::string pattern_sha256(std::uint64_t n) {
  static std::map<std::uint64_t, std::string> cache;
  if (auto it = cache.find(n); it != cache.end()) return it->second;
  Sha256 sha;
  std::vector<std::uint8_t> buf(kChunk);
  for (std::uint64_t off = 0; off < n;) {
    const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - off));
    aegis::itest::fill_pattern(off, std::span(buf.data(), len));
    sha.update(buf.data(), len);
    off += len;
  }
  return cache[n] = sha.hex();
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> query_param(std::string_view target, std::string_view key) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    if (auto eq = kv.find('='); eq != std::string_view::npos && kv.substr(0, eq) == key) {
      return to_u64(kv.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::string head(unsigned status, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  return out;
}

// Response heads are built outside the coroutines: GCC 12 miscompiles
// braced lists of string literals inside co_await expressions.
std::string simple_response(unsigned status, const std::string& body, const std::string& content_type) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", content_type);
  const bool bodiless = status == 204 || status == 304 || (status >= 100 && status < 200);
  if (!bodiless) headers.emplace_back("Content-Length", std::to_string(body.size()));
  return head(status, headers) + (bodiless ? std::string() : body);
}

std::string octet_head(const std::string& framing, const std::string& value, const std::string& sha = {}) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("Content-Type", "application/octet-stream");
  headers.emplace_back(framing, value);
  if (!sha.empty()) headers.emplace_back("x-sha256", sha);
  return head(200, headers);
}

std::string sha256_response(const std::string& hex, std::uint64_t total) {
  std::vector<std::pair<std::string, std::string>> headers;
  const std::string body = hex + " " + std::to_string(total) + "\n";
  headers.emplace_back("Content-Type", "text/plain");
  headers.emplace_back("Content-Length", std::to_string(body.size()));
  headers.emplace_back("x-body-sha256", hex);
  headers.emplace_back("x-body-length", std::to_string(total));
  return head(200, headers) + body;
}

const std::string kCrlf = "\r\n";

std::string chunk_size_line(std::size_t n) {
  std::array<char, 32> buf{};
  char* p = std::to_chars(buf.data(), buf.data() + buf.size(), n, 16).ptr;
  return std::string(buf.data(), p) + "\r\n";
}

using Parser = http::request_parser<http::buffer_body>;

class Session {
 public:
  Session(tcp::socket socket, std::uint64_t serial) : socket_(std::move(socket)), serial_(serial) {}

  awaitable<void> run() {
    try {
      for (;;) {
        Parser parser;
        parser.body_limit(boost::none);
        parser.header_limit(1U << 20U);
        auto [ec, n] = co_await http::async_read_header(socket_, buffer_, parser, as_tuple_awaitable);
        if (ec) co_return;  // EOF or garbage: the peer is gone
        ++g_stats.requests;
        record(parser.get());
        if (g_delay.count() > 0 && parser.get().target() != "/stats") {
          asio::steady_timer delay(socket_.get_executor(), g_delay);
          co_await delay.async_wait(as_tuple_awaitable);
        }
        const bool keep = co_await handle(parser);
        if (!keep || !socket_.is_open()) co_return;
        while (!parser.is_done()) co_await read_body(parser);  // unread body: drain
      }
    } catch (const std::exception&) {
      // connection-level failure (peer reset, write to closed socket): drop it
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  // Reads the next piece of body into chunk_; returns its length (may be 0).
  awaitable<std::size_t> read_body(Parser& parser) {
    if (parser.is_done()) co_return 0;
    parser.get().body().data = chunk_.data();
    parser.get().body().size = chunk_.size();
    auto [ec, n] = co_await http::async_read(socket_, buffer_, parser, as_tuple_awaitable);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw boost::system::system_error(ec);
    const std::size_t got = chunk_.size() - parser.get().body().size;
    if (seen_) {
      auto& entry = g_seen[*seen_];  // by index: other sessions append to g_seen
      entry["body_bytes"] = entry["body_bytes"].get<std::uint64_t>() + got;
      auto& body = entry["body"].get_ref<std::string&>();
      body.append(chunk_.data(), std::min(got, kSeenBodyMax - std::min(kSeenBodyMax, body.size())));
    }
    co_return got;
  }

  // One entry of /seen per request (not /stats, /seen: the tests' own probes).
  void record(const http::request_header<>& req) {
    seen_.reset();
    const std::string_view target = req.target();
    if (target == "/stats" || target == "/seen" || g_seen.size() >= kSeenMax) return;
    nlohmann::json j{{"conn", serial_},
                     {"method", std::string(req.method_string())},
                     {"target", std::string(target)},
                     {"version", req.version()},
                     {"headers", nlohmann::json::array()},
                     {"body", ""},
                     {"body_bytes", std::uint64_t{0}}};
    for (const auto& f : req) j["headers"].push_back({std::string(f.name_string()), std::string(f.value())});
    g_seen.push_back(std::move(j));
    seen_ = g_seen.size() - 1;
  }

  awaitable<void> write(std::string_view s) {
    co_await asio::async_write(socket_, asio::buffer(s.data(), s.size()), use_awaitable);
  }

  awaitable<void> reply(unsigned status, std::string body, std::string content_type = "text/plain") {
    co_await write(simple_response(status, body, content_type));
  }

  awaitable<bool> handle(Parser& parser) {
    auto& req = parser.get();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool keep = req.keep_alive();
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      co_await write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    if (g_fail.remaining > 0 && path != "/stats") {
      --g_fail.remaining;
      ++g_stats.failed;
      co_return co_await fail(parser, keep);
    }
    const auto method = req.method();
    if (path.starts_with("/control/")) {
      const bool fail = path.starts_with("/control/fail/");
      const bool health = path.starts_with("/control/health/");
      const auto code = to_u64(std::string_view(path).substr(fail ? 14 : 16));
      if ((!fail && !health) || !code || (*code != 0 && (*code < 200 || *code > 599)) || (health && *code == 0)) {
        co_await reply(400, "use /control/fail/N (N 0 or 200-599) or /control/health/N (200-599)\n");
      } else {
        (fail ? g_fail_status : g_health_status) = static_cast<unsigned>(*code);
        co_await reply(200, "ok\n");
      }
      co_return keep;
    }
    if (g_fail_status != 0 && path != "/stats" && path != "/healthz") {
      co_await reply(g_fail_status, "failing on purpose\n");
      co_return keep;
    }
    if (method == http::verb::get && path == "/healthz") {
      const std::string body = g_health_status == 200 ? "ok\n" : "unhealthy on purpose\n";
      co_await reply(g_health_status, body);
      co_return keep;
    }
    if (method == http::verb::get && path == "/upgrade") {
      // 101 for the protocol asked (Upgrade), then a raw echo until EOF: a
      // stand-in for WebSocket that checks the proxy's tunnel byte for byte.
      const std::string protocol(req[http::field::upgrade]);
      if (protocol.empty()) {
        co_await reply(426, "send Upgrade\n");
        co_return keep;
      }
      const std::string head = "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: " + protocol +
                               "\r\nx-upgraded-by: test-upstream\r\n\r\n";
      co_await write(head);
      // Bytes that came with the request head are echoed first.
      if (buffer_.size() != 0) {
        co_await asio::async_write(socket_, buffer_.data(), use_awaitable);
        buffer_.consume(buffer_.size());
      }
      std::array<char, 16384> buf{};
      for (;;) {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf), as_tuple_awaitable);
        if (n != 0) co_await asio::async_write(socket_, asio::buffer(buf.data(), n), use_awaitable);
        if (ec) break;
      }
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      co_return false;
    } else if (method == http::verb::get && path.starts_with("/bytes/")) {
      auto n = to_u64(std::string_view(path).substr(7));
      if (!n) {
        co_await reply(400, "bad length\n");
      } else {
        co_await send_bytes(*n, query_param(target, "pace_ms").value_or(0));
      }
    } else if (method == http::verb::post && path == "/echo") {
      co_await echo(parser);
    } else if (method == http::verb::post && path == "/sha256") {
      Sha256 sha;
      std::uint64_t total = 0;
      while (!parser.is_done()) {
        const std::size_t n = co_await read_body(parser);
        sha.update(chunk_.data(), n);
        total += n;
      }
      const std::string hex = sha.hex();
      co_await write(sha256_response(hex, total));
    } else if (method == http::verb::get && path == "/conn") {
      co_await reply(200, std::to_string(serial_) + "\n");
    } else if (method == http::verb::get && path == "/headers") {
      nlohmann::json j;
      j["method"] = std::string(req.method_string());
      j["target"] = target;
      j["version"] = req.version();
      j["headers"] = nlohmann::json::array();
      for (const auto& f : req) {
        j["headers"].push_back({std::string(f.name_string()), std::string(f.value())});
      }
      co_await reply(200, j.dump() + "\n", "application/json");
    } else if (method == http::verb::get && path == "/slow") {
      const auto ms = query_param(target, "ms").value_or(1000);
      ++g_stats.inflight;
      asio::steady_timer timer(socket_.get_executor(), std::chrono::milliseconds(ms));
      co_await timer.async_wait(as_tuple_awaitable);
      --g_stats.inflight;
      co_await reply(200, "slept " + std::to_string(ms) + "\n");
    } else if (method == http::verb::get && path == "/abort") {
      const auto after = query_param(target, "after").value_or(0);
      co_await write(octet_head("Content-Length", std::to_string(after + (1U << 20U))));
      co_await stream_pattern(after);
      co_await wait_sent();
      reset();
      co_return false;
    } else if (path == "/reset") {
      reset();
      co_return false;
    } else if (path.starts_with("/status/")) {
      auto code = to_u64(std::string_view(path).substr(8));
      if (!code || *code < 200 || *code > 599) {
        co_await reply(400, "bad status\n");
      } else {
        co_await reply(static_cast<unsigned>(*code), "status " + std::to_string(*code) + "\n");
      }
    } else if (method == http::verb::get && path == "/seen") {
      seen_.reset();
      const std::string seen = g_seen.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      co_await reply(200, seen, "application/json");
    } else if (method == http::verb::get && path == "/stats") {
      nlohmann::json j{{"connections", g_stats.connections},
                       {"requests", g_stats.requests},
                       {"inflight", g_stats.inflight},
                       {"failed", g_stats.failed}};
      co_await reply(200, j.dump() + "\n", "application/json");
    } else {
      co_await reply(404, "no such endpoint: " + path + "\n");
    }
    co_return keep;
  }

  // A failure on purpose (--fail-with), after the whole request body was read.
  awaitable<bool> fail(Parser& parser, bool keep) {
    while (!parser.is_done()) co_await read_body(parser);
    if (g_fail.with == "reset") {
      reset();
      co_return false;
    }
    if (g_fail.with == "hang") {
      // Until the peer closes (or sends anything more).
      std::array<char, 1> byte{};
      co_await socket_.async_read_some(asio::buffer(byte), as_tuple_awaitable);
      co_return false;
    }
    if (g_fail.with.starts_with("grpc-")) {
      const std::string response =
          "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: " + g_fail.with.substr(5) +
          "\r\ngrpc-message: failed on purpose\r\ncontent-length: 0\r\n\r\n";
      co_await write(response);
      co_return keep;
    }
    const std::string response = simple_response(static_cast<unsigned>(std::stoul(g_fail.with)), "failed on purpose\n",
                                                 "text/plain");
    co_await write(response);
    co_return keep;
  }

  // pace_ms: pause between 256 KiB chunks (a slow origin, independent of the client).
  awaitable<void> stream_pattern(std::uint64_t n, std::uint64_t pace_ms = 0) {
    std::vector<std::uint8_t> buf(kChunk);
    asio::steady_timer timer(socket_.get_executor());
    for (std::uint64_t off = 0; off < n;) {
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, n - off));
      aegis::itest::fill_pattern(off, std::span(buf.data(), len));
      co_await asio::async_write(socket_, asio::buffer(buf.data(), len), use_awaitable);
      off += len;
      if (pace_ms > 0 && off < n) {
        timer.expires_after(std::chrono::milliseconds(pace_ms));
        co_await timer.async_wait(as_tuple_awaitable);
      }
    }
  }

  awaitable<void> send_bytes(std::uint64_t n, std::uint64_t pace_ms) {
    const std::string response_head = octet_head("Content-Length", std::to_string(n), pattern_sha256(n));
    co_await write(response_head);
    co_await stream_pattern(n, pace_ms);
  }

  // Streams the body back as it arrives: same length framing when the request
  // had a Content-Length, chunked otherwise.
  awaitable<void> echo(Parser& parser) {
    const auto length = parser.content_length();
    // A named local, not a ?: temporary: GCC 12 destroys such temporaries
    // twice inside co_await expressions.
    const std::string response_head = length ? octet_head("Content-Length", std::to_string(*length))
                                             : octet_head("Transfer-Encoding", "chunked");
    co_await write(response_head);
    while (!parser.is_done()) {
      const std::size_t n = co_await read_body(parser);
      if (n == 0) continue;
      if (length) {
        co_await asio::async_write(socket_, asio::buffer(chunk_.data(), n), use_awaitable);
      } else {
        const std::string size_line = chunk_size_line(n);
        co_await asio::async_write(socket_, asio::buffer(size_line), use_awaitable);
        co_await asio::async_write(socket_, asio::buffer(chunk_.data(), n), use_awaitable);
        co_await asio::async_write(socket_, asio::buffer(kCrlf), use_awaitable);
      }
    }
    if (!length) co_await write("0\r\n\r\n");
  }

  // Waits (bounded) until the peer has acknowledged everything written, plus
  // a moment for it to read: an RST discards unsent data, and the test wants
  // exactly N bytes delivered before the reset.
  awaitable<void> wait_sent() {
    asio::steady_timer timer(socket_.get_executor());
    for (int i = 0; i < 500; ++i) {
      int queued = 0;
      if (::ioctl(socket_.native_handle(), SIOCOUTQ, &queued) != 0 || queued == 0) break;
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(as_tuple_awaitable);
    }
    timer.expires_after(std::chrono::milliseconds(200));
    co_await timer.async_wait(as_tuple_awaitable);
  }

  // Close with RST (SO_LINGER 0) so the proxy sees a reset, not a clean EOF.
  void reset() {
    boost::system::error_code ec;
    socket_.set_option(asio::socket_base::linger(true, 0), ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  std::uint64_t serial_;
  std::optional<std::size_t> seen_;  // this request's entry in g_seen
  beast::flat_buffer buffer_;
  std::vector<char> chunk_ = std::vector<char>(kChunk);
};

awaitable<void> tcp_session(tcp::socket socket, std::uint64_t serial) {
  try {
    const std::string hello = "HELLO " + std::to_string(serial) + "\n";
    co_await asio::async_write(socket, asio::buffer(hello), use_awaitable);
    Sha256 sha;
    std::uint64_t total = 0;
    std::vector<char> buf(kChunk);
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), as_tuple_awaitable);
      sha.update(buf.data(), n);
      total += n;
      if (ec == asio::error::eof) break;
      if (ec) co_return;
    }
    const std::string answer = sha.hex() + " " + std::to_string(total) + "\n";
    co_await asio::async_write(socket, asio::buffer(answer), use_awaitable);
    socket.shutdown(tcp::socket::shutdown_send);
  } catch (const std::exception&) {
  }
}

awaitable<void> accept_loop(tcp::acceptor acceptor, bool tcp_mode) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(as_tuple_awaitable);
    if (ec) continue;
    const std::uint64_t serial = ++g_stats.connections;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto executor = acceptor.get_executor();
    if (tcp_mode) {
      asio::co_spawn(executor, tcp_session(std::move(socket), serial), asio::detached);
    } else {
      auto session = std::make_shared<Session>(std::move(socket), serial);
      asio::co_spawn(executor, [session]() -> awaitable<void> { co_await session->run(); },
                     asio::detached);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  bool tcp_mode = false;
  const std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port" && i + 1 < args.size()) {
      port = static_cast<std::uint16_t>(std::stoul(args[++i]));
    } else if (args[i] == "--address" && i + 1 < args.size()) {
      address = args[++i];
    } else if (args[i] == "--tcp") {
      tcp_mode = true;
    } else if (args[i] == "--delay-ms" && i + 1 < args.size()) {
      g_delay = std::chrono::milliseconds(std::stoul(args[++i]));
    } else if (args[i] == "--fail-first" && i + 1 < args.size()) {
      ++i;
      g_fail.remaining = args[i] == "all" ? UINT64_MAX : std::stoull(args[i]);
    } else if (args[i] == "--fail-with" && i + 1 < args.size()) {
      g_fail.with = args[++i];
    } else {
      std::cerr << "usage: aegis-test-upstream --port P [--address A] [--tcp] [--delay-ms D] [--fail-first N|all [--fail-with W]]\n";
      return 2;
    }
  }
  try {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    const tcp::endpoint ep(asio::ip::make_address(address), port);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::cout << "listening " << address << ":" << acceptor.local_endpoint().port() << std::endl;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });
    asio::co_spawn(io, accept_loop(std::move(acceptor), tcp_mode), asio::detached);
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "aegis-test-upstream: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
