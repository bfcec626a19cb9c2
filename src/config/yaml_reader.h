// Reading YAML nodes into typed fields while collecting diagnostics. Internal
// to config/: the section parsers use it so that every unknown field, wrong
// type and missing value is reported at its own line:column, and parsing
// carries on so that all errors in a file surface in one pass.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/loader.h"

namespace aegis::config::detail {

// The diagnostics for one file, plus where each config path ("listeners[0].port")
// was written, so that checks across the file can point at the right spot.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Mark& at, std::string message);
  void error_at(const std::string& path, std::string message);
  void remember(const std::string& path, const YAML::Mark& mark);
  YAML::Mark mark_of(const std::string& path) const;
  bool empty() const { return list_.empty(); }
  std::size_t count() const { return list_.size(); }
  // Guards the walk against alias expansion ("billion laughs"): false once
  // more than kMaxItems list items have been visited.
  bool charge_item(const YAML::Mark& at);
  std::vector<Diagnostic> take();  // sorted by position

  static constexpr std::size_t kMaxItems = 100'000;

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
  std::unordered_map<std::string, YAML::Mark> marks_;
  std::size_t items_ = 0;
  bool over_budget_ = false;
};

// Short description of a node for messages: "'abc'", "a list", "a mapping".
std::string describe(const YAML::Node& node);

// One YAML mapping with a fixed set of fields. Construction reports unknown
// and duplicate fields; the readers report wrong types and leave `out`
// untouched when the field is absent, null or invalid.
class Object {
 public:
  // `what` names the mapping in messages ("listener"); `where` is used when
  // the node itself has no position (a null value).
  Object(const YAML::Node& node, const YAML::Mark& where, std::string what, std::string path,
         std::initializer_list<std::string_view> fields, Diagnostics& diags);

  bool is_mapping() const { return is_mapping_; }
  bool has(std::string_view field) const;  // present with a non-null value
  bool present(std::string_view field) const;  // present, even if null
  YAML::Node get(std::string_view field) const;
  YAML::Mark value_mark(std::string_view field) const;
  YAML::Mark mark() const { return where_; }
  std::string path(std::string_view field) const;
  const std::string& path() const { return path_; }
  Diagnostics& diags() const { return diags_; }

  // Reports "missing required field" unless the field has a value.
  bool require(std::string_view field) const;

  bool read_string(std::string_view field, std::string& out) const;
  // A required, non-empty string (the names other sections refer to).
  bool read_name(std::string_view field, std::string& out) const;
  bool read_uint(std::string_view field, std::uint64_t min, std::uint64_t max, std::uint64_t& out) const;
  bool read_u32(std::string_view field, std::uint32_t min, std::uint32_t& out) const;
  bool read_port(std::string_view field, std::uint16_t& out) const;
  // A plain decimal number ("1.4", "2") in [min, max].
  bool read_decimal(std::string_view field, double min, double max, double& out) const;
  bool read_duration(std::string_view field, Millis& out) const;
  bool read_bool(std::string_view field, bool& out) const;
  // Index into `choices` of the value.
  bool read_choice(std::string_view field, std::initializer_list<std::string_view> choices,
                   std::size_t& out) const;
  // Calls each(item, item_path, item_mark) for every element of a list field.
  void for_each(std::string_view field,
                const std::function<void(const YAML::Node&, const std::string&, const YAML::Mark&)>& each) const;
  // A list of strings.
  bool read_strings(std::string_view field, std::vector<std::string>& out) const;

 private:
  struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
  };
  const Entry* find(std::string_view field) const;
  // The scalar text of a field, or an error "FIELD: expected EXPECTED, got …".
  const std::string* scalar(std::string_view field, std::string_view expected) const;
  // A scalar through parse (text → optional<T>); "FIELD: expected EXPECTED,
  // got 'TEXT'" when parse refuses it.
  template <class T, class Parse>
  bool read_parsed(std::string_view field, const std::string& expected, Parse parse, T& out) const;

  std::string what_;
  std::string path_;
  YAML::Mark where_;
  Diagnostics& diags_;
  bool is_mapping_ = false;
  std::vector<Entry> entries_;
};

}  // namespace aegis::config::detail
