#include "http/h2_flood.h"

namespace aegis::http::h2 {

namespace {
// RFC 9113 §6 frame types and flags.
constexpr std::uint8_t kData = 0x0, kHeaders = 0x1, kPriority = 0x2, kSettingsFrame = 0x4, kPing = 0x6,
                       kWindowUpdate = 0x8, kContinuation = 0x9;
constexpr std::uint64_t kRatioSlack = 5;  // Envoy's allowance on top of the ratios
constexpr std::uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;
}  // namespace

void FloodGuard::roll(Clock::time_point now) {
  if (now - window_start_ < s_.flood_window) return;
  window_start_ = now;
  pings_ = settings_ = resets_ = completed_ = 0;
}

std::optional<FloodKind> FloodGuard::on_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t length,
                                              Clock::time_point now) {
  roll(now);
  // Frames that carry nothing and end nothing cost the proxy work for free.
  const bool empty = length == 0 && ((type == kData && (flags & kEndStream) == 0) ||
                                     (type == kContinuation && (flags & kEndHeaders) == 0));
  if (empty) {
    if (++consecutive_empty_ > s_.max_consecutive_empty_frames) return FloodKind::kEmptyFrames;
  } else if (type == kData || type == kHeaders || type == kContinuation) {
    consecutive_empty_ = 0;
  }
  if (type == kWindowUpdate &&
      ++window_updates_ > kRatioSlack + std::uint64_t{s_.max_window_updates_per_data_frame_sent} * data_sent_)
    return FloodKind::kWindowUpdate;
  if (type == kPriority && ++priorities_ > kRatioSlack + std::uint64_t{s_.max_priority_frames_per_stream} * streams_opened_)
    return FloodKind::kPriority;
  if (type == kHeaders) {
    ++streams_opened_;  // or trailers: generous either way
    block_frames_ = 0;
    block_bytes_ = length;
  } else if (type == kContinuation) {
    block_bytes_ += length;
    // A block may only grow to what the list-size limit lets through, plus
    // one frame of slack for HPACK's own overhead.
    if (++block_frames_ > s_.max_continuation_frames ||
        block_bytes_ > std::uint64_t{s_.max_header_list_size} + s_.max_frame_size)
      return FloodKind::kContinuation;
  }
  if (type == kPing && (flags & kAck) == 0 && ++pings_ > s_.max_pings_per_window) return FloodKind::kPing;
  if (type == kSettingsFrame && (flags & kAck) == 0 && ++settings_ > s_.max_settings_per_window)
    return FloodKind::kSettings;
  return std::nullopt;
}

std::optional<FloodKind> FloodGuard::on_peer_reset(Clock::time_point now) {
  roll(now);
  ++resets_;
  // Resets are normal (a cancelled download); a stream of them that
  // outnumbers the streams actually served is the rapid-reset attack.
  if (resets_ > s_.max_resets_per_window && resets_ > completed_) return FloodKind::kRapidReset;
  return std::nullopt;
}

void FloodGuard::on_stream_completed(Clock::time_point now) {
  roll(now);
  ++completed_;
}

}  // namespace aegis::http::h2
