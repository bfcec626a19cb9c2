// http::h2::Connection as client and server over a real loopback socket
// pair: heads, bodies both ways at once, trailers, many streams on one
// connection, flow control that stops a sender whose reader does not read,
// RST_STREAM, and a graceful GOAWAY.
#include "http/h2_connection.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <csignal>
#include <functional>
#include <optional>
#include <string>

namespace aegis::http::h2 {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string pattern(std::size_t n, std::size_t seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
  return s;
}

class H2ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    core::Socket a(io_.get_executor()), b(io_.get_executor());
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
    client_io_.emplace(std::move(a));
    server_io_.emplace(std::move(b));
  }

  // Starts both connections; `serve` handles each request stream.
  void start(std::function<core::Task<void>(std::shared_ptr<H2Stream>)> serve, Settings server_settings = {}) {
    Connection::Callbacks scb;
    scb.on_request = [this, serve](std::shared_ptr<H2Stream> s) {
      asio::co_spawn(io_.get_executor(), serve(std::move(s)), asio::detached);
    };
    scb.on_flood = [this](FloodKind k) { flood_ = k; };
    server_.emplace(*server_io_, Role::kServer, server_settings, scb);
    client_.emplace(*client_io_, Role::kClient, Settings{}, Connection::Callbacks{});
    asio::co_spawn(io_.get_executor(), run_and_mark(*server_, server_done_), asio::detached);
    asio::co_spawn(io_.get_executor(), run_and_mark(*client_, client_done_), asio::detached);
  }

  static core::Task<void> run_and_mark(Connection& c, bool& done) {
    co_await c.run();
    done = true;
  }

  // Runs the loop until `pred` holds (bounded: 20 s).
  bool run_until(const std::function<bool()>& pred) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < limit) {
      io_.run_for(std::chrono::milliseconds(10));
      if (io_.stopped()) io_.restart();
    }
    return pred();
  }

  // Client side of one exchange: sends `body` (streamed), reads the whole response.
  struct Result {
    bool done = false;
    Fields head, trailers;
    std::string body;
    bool reset = false;
  };
  core::Task<void> send(std::shared_ptr<H2Stream> s, std::string body, std::size_t piece) {
    for (std::size_t off = 0; off < body.size(); off += piece) {
      const auto chunk = std::string_view(body).substr(off, piece);
      if (!co_await s->write(chunk)) co_return;
    }
    s->finish();
  }
  core::Task<void> receive(std::shared_ptr<H2Stream> s, Result& r) {
    if (co_await s->wait_head()) {
      r.head = s->head();
      for (;;) {
        auto p = co_await s->read();
        if (p.reset) {
          r.reset = true;
          break;
        }
        r.body += p.data;
        s->consume(p.data.size());
        if (p.end) {
          r.trailers = s->trailers();
          break;
        }
      }
    } else {
      r.reset = true;
    }
    r.done = true;
  }
  std::shared_ptr<H2Stream> request(Result& r, const std::string& body, std::string path = "/echo") {
    const Fields head{{":method", "POST"}, {":scheme", "http"}, {":authority", "test"}, {":path", path}};
    auto s = client_->submit_request(head, body.empty());
    if (!s) return s;
    if (!body.empty()) asio::co_spawn(io_.get_executor(), send(s, body, 10'000), asio::detached);
    asio::co_spawn(io_.get_executor(), receive(s, r), asio::detached);
    return s;
  }

  // Server: echoes the request body, then trailers.
  static core::Task<void> echo(std::shared_ptr<H2Stream> s) {
    const Fields head{{":status", "200"}, {"x-path", std::string(find_field(s->head(), ":path").value_or(""))}};
    s->respond(head, false);
    for (;;) {
      auto p = co_await s->read();
      if (p.reset) co_return;
      if (!p.data.empty() && !co_await s->write(p.data)) co_return;
      s->consume(p.data.size());
      if (p.end) break;
    }
    s->finish({{"x-checksum", "ok"}});
  }

  asio::io_context io_;
  std::optional<net::Stream> client_io_, server_io_;
  std::optional<Connection> server_, client_;
  bool server_done_ = false, client_done_ = false;
  std::optional<FloodKind> flood_;
};

TEST_F(H2ConnectionTest, EchoesALargeBodyWithTrailers) {
  start(echo);
  Result r;
  const auto body = pattern(3 * 1024 * 1024 + 17);
  ASSERT_TRUE(request(r, body));
  ASSERT_TRUE(run_until([&] { return r.done; }));
  EXPECT_FALSE(r.reset);
  EXPECT_EQ(find_field(r.head, ":status"), "200");
  EXPECT_EQ(find_field(r.head, "x-path"), "/echo");
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  EXPECT_EQ(find_field(r.trailers, "x-checksum"), "ok");
}

TEST_F(H2ConnectionTest, ManyConcurrentStreamsOnOneConnection) {
  start(echo);
  constexpr int kStreams = 64;
  std::vector<Result> results(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    // The client honours the server's max_concurrent_streams (100).
    ASSERT_TRUE(request(results[i], pattern(50'000 + i, i), "/s" + std::to_string(i))) << i;
  }
  ASSERT_TRUE(run_until([&] {
    return std::all_of(results.begin(), results.end(), [](const Result& r) { return r.done; });
  }));
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_FALSE(results[i].reset) << i;
    EXPECT_TRUE(results[i].body == pattern(50'000 + i, i)) << i;
    EXPECT_EQ(find_field(results[i].head, "x-path"), "/s" + std::to_string(i));
  }
}

TEST_F(H2ConnectionTest, ASenderStopsAtTheWindowOfAReaderThatDoesNotRead) {
  std::shared_ptr<H2Stream> served;
  Settings s;
  s.initial_stream_window_size = 64 * 1024;
  start([&](std::shared_ptr<H2Stream> st) -> core::Task<void> {
    served = st;  // holds the stream, reads nothing
    co_return;
  }, s);
  Result r;
  const auto body = pattern(8 * 1024 * 1024);
  auto cs = request(r, body);
  ASSERT_TRUE(cs);
  ASSERT_TRUE(run_until([&] { return served && served->unconsumed() >= 64 * 1024; }));
  // Give the sender time to push more if flow control did not hold it.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  run_until([&] { return std::chrono::steady_clock::now() > until; });
  EXPECT_EQ(served->unconsumed(), 64u * 1024);  // exactly the window, nothing more buffered
  EXPECT_FALSE(r.done);
  // Now the reader drains it: everything arrives.
  std::size_t got = 0;
  bool finished = false;
  asio::co_spawn(io_.get_executor(), [&]() -> core::Task<void> {
    for (;;) {
      auto p = co_await served->read();
      if (p.reset) break;
      got += p.data.size();
      served->consume(p.data.size());
      if (p.end) break;
    }
    served->respond({{":status", "204"}}, true);
    finished = true;
  }, asio::detached);
  ASSERT_TRUE(run_until([&] { return finished && r.done; }));
  EXPECT_EQ(got, body.size());
  EXPECT_EQ(find_field(r.head, ":status"), "204");
}

TEST_F(H2ConnectionTest, AResetReachesTheOtherSideAndOnlyThatStream) {
  std::vector<std::shared_ptr<H2Stream>> served;
  std::optional<H2Stream::Piece> after_reset;
  start([&](std::shared_ptr<H2Stream> st) -> core::Task<void> {
    served.push_back(st);
    if (find_field(st->head(), ":path") == "/reset-me") {
      after_reset = co_await st->read();
      co_return;
    }
    co_await echo(st);
  });
  Result doomed, fine;
  // A request whose body never comes: the server waits in read().
  const Fields head{{":method", "POST"}, {":scheme", "http"}, {":authority", "test"}, {":path", "/reset-me"}};
  auto d = client_->submit_request(head, /*end_stream=*/false);
  ASSERT_TRUE(d);
  asio::co_spawn(io_.get_executor(), receive(d, doomed), asio::detached);
  ASSERT_TRUE(run_until([&] { return served.size() == 1; }));
  d->reset(NGHTTP2_CANCEL);
  ASSERT_TRUE(request(fine, pattern(100'000)));
  ASSERT_TRUE(run_until([&] { return after_reset && fine.done && doomed.done; }));
  EXPECT_TRUE(after_reset->reset);
  EXPECT_EQ(served[0]->error_code(), static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_TRUE(doomed.reset);
  EXPECT_FALSE(fine.reset);
  EXPECT_TRUE(fine.body == pattern(100'000));
}

TEST_F(H2ConnectionTest, GracefulShutdownFinishesOpenStreamsThenEnds) {
  std::shared_ptr<H2Stream> held;
  start([&](std::shared_ptr<H2Stream> st) -> core::Task<void> {
    held = st;
    co_return;
  });
  Result r;
  ASSERT_TRUE(request(r, ""));
  ASSERT_TRUE(run_until([&] { return held != nullptr; }));
  server_->shutdown();
  // The GOAWAY reaches the client: no new requests there.
  ASSERT_TRUE(run_until([&] { return !client_->can_submit(); }));
  EXPECT_FALSE(server_done_);
  held->respond({{":status", "200"}}, false);
  asio::co_spawn(io_.get_executor(), [&]() -> core::Task<void> {
    co_await held->write("bye");
    held->finish();
  }, asio::detached);
  ASSERT_TRUE(run_until([&] { return r.done && server_done_; }));
  EXPECT_EQ(r.body, "bye");
  EXPECT_FALSE(r.reset);
}

TEST_F(H2ConnectionTest, AHeadOverTheListSizeLimitIsFlagged) {
  std::shared_ptr<H2Stream> seen;
  Settings s;
  s.max_header_list_size = 4096;
  start([&](std::shared_ptr<H2Stream> st) -> core::Task<void> {
    seen = st;
    st->respond({{":status", "431"}}, true);
    co_return;
  }, s);
  Result r;
  Fields head{{":method", "GET"}, {":scheme", "http"}, {":authority", "test"}, {":path", "/"}};
  head.push_back({"x-big", std::string(5000, 'x')});
  auto st = client_->submit_request(head, true);
  ASSERT_TRUE(st);
  asio::co_spawn(io_.get_executor(), receive(st, r), asio::detached);
  ASSERT_TRUE(run_until([&] { return r.done; }));
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->head_too_large());
  EXPECT_EQ(find_field(r.head, ":status"), "431");
}

}  // namespace
}  // namespace aegis::http::h2
