// Green Software Foundation Carbon Aware SDK WebAPI,
// GET /emissions/bylocation?location=L →
//   [{"location":"eastus","time":"2022-06-01T14:45:00+00:00","rating":65.0,"duration":"00:08:00"}]
// `rating` is in g CO2eq/kWh (the SDK converts its sources' units).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "carbon/json_fields.h"

namespace aegis::carbon {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

core::Result<ParsedReading> parse_carbon_aware_emissions(std::string_view body, std::string_view location) {
  constexpr std::string_view kWhat = "Carbon Aware SDK response";
  auto v = detail::parse_json(body, kWhat);
  if (!v) return v.error();
  const auto* arr = v->if_array();
  if (arr == nullptr) return core::Error{std::string(kWhat) + ": expected a JSON array of emissions data"};
  std::optional<ParsedReading> best;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string what = fmt::format("{}[{}]", kWhat, i);
    auto o = detail::as_object((*arr)[i], what);
    if (!o) return o.error();
    auto loc = detail::string_field(**o, "location", what);
    if (!loc) return loc.error();
    if (!location.empty() && !iequals(*loc, location)) continue;
    auto rating = detail::number_field(**o, "rating", what);
    if (!rating) return rating.error();
    auto g = detail::check_intensity(*rating, what);
    if (!g) return g.error();
    auto at = detail::time_field(**o, "time", what);
    if (!at) return at.error();
    if (!best || *at > best->at) best = ParsedReading{*g, *at, false};
  }
  if (!best)
    return core::Error{location.empty() ? fmt::format("{}: no emissions data", kWhat)
                                        : fmt::format("{}: no emissions data for location '{}'", kWhat,
                                                      location.substr(0, 64))};
  return *best;
}

}  // namespace aegis::carbon
