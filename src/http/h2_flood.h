// Flood detection for one HTTP/2 connection, fed with every received frame
// header (nghttp2's on_begin_frame) and every stream's end. Pure logic, no
// I/O: the connection asks after each frame whether a limit broke, and if so
// says GOAWAY and closes. nghttp2 1.52 (as patched by Debian) enforces its
// own backstops too (max_continuations, stream reset rate limit,
// max_outbound_ack, max_settings); these limits sit below them so that each
// event is named and counted here.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "http/h2_settings.h"

namespace aegis::http::h2 {

class FloodGuard {
 public:
  using Clock = std::chrono::steady_clock;
  explicit FloodGuard(const Settings& s) : s_(s) {}

  // One received frame header (type and flags as on the wire, RFC 9113 §4.1).
  std::optional<FloodKind> on_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t length,
                                    Clock::time_point now);
  // The peer reset a stream (RST_STREAM from the peer).
  std::optional<FloodKind> on_peer_reset(Clock::time_point now);
  // A stream ended normally.
  void on_stream_completed(Clock::time_point now);
  // We sent the peer a DATA frame (WINDOW_UPDATEs are expected in return).
  void on_data_sent() { ++data_sent_; }

 private:
  void roll(Clock::time_point now);

  const Settings& s_;
  Clock::time_point window_start_{};
  std::uint32_t pings_ = 0, settings_ = 0, resets_ = 0, completed_ = 0;
  std::uint32_t consecutive_empty_ = 0;
  std::uint64_t window_updates_ = 0, data_sent_ = 0, priorities_ = 0, streams_opened_ = 0;  // connection lifetime
  std::uint32_t block_frames_ = 0;   // frames of the header block being received
  std::uint64_t block_bytes_ = 0;
};

}  // namespace aegis::http::h2
