// Prometheus text exposition format 0.0.4: name/label validation, escaping and
// the writers Store::prometheus_text() uses. Internal to stats/ (and its tests);
// other modules read the finished text from Store.
#pragma once

#include <string>
#include <string_view>

#include "stats/stats.h"

namespace aegis::stats::prometheus {

// [a-zA-Z_][a-zA-Z0-9_]* (':' is reserved for recording rules, so refused here).
bool valid_metric_name(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself).
bool valid_label_name(std::string_view name);
bool valid_utf8(std::string_view text);

// Label values escape backslash, double quote and newline.
void append_label_value(std::string& out, std::string_view value);
// HELP text escapes backslash and newline only.
void append_help(std::string& out, std::string_view help);
// Shortest round-trip form; +Inf, -Inf and NaN spelled the Prometheus way.
void append_double(std::string& out, double value);

// `a="x",b="y"` (no braces) for labels already sorted by name.
std::string render_labels(const Labels& labels);

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type);
// One sample line. `labels` is render_labels() output (may be empty).
void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   std::string_view value);
// _bucket lines (cumulative, with le="+Inf"), then _sum and _count.
void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const Histogram::Snapshot& snapshot);

}  // namespace aegis::stats::prometheus
