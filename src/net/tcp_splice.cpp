#include "net/tcp_splice.h"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace aegis::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

constexpr std::size_t kBufferBytes = std::size_t{16} * 1024;
constexpr auto kNoThrow = core::kAwait;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, core::Executor>;

// Shared by the two relay directions and the idle watchdog; lives in the
// frame of splice(), which outlives all three.
struct SpliceState {
  SpliceState(Stream& down, Stream& up) : a(down), b(up) {}

  Stream& a;
  Stream& b;
  Clock::time_point last_activity = Clock::now();
  bool finished = false;  // sockets were closed here; pending ops abort with no news
  SpliceResult result;

  // First failure wins; later ones are consequences of closing the sockets.
  void fail(std::string_view what, const Stream& side, const error_code& ec) {
    if (finished) return;
    result.error = std::string(what) + (&side == &a ? " downstream: " : " upstream: ") + ec.message();
    finished = true;
    abort(a);
    abort(b);
  }

  void time_out() {
    if (finished) return;
    result.idle_timeout = true;
    finished = true;
    a.close();
    b.close();
  }

  static void abort(Stream& s) {
    error_code ignored;
    s.socket().set_option(asio::socket_base::linger(true, 0), ignored);  // close sends RST
    s.socket().close(ignored);
  }
};

core::Task<void> relay(SpliceState& st, Stream& from, Stream& to,
                            std::uint64_t& moved) {
  std::array<char, kBufferBytes> buf;  // in the coroutine frame: no per-read allocation
  for (;;) {
    const auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), kNoThrow);
    if (st.finished) co_return;
    if (rec == asio::error::eof) {
      to.shutdown_send();  // `to` may already be gone; the other direction will notice
      co_return;
    }
    if (rec) {
      st.fail("read from", from, rec);
      co_return;
    }
    st.last_activity = Clock::now();

    const auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kNoThrow);
    if (st.finished) co_return;
    moved += written;
    if (wec) {
      st.fail("write to", to, wec);
      co_return;
    }
    st.last_activity = Clock::now();
  }
}

// Wakes when the idle period since the last activity could have elapsed; the
// relays only stamp a time, so no timer is re-armed per read or write.
core::Task<void> idle_watchdog(SpliceState& st, std::chrono::milliseconds idle) {
  Timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_at(st.last_activity + idle);
    const auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec || st.finished) co_return;  // cancelled: both directions are done
    if (Clock::now() - st.last_activity >= idle) {
      st.time_out();
      co_return;
    }
  }
}

}  // namespace

core::Task<SpliceResult> splice(Stream& a, Stream& b, std::chrono::milliseconds idle_timeout) {
  using namespace asio::experimental::awaitable_operators;
  SpliceState st(a, b);
  auto both_ways = relay(st, a, b, st.result.bytes_down_to_up) &&
                   relay(st, b, a, st.result.bytes_up_to_down);
  if (idle_timeout > std::chrono::milliseconds::zero()) {
    co_await (std::move(both_ways) || idle_watchdog(st, idle_timeout));
  } else {
    co_await std::move(both_ways);
  }
  co_return std::move(st.result);
}

}  // namespace aegis::net
