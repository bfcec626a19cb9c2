// HTTP/2 over one net::Stream, as server or client. nghttp2 parses and
// builds every frame (mem_recv / mem_send); this class moves the bytes with
// Asio coroutines and turns nghttp2's callbacks into per-stream state that
// the proxy awaits: a head, body pieces, trailers, the end or a reset.
//
// Back-pressure both ways, never a whole body in memory:
// - in: automatic WINDOW_UPDATEs are off; a stream's bytes are acknowledged
//   only when its reader calls consume(), i.e. once they have left the proxy.
//   A slow reader stops the sender at its window.
// - out: write() waits while the stream's send buffer (kSendBuffer) is full;
//   nghttp2 drains it as the peer's windows allow.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io.h"
#include "core/signal.h"
#include "http/h2_flood.h"
#include "http/h2_settings.h"
#include "net/stream.h"

namespace aegis::http::h2 {

struct Field {
  std::string name;  // lower case; pseudo-headers (":method", ":status"...) first
  std::string value;
};
using Fields = std::vector<Field>;
// The value of the first field called `name`, if any.
std::optional<std::string_view> find_field(const Fields& fields, std::string_view name);

enum class Role { kServer, kClient };

struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;

class Connection;

// One stream, shared by the connection and whoever serves it. Outlives its
// connection safely: once the connection is gone every operation fails.
class H2Stream {
 public:
  static constexpr std::size_t kSendBuffer = std::size_t{64} * 1024;

  H2Stream(Connection& conn, std::int32_t id, const core::Executor& ex);
  std::int32_t id() const { return id_; }

  // The peer's head: a server stream's request, a client stream's response
  // (final, 1xx dropped). Valid once wait_head() returned true.
  const Fields& head() const { return head_; }
  core::Task<bool> wait_head();
  // The peer's head broke max_header_list_size (server: answer 431).
  bool head_too_large() const { return head_too_large_; }

  // Next piece of the peer's body. `end`: the body is complete (trailers()
  // then holds the trailers, if any). `reset`: the stream ended abnormally.
  struct Piece {
    std::string data;
    bool end = false;
    bool reset = false;
  };
  core::Task<Piece> read();
  // `n` bytes from read() have left the proxy: the peer may send as many more.
  void consume(std::size_t n);
  const Fields& trailers() const { return trailers_; }
  // Whether the peer sends (or sent) a body: no END_STREAM on its head, or data came.
  bool has_body() const { return !in_end_ || !in_.empty(); }
  // The rest of the peer's body is not wanted (we answered already): what
  // arrives is acknowledged and dropped, and a pending read() returns `reset`.
  void discard_body();
  // Bytes received but not yet consume()d (what flow control bounds).
  std::size_t unconsumed() const { return unconsumed_; }

  // Server: our response head (":status" first). end_stream: no body follows.
  bool respond(const Fields& head, bool end_stream);
  // Our body: waits while the send buffer is full. False: the stream is gone.
  core::Task<bool> write(std::string_view data);
  // End of our body, with trailers when not empty.
  void finish(Fields trailers = {});
  // RST_STREAM with an HTTP/2 error code (NGHTTP2_CANCEL, ...).
  void reset(std::uint32_t error_code);

  bool closed() const { return closed_; }
  // The code the stream closed with (NGHTTP2_NO_ERROR for a clean end).
  std::uint32_t error_code() const { return error_code_; }
  bool peer_ended() const { return in_end_; }

 private:
  friend class Connection;
  void wake() {
    readable_.notify();
    writable_.notify();
  }

  Connection* conn_;  // non-owning; null once the connection is gone
  std::int32_t id_;
  Fields head_, trailers_;
  bool head_done_ = false, head_too_large_ = false, discard_ = false;
  std::size_t head_bytes_ = 0;
  std::string in_;              // received body bytes not yet read()
  std::size_t unconsumed_ = 0;  // read() or not, not yet consume()d
  bool in_end_ = false;
  std::string out_;  // our body bytes not yet taken by nghttp2
  std::size_t out_off_ = 0;
  bool out_end_ = false, out_deferred_ = false, out_provider_ = false;
  Fields out_trailers_;
  bool closed_ = false;
  std::uint32_t error_code_ = 0;
  core::Signal readable_, writable_;
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;
  struct Callbacks {
    // Server: a request head arrived on a new stream.
    std::function<void(std::shared_ptr<H2Stream>)> on_request;
    // A flood was detected; the connection says GOAWAY and closes.
    std::function<void(FloodKind)> on_flood;
    // The peer broke the protocol (the stream is reset, or the connection
    // closed with GOAWAY; floods are on_flood):
    // "h2_invalid_header" (a field RFC 9113 §8.2 forbids: connection-specific,
    // upper case, CR/LF/NUL...), "h2_invalid_message" (content-length
    // mismatch, pseudo-headers) or "h2_protocol_error".
    std::function<void(std::string_view reason)> on_stream_error;
    // Frames worth counting, after they were received or sent.
    enum class Event { kResetReceived, kResetSent, kGoawaySent, kGoawayReceived };
    std::function<void(Event)> on_event;
  };

  Connection(net::Stream& io, Role role, const Settings& settings, Callbacks callbacks);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads and writes until the connection ends (peer closed, GOAWAY and no
  // streams left, error, flood). `preread`: bytes already read from the
  // socket (e.g. the client preface that told h2c from HTTP/1.1).
  core::Task<void> run(std::string preread = {});

  // Client: a new request. end_stream: no body follows. Null when the
  // connection cannot take one (GOAWAY, closed, at the peer's stream limit).
  std::shared_ptr<H2Stream> submit_request(const Fields& head, bool end_stream);
  // Whether another request may be submitted now (peer's max concurrent streams).
  bool can_submit() const;
  std::size_t open_streams() const { return streams_.size(); }

  // Graceful GOAWAY: no new streams; those open finish, then the connection ends.
  void shutdown();
  // Immediate GOAWAY with `error_code`, then close.
  void terminate(std::uint32_t error_code);
  // Ends run() now (timeouts): the socket is cancelled.
  void abort();

  bool closing() const { return closing_; }
  Clock::time_point last_activity() const { return last_activity_; }
  // When the write in progress started (max() when none): a peer that does
  // not read stalls it.
  Clock::time_point write_started() const { return write_started_; }

 private:
  friend class H2Stream;
  struct Cb;  // the nghttp2 callbacks

  core::Task<void> read_loop(std::string preread);
  core::Task<void> write_loop();
  bool feed(const char* data, std::size_t n);
  void kick() { want_write_.notify(); }
  void event(Callbacks::Event e) {
    if (cb_.on_event) cb_.on_event(e);
  }
  std::shared_ptr<H2Stream> find(std::int32_t id) const;
  void flood(FloodKind kind);
  void submit_settings();
  nghttp2_data_provider provider();
  void detach_all();

  net::Stream& io_;
  Role role_;
  Settings settings_;
  Callbacks cb_;
  FloodGuard guard_;
  SessionPtr session_;
  std::map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  core::Signal want_write_;
  bool reading_done_ = false, writing_done_ = false, closing_ = false, flooded_ = false;
  std::size_t pending_connection_consume_ = 0;  // closed streams' unconsumed bytes
  std::int32_t invalid_stream_ = -1;            // the last frame nghttp2 called invalid, and why
  std::string_view invalid_reason_;
  Clock::time_point last_activity_ = Clock::now();
  Clock::time_point write_started_ = Clock::time_point::max();
};

}  // namespace aegis::http::h2
