// The `file` feed: CSV traces (carbon/parsers.h formats) replayed against the
// wall clock, one trace per zone, all with the provider's time_offset, speed
// and loop. The reading's time is the wall-clock moment its row began in the
// replay, so ages and staleness behave as with a live provider.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "carbon/feeds/common.h"
#include "carbon/feeds/replay.h"

namespace aegis::carbon {

ReplayPosition replay_position(const std::vector<TracePoint>& pts, const ReplayClock& c, Clock::time_point now) {
  using Secs = std::chrono::duration<double>;
  const auto first = pts.front().at;
  const double last = Secs(pts.back().at - first).count();  // offset of the last row
  const double step = pts.size() > 1 ? Secs(pts.back().at - pts[pts.size() - 2].at).count() : 0;
  const double span = last + step;
  const double wall = std::max(0.0, Secs(now - c.started).count());
  double into = Secs(c.time_offset).count() + wall * c.speed;  // seconds into the trace, unbounded
  if (c.loop && span > 0) into = std::fmod(into, span);
  // Look the row up at a bounded offset (no time_point overflow far past the end).
  const auto t = first + std::chrono::duration_cast<Clock::duration>(Secs(std::min(into, last)));
  auto it = std::upper_bound(pts.begin(), pts.end(), t, [](Clock::time_point v, const TracePoint& p) { return v < p.at; });
  const std::size_t index = it == pts.begin() ? 0 : static_cast<std::size_t>(it - pts.begin()) - 1;
  // How long ago (wall clock) the row began, capped at ~30 years.
  const double behind = std::min((into - Secs(pts[index].at - first).count()) / c.speed, 1e9);
  return ReplayPosition{index, now - std::chrono::duration_cast<Clock::duration>(Secs(behind))};
}

namespace feeds {
namespace {

class FileFeed final : public IntensityFeed {
 public:
  FileFeed(std::map<std::string, CsvTrace> traces, ReplayClock clock, NowFn now)
      : traces_(std::move(traces)), clock_(clock), now_(std::move(now)) {}

  core::Task<FeedResult<ParsedReading>> fetch(std::string id) override {
    auto it = traces_.find(id);
    if (it == traces_.end()) co_return FeedError{FeedErrorKind::kSetup, fmt::format("no trace loaded from '{}'", id)};
    const auto pos = replay_position(it->second.points, clock_, now_());
    const auto& p = it->second.points[pos.index];
    co_return ParsedReading{p.gco2_per_kwh, pos.row_wall, p.estimated};
  }

 private:
  std::map<std::string, CsvTrace> traces_;  // by path
  ReplayClock clock_;
  NowFn now_;
};

}  // namespace

FeedResult<std::unique_ptr<IntensityFeed>> make_file(const config::CarbonProvider& p, NowFn now) {
  constexpr std::size_t kMaxTraceBytes = std::size_t{256} * 1024 * 1024;
  std::map<std::string, CsvTrace> traces;
  for (const auto& [zone, path] : p.zones) {
    if (traces.count(path)) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) return FeedError{FeedErrorKind::kSetup, fmt::format("zone {}: cannot read trace '{}'", zone, path)};
    std::ostringstream s;
    s << in.rdbuf();
    const std::string text = s.str();
    if (text.size() > kMaxTraceBytes)
      return FeedError{FeedErrorKind::kSetup, fmt::format("zone {}: trace '{}' is over {} bytes", zone, path, kMaxTraceBytes)};
    auto trace = parse_intensity_csv(text, p.lifecycle ? EmissionFactor::kLifecycle : EmissionFactor::kDirect);
    if (!trace) return FeedError{FeedErrorKind::kMalformed, fmt::format("zone {}: {}: {}", zone, path, trace.error().message)};
    traces.emplace(path, std::move(*trace));
  }
  const ReplayClock clock{now(), p.time_offset, p.speed, p.loop};
  return std::unique_ptr<IntensityFeed>(std::make_unique<FileFeed>(std::move(traces), clock, std::move(now)));
}

}  // namespace feeds
}  // namespace aegis::carbon
