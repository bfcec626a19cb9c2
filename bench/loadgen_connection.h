// One connection of aegis-bench-loadgen: its open-loop schedule (request i is
// due at start + (phase + i) / rate, whatever happened to request i - 1) and
// the exchange that serves that schedule over HTTP/1.1 (one request in flight,
// the rest queued) or HTTP/2 (one nghttp2 session, many streams in flight).
// Latency is taken from the intended send time, so time spent queued behind a
// slow server counts (no coordinated omission).
#pragma once

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/io.h"
#include "loadgen_histogram.h"
#include "net/stream.h"

namespace aegis::bench {

using Clock = std::chrono::steady_clock;
using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, core::Executor>;

// What every connection of a run shares (read-only while it runs).
struct RunPlan {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string host;       // SNI and certificate name
  std::string authority;  // Host / :authority
  std::string path;
  bool tls = false;
  bool insecure = false;
  bool http2 = false;
  SSL_CTX* ssl_ctx = nullptr;  // owned by main; null without TLS
  unsigned connections = 1;    // in the whole run (all threads)
  double rate_per_connection = 1;
  Clock::time_point start, measure_start, end;
  Clock::duration timeout = std::chrono::seconds(10);
};

// Counters of one worker thread, merged at the end. Only what happens in the
// measured window [measure_start, end) counts.
struct WorkerStats {
  LatencyHistogram latency;          // 2xx responses and unfinished requests, from the intended send time
  uint64_t requests = 0;             // 2xx responses to requests scheduled in the window
  uint64_t completed_in_window = 0;  // 2xx responses that arrived in the window: the achieved rate
  uint64_t sent = 0;
  uint64_t late = 0;  // sent more than 1 ms after the intended time
  uint64_t unfinished = 0;
  uint64_t err_connect = 0, err_status = 0, err_reset = 0, err_timeout = 0;

  uint64_t errors() const { return err_connect + err_status + err_reset + err_timeout; }
  void merge(const WorkerStats& o);
};

// The per-thread state the connections of one io_context share.
struct Worker {
  explicit Worker(const RunPlan& p) : plan(p) {}
  const RunPlan& plan;
  boost::asio::io_context io{1};
  WorkerStats stats;
  bool stopped = false;
  std::string first_error;  // the first connect/TLS failure, for the report

  bool in_window(Clock::time_point t) const { return t >= plan.measure_start && t < plan.end; }
  bool measured(Clock::time_point intended) const { return intended >= plan.measure_start; }
  void note_error(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
};

struct NgSessionFree {
  void operator()(nghttp2_session* s) const noexcept { nghttp2_session_del(s); }
};
using NgSessionPtr = std::unique_ptr<nghttp2_session, NgSessionFree>;

class Connection {
 public:
  Connection(Worker& worker, unsigned global_index);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Spawns the exchange loop (connect, serve the schedule, reconnect) and
  // the timeout watchdog on the worker's io_context.
  void spawn();
  // At the end of the run: every request still queued or in flight is
  // recorded as unfinished (latency = end - intended); sockets and timers close.
  void stop();

  // nghttp2 callbacks (called through the session's user data).
  void on_h2_status(int32_t stream_id, int status);
  void on_h2_stream_close(int32_t stream_id, uint32_t error_code);

 private:
  struct InFlight {
    Clock::time_point intended;
    Clock::time_point sent;
    int status = 0;
  };

  Clock::time_point intended_time(uint64_t i) const;
  std::optional<Clock::time_point> take_due(Clock::time_point now);
  Clock::time_point next_due() const;  // max() once the schedule has ended
  core::Task<void> serve();
  core::Task<void> watchdog();
  core::Task<boost::system::error_code> connect();
  core::Task<void> exchange_h1();
  core::Task<void> exchange_h2();
  core::Task<void> read_h2();
  core::Task<void> wait_wake(Clock::time_point deadline);  // until deadline or wake()
  void wake() { wake_.cancel(); }
  void begin(int32_t id, Clock::time_point intended);
  void complete(const InFlight& req, int status, Clock::time_point now);
  void fail_in_flight(uint64_t WorkerStats::*counter);
  bool submit_h2(Clock::time_point intended);

  Worker& w_;
  double phase_;  // 0..1: where in its period this connection starts
  Timer wake_, watch_;
  std::string request_;                              // HTTP/1.1 request bytes
  uint64_t next_index_ = 0;                          // the next request of the schedule not sent yet
  std::unordered_map<int32_t, InFlight> in_flight_;  // HTTP/1.1: key 0
  std::optional<core::Socket> connecting_;
  std::optional<Clock::time_point> connect_started_;
  std::optional<net::Stream> stream_;
  NgSessionPtr session_;
  bool connect_timed_out_ = false;
  bool h2_dead_ = false;
  bool reader_done_ = true;
};

}  // namespace aegis::bench
