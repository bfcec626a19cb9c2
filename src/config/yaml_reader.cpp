#include "config/yaml_reader.h"

#include <algorithm>
#include <limits>
#include <tuple>

#include "config/values.h"

namespace aegis::config::detail {
namespace {

std::string quote_truncated(const std::string& s) {
  constexpr std::size_t kMax = 60;
  if (s.size() <= kMax) return "'" + s + "'";
  return "'" + s.substr(0, kMax) + "...'";
}

std::string join(std::initializer_list<std::string_view> words) {
  std::string out;
  for (auto w : words) {
    if (!out.empty()) out += ", ";
    out += w;
  }
  return out;
}

}  // namespace

void Diagnostics::error(const YAML::Mark& at, std::string message) {
  Diagnostic d;
  d.file = file_;
  if (at.line >= 0 && at.column >= 0) {
    d.line = at.line + 1;
    d.column = at.column + 1;
  }
  d.message = std::move(message);
  list_.push_back(std::move(d));
}

void Diagnostics::error_at(const std::string& path, std::string message) {
  error(mark_of(path), std::move(message));
}

void Diagnostics::remember(const std::string& path, const YAML::Mark& mark) { marks_[path] = mark; }

YAML::Mark Diagnostics::mark_of(const std::string& path) const {
  // Fall back to the closest enclosing path that was written in the file.
  std::string p = path;
  while (!p.empty()) {
    if (const auto it = marks_.find(p); it != marks_.end()) return it->second;
    const auto cut = p.find_last_of(".[");
    if (cut == std::string::npos) break;
    p.resize(cut);
  }
  return YAML::Mark::null_mark();
}

bool Diagnostics::charge_item(const YAML::Mark& at) {
  if (over_budget_) return false;
  if (++items_ <= kMaxItems) return true;
  over_budget_ = true;
  error(at, "the file expands to more than " + std::to_string(kMaxItems) +
                " list items (aliases?); refusing to read further");
  return false;
}

std::vector<Diagnostic> Diagnostics::take() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return std::move(list_);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return quote_truncated(node.Scalar());
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

Object::Object(const YAML::Node& node, const YAML::Mark& where, std::string what, std::string path,
               std::initializer_list<std::string_view> fields, Diagnostics& diags)
    : what_(std::move(what)), path_(std::move(path)), where_(where), diags_(diags) {
  if (node.IsNull()) {  // "admin:" with nothing under it: all defaults
    is_mapping_ = true;
    return;
  }
  if (!node.IsMap()) {
    diags_.error(node.Mark(), what_ + ": expected a mapping of fields, got " + describe(node));
    return;
  }
  is_mapping_ = true;
  where_ = node.Mark();
  diags_.remember(path_, where_);
  for (const auto& kv : node) {
    const YAML::Node key = kv.first;
    const YAML::Node value = kv.second;
    if (!key.IsScalar()) {
      diags_.error(key.Mark(), "field names in " + what_ + " must be plain words, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
      diags_.error(key.Mark(), "unknown field " + quote_truncated(name) + " in " + what_ +
                                   "; expected one of: " + join(fields));
      continue;
    }
    if (const Entry* first = find(name)) {
      diags_.error(key.Mark(), "duplicate field '" + name + "' in " + what_ + " (first set at line " +
                                   std::to_string(first->key_mark.line + 1) + ")");
      continue;
    }
    entries_.push_back(Entry{name, key.Mark(), value});
    diags_.remember(this->path(name), value.IsNull() ? key.Mark() : value.Mark());
  }
}

const Object::Entry* Object::find(std::string_view field) const {
  const auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == field; });
  return it == entries_.end() ? nullptr : &*it;
}

bool Object::has(std::string_view field) const {
  const Entry* e = find(field);
  return e != nullptr && !e->value.IsNull();
}

bool Object::present(std::string_view field) const { return find(field) != nullptr; }

YAML::Node Object::get(std::string_view field) const {
  const Entry* e = find(field);
  return e != nullptr ? e->value : YAML::Node();
}

YAML::Mark Object::value_mark(std::string_view field) const {
  const Entry* e = find(field);
  if (e == nullptr) return where_;
  return e->value.IsNull() ? e->key_mark : e->value.Mark();
}

std::string Object::path(std::string_view field) const {
  return path_.empty() ? std::string(field) : path_ + "." + std::string(field);
}

bool Object::require(std::string_view field) const {
  if (!is_mapping_) return false;  // already reported
  const Entry* e = find(field);
  if (e == nullptr) {
    diags_.error(where_, "missing required field '" + std::string(field) + "' in " + what_);
    return false;
  }
  if (e->value.IsNull()) {
    diags_.error(e->key_mark, std::string(field) + ": required field has no value");
    return false;
  }
  return true;
}

const std::string* Object::scalar(std::string_view field, std::string_view expected) const {
  const Entry* e = find(field);
  if (e == nullptr || e->value.IsNull()) return nullptr;
  if (!e->value.IsScalar()) {
    diags_.error(e->value.Mark(),
                 std::string(field) + ": expected " + std::string(expected) + ", got " + describe(e->value));
    return nullptr;
  }
  return &e->value.Scalar();
}

bool Object::read_string(std::string_view field, std::string& out) const {
  const std::string* s = scalar(field, "a string");
  if (s == nullptr) return false;
  out = *s;
  return true;
}

bool Object::read_name(std::string_view field, std::string& out) const {
  if (!require(field) || !read_string(field, out)) return false;
  if (out.empty()) {
    diags_.error(value_mark(field), std::string(field) + ": must not be empty");
    return false;
  }
  return true;
}

template <class T, class Parse>
bool Object::read_parsed(std::string_view field, const std::string& expected, Parse parse, T& out) const {
  const std::string* s = scalar(field, expected);
  if (s == nullptr) return false;
  const std::optional<T> v = parse(*s);
  if (!v) {
    diags_.error(value_mark(field), std::string(field) + ": expected " + expected + ", got " + quote_truncated(*s));
    return false;
  }
  out = *v;
  return true;
}

bool Object::read_uint(std::string_view field, std::uint64_t min, std::uint64_t max, std::uint64_t& out) const {
  return read_parsed(field, "an integer " + std::to_string(min) + "-" + std::to_string(max),
                     [&](const std::string& s) { return parse_uint(s, min, max); }, out);
}

bool Object::read_u32(std::string_view field, std::uint32_t min, std::uint32_t& out) const {
  std::uint64_t v = 0;
  if (!read_uint(field, min, std::numeric_limits<std::uint32_t>::max(), v)) return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool Object::read_decimal(std::string_view field, double min, double max, double& out) const {
  return read_parsed(field, fmt_decimal_range(min, max),
                     [&](const std::string& s) { return parse_decimal(s, min, max); }, out);
}

bool Object::read_port(std::string_view field, std::uint16_t& out) const {
  std::uint64_t v = 0;
  if (!read_uint(field, 1, 65535, v)) return false;
  out = static_cast<std::uint16_t>(v);
  return true;
}

bool Object::read_duration(std::string_view field, Millis& out) const {
  const std::string* s = scalar(field, "a duration such as 250ms, 1s, 1.5s, 2m, 1h or 0");
  if (s == nullptr) return false;
  auto d = parse_duration(*s);
  if (!d) {
    diags_.error(value_mark(field), std::string(field) + ": " + d.error().message);
    return false;
  }
  out = *d;
  return true;
}

bool Object::read_bool(std::string_view field, bool& out) const {
  const std::string* s = scalar(field, "true or false");
  if (s == nullptr) return false;
  const std::string v = to_lower(*s);
  if (v == "true" || v == "false") {
    out = v == "true";
    return true;
  }
  diags_.error(value_mark(field), std::string(field) + ": expected true or false, got " + quote_truncated(*s));
  return false;
}

bool Object::read_choice(std::string_view field, std::initializer_list<std::string_view> choices,
                         std::size_t& out) const {
  const std::string expected = "one of: " + join(choices);
  const std::string* s = scalar(field, expected);
  if (s == nullptr) return false;
  const auto it = std::find(choices.begin(), choices.end(), *s);
  if (it == choices.end()) {
    diags_.error(value_mark(field), std::string(field) + ": expected " + expected + "; got " + quote_truncated(*s));
    return false;
  }
  out = static_cast<std::size_t>(it - choices.begin());
  return true;
}

void Object::for_each(std::string_view field,
                      const std::function<void(const YAML::Node&, const std::string&, const YAML::Mark&)>& each) const {
  const Entry* e = find(field);
  if (e == nullptr || e->value.IsNull()) return;
  if (!e->value.IsSequence()) {
    diags_.error(e->value.Mark(), std::string(field) + ": expected a list, got " + describe(e->value));
    return;
  }
  std::size_t i = 0;
  for (const YAML::Node& item : e->value) {
    const YAML::Mark at = item.IsNull() ? e->value.Mark() : item.Mark();
    if (!diags_.charge_item(at)) return;
    const std::string item_path = path(field) + "[" + std::to_string(i++) + "]";
    diags_.remember(item_path, at);
    each(item, item_path, at);
  }
}

bool Object::read_strings(std::string_view field, std::vector<std::string>& out) const {
  bool ok = true;
  for_each(field, [&](const YAML::Node& item, const std::string&, const YAML::Mark& at) {
    if (!item.IsScalar()) {
      diags_.error(at, std::string(field) + ": expected a list of strings, got " + describe(item) + " in it");
      ok = false;
      return;
    }
    out.push_back(item.Scalar());
  });
  return ok;
}

}  // namespace aegis::config::detail
