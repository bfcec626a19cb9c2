#include "net/tcp_splice.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace aegis::net {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Deterministic byte stream, so both ends can agree on content without sharing it.
class Pattern {
 public:
  explicit Pattern(std::uint64_t seed) : x_(seed | 1) {}
  void fill(std::vector<char>& out) {
    for (char& c : out) {
      x_ ^= x_ << 13;
      x_ ^= x_ >> 7;
      x_ ^= x_ << 17;
      c = static_cast<char>(x_ >> 56);
    }
  }

 private:
  std::uint64_t x_;
};

struct Digest {
  std::uint64_t bytes = 0;
  std::uint64_t fnv = 0xcbf29ce484222325ULL;
  void add(const char* p, std::size_t n) {
    bytes += n;
    for (std::size_t i = 0; i < n; ++i) {
      fnv ^= static_cast<unsigned char>(p[i]);
      fnv *= 0x100000001b3ULL;
    }
  }
  bool operator==(const Digest&) const = default;
};

Digest expected_digest(std::uint64_t seed, std::size_t total, std::size_t chunk) {
  Pattern p(seed);
  Digest d;
  std::vector<char> buf;
  for (std::size_t sent = 0; sent < total; sent += buf.size()) {
    buf.resize(std::min(chunk, total - sent));
    p.fill(buf);
    d.add(buf.data(), buf.size());
  }
  return d;
}

awaitable<void> send_pattern(tcp::socket& s, std::uint64_t seed, std::size_t total,
                             std::size_t chunk, bool shutdown_after) {
  Pattern p(seed);
  std::vector<char> buf;
  for (std::size_t sent = 0; sent < total; sent += buf.size()) {
    buf.resize(std::min(chunk, total - sent));
    p.fill(buf);
    co_await asio::async_write(s, asio::buffer(buf), asio::use_awaitable);
  }
  if (shutdown_after) s.shutdown(tcp::socket::shutdown_send);
}

struct Received {
  Digest digest;
  error_code ec;  // why reading stopped: eof on a clean close
};

awaitable<Received> receive_all(tcp::socket& s) {
  Received r;
  std::vector<char> buf(9'000);
  for (;;) {
    const auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    r.digest.add(buf.data(), n);
    if (ec) {
      r.ec = ec;
      co_return r;
    }
  }
}

awaitable<std::string> read_until_eof(tcp::socket& s) {
  std::string out;
  const auto [ec, n] = co_await asio::async_read(s, asio::dynamic_buffer(out), kNoThrow);
  EXPECT_EQ(ec, asio::error::eof);
  co_return out;
}

awaitable<void> echo_until_eof(tcp::socket& s) {
  std::vector<char> buf(12'345);
  for (;;) {
    const auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec == asio::error::eof) break;
    if (ec) throw boost::system::system_error(ec);
    co_await asio::async_write(s, asio::buffer(buf.data(), n), asio::use_awaitable);
  }
  s.shutdown(tcp::socket::shutdown_send);
}

void reset(tcp::socket& s) {
  s.set_option(asio::socket_base::linger(true, 0));
  s.close();
}

// Peer scripts. Free functions, not capturing lambdas: a coroutine's parameters
// are copied into its frame, a temporary lambda's captures are not.
awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

awaitable<void> write_then_fin(tcp::socket& s, std::string data, std::chrono::milliseconds delay) {
  if (delay > 0ms) co_await sleep_for(delay);
  co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
  s.shutdown(tcp::socket::shutdown_send);
}

awaitable<void> write_only(tcp::socket& s, std::string data) {
  co_await asio::async_write(s, asio::buffer(data), asio::use_awaitable);
}

// Reads the request to EOF, and only then replies and sends FIN.
awaitable<void> reply_after_eof(tcp::socket& s, std::optional<std::string>& request, std::string reply) {
  request = co_await read_until_eof(s);
  co_await asio::async_write(s, asio::buffer(reply), asio::use_awaitable);
  s.shutdown(tcp::socket::shutdown_send);
}

awaitable<void> read_then_reset(tcp::socket& s, std::size_t n) {
  std::vector<char> buf(n);
  co_await asio::async_read(s, asio::buffer(buf), asio::use_awaitable);
  reset(s);
}

awaitable<void> sleep_then_reset(tcp::socket& s, std::chrono::milliseconds d) {
  co_await sleep_for(d);
  reset(s);
}

awaitable<void> trickle(tcp::socket& s, int bytes, std::chrono::milliseconds interval) {
  for (int i = 0; i < bytes; ++i) {
    co_await sleep_for(interval);
    co_await asio::async_write(s, asio::buffer("x", 1), asio::use_awaitable);
  }
}

// client <-> a == splice == b <-> server, all on 127.0.0.1.
class SpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    acceptor.accept(a_.socket());
    b_.socket().connect(acceptor.local_endpoint());
    acceptor.accept(server_);
  }

  void start_splice(std::chrono::milliseconds idle) {
    asio::co_spawn(io_, splice(a_, b_, idle), [this](std::exception_ptr e, SpliceResult r) {
      EXPECT_FALSE(e) << "splice threw";
      result_ = std::move(r);
      splice_done_at_ = std::chrono::steady_clock::now();
    });
  }

  template <typename T>
  void spawn(awaitable<T> task, std::optional<T>* out = nullptr) {
    ++pending_;
    asio::co_spawn(io_, std::move(task), [this, out](std::exception_ptr e, auto... value) {
      --pending_;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          ADD_FAILURE() << "peer task threw: " << ex.what();
        }
      }
      if constexpr (sizeof...(value) == 1) {
        if (out != nullptr) out->emplace(std::move(value)...);
      }
    });
  }

  void spawn(awaitable<void> task) {
    ++pending_;
    asio::co_spawn(io_, std::move(task), [this](std::exception_ptr e) {
      --pending_;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          ADD_FAILURE() << "peer task threw: " << ex.what();
        }
      }
    });
  }

  // Runs until the splice and every spawned peer task finished (or 30 s passed).
  void run() {
    started_at_ = std::chrono::steady_clock::now();
    io_.run_for(30s);
    ASSERT_TRUE(result_.has_value()) << "splice did not finish";
    ASSERT_EQ(pending_, 0) << "peer tasks did not finish";
  }

  std::chrono::milliseconds splice_elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(splice_done_at_ - started_at_);
  }

  asio::io_context io_;
  tcp::socket client_{io_};
  Stream a_{core::Socket(io_.get_executor())}, b_{core::Socket(io_.get_executor())};
  tcp::socket server_{io_};
  std::optional<SpliceResult> result_;
  int pending_ = 0;
  std::chrono::steady_clock::time_point started_at_, splice_done_at_;
};

TEST_F(SpliceTest, BothWaysAtOnceSeveralMegabytesChecksummed) {
  constexpr std::size_t kUp = 8 * 1024 * 1024 + 17;
  constexpr std::size_t kDown = 5 * 1024 * 1024 + 3;
  std::optional<Received> at_server, at_client;
  start_splice(10s);
  spawn(send_pattern(client_, 1, kUp, 70'001, true));
  spawn(send_pattern(server_, 2, kDown, 4'093, true));
  spawn(receive_all(server_), &at_server);
  spawn(receive_all(client_), &at_client);
  run();

  ASSERT_TRUE(at_server && at_client);
  EXPECT_EQ(at_server->digest, expected_digest(1, kUp, 70'001));
  EXPECT_EQ(at_server->ec, asio::error::eof);
  EXPECT_EQ(at_client->digest, expected_digest(2, kDown, 4'093));
  EXPECT_EQ(at_client->ec, asio::error::eof);
  EXPECT_EQ(result_->bytes_down_to_up, kUp);
  EXPECT_EQ(result_->bytes_up_to_down, kDown);
  EXPECT_FALSE(result_->idle_timeout);
  EXPECT_EQ(result_->error, "");
}

TEST_F(SpliceTest, EchoSeveralMegabytes) {
  constexpr std::size_t kBytes = 6 * 1024 * 1024;
  std::optional<Received> echoed;
  start_splice(0ms);
  spawn(echo_until_eof(server_));
  spawn(send_pattern(client_, 3, kBytes, 65'536, true));
  spawn(receive_all(client_), &echoed);
  run();

  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->digest, expected_digest(3, kBytes, 65'536));
  EXPECT_EQ(echoed->ec, asio::error::eof);
  EXPECT_EQ(result_->bytes_down_to_up, kBytes);
  EXPECT_EQ(result_->bytes_up_to_down, kBytes);
  EXPECT_EQ(result_->error, "");
}

TEST_F(SpliceTest, HalfCloseKeepsTheOtherDirectionFlowing) {
  std::optional<std::string> request, reply;
  constexpr std::size_t kReply = 1024 * 1024;
  start_splice(5s);
  spawn(write_then_fin(client_, "request", 0ms));
  spawn(read_until_eof(client_), &reply);
  spawn(reply_after_eof(server_, request, std::string(kReply, 'r')));
  run();

  EXPECT_EQ(request, "request");
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->size(), kReply);
  EXPECT_EQ(result_->bytes_down_to_up, 7u);
  EXPECT_EQ(result_->bytes_up_to_down, kReply);
  EXPECT_FALSE(result_->idle_timeout);
  EXPECT_EQ(result_->error, "");
}

TEST_F(SpliceTest, UpstreamResetPropagatesDownstream) {
  std::optional<Received> at_client;
  start_splice(5s);
  spawn(write_only(client_, "hello"));
  spawn(receive_all(client_), &at_client);
  spawn(read_then_reset(server_, 5));
  run();

  EXPECT_NE(result_->error.find("upstream"), std::string::npos) << result_->error;
  EXPECT_FALSE(result_->idle_timeout);
  EXPECT_EQ(result_->bytes_down_to_up, 5u);
  ASSERT_TRUE(at_client);
  EXPECT_EQ(at_client->ec, asio::error::connection_reset) << at_client->ec.message();
  EXPECT_FALSE(a_.is_open());
  EXPECT_FALSE(b_.is_open());
}

TEST_F(SpliceTest, DownstreamResetPropagatesUpstream) {
  std::optional<Received> at_server;
  start_splice(0ms);
  spawn(receive_all(server_), &at_server);
  spawn(sleep_then_reset(client_, 50ms));
  run();

  EXPECT_NE(result_->error.find("downstream"), std::string::npos) << result_->error;
  ASSERT_TRUE(at_server);
  EXPECT_EQ(at_server->ec, asio::error::connection_reset) << at_server->ec.message();
}

TEST_F(SpliceTest, IdleTimeoutClosesBoth) {
  std::optional<Received> at_client, at_server;
  start_splice(200ms);
  spawn(receive_all(client_), &at_client);
  spawn(receive_all(server_), &at_server);
  run();

  EXPECT_TRUE(result_->idle_timeout);
  EXPECT_EQ(result_->error, "");
  EXPECT_GE(splice_elapsed(), 200ms);
  EXPECT_LT(splice_elapsed(), 5s);
  // Closed with FIN, not reset: an idle timeout is an orderly end.
  EXPECT_EQ(at_client->ec, asio::error::eof);
  EXPECT_EQ(at_server->ec, asio::error::eof);
}

TEST_F(SpliceTest, ActivityDefersIdleTimeout) {
  std::optional<Received> at_server, at_client;
  start_splice(300ms);
  spawn(trickle(client_, 10, 100ms));  // a byte every 100 ms for ~1 s, then silence
  spawn(receive_all(server_), &at_server);
  spawn(receive_all(client_), &at_client);
  run();

  EXPECT_TRUE(result_->idle_timeout);
  EXPECT_EQ(result_->bytes_down_to_up, 10u);
  EXPECT_EQ(at_server->digest.bytes, 10u);
  EXPECT_GE(splice_elapsed(), 1300ms);
}

TEST_F(SpliceTest, ZeroIdleTimeoutNeverFires) {
  std::optional<std::string> reply;
  start_splice(0ms);
  std::optional<std::string> request;
  // 400 ms of silence (would trip any short timeout), then an orderly exchange.
  spawn(write_then_fin(client_, "", 400ms));
  spawn(reply_after_eof(server_, request, "bye"));
  spawn(read_until_eof(client_), &reply);
  run();

  EXPECT_FALSE(result_->idle_timeout);
  EXPECT_EQ(result_->error, "");
  EXPECT_EQ(reply, "bye");
  EXPECT_GE(splice_elapsed(), 400ms);
}

}  // namespace
}  // namespace aegis::net
