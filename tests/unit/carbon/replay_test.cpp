// The `file` feed: where a replay stands at a given (simulated) wall-clock
// time, and the feed built from a real trace answering on that clock; and
// the runner's back-off schedule.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

#include "carbon/feed.h"
#include "carbon/feed_runner.h"
#include "carbon/feeds/replay.h"
#include "testdata.h"

namespace aegis::carbon {
namespace {

using namespace std::chrono_literals;

std::vector<TracePoint> four_rows() {
  const auto t0 = *parse_timestamp("2020-01-01T00:00:00Z");
  return {{t0, 10, false}, {t0 + 30min, 20, false}, {t0 + 60min, 30, false}, {t0 + 90min, 40, false}};
}

TEST(Replay, RealTimeFromTheFirstRow) {
  const auto pts = four_rows();
  const Clock::time_point start = Clock::now();
  const ReplayClock c{start, 0ms, 1.0, true};
  EXPECT_EQ(replay_position(pts, c, start).index, 0u);
  EXPECT_EQ(replay_position(pts, c, start).row_wall, start);
  EXPECT_EQ(replay_position(pts, c, start + 29min).index, 0u);
  EXPECT_EQ(replay_position(pts, c, start + 30min).index, 1u);
  const auto p = replay_position(pts, c, start + 75min);
  EXPECT_EQ(p.index, 2u);
  EXPECT_EQ(p.row_wall, start + 60min);
}

TEST(Replay, OffsetSpeedAndLoop) {
  const auto pts = four_rows();  // span 2 h (the last row lasts 30 min too)
  const Clock::time_point start = Clock::now();
  const ReplayClock fast{start, 60min, 60.0, true};  // starts at row 2; a minute of wall time = an hour of trace
  EXPECT_EQ(replay_position(pts, fast, start).index, 2u);
  EXPECT_EQ(replay_position(pts, fast, start + 30s).index, 3u);
  EXPECT_EQ(replay_position(pts, fast, start + 60s).index, 0u);  // 2 h in: wrapped
  const auto p = replay_position(pts, fast, start + 75s);        // 2 h 15 min → row 0, began 15 s ago
  EXPECT_EQ(p.index, 0u);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(start + 75s - p.row_wall), 15s);
}

TEST(Replay, WithoutLoopTheLastRowAgesPastTheEnd) {
  const auto pts = four_rows();
  const Clock::time_point start = Clock::now();
  const ReplayClock once{start, 0ms, 1.0, false};
  const auto p = replay_position(pts, once, start + 10h);
  EXPECT_EQ(p.index, 3u);
  EXPECT_EQ(p.row_wall, start + 90min);  // 8.5 h old: stale for any sensible max_age
  // Far past the end at a huge speed: no overflow, the row is just very old.
  const ReplayClock extreme{start, std::chrono::hours(24 * 365 * 100), 1'000'000.0, false};
  const auto q = replay_position(pts, extreme, start + std::chrono::hours(24 * 365));
  EXPECT_EQ(q.index, 3u);
  EXPECT_LT(q.row_wall, start);
}

FeedResult<ParsedReading> fetch_now(IntensityFeed& feed, const std::string& id) {
  boost::asio::io_context ioc;
  std::optional<FeedResult<ParsedReading>> out;
  boost::asio::co_spawn(
      ioc,
      [](IntensityFeed* f, std::string z, std::optional<FeedResult<ParsedReading>>* o) -> core::Task<void> {
        auto r = co_await f->fetch(std::move(z));
        o->emplace(std::move(r));
      }(&feed, id, &out),
      boost::asio::detached);
  ioc.run();
  return std::move(*out);
}

TEST(FileFeed, ReplaysARealTraceOnItsClock) {
  AEGIS_READ_TRACE(text, "electricitymaps_DE_2022_hourly.csv");
  config::CarbonProvider p;
  p.type = config::CarbonProviderType::kFile;
  p.name = "file";
  const std::string path = test::testdata_dir() + "/electricitymaps_DE_2022_hourly.csv";
  p.zones = {{"DE", path}};
  p.speed = 3600;  // an hour of trace per second
  Clock::time_point now = Clock::now();
  auto feed = make_feed(p, [&] { return now; });
  ASSERT_TRUE(feed.ok()) << feed.error().message;
  auto r = fetch_now(**feed, path);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, 163.46);  // 2022-01-01 00:00, direct
  EXPECT_EQ(r->at, now);
  now += 3s;
  r = fetch_now(**feed, path);
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, 176.88);  // 03:00

  p.lifecycle = true;
  auto lca = make_feed(p, [&] { return now; });
  ASSERT_TRUE(lca.ok());
  EXPECT_DOUBLE_EQ(fetch_now(**lca, path)->gco2_per_kwh, 213.79);
}

TEST(FileFeed, BadTraceIsASetupError) {
  config::CarbonProvider p;
  p.type = config::CarbonProviderType::kFile;
  p.zones = {{"X", std::string(AEGIS_SOURCE_DIR) + "/README.md"}};
  auto feed = make_feed(p, [] { return Clock::now(); });
  ASSERT_FALSE(feed.ok());
  EXPECT_EQ(feed.error().kind, FeedErrorKind::kMalformed);
  EXPECT_NE(feed.error().message.find("unrecognised header"), std::string::npos) << feed.error().message;
}

TEST(Backoff, DoublesUpToTheCap) {
  EXPECT_EQ(backoff_delay(1, 5s, 300s), 5s);
  EXPECT_EQ(backoff_delay(2, 5s, 300s), 10s);
  EXPECT_EQ(backoff_delay(3, 5s, 300s), 20s);
  EXPECT_EQ(backoff_delay(7, 5s, 300s), 300s);  // 320 s capped
  EXPECT_EQ(backoff_delay(1000, 5s, 300s), 300s);
}

}  // namespace
}  // namespace aegis::carbon
