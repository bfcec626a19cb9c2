// aegis-bench-loadgen's connections: schedule, HTTP/1.1 and HTTP/2 exchanges,
// timeouts. Everything of one connection runs on its worker's single thread.
#include "loadgen_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cmath>
#include <string_view>
#include <vector>

// GCC 12 reports a false -Wmismatched-new-delete on coroutine frames (as in
// src/proxy/tcp_session.cpp). Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::bench {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using core::kAwait;

namespace {

constexpr auto kLateAfter = std::chrono::milliseconds(1);
constexpr auto kReconnectPause = std::chrono::milliseconds(100);
constexpr auto kWatchdogPeriod = std::chrono::milliseconds(100);
constexpr uint32_t kMaxStreamsPerConnection = 1024;  // our own cap under the server's SETTINGS

uint64_t to_us(Clock::duration d) {
  return d.count() <= 0 ? 0 : static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // NO_COPY: the strings live in the Connection/RunPlan until the session is gone.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

// nghttp2's C callbacks forward to the Connection in the session's user data.
struct H2Callbacks {
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status" && v.size() == 3) {
      int status = 0;
      for (char c : v) status = status * 10 + (c >= '0' && c <= '9' ? c - '0' : 0);
      static_cast<Connection*>(user)->on_h2_status(frame->hd.stream_id, status);
    }
    return 0;
  }
  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    static_cast<Connection*>(user)->on_h2_stream_close(stream_id, error_code);
    return 0;
  }
};

NgSessionPtr new_client_session(Connection* conn) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return nullptr;
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::on_stream_close);
  nghttp2_session* s = nullptr;
  const int rv = nghttp2_session_client_new(&s, cbs, conn);
  nghttp2_session_callbacks_del(cbs);
  NgSessionPtr session(rv == 0 ? s : nullptr);
  return session;
}

}  // namespace

void WorkerStats::merge(const WorkerStats& o) {
  latency.merge(o.latency);
  requests += o.requests;
  completed_in_window += o.completed_in_window;
  sent += o.sent;
  late += o.late;
  unfinished += o.unfinished;
  err_connect += o.err_connect;
  err_status += o.err_status;
  err_reset += o.err_reset;
  err_timeout += o.err_timeout;
}

Connection::Connection(Worker& worker, unsigned global_index)
    : w_(worker),
      phase_(static_cast<double>(global_index) / static_cast<double>(worker.plan.connections)),
      wake_(worker.io.get_executor()),
      watch_(worker.io.get_executor()) {
  const auto& p = w_.plan;
  request_ = "GET " + p.path + " HTTP/1.1\r\nHost: " + p.authority + "\r\nUser-Agent: aegis-bench-loadgen\r\n\r\n";
}

void Connection::spawn() {
  auto ex = w_.io.get_executor();
  asio::co_spawn(ex, serve(), asio::detached);
  asio::co_spawn(ex, watchdog(), asio::detached);
}

Clock::time_point Connection::intended_time(uint64_t i) const {
  const double seconds = (phase_ + static_cast<double>(i)) / w_.plan.rate_per_connection;
  return w_.plan.start + std::chrono::nanoseconds(std::llround(seconds * 1e9));
}

// The schedule is pulled, not pushed: the connection takes the next request
// when it can send one, at once if it is already due (late), else after a
// timer set for its intended time. A busy connection arms no timer at all.
std::optional<Clock::time_point> Connection::take_due(Clock::time_point now) {
  const auto next = intended_time(next_index_);
  if (next > now || next >= w_.plan.end) return std::nullopt;
  ++next_index_;
  return next;
}

Clock::time_point Connection::next_due() const {
  const auto next = intended_time(next_index_);
  return next >= w_.plan.end ? Clock::time_point::max() : next;
}

core::Task<void> Connection::wait_wake(Clock::time_point deadline) {
  if (w_.stopped) co_return;
  wake_.expires_at(deadline);
  co_await wake_.async_wait(kAwait);  // wake() cancels it
}

core::Task<void> Connection::serve() {
  while (!w_.stopped) {
    const auto ec = co_await connect();
    if (w_.stopped) co_return;
    if (ec) {
      // A connect the watchdog gave up on counts once, as a timeout.
      if (!connect_timed_out_ && w_.in_window(Clock::now())) ++w_.stats.err_connect;
      connect_timed_out_ = false;
      stream_.reset();  // the schedule stays: its requests wait for the next connection
      Timer pause(w_.io.get_executor(), kReconnectPause);
      co_await pause.async_wait(kAwait);
      continue;
    }
    if (w_.plan.http2) {
      co_await exchange_h2();
    } else {
      co_await exchange_h1();
    }
    if (w_.stopped) co_return;  // stop() owns what is left
    fail_in_flight(&WorkerStats::err_reset);
    stream_.reset();
  }
}

core::Task<boost::system::error_code> Connection::connect() {
  const auto& p = w_.plan;
  connecting_.emplace(w_.io.get_executor());
  connect_started_ = Clock::now();
  auto [ec] = co_await connecting_->async_connect(p.endpoint, kAwait);
  if (!ec) connecting_->set_option(asio::ip::tcp::no_delay(true), ec);
  if (ec || w_.stopped) {
    if (ec && !w_.stopped) w_.note_error("connect to " + p.authority + ": " + ec.message());
    connecting_.reset();
    connect_started_.reset();
    co_return ec;
  }
  if (!p.tls) {
    stream_.emplace(std::move(*connecting_));
    connecting_.reset();
    connect_started_.reset();
    co_return ec;
  }
  stream_.emplace(std::move(*connecting_), p.ssl_ctx, /*server=*/false);
  connecting_.reset();
  if (SSL* ssl = stream_->ssl()) {
    SSL_set_tlsext_host_name(ssl, p.host.c_str());
    if (!p.insecure) SSL_set1_host(ssl, p.host.c_str());
  }
  const auto hec = co_await stream_->handshake();
  connect_started_.reset();
  if (hec && w_.stopped) co_return hec;  // stop() closed it: not a failure
  if (hec) {
    w_.note_error("TLS handshake with " + p.authority + ": " +
                  (stream_->tls_error().empty() ? hec.message() : stream_->tls_error()));
    co_return hec;
  }
  if (p.http2) {
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(stream_->ssl(), &alpn, &alpn_len);
    if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != "h2") {
      w_.note_error("the server at " + p.authority + " did not select ALPN h2");
      co_return make_error_code(net::TlsErrc::kHandshakeFailed);
    }
  }
  co_return ec;
}

// Timeouts: a request in flight longer than --timeout, or a connect (with
// handshake) that long, fails the connection; the exchange loop reconnects.
core::Task<void> Connection::watchdog() {
  while (!w_.stopped) {
    watch_.expires_after(kWatchdogPeriod);
    auto [ec] = co_await watch_.async_wait(kAwait);
    if (w_.stopped) co_return;
    const auto now = Clock::now();
    bool expired = connect_started_ && now - *connect_started_ > w_.plan.timeout;
    for (const auto& [id, req] : in_flight_) expired = expired || now - req.sent > w_.plan.timeout;
    if (!expired) continue;
    if (connect_started_) {
      connect_timed_out_ = true;
      if (w_.in_window(now)) ++w_.stats.err_timeout;
    }
    fail_in_flight(&WorkerStats::err_timeout);
    if (connecting_) connecting_->close(ec);
    if (stream_) stream_->close();
  }
}

void Connection::begin(int32_t id, Clock::time_point intended) {
  const auto now = Clock::now();
  if (w_.measured(intended)) {
    ++w_.stats.sent;
    if (now - intended > kLateAfter) ++w_.stats.late;
  }
  in_flight_[id] = InFlight{intended, now, 0};
}

void Connection::complete(const InFlight& req, int status, Clock::time_point now) {
  if (w_.stopped) return;
  if (status < 200 || status > 299) {
    if (w_.in_window(now)) ++w_.stats.err_status;
    return;
  }
  if (w_.in_window(now)) ++w_.stats.completed_in_window;
  if (w_.measured(req.intended)) {
    ++w_.stats.requests;
    w_.stats.latency.record(to_us(now - req.intended));
  }
}

// The requests in flight on a connection that failed: errors, not latencies.
void Connection::fail_in_flight(uint64_t WorkerStats::*counter) {
  if (w_.in_window(Clock::now())) w_.stats.*counter += in_flight_.size();
  in_flight_.clear();
}

void Connection::stop() {
  const auto end = w_.plan.end;
  auto record_unfinished = [&](Clock::time_point intended) {
    if (!w_.measured(intended)) return;
    ++w_.stats.unfinished;
    w_.stats.latency.record(to_us(end - intended));
  };
  for (auto t = intended_time(next_index_); t < end; t = intended_time(++next_index_)) record_unfinished(t);
  for (const auto& [id, req] : in_flight_) record_unfinished(req.intended);
  in_flight_.clear();
  boost::system::error_code ec;
  if (connecting_) connecting_->close(ec);
  if (stream_) stream_->close();
  wake_.cancel();
  watch_.cancel();
}

// HTTP/1.1: one request in flight; the queue holds the rest in order.
core::Task<void> Connection::exchange_h1() {
  boost::beast::flat_buffer buffer;
  for (;;) {
    auto due = take_due(Clock::now());
    while (!due && !w_.stopped) {
      co_await wait_wake(next_due());
      due = take_due(Clock::now());
    }
    if (w_.stopped) co_return;
    begin(0, *due);
    auto [wec, wn] = co_await asio::async_write(*stream_, asio::buffer(request_), kAwait);
    if (w_.stopped || wec) co_return;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [rec, rn] = co_await http::async_read(*stream_, buffer, parser, kAwait);
    if (w_.stopped || rec) co_return;
    const auto now = Clock::now();
    auto it = in_flight_.find(0);
    if (it != in_flight_.end()) {
      const InFlight req = it->second;
      in_flight_.erase(it);
      complete(req, static_cast<int>(parser.get().result_int()), now);
    }
    if (!parser.get().keep_alive()) co_return;
  }
}

bool Connection::submit_h2(Clock::time_point intended) {
  const auto& p = w_.plan;
  static constexpr std::string_view kMethod = ":method", kGet = "GET", kScheme = ":scheme", kAuthority = ":authority",
                                    kPath = ":path";
  const std::string_view scheme = p.tls ? "https" : "http";
  const std::array<nghttp2_nv, 4> nva{make_nv(kMethod, kGet), make_nv(kScheme, scheme),
                                      make_nv(kAuthority, p.authority), make_nv(kPath, p.path)};
  const int32_t id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), nullptr, nullptr);
  if (id < 0) return false;
  begin(id, intended);
  return true;
}

// HTTP/2: this coroutine submits queued requests (up to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS) and writes what nghttp2 has to send;
// read_h2 feeds the session. Either wakes the other.
core::Task<void> Connection::exchange_h2() {
  session_ = new_client_session(this);
  if (!session_) co_return;
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, nullptr, 0);
  h2_dead_ = false;
  reader_done_ = false;
  asio::co_spawn(w_.io.get_executor(), read_h2(), asio::detached);
  std::string out;
  while (!w_.stopped && !h2_dead_) {
    const uint32_t cap =
        std::min(kMaxStreamsPerConnection,
                 nghttp2_session_get_remote_settings(session_.get(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
    const auto now = Clock::now();
    while (in_flight_.size() < cap) {
      const auto due = take_due(now);
      if (!due) break;
      if (!submit_h2(*due)) {
        h2_dead_ = true;  // stream IDs used up: a new connection (this request counts as lost)
        break;
      }
    }
    out.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) h2_dead_ = true;
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out.empty()) {
      auto [ec, n] = co_await asio::async_write(*stream_, asio::buffer(out), kAwait);
      if (ec) h2_dead_ = true;
      continue;
    }
    if (nghttp2_session_want_read(session_.get()) == 0 && nghttp2_session_want_write(session_.get()) == 0) break;
    co_await wait_wake(in_flight_.size() < cap ? next_due() : Clock::time_point::max());
  }
  if (w_.stopped) co_return;  // the reader may still hold the stream: stop() closed it
  stream_->close();
  while (!reader_done_ && !w_.stopped) co_await wait_wake(Clock::time_point::max());
  if (w_.stopped) co_return;
  session_.reset();
}

core::Task<void> Connection::read_h2() {
  std::vector<uint8_t> buf(16384);
  while (!w_.stopped && !h2_dead_) {
    auto [ec, n] = co_await stream_->async_read_some(asio::buffer(buf), kAwait);
    if (w_.stopped || ec) break;
    if (nghttp2_session_mem_recv(session_.get(), buf.data(), n) < 0) break;
    wake();  // frames to answer (SETTINGS ack, WINDOW_UPDATE) or streams freed
  }
  h2_dead_ = true;
  reader_done_ = true;
  wake();
}

void Connection::on_h2_status(int32_t stream_id, int status) {
  auto it = in_flight_.find(stream_id);
  if (it != in_flight_.end()) it->second.status = status;
}

void Connection::on_h2_stream_close(int32_t stream_id, uint32_t error_code) {
  auto it = in_flight_.find(stream_id);
  if (it == in_flight_.end() || w_.stopped) return;
  const InFlight req = it->second;
  in_flight_.erase(it);
  const auto now = Clock::now();
  if (error_code != NGHTTP2_NO_ERROR) {
    if (w_.in_window(now)) ++w_.stats.err_reset;
    return;
  }
  complete(req, req.status, now);
}

}  // namespace aegis::bench
