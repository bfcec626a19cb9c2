// CSV traces of the `file` feed (formats in parsers.h). Fields are split per
// RFC 4180 (double-quoted fields may hold commas and "" quotes); rows end in
// LF or CRLF (the Electricity Maps export uses CRLF).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "carbon/parsers.h"

namespace aegis::carbon {
namespace {

std::string lower_trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One row's fields; false when a quoted field is not closed.
bool split_row(std::string_view line, std::vector<std::string>& out) {
  out.clear();
  std::string field;
  std::size_t i = 0;
  for (;;) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      while (i < line.size() && line[i] != ',') field += line[i++];  // text after the quote: kept
    } else {
      while (i < line.size() && line[i] != ',') field += line[i++];
    }
    out.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

core::Result<double> number(std::string_view text, std::size_t line_no) {
  std::string_view s = text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return core::Error{fmt::format("line {}: intensity '{}' is not a number", line_no, text.substr(0, 64))};
  if (v < 0) return core::Error{fmt::format("line {}: intensity {} is negative", line_no, v)};
  return v;
}

struct Columns {
  std::size_t time = 0;
  std::size_t value = 1;
  std::optional<std::size_t> zone;
  std::optional<std::size_t> estimated;
  double scale = 1.0;
};

constexpr std::string_view kExpected =
    "expected 'Time,Carbon Intensity', the Electricity Maps export ('Datetime (UTC),...,Carbon Intensity "
    "gCO₂eq/kWh (direct),...') or WattTime 'time,<region>'";

core::Result<Columns> detect(const std::vector<std::string>& header, EmissionFactor factor, CsvTrace& trace) {
  std::vector<std::string> h;
  h.reserve(header.size());
  for (const auto& c : header) h.push_back(lower_trim(c));
  Columns cols;
  if (h.size() == 2 && h[0] == "time" && h[1] == "carbon intensity") {
    trace.format = CsvFormat::kTimeIntensity;
    return cols;
  }
  const auto find = [&](std::string_view prefix) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < h.size(); ++i)
      if (h[i].rfind(prefix, 0) == 0) return i;
    return std::nullopt;
  };
  if (auto dt = find("datetime (utc)")) {
    // "Carbon Intensity gCO₂eq/kWh (direct)"; the subscript two is UTF-8, so
    // match on the ASCII parts around it.
    std::optional<std::size_t> value;
    const std::string_view want = factor == EmissionFactor::kDirect ? "(direct)" : "(lca)";
    for (std::size_t i = 0; i < h.size(); ++i)
      if (h[i].rfind("carbon intensity", 0) == 0 && h[i].size() >= want.size() &&
          h[i].compare(h[i].size() - want.size(), want.size(), want) == 0)
        value = i;
    if (!value)
      return core::Error{fmt::format("line 1: Electricity Maps export without a 'Carbon Intensity gCO₂eq/kWh {}' column",
                                     factor == EmissionFactor::kDirect ? "(direct)" : "(LCA)")};
    trace.format = CsvFormat::kElectricityMaps;
    cols.time = *dt;
    cols.value = *value;
    cols.zone = find("zone id");
    cols.estimated = find("data estimated");
    return cols;
  }
  // WattTime MOER exports: "time,<region>" (seen in the wild with a mangled
  // first name such as "oootime"): two columns, the first naming a time.
  if (h.size() == 2 && h[0].size() >= 4 && h[0].compare(h[0].size() - 4, 4, "time") == 0 && !h[1].empty()) {
    trace.format = CsvFormat::kWattTime;
    trace.zone = std::string(header[1]);
    cols.scale = kGramsPerKwhPerLbsPerMwh;
    return cols;
  }
  std::string shown;
  for (const auto& c : header) shown += (shown.empty() ? "" : ",") + c;
  return core::Error{fmt::format("line 1: unrecognised header '{}'; {}", shown.substr(0, 120), kExpected)};
}

}  // namespace

std::string_view to_string(CsvFormat f) {
  switch (f) {
    case CsvFormat::kTimeIntensity: return "time_intensity";
    case CsvFormat::kElectricityMaps: return "electricity_maps_export";
    case CsvFormat::kWattTime: return "watttime";
  }
  return "?";
}

core::Result<CsvTrace> parse_intensity_csv(std::string_view text, EmissionFactor factor) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  CsvTrace trace;
  Columns cols;
  std::vector<std::string> fields;
  bool have_header = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (!split_row(line, fields)) return core::Error{fmt::format("line {}: unterminated quoted field", line_no)};
    if (!have_header) {
      auto c = detect(fields, factor, trace);
      if (!c) return c.error();
      cols = *c;
      have_header = true;
      continue;
    }
    const std::size_t need = std::max({cols.time, cols.value, cols.zone.value_or(0), cols.estimated.value_or(0)}) + 1;
    if (fields.size() < need)
      return core::Error{fmt::format("line {}: {} field(s), the header needs at least {}", line_no, fields.size(), need)};
    auto at = parse_timestamp(fields[cols.time]);
    if (!at) return core::Error{fmt::format("line {}: {}", line_no, at.error().message)};
    if (!trace.points.empty() && *at <= trace.points.back().at)
      return core::Error{fmt::format("line {}: time {} is not after the previous row's; rows must be in time order",
                                     line_no, fields[cols.time])};
    if (lower_trim(fields[cols.value]).empty()) {
      ++trace.skipped_rows;
      continue;
    }
    auto v = number(fields[cols.value], line_no);
    if (!v) return v.error();
    TracePoint p{*at, *v * cols.scale, false};
    if (cols.estimated) p.estimated = lower_trim(fields[*cols.estimated]) == "true";
    if (cols.zone && trace.zone.empty()) trace.zone = fields[*cols.zone];
    trace.points.push_back(p);
  }
  if (!have_header) return core::Error{fmt::format("the file is empty; {}", kExpected)};
  if (trace.points.empty()) return core::Error{"no data rows after the header"};
  return trace;
}

}  // namespace aegis::carbon
