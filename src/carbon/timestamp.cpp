// ISO 8601 timestamps as the intensity providers write them (see parsers.h).
#include <fmt/format.h>

#include <charconv>
#include <chrono>

#include "carbon/parsers.h"

namespace aegis::carbon {
namespace {

// Exactly `n` digits at `pos`; advances pos.
bool digits(std::string_view s, std::size_t& pos, std::size_t n, int& out) {
  if (s.size() < pos + n) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

core::Result<Clock::time_point> parse_timestamp(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return core::Error{fmt::format("timestamp '{}': {} (expected ISO 8601 such as 2024-01-02T03:04:05Z)",
                                   text.substr(0, 64), why)};
  };
  std::size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, p, 4, year) || !expect(text, p, '-') || !digits(text, p, 2, month) || !expect(text, p, '-') ||
      !digits(text, p, 2, day))
    return bad("no YYYY-MM-DD date");
  const bool date_only = p == text.size();  // midnight UTC (daily traces)
  if (!date_only && (text[p] != 'T' && text[p] != ' ')) return bad("no time after the date");
  if (!date_only) {
    ++p;
    if (!digits(text, p, 2, hour) || !expect(text, p, ':') || !digits(text, p, 2, minute)) return bad("no HH:MM time");
  }
  std::chrono::nanoseconds frac{0};
  if (p < text.size() && text[p] == ':') {
    ++p;
    if (!digits(text, p, 2, second)) return bad("bad seconds");
    if (p < text.size() && (text[p] == '.' || text[p] == ',')) {
      ++p;
      std::int64_t ns = 0;
      std::size_t n = 0;
      while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
        if (n < 9) ns = ns * 10 + (text[p] - '0');
        ++n;
        ++p;
      }
      if (n == 0) return bad("empty fraction of a second");
      for (std::size_t i = n; i < 9; ++i) ns *= 10;
      frac = std::chrono::nanoseconds(ns);
    }
  }
  std::chrono::minutes offset{0};
  if (p < text.size()) {
    const char z = text[p];
    if (z == 'Z' || z == 'z') {
      ++p;
    } else if (z == '+' || z == '-') {
      ++p;
      int oh = 0, om = 0;
      if (!digits(text, p, 2, oh)) return bad("bad UTC offset");
      if (p < text.size() && text[p] == ':') ++p;
      if (!digits(text, p, 2, om)) return bad("bad UTC offset");
      if (oh > 23 || om > 59) return bad("UTC offset out of range");
      offset = std::chrono::minutes(oh * 60 + om) * (z == '-' ? -1 : 1);
    }
  }
  if (p != text.size()) return bad("unexpected text after the time");
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 60) return bad("field out of range");
  // The clock counts nanoseconds in 64 bits (1677..2262): a year outside
  // what a grid reading can have would overflow it (found by fuzzing).
  if (year < 1900 || year > 2200) return bad("year out of range 1900-2200");
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return bad("no such date");
  const auto tp = std::chrono::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                  std::chrono::seconds(second) + frac - offset;
  return std::chrono::time_point_cast<Clock::duration>(tp);
}

std::string format_timestamp(Clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(secs);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(secs - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

}  // namespace aegis::carbon
