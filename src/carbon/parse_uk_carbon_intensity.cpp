// UK Carbon Intensity API (api.carbonintensity.org.uk).
// GET /intensity → {"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z",
//                            "intensity":{"forecast":266,"actual":263,"index":"moderate"}}]}
// GET /regional/regionid/{id} → {"data":[{"regionid":3,"dnoregion":"...","shortname":"...",
//   "data":[{"from":...,"to":...,"intensity":{"forecast":266,"index":"moderate"},"generationmix":[...]}]}]}
#include "carbon/json_fields.h"

namespace aegis::carbon {
namespace {

// The first element of the object's "data" array, as an object.
core::Result<const detail::json::object*> first_of_data(const detail::json::object& o, const std::string& what) {
  const auto* data = o.if_contains("data");
  if (data == nullptr || !data->is_array()) return core::Error{what + ": no 'data' array"};
  if (data->get_array().empty()) return core::Error{what + ": 'data' is empty"};
  return detail::as_object(data->get_array().front(), what + " data[0]");
}

}  // namespace

core::Result<ParsedReading> parse_uk_intensity(std::string_view body) {
  const std::string what = "UK Carbon Intensity response";
  auto v = detail::parse_json(body, what);
  if (!v) return v.error();
  auto o = detail::as_object(*v, what);
  if (!o) return o.error();
  auto period = first_of_data(**o, what);
  if (!period) return period.error();
  std::string period_what = what + " data[0]";
  if ((*period)->contains("regionid") || ((*period)->contains("data") && !(*period)->contains("intensity"))) {
    // Regional shape: the region's own periods are one level down.
    period = first_of_data(**period, period_what);
    if (!period) return period.error();
    period_what += ".data[0]";
  }
  const auto* intensity = (*period)->if_contains("intensity");
  if (intensity == nullptr || !intensity->is_object())
    return core::Error{period_what + ": no 'intensity' object"};
  const auto& in = intensity->get_object();
  const std::string in_what = period_what + ".intensity";
  bool estimated = false;
  const auto* actual = in.if_contains("actual");
  auto value = (actual != nullptr && !actual->is_null()) ? detail::number_field(in, "actual", in_what)
                                                          : detail::number_field(in, "forecast", in_what);
  if (actual == nullptr || actual->is_null()) estimated = true;
  if (!value) return value.error();
  auto g = detail::check_intensity(*value, in_what);
  if (!g) return g.error();
  auto at = detail::time_field(**period, "from", period_what);
  if (!at) return at.error();
  return ParsedReading{*g, *at, estimated};
}

}  // namespace aegis::carbon
