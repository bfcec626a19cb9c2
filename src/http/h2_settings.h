// HTTP/2 protocol limits of one connection (what we announce in SETTINGS and
// enforce) and the flood mitigations' thresholds. Safe defaults; a listener's
// `http2:` config overrides them (docs/configuration.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace aegis::http::h2 {

struct Settings {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t initial_stream_window_size = 256 * 1024;       // bytes a stream may send unread
  std::uint32_t initial_connection_window_size = 1024 * 1024;  // bytes all streams together may
  std::uint32_t max_header_list_size = 64 * 1024;              // RFC 9113 size (name + value + 32 each)
  std::uint32_t max_frame_size = 16 * 1024;
  // Floods: each closes the connection with GOAWAY (ENHANCE_YOUR_CALM).
  std::uint32_t max_continuation_frames = 8;       // CONTINUATION frames after one HEADERS
  std::chrono::milliseconds flood_window{10'000};  // the windows below restart every flood_window
  std::uint32_t max_resets_per_window = 100;       // client RST_STREAMs, while they outnumber completed streams
  std::uint32_t max_pings_per_window = 100;
  std::uint32_t max_settings_per_window = 100;
  std::uint32_t max_consecutive_empty_frames = 1;  // DATA/CONTINUATION without payload (and no END_STREAM)
  std::uint32_t max_outbound_control_frames = 1000;  // queued PING/SETTINGS ACKs the peer does not read
  // Envoy's ratios (CVE-2019-9511/9513 era): a client may send WINDOW_UPDATEs
  // up to 5 + this × the DATA frames we sent it, PRIORITYs up to 5 + this ×
  // the streams it opened (over the connection's life).
  std::uint32_t max_window_updates_per_data_frame_sent = 10;
  std::uint32_t max_priority_frames_per_stream = 100;
};

enum class FloodKind { kRapidReset, kContinuation, kSettings, kPing, kEmptyFrames, kOutboundQueue, kWindowUpdate,
                       kPriority };
inline constexpr std::size_t kFloodKinds = 8;

constexpr std::string_view flood_kind_name(FloodKind k) {
  switch (k) {
    case FloodKind::kRapidReset: return "rapid_reset";
    case FloodKind::kContinuation: return "continuation";
    case FloodKind::kSettings: return "settings";
    case FloodKind::kPing: return "ping";
    case FloodKind::kEmptyFrames: return "empty_frames";
    case FloodKind::kOutboundQueue: return "outbound_queue";
    case FloodKind::kWindowUpdate: return "window_update";
    case FloodKind::kPriority: return "priority";
  }
  return "unknown";
}

}  // namespace aegis::http::h2
