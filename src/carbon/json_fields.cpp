#include "carbon/json_fields.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <cmath>

namespace aegis::carbon::detail {

core::Result<json::value> parse_json(std::string_view body, std::string_view what) {
  json::parse_options opt;
  opt.max_depth = 32;  // provider bodies are a few levels deep
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opt);
  if (ec) return core::Error{fmt::format("{}: not valid JSON ({})", what, ec.message())};
  return v;
}

core::Result<const json::object*> as_object(const json::value& v, std::string_view what) {
  const json::object* o = v.if_object();
  if (o == nullptr) return core::Error{fmt::format("{}: expected a JSON object", what)};
  return o;
}

core::Result<double> number_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return core::Error{fmt::format("{}: field '{}' is missing", what, key)};
  boost::system::error_code ec;
  const double d = v->to_number<double>(ec);
  if (ec || !std::isfinite(d)) return core::Error{fmt::format("{}: field '{}' is not a number", what, key)};
  return d;
}

core::Result<std::string_view> string_field(const json::object& o, std::string_view key, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return core::Error{fmt::format("{}: field '{}' is missing", what, key)};
  const json::string* s = v->if_string();
  if (s == nullptr) return core::Error{fmt::format("{}: field '{}' is not a string", what, key)};
  return std::string_view(*s);
}

core::Result<Clock::time_point> time_field(const json::object& o, std::string_view key, std::string_view what) {
  auto s = string_field(o, key, what);
  if (!s) return s.error();
  auto t = parse_timestamp(*s);
  if (!t) return core::Error{fmt::format("{}: field '{}': {}", what, key, t.error().message)};
  return *t;
}

core::Result<bool> bool_field_or(const json::object& o, std::string_view key, bool fallback, std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return core::Error{fmt::format("{}: field '{}' is not true/false", what, key)};
  return v->get_bool();
}

core::Result<double> check_intensity(double v, std::string_view what) {
  if (!std::isfinite(v) || v < 0) return core::Error{fmt::format("{}: intensity {} is negative or not finite", what, v)};
  return v;
}

}  // namespace aegis::carbon::detail
