// FloodGuard: each flood kind trips just above its limit, not at it, and the
// windows restart.
#include "http/h2_flood.h"

#include <gtest/gtest.h>

namespace aegis::http::h2 {
namespace {

using Clock = FloodGuard::Clock;
constexpr std::uint8_t kData = 0x0, kHeaders = 0x1, kSettingsFrame = 0x4, kPing = 0x6, kContinuation = 0x9;

TEST(FloodGuard, PingsAboveTheWindowLimit) {
  Settings s;
  s.max_pings_per_window = 3;
  FloodGuard g(s);
  const auto t = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(g.on_frame(kPing, 0, 8, t));
  EXPECT_FALSE(g.on_frame(kPing, 0x1, 8, t));  // ACKs do not count
  EXPECT_EQ(g.on_frame(kPing, 0, 8, t), FloodKind::kPing);
  // A new window starts from zero.
  FloodGuard g2(s);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(g2.on_frame(kPing, 0, 8, t));
  EXPECT_FALSE(g2.on_frame(kPing, 0, 8, t + s.flood_window));
}

TEST(FloodGuard, SettingsAboveTheWindowLimit) {
  Settings s;
  s.max_settings_per_window = 2;
  FloodGuard g(s);
  const auto t = Clock::now();
  EXPECT_FALSE(g.on_frame(kSettingsFrame, 0, 6, t));
  EXPECT_FALSE(g.on_frame(kSettingsFrame, 0, 6, t));
  EXPECT_EQ(g.on_frame(kSettingsFrame, 0, 6, t), FloodKind::kSettings);
}

TEST(FloodGuard, ConsecutiveEmptyFrames) {
  Settings s;
  s.max_consecutive_empty_frames = 2;
  FloodGuard g(s);
  const auto t = Clock::now();
  EXPECT_FALSE(g.on_frame(kData, 0, 0, t));
  EXPECT_FALSE(g.on_frame(kData, 0, 0, t));
  EXPECT_FALSE(g.on_frame(kData, 0, 10, t));  // a real one resets the run
  EXPECT_FALSE(g.on_frame(kData, 0, 0, t));
  EXPECT_FALSE(g.on_frame(kData, 0x1, 0, t));  // END_STREAM with no payload is legitimate
  EXPECT_FALSE(g.on_frame(kData, 0, 0, t));
  EXPECT_FALSE(g.on_frame(kData, 0, 0, t));
  EXPECT_EQ(g.on_frame(kData, 0, 0, t), FloodKind::kEmptyFrames);
}

TEST(FloodGuard, ContinuationFramesAndBytes) {
  Settings s;
  s.max_continuation_frames = 2;
  FloodGuard g(s);
  const auto t = Clock::now();
  EXPECT_FALSE(g.on_frame(kHeaders, 0, 100, t));
  EXPECT_FALSE(g.on_frame(kContinuation, 0, 100, t));
  EXPECT_FALSE(g.on_frame(kContinuation, 0, 100, t));
  EXPECT_EQ(g.on_frame(kContinuation, 0x4, 100, t), FloodKind::kContinuation);

  Settings b;
  b.max_continuation_frames = 100;
  b.max_header_list_size = 1000;
  b.max_frame_size = 16384;
  FloodGuard g2(b);
  EXPECT_FALSE(g2.on_frame(kHeaders, 0, 16000, t));
  EXPECT_FALSE(g2.on_frame(kContinuation, 0, 1000, t));
  EXPECT_EQ(g2.on_frame(kContinuation, 0, 1000, t), FloodKind::kContinuation);
}

TEST(FloodGuard, ResetsOnlyCountWhileTheyOutnumberCompletedStreams) {
  Settings s;
  s.max_resets_per_window = 5;
  FloodGuard g(s);
  const auto t = Clock::now();
  for (int i = 0; i < 10; ++i) g.on_stream_completed(t);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(g.on_peer_reset(t)) << i;  // 10 resets, 10 completed
  EXPECT_EQ(g.on_peer_reset(t), FloodKind::kRapidReset);
  FloodGuard g2(s);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(g2.on_peer_reset(t));
  EXPECT_EQ(g2.on_peer_reset(t), FloodKind::kRapidReset);
}

TEST(FloodGuard, WindowUpdatesBeyondWhatDataSentEarns) {
  Settings s;
  s.max_window_updates_per_data_frame_sent = 2;
  FloodGuard g(s);
  const auto t = Clock::now();
  constexpr std::uint8_t kWindowUpdate = 0x8;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(g.on_frame(kWindowUpdate, 0, 4, t));  // the slack of 5
  EXPECT_EQ(g.on_frame(kWindowUpdate, 0, 4, t), FloodKind::kWindowUpdate);
  FloodGuard earned(s);
  earned.on_data_sent();
  earned.on_data_sent();
  for (int i = 0; i < 9; ++i) EXPECT_FALSE(earned.on_frame(kWindowUpdate, 0, 4, t));  // 5 + 2 × 2
  EXPECT_EQ(earned.on_frame(kWindowUpdate, 0, 4, t), FloodKind::kWindowUpdate);
}

TEST(FloodGuard, PrioritiesBeyondWhatStreamsOpenedEarn) {
  Settings s;
  s.max_priority_frames_per_stream = 3;
  FloodGuard g(s);
  const auto t = Clock::now();
  constexpr std::uint8_t kPriority = 0x2;
  EXPECT_FALSE(g.on_frame(kHeaders, 0x5, 10, t));
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(g.on_frame(kPriority, 0, 5, t));  // 5 + 3 × 1
  EXPECT_EQ(g.on_frame(kPriority, 0, 5, t), FloodKind::kPriority);
}

}  // namespace
}  // namespace aegis::http::h2
