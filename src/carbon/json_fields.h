// Reading provider JSON with Boost.JSON: parsing with a depth limit and
// typed field access whose errors name the provider and the field. Internal
// to carbon/ (the parse_*.cpp files).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

#include "carbon/parsers.h"
#include "core/result.h"

namespace aegis::carbon::detail {

namespace json = boost::json;

// The whole body as one JSON value; `what` names it in errors ("Electricity Maps response").
core::Result<json::value> parse_json(std::string_view body, std::string_view what);

// The value must be an object; `what` names it.
core::Result<const json::object*> as_object(const json::value& v, std::string_view what);
// A finite number (integer or not). Missing, null or another type: an error.
core::Result<double> number_field(const json::object& o, std::string_view key, std::string_view what);
// A string field.
core::Result<std::string_view> string_field(const json::object& o, std::string_view key, std::string_view what);
// A timestamp string field, parsed.
core::Result<Clock::time_point> time_field(const json::object& o, std::string_view key, std::string_view what);
// A boolean field, or `fallback` when absent or null.
core::Result<bool> bool_field_or(const json::object& o, std::string_view key, bool fallback, std::string_view what);
// Intensities are finite and not negative.
core::Result<double> check_intensity(double v, std::string_view what);

}  // namespace aegis::carbon::detail
