// WattTime API v3. GET /login (HTTP Basic) → {"token":"..."}, valid 30 minutes.
// GET /v3/forecast?region=R&signal_type=co2_moer&horizon_hours=0 →
//   {"data":[{"point_time":"2023-08-17T17:05:00+00:00","value":887.9},...],
//    "meta":{"region":"CAISO_NORTH","signal_type":"co2_moer","units":"lbs_co2_per_mwh",
//            "generated_at":"2023-08-17T17:00:00+00:00",...}}
#include <fmt/format.h>

#include "carbon/json_fields.h"

namespace aegis::carbon {

core::Result<std::string> parse_watttime_login(std::string_view body) {
  constexpr std::string_view kWhat = "WattTime login response";
  auto v = detail::parse_json(body, kWhat);
  if (!v) return v.error();
  auto o = detail::as_object(*v, kWhat);
  if (!o) return o.error();
  auto token = detail::string_field(**o, "token", kWhat);
  if (!token) return token.error();
  if (token->empty()) return core::Error{std::string(kWhat) + ": field 'token' is empty"};
  // The token goes into an Authorization header: no control characters.
  for (const char c : *token)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
      return core::Error{std::string(kWhat) + ": field 'token' holds characters not allowed in a header"};
  return std::string(*token);
}

core::Result<ParsedReading> parse_watttime_forecast(std::string_view body) {
  constexpr std::string_view kWhat = "WattTime forecast response";
  auto v = detail::parse_json(body, kWhat);
  if (!v) return v.error();
  auto o = detail::as_object(*v, kWhat);
  if (!o) return o.error();
  const auto* meta_v = (*o)->if_contains("meta");
  if (meta_v == nullptr || !meta_v->is_object()) return core::Error{std::string(kWhat) + ": no 'meta' object"};
  auto units = detail::string_field(meta_v->get_object(), "units", std::string(kWhat) + " meta");
  if (!units) return units.error();
  if (*units != "lbs_co2_per_mwh")
    return core::Error{fmt::format("{}: meta.units is '{}'; only lbs_co2_per_mwh (signal_type=co2_moer) is supported",
                                   kWhat, units->substr(0, 64))};
  const auto* data = (*o)->if_contains("data");
  if (data == nullptr || !data->is_array()) return core::Error{std::string(kWhat) + ": no 'data' array"};
  if (data->get_array().empty()) return core::Error{std::string(kWhat) + ": 'data' is empty"};
  const std::string point_what = std::string(kWhat) + " data[0]";
  auto point = detail::as_object(data->get_array().front(), point_what);
  if (!point) return point.error();
  auto value = detail::number_field(**point, "value", point_what);
  if (!value) return value.error();
  auto at = detail::time_field(**point, "point_time", point_what);
  if (!at) return at.error();
  auto g = detail::check_intensity(*value * kGramsPerKwhPerLbsPerMwh, point_what);
  if (!g) return g.error();
  return ParsedReading{*g, *at, /*estimated=*/true};  // a forecast's first point, not a measurement
}

}  // namespace aegis::carbon
