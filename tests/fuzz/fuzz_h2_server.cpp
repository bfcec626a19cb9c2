// HTTP/2 frames through the project's codec in the server role
// (http::h2::Connection over net::Stream): the client preface, then the
// fuzz input as the client's bytes, fed through a socketpair (an in-kernel
// byte stream; nothing of the codec is replaced). Each request stream gets
// a handler like the proxy's: it waits for the head, answers 431 when the
// head broke max_header_list_size, reads (and consumes) the body, and then,
// as the first byte chooses, echoes it with trailers, answers without a
// body, or resets the stream. The connection runs until the client's bytes
// end and everything the server wrote was read back.
//
// Invariants: every head handed to a handler has its pseudo-headers first
// and no upper-case field name (nghttp2's validation), flow control owes
// what an open stream hands out (nothing once it closed), and the run ends.
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <csignal>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/h2_connection.h"

namespace {

namespace asio = boost::asio;
using namespace aegis;
using http::h2::Fields;
using http::h2::H2Stream;

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void check_head(const Fields& head) {
  bool regular_seen = false;
  for (const auto& f : head) {
    FUZZ_CHECK(!f.name.empty());
    const bool pseudo = f.name.front() == ':';
    FUZZ_CHECK(!(pseudo && regular_seen));
    regular_seen = regular_seen || !pseudo;
    for (const char c : f.name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
}

core::Task<void> serve(std::shared_ptr<H2Stream> s, std::uint8_t mode) {
  if (!co_await s->wait_head()) co_return;
  check_head(s->head());
  if (s->head_too_large()) {
    const Fields too_large{{":status", "431"}};
    s->respond(too_large, true);
    s->discard_body();
    co_return;
  }
  std::string body;
  for (;;) {
    auto p = co_await s->read();
    if (p.reset) co_return;
    body += p.data;
    // Open: what read() hands out is still owed to flow control. Closed
    // (e.g. the client's RST_STREAM(NO_ERROR) after a whole request): the
    // window already went back to the connection, the data stays readable.
    FUZZ_CHECK(s->closed() ? s->unconsumed() == 0 : s->unconsumed() >= p.data.size());
    s->consume(p.data.size());
    if (p.end) break;
    if ((mode & 3) == 2 && body.size() > 100) {
      s->reset(NGHTTP2_CANCEL);
      co_return;
    }
  }
  for (const auto& t : s->trailers()) FUZZ_CHECK(!t.name.empty());
  switch (mode & 3) {
    case 0: {
      const Fields head{{":status", "200"}, {"content-type", "application/octet-stream"}};
      s->respond(head, false);
      if (!co_await s->write(body)) co_return;
      s->finish({{"x-checksum", std::to_string(body.size())}});
      break;
    }
    case 1: {
      const Fields head{{":status", "204"}};
      s->respond(head, true);
      break;
    }
    default:
      s->reset(NGHTTP2_REFUSED_STREAM);
      break;
  }
}

core::Task<void> run_server(http::h2::Connection& conn, net::Stream& io, std::string preread) {
  co_await conn.run(std::move(preread));
  io.close();
}

// The client: writes its bytes and half-closes; reads (at the same time)
// until the server closes.
core::Task<void> client_write(core::Socket& sock, std::string_view bytes) {
  auto result = co_await asio::async_write(sock, asio::buffer(bytes.data(), bytes.size()), core::kAwait);
  (void)result;  // a server that closed early stops the write; nothing to do
  boost::system::error_code ec;
  sock.shutdown(asio::socket_base::shutdown_send, ec);
}
core::Task<void> client_read(core::Socket& sock, std::size_t& read_back) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), core::kAwait);
    read_back += n;
    if (rec) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool sigpipe_ignored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view frames(reinterpret_cast<const char*>(data + 1), size - 1);
  int fds[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  asio::io_context io;
  core::Socket server_sock(io.get_executor()), client_sock(io.get_executor());
  server_sock.assign(asio::ip::tcp::v4(), fds[0]);
  client_sock.assign(asio::ip::tcp::v4(), fds[1]);
  net::Stream server_io(std::move(server_sock));

  http::h2::Settings settings;  // the listener defaults, except where bit 2 asks for small limits
  if (mode & 4) {
    settings.max_concurrent_streams = 4;
    settings.initial_stream_window_size = 1024;
    settings.max_header_list_size = 512;
    settings.max_continuation_frames = 2;
  }
  http::h2::Connection::Callbacks callbacks;
  callbacks.on_request = [&io, mode](std::shared_ptr<H2Stream> s) {
    asio::co_spawn(io.get_executor(), serve(std::move(s), mode >> 3), asio::detached);
  };
  callbacks.on_flood = [](http::h2::FloodKind) {};
  callbacks.on_stream_error = [](std::string_view reason) { FUZZ_CHECK(!reason.empty()); };
  http::h2::Connection conn(server_io, http::h2::Role::kServer, settings, callbacks);

  // The preface arrives as the bytes read before the codec was chosen (as
  // h2c prior knowledge does); the frames come through the socket.
  std::size_t read_back = 0;
  asio::co_spawn(io.get_executor(), run_server(conn, server_io, std::string(kPreface)), asio::detached);
  asio::co_spawn(io.get_executor(), client_write(client_sock, frames), asio::detached);
  asio::co_spawn(io.get_executor(), client_read(client_sock, read_back), asio::detached);
  io.run();
  FUZZ_CHECK(read_back > 0);  // at least the server's SETTINGS went out
  return 0;
}
