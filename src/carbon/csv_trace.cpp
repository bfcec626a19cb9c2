#include "carbon/csv_trace.h"

#include "carbon/parsers.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace aegis::carbon {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out(s.substr(0, kMax));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return "'" + out + (s.size() > kMax ? "...'" : "'");
}

core::Result<std::vector<SeriesPoint>> parse_series(std::string_view text, std::string_view header,
                                                   std::string_view what) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM from spreadsheet exports
  std::vector<SeriesPoint> out;
  std::size_t line_no = 0;
  bool header_seen = false;
  auto error = [&](const std::string& msg) {
    return core::Error{std::string(what) + " line " + std::to_string(line_no) + ": " + msg};
  };
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const auto raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    const auto line = trim(raw);
    if (line.empty()) continue;
    if (!header_seen) {
      if (line != header)
        return error("expected the header '" + std::string(header) + "', got " + shown(line));
      header_seen = true;
      continue;
    }
    const auto comma = line.find(',');
    if (comma == std::string_view::npos) return error("expected 'TIMESTAMP,VALUE', got " + shown(line));
    const auto time_text = trim(line.substr(0, comma));
    const auto value_text = trim(line.substr(comma + 1));
    const auto at = parse_timestamp(time_text);
    if (!at) return error("expected a timestamp like 2020-01-31 13:45:00, got " + shown(time_text));
    double value = 0;
    const auto [end, ec] = std::from_chars(value_text.data(), value_text.data() + value_text.size(), value);
    if (ec != std::errc() || end != value_text.data() + value_text.size() || !std::isfinite(value) || value < 0)
      return error("expected a non-negative number, got " + shown(value_text));
    if (!out.empty() && *at <= out.back().at) return error("timestamps must increase, got " + shown(time_text));
    out.push_back(SeriesPoint{*at, value});
  }
  if (!header_seen) return core::Error{std::string(what) + ": empty, expected the header '" + std::string(header) + "'"};
  if (out.empty()) return core::Error{std::string(what) + ": no data rows after the header"};
  return out;
}

core::Result<std::vector<SeriesPoint>> load(const std::string& path,
                                           core::Result<std::vector<SeriesPoint>> (*parse)(std::string_view)) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error{path + ": cannot open"};
  std::ostringstream buf;
  buf << in.rdbuf();
  auto r = parse(buf.str());
  if (!r) return core::Error{path + ": " + r.error().message};
  return r;
}

}  // namespace


// The file feed's parser (parsers.h): every trace format it reads, the same
// checks and messages; the simulator keeps only time and value.
core::Result<std::vector<SeriesPoint>> parse_intensity_trace(std::string_view text) {
  auto trace = parse_intensity_csv(text);
  if (!trace) return trace.error();
  if (trace->points.empty()) return core::Error{"intensity trace: no data rows after the header"};
  std::vector<SeriesPoint> out;
  out.reserve(trace->points.size());
  for (const auto& p : trace->points) out.push_back(SeriesPoint{p.at, p.gco2_per_kwh});
  return out;
}

core::Result<std::vector<SeriesPoint>> parse_workload_trace(std::string_view text) {
  return parse_series(text, "ds,y", "workload trace");
}

core::Result<std::vector<SeriesPoint>> load_intensity_trace(const std::string& path) {
  return load(path, &parse_intensity_trace);
}

core::Result<std::vector<SeriesPoint>> load_workload_trace(const std::string& path) {
  return load(path, &parse_workload_trace);
}

const SeriesPoint& TraceCursor::at(Clock::time_point t) {
  while (i_ + 1 < points_.size() && points_[i_ + 1].at <= t) ++i_;
  return points_[i_];
}

}  // namespace aegis::carbon
