#include "stats/prometheus.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace aegis::stats::prometheus {
namespace {

bool is_alpha_or_underscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool valid_identifier(std::string_view name) {
  if (name.empty() || !is_alpha_or_underscore(name.front())) return false;
  for (char c : name) {
    if (!is_alpha_or_underscore(c) && !is_digit(c)) return false;
  }
  return true;
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_identifier(name); }

bool valid_label_name(std::string_view name) {
  return valid_identifier(name) && !name.starts_with("__");
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1;
      cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2;
      cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3;
      cp = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cont & 0x3F);
    }
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    static constexpr std::array<std::uint32_t, 4> kMin{0, 0x80, 0x800, 0x10000};
    if (cp < kMin.at(extra) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    // %g-style like Go's strconv 'g': "0.0005" rather than "5e-04".
    std::array<char, 32> buf{};
    const auto res =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::general);
    out.append(buf.data(), res.ptr);
  }
}

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    if (!out.empty()) out += ',';
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
  }
  return out;
}

void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  append_help(out, help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void append_sample(std::string& out, std::string_view name, std::string_view labels,
                   std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void append_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const Histogram::Snapshot& snapshot) {
  const std::string bucket_name = std::string(name) + "_bucket";
  std::string bucket_labels(labels);
  if (!bucket_labels.empty()) bucket_labels += ',';
  const std::size_t le_at = bucket_labels.size();
  for (std::size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    bucket_labels.resize(le_at);
    bucket_labels += "le=\"";
    if (i < snapshot.bounds.size()) {
      append_double(bucket_labels, snapshot.bounds[i]);
    } else {
      bucket_labels += "+Inf";
    }
    bucket_labels += '"';
    append_sample(out, bucket_name, bucket_labels, std::to_string(snapshot.cumulative[i]));
  }
  std::string sum;
  append_double(sum, snapshot.sum);
  append_sample(out, std::string(name) + "_sum", labels, sum);
  append_sample(out, std::string(name) + "_count", labels, std::to_string(snapshot.count));
}

}  // namespace aegis::stats::prometheus
