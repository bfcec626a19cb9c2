#include "carbon/csv_trace.h"

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

// Exactly `digits` decimal digits at s[pos...]; advances pos.
std::optional<int> fixed_digits(std::string_view s, std::size_t& pos, std::size_t digits) {
  if (s.size() < pos + digits) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += digits;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out(s.substr(0, kMax));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return "'" + out + (s.size() > kMax ? "...'" : "'");
}

core::Result<std::vector<TracePoint>> parse_series(std::string_view text, std::string_view header,
                                                   std::string_view what) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM from spreadsheet exports
  std::vector<TracePoint> out;
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
    out.push_back(TracePoint{*at, value});
  }
  if (!header_seen) return core::Error{std::string(what) + ": empty, expected the header '" + std::string(header) + "'"};
  if (out.empty()) return core::Error{std::string(what) + ": no data rows after the header"};
  return out;
}

core::Result<std::vector<TracePoint>> load(const std::string& path,
                                           core::Result<std::vector<TracePoint>> (*parse)(std::string_view)) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Error{path + ": cannot open"};
  std::ostringstream buf;
  buf << in.rdbuf();
  auto r = parse(buf.str());
  if (!r) return core::Error{path + ": " + r.error().message};
  return r;
}

}  // namespace

std::optional<Clock::time_point> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const auto y = fixed_digits(s, pos, 4);
  if (!y || !expect(s, pos, '-')) return std::nullopt;
  const auto mo = fixed_digits(s, pos, 2);
  if (!mo || !expect(s, pos, '-')) return std::nullopt;
  const auto d = fixed_digits(s, pos, 2);
  if (!d) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (pos < s.size()) {
    if (s[pos] != ' ' && s[pos] != 'T') return std::nullopt;
    ++pos;
    const auto h = fixed_digits(s, pos, 2);
    if (!h || !expect(s, pos, ':')) return std::nullopt;
    const auto m = fixed_digits(s, pos, 2);
    if (!m) return std::nullopt;
    hh = *h;
    mm = *m;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      const auto sec = fixed_digits(s, pos, 2);
      if (!sec) return std::nullopt;
      ss = *sec;
    }
    if (pos < s.size() && s[pos] == 'Z') ++pos;
    if (hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return time_point_cast<Clock::duration>(sys_days(ymd) + hours(hh) + minutes(mm) + seconds(ss));
}

core::Result<std::vector<TracePoint>> parse_intensity_trace(std::string_view text) {
  return parse_series(text, "Time,Carbon Intensity", "intensity trace");
}

core::Result<std::vector<TracePoint>> parse_workload_trace(std::string_view text) {
  return parse_series(text, "ds,y", "workload trace");
}

core::Result<std::vector<TracePoint>> load_intensity_trace(const std::string& path) {
  return load(path, &parse_intensity_trace);
}

core::Result<std::vector<TracePoint>> load_workload_trace(const std::string& path) {
  return load(path, &parse_workload_trace);
}

const TracePoint& TraceCursor::at(Clock::time_point t) {
  while (i_ + 1 < points_.size() && points_[i_ + 1].at <= t) ++i_;
  return points_[i_];
}

}  // namespace aegis::carbon
