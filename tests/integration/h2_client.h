// A blocking, frame-level HTTP/2 client for tests (h2c prior knowledge, or
// TLS with ALPN h2 through libssl): writes any frame sequence, valid or not,
// reads frames with bounded waits, and carries the canned attacks the
// proxy's flood mitigations must survive. Nothing here enforces the
// protocol: that is the peer's job, and what the tests check.
#pragma once

#include "h2_frames.h"
#include "harness.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace aegis::itest::h2 {

// What the peer said when it stopped: a GOAWAY (received), or a close
// without one. Both can be true (GOAWAY, then close).
struct GoawayResult {
  bool received = false;
  bool closed = false;
  std::uint32_t last_stream_id = 0;
  std::uint32_t error_code = 0;
  std::string debug;
  std::string describe() const;
};

// One stream's response as far as it got.
struct Response {
  bool complete = false;  // END_STREAM seen
  int status = 0;         // :status of the final (non-1xx) HEADERS, 0 if none
  Headers headers;        // that block (pseudo-headers included)
  std::string body;       // DATA, padding removed
  Headers trailers;       // a HEADERS block after the response headers
  std::optional<std::uint32_t> reset_code;  // RST_STREAM from the peer
  std::optional<GoawayResult> goaway;       // GOAWAY / close ended the wait
  bool timed_out = false;
  // grpc-status / grpc-message: from the trailers, else from the headers
  // (a trailers-only response).
  std::optional<std::string> grpc(std::string_view key) const;
  std::string describe() const;
};

// What a canned attack got out before the peer stopped reading.
struct AttackResult {
  int sent = 0;               // units sent in full (streams, frames)
  bool write_failed = false;  // the peer closed or reset mid-attack
};

// GET-style request headers in the usual order.
Headers request_headers(const std::string& authority, const std::string& path, const std::string& method = "GET",
                        const std::string& scheme = "http");

class Client {
 public:
  struct Options {
    bool tls = false;
    std::string alpn = "h2";         // offered over TLS (empty: no ALPN)
    std::string ca_file;             // verify the server against it (empty: no verification)
    std::string server_name = "localhost";
    std::string groups;              // TLS groups, empty = library default
    Millis timeout = 10s;            // connect, TLS handshake, each write
    // Answer SETTINGS with ACK and PING with PING ACK as frames are read.
    bool auto_respond = true;
  };
  explicit Client(std::uint16_t port) : Client(port, Options{}) {}
  Client(std::uint16_t port, const Options& o);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool ok() const { return error_.empty(); }  // connected, no write failed yet
  const std::string& error() const { return error_; }
  std::string alpn() const;  // negotiated protocol over TLS

  // ---- writing: false once a write failed (error() says why) ----------
  bool send_raw(std::string_view bytes);
  bool send_frame(FrameType type, std::uint8_t flags, std::uint32_t stream_id, std::string_view payload);
  bool send_preface();  // the 24-byte client magic only
  bool send_settings(const Settings& s);
  bool send_settings_ack();
  // HEADERS (split into CONTINUATIONs at the peer's max frame size), HPACK
  // by this connection's encoder.
  bool send_headers(std::uint32_t stream_id, const Headers& h, bool end_stream);
  // A pre-encoded block as one HEADERS frame with the given flags.
  bool send_headers_block(std::uint32_t stream_id, std::string_view block, std::uint8_t flags);
  bool send_continuation(std::uint32_t stream_id, std::string_view block, bool end_headers);
  bool send_data(std::uint32_t stream_id, std::string_view data, bool end_stream);
  bool send_rst_stream(std::uint32_t stream_id, std::uint32_t code);
  bool send_ping(std::uint64_t opaque, bool ack = false);
  bool send_priority(std::uint32_t stream_id, std::uint32_t depends_on, std::uint8_t weight, bool exclusive = false);
  bool send_window_update(std::uint32_t stream_id, std::uint32_t increment);
  bool send_goaway(std::uint32_t last_stream_id, std::uint32_t code, std::string_view debug = {});
  HpackEncoder& encoder() { return encoder_; }

  // The preface and SETTINGS (default: push off, 2^31-1 stream window)
  // plus a connection WINDOW_UPDATE to 2^31-1 (open_window), then reads
  // until the server's SETTINGS. False (error() set) if it never comes.
  bool handshake(Millis timeout = 10s);
  bool handshake(const Settings& s, bool open_window, Millis timeout = 10s);
  std::uint32_t next_stream_id();  // 1, 3, 5, ...
  std::uint32_t peer_max_frame_size() const { return peer_max_frame_size_; }

  // ---- reading ------------------------------------------------------------
  // The next frame, or nullopt on timeout or when the connection closed
  // (closed() tells which). Header blocks are decoded as they complete.
  std::optional<Frame> read_frame(Millis timeout);
  bool closed() const { return closed_; }
  // Every frame read so far (the first 100000).
  const std::vector<Frame>& frames() const { return frames_; }
  std::size_t count(FrameType t) const;

  // A new stream: HEADERS (+ DATA when body is non-empty), then reads until
  // its END_STREAM, RST_STREAM, a GOAWAY that excludes it, close or timeout.
  Response request(const Headers& h, std::string_view body = {}, Millis timeout = 10s);
  Response read_response(std::uint32_t stream_id, Millis timeout = 10s);
  // Reads until a frame of `type` (on stream_id, unless 0 = any stream).
  std::optional<Frame> wait_for(FrameType type, Millis timeout, std::uint32_t stream_id = 0);
  // Reads (discarding) until a GOAWAY, close or timeout; a GOAWAY already
  // read counts. Neither received nor closed: it timed out.
  GoawayResult wait_for_goaway(Millis timeout = 10s);
  // Reads (discarding) until the peer closes: false on timeout.
  bool connection_closed(Millis timeout = 10s);

  // ---- canned attacks (stop early once a write fails) ----------------------
  // n x (HEADERS with END_STREAM + RST_STREAM CANCEL) on fresh streams,
  // written in batches without waiting (CVE-2023-44487).
  AttackResult rapid_reset(int n, const Headers& h);
  // One HEADERS without END_HEADERS, then n CONTINUATIONs that never end it,
  // each carrying bytes_per_frame bytes of header (0: empty frames).
  AttackResult continuation_flood(int n, const Headers& h, std::size_t bytes_per_frame = 32);
  AttackResult settings_flood(int n);  // n non-ACK SETTINGS frames
  AttackResult ping_flood(int n);      // n PINGs, never reading the ACKs
  // A POST stream, then n zero-length DATA frames without END_STREAM.
  AttackResult empty_data_flood(int n, const Headers& post);
  // One request whose header block repeats one value_size-byte field
  // `repeats` times: the first is indexed, the rest are 1-byte references
  // to it (tiny on the wire, repeats x value_size once decoded). nghttp2's
  // encoder indexes a field only up to 3/4 of its 4096-byte table:
  // value_size <= 3000.
  AttackResult hpack_bomb(int repeats, std::size_t value_size, const Headers& h);

 private:
  struct Transport;
  bool flush(Millis timeout);
  bool pump(Millis timeout);  // one read (or write) readiness round
  void on_frame(Frame& f);
  AttackResult flood(int n, const std::string& unit);

  std::unique_ptr<Transport> io_;
  std::string error_;
  std::string in_;
  std::string out_;
  bool closed_ = false;
  Options opts_;
  HpackEncoder encoder_;
  HpackDecoder decoder_;
  std::string pending_block_;  // header block awaiting CONTINUATION
  std::uint32_t next_stream_ = 1;
  std::uint32_t peer_max_frame_size_ = 16384;
  bool peer_settings_seen_ = false;
  std::optional<GoawayResult> goaway_;
  std::vector<Frame> frames_;
  std::vector<std::size_t> type_counts_ = std::vector<std::size_t>(10, 0);
};

}  // namespace aegis::itest::h2

namespace aegis::itest {
// VmRSS of a running process in KiB (/proc/<pid>/status), nullopt if gone;
// with Process::pid() it bounds a process's memory during an attack.
std::optional<std::uint64_t> vm_rss_kib(pid_t pid);
}  // namespace aegis::itest
