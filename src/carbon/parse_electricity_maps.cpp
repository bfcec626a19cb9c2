// Electricity Maps API v3, GET /v3/carbon-intensity/latest?zone=Z. A body:
//   {"zone":"DE","carbonIntensity":302,"datetime":"2019-05-21T00:00:00.000Z",
//    "updatedAt":"2019-05-21T00:00:00.000Z","emissionFactorType":"lifecycle",
//    "isEstimated":false,"estimationMethod":null}
#include "carbon/json_fields.h"

namespace aegis::carbon {

core::Result<ParsedReading> parse_electricity_maps_latest(std::string_view body) {
  constexpr std::string_view kWhat = "Electricity Maps response";
  auto v = detail::parse_json(body, kWhat);
  if (!v) return v.error();
  auto o = detail::as_object(*v, kWhat);
  if (!o) return o.error();
  auto ci = detail::number_field(**o, "carbonIntensity", kWhat);
  if (!ci) return ci.error();
  auto checked = detail::check_intensity(*ci, kWhat);
  if (!checked) return checked.error();
  auto at = detail::time_field(**o, "datetime", kWhat);
  if (!at) return at.error();
  if ((*o)->if_contains("updatedAt")) {  // optional; when present it must be a time
    auto upd = detail::time_field(**o, "updatedAt", kWhat);
    if (!upd) return upd.error();
  }
  auto est = detail::bool_field_or(**o, "isEstimated", false, kWhat);
  if (!est) return est.error();
  return ParsedReading{*checked, *at, *est};
}

}  // namespace aegis::carbon
