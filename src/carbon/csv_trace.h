// Time series from CSV files, for the simulator (sim/) and anything else that
// replays a recorded trace: grid intensity in any format the `file` feed
// reads (parse_intensity_csv: lets-wait-awhile `Time,Carbon Intensity`, the
// Electricity Maps export, WattTime MOER; always g/kWh) and request workloads
// in the Prophet format (`ds,y`, e.g. hourly request counts).
// The parsers take the whole file as text and never throw: bad input is an
// error naming the line and what was expected.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "carbon/intensity.h"
#include "core/result.h"

namespace aegis::carbon {

// One sample of a series (the file feed's CsvTrace has its own, richer points).
struct SeriesPoint {
  Clock::time_point at;
  double value = 0;
};

// Any parse_intensity_csv format; timestamps strictly increasing, values >= 0.
core::Result<std::vector<SeriesPoint>> parse_intensity_trace(std::string_view text);
// `ds,y` rows; timestamps strictly increasing, values >= 0.
core::Result<std::vector<SeriesPoint>> parse_workload_trace(std::string_view text);

// Timestamps are read by carbon::parse_timestamp (parsers.h).

// Reads a trace file; the error names the file.
core::Result<std::vector<SeriesPoint>> load_intensity_trace(const std::string& path);
core::Result<std::vector<SeriesPoint>> load_workload_trace(const std::string& path);

// Walks a trace forward in time: value_at(t) is the last point at or before t
// (a step function, as a feed would have reported it), or the first point's
// value before the trace starts. Times passed must not decrease.
class TraceCursor {
 public:
  explicit TraceCursor(std::span<const SeriesPoint> points) : points_(points) {}
  const SeriesPoint& at(Clock::time_point t);
  double value_at(Clock::time_point t) { return at(t).value; }

 private:
  std::span<const SeriesPoint> points_;
  std::size_t i_ = 0;
};

}  // namespace aegis::carbon
