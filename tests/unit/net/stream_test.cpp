// net::Stream over real loopback sockets: TLS both ways at once, half-close
// by close_notify, a peer that drops TCP without close_notify, a stale error
// in OpenSSL's per-thread queue, and a closed stream whose fd OpenSSL must
// never touch again.
#include "net/stream.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <csignal>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/certs.h"
#include "tls/openssl_info.h"
#include "tls/tls_context.h"

namespace aegis::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;
using tcp = asio::ip::tcp;

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // OpenSSL writes to the socket with write(2): like the proxy (cli.cpp),
    // a test must not die of SIGPIPE when the peer is gone.
    std::signal(SIGPIPE, SIG_IGN);
    tls::init_openssl();
    std::string tmpl = (fs::temp_directory_path() / "aegis-stream-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    tls::CaRequest ca;
    ca.trust_domain = "example.org";
    ca.key_type = tls::KeyType::ecdsa_p256;
    ca.out_dir = dir_ / "ca";
    auto c = tls::init_ca(ca);
    ASSERT_TRUE(c.ok());
    tls::LeafRequest leaf;
    leaf.ca_dir = dir_ / "ca";
    leaf.spiffe_id = "spiffe://example.org/ns/default/sa/server";
    leaf.key_type = tls::KeyType::ecdsa_p256;
    leaf.days = 2;
    leaf.out_dir = dir_ / "server";
    auto l = tls::issue_certificate(leaf);
    ASSERT_TRUE(l.ok());
    tls::TlsOptions s;
    s.cert_file = l->cert_file.string();
    s.key_file = l->key_file.string();
    auto server = tls::make_server_context(s);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ctx_ = std::move(*server);
    tls::TlsOptions cl;
    cl.trust_bundle = c->cert_file.string();
    auto client = tls::make_client_context(cl);
    ASSERT_TRUE(client.ok()) << client.error().message;
    client_ctx_ = std::move(*client);

    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    core::Socket a(io_.get_executor()), b(io_.get_executor());
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
    client_.emplace(std::move(a), client_ctx_.get(), /*server=*/false);
    server_.emplace(std::move(b), server_ctx_.get(), /*server=*/true);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void handshake_both() {
    std::optional<error_code> c, s;
    asio::co_spawn(io_, client_->handshake(), [&](std::exception_ptr, error_code ec) { c = ec; });
    asio::co_spawn(io_, server_->handshake(), [&](std::exception_ptr, error_code ec) { s = ec; });
    io_.run();
    io_.restart();
    ASSERT_TRUE(c && s);
    ASSERT_FALSE(*c) << c->message() << " " << client_->tls_error();
    ASSERT_FALSE(*s) << s->message() << " " << server_->tls_error();
  }

  // Reads until an error; returns the bytes and the error that ended it.
  static core::Task<std::pair<std::string, error_code>> read_all(Stream& s) {
    std::string got;
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), core::kAwait);
      got.append(buf, n);
      if (ec) co_return std::pair{got, ec};
    }
  }

  fs::path dir_;
  asio::io_context io_;
  tls::SslCtxPtr server_ctx_, client_ctx_;
  std::optional<Stream> client_, server_;
};

TEST_F(StreamTest, HalfCloseByCloseNotifyKeepsTheOtherDirectionOpen) {
  ASSERT_NO_FATAL_FAILURE(handshake_both());
  const std::string request(200'000, 'q');  // several TLS records
  std::optional<std::pair<std::string, error_code>> at_server, at_client;
  // Client: send, half-close, then read the reply to the end.
  asio::co_spawn(
      io_,
      [&]() -> core::Task<void> {
        auto [ec, n] = co_await asio::async_write(*client_, asio::buffer(request), core::kAwait);
        EXPECT_FALSE(ec);
        client_->shutdown_send();
        at_client = co_await read_all(*client_);
      },
      asio::detached);
  // Server: read to the client's close_notify, then answer (still allowed).
  asio::co_spawn(
      io_,
      [&]() -> core::Task<void> {
        at_server = co_await read_all(*server_);
        const std::string reply = "got " + std::to_string(at_server->first.size());
        auto [ec, n] = co_await asio::async_write(*server_, asio::buffer(reply), core::kAwait);
        EXPECT_FALSE(ec);
        server_->shutdown_send();
      },
      asio::detached);
  io_.run();
  ASSERT_TRUE(at_server && at_client);
  EXPECT_EQ(at_server->first, request);
  EXPECT_EQ(at_server->second, asio::error::eof) << at_server->second.message();
  EXPECT_EQ(at_client->first, "got 200000");
  EXPECT_EQ(at_client->second, asio::error::eof) << at_client->second.message();
}

TEST_F(StreamTest, TcpCloseWithoutCloseNotifyIsTruncation) {
  ASSERT_NO_FATAL_FAILURE(handshake_both());
  std::optional<std::pair<std::string, error_code>> at_server;
  asio::co_spawn(
      io_,
      [&]() -> core::Task<void> {
        const std::string data = "partial";
        auto [ec, n] = co_await asio::async_write(*client_, asio::buffer(data), core::kAwait);
        EXPECT_FALSE(ec);
        error_code ignored;
        // FIN without close_notify (shutdown, not close: closing with the
        // server's unread session tickets queued would send a reset).
        client_->socket().shutdown(core::Socket::shutdown_send, ignored);
      },
      asio::detached);
  asio::co_spawn(
      io_, [&]() -> core::Task<void> { at_server = co_await read_all(*server_); }, asio::detached);
  io_.run();
  ASSERT_TRUE(at_server);
  EXPECT_EQ(at_server->first, "partial");
  EXPECT_EQ(at_server->second, TlsErrc::kTruncated) << at_server->second.message();
}

TEST_F(StreamTest, AnErrorLeftInTheThreadsQueueDoesNotFailTheNextRead) {
  ASSERT_NO_FATAL_FAILURE(handshake_both());
  // Some earlier OpenSSL call on this thread failed and nobody drained the
  // queue. The server's read finds no record yet (SSL_ERROR_WANT_READ); had
  // the stale error stayed queued, SSL_get_error would report it
  // (SSL_ERROR_SSL) and the connection would break. tls_io clears the
  // queue first, but only when it holds something (it is costly: 32 frees).
  ERR_raise(ERR_LIB_SSL, SSL_R_BAD_LENGTH);
  ASSERT_NE(ERR_peek_error(), 0UL);
  std::optional<std::pair<std::string, error_code>> at_server;
  asio::co_spawn(
      io_, [&]() -> core::Task<void> { at_server = co_await read_all(*server_); }, asio::detached);
  asio::co_spawn(
      io_,
      [&]() -> core::Task<void> {
        const std::string data = "after a stale error";
        auto [ec, n] = co_await asio::async_write(*client_, asio::buffer(data), core::kAwait);
        EXPECT_FALSE(ec);
        client_->shutdown_send();
      },
      asio::detached);
  io_.run();
  ASSERT_TRUE(at_server);
  EXPECT_EQ(at_server->first, "after a stale error");
  EXPECT_EQ(at_server->second, asio::error::eof) << at_server->second.message() << " " << server_->tls_error();
  EXPECT_EQ(ERR_peek_error(), 0UL);
}

TEST_F(StreamTest, AClosedStreamFailsWithoutTouchingItsOldFd) {
  ASSERT_NO_FATAL_FAILURE(handshake_both());
  server_->close();
  // The fd number is free now; another socket may get it. The stream must
  // fail its operations instead of reading or writing that number.
  tcp::socket other(io_);
  other.open(tcp::v4());
  std::optional<error_code> read_ec, write_ec;
  asio::co_spawn(
      io_,
      [&]() -> core::Task<void> {
        char buf[16];
        auto [rec, rn] = co_await server_->async_read_some(asio::buffer(buf), core::kAwait);
        read_ec = rec;
        auto [wec, wn] = co_await server_->async_write_some(asio::buffer("x", 1), core::kAwait);
        write_ec = wec;
      },
      asio::detached);
  io_.run();
  ASSERT_TRUE(read_ec && write_ec);
  EXPECT_EQ(*read_ec, asio::error::bad_descriptor);
  EXPECT_EQ(*write_ec, asio::error::bad_descriptor);
}

}  // namespace
}  // namespace aegis::net
