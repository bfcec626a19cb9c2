// The carbon-intensity provider bodies (carbon/parsers.h): Electricity Maps
// latest, WattTime login and forecast, UK Carbon Intensity, the GSF Carbon
// Aware SDK, and the ISO 8601 timestamps in them. These bytes come from the
// network (a provider, or whoever sits between the proxy and it).
//
// Input: the first byte picks the parser, the rest is the body.
// Invariants: a reading that parses is a finite, non-negative intensity, and
// its timestamp prints and parses back to the same instant (to the second).
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include "carbon/parsers.h"
#include "fuzz_check.h"

namespace {

using namespace aegis::carbon;

void check(const aegis::core::Result<ParsedReading>& r) {
  if (!r) return;
  FUZZ_CHECK(std::isfinite(r->gco2_per_kwh));
  FUZZ_CHECK(r->gco2_per_kwh >= 0);
  const auto back = parse_timestamp(format_timestamp(r->at));
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(std::chrono::floor<std::chrono::seconds>(*back) == std::chrono::floor<std::chrono::seconds>(r->at));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: check(parse_electricity_maps_latest(body)); break;
    case 1: (void)parse_watttime_login(body); break;
    case 2: check(parse_watttime_forecast(body)); break;
    case 3: check(parse_uk_intensity(body)); break;
    case 4: check(parse_carbon_aware_emissions(body, "westeurope")); break;
    default: (void)parse_timestamp(body); break;
  }
  return 0;
}
