// Every parser of untrusted carbon-intensity bytes, in one place: provider
// API bodies (JSON, read with Boost.JSON) and the CSV traces of the `file`
// feed. Pure functions over string_view: no I/O, no clock, no globals, so
// unit tests and libFuzzer targets call them directly. Each returns the value
// or an Error whose message names the provider, the field and what was wrong.
// All intensities come out in grams CO2(eq) per kWh.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "carbon/intensity.h"
#include "core/result.h"

namespace aegis::carbon {

// One value a provider reported for one zone.
struct ParsedReading {
  double gco2_per_kwh = 0;
  Clock::time_point at;    // the provider's timestamp of the value
  bool estimated = false;  // estimated, or a forecast rather than a measurement
};

// Timestamps as the providers write them, always read as UTC:
// "2019-05-21T00:00:00.000Z", "2023-08-17T17:05:00+00:00", "2018-01-20T12:00Z"
// (UK Carbon Intensity), "2019-12-20 00:00:00" (CSV traces, no zone: UTC).
core::Result<Clock::time_point> parse_timestamp(std::string_view text);
// "2024-01-02T03:04:05Z"
std::string format_timestamp(Clock::time_point t);

// Electricity Maps GET /v3/carbon-intensity/latest?zone=Z:
// {"zone","carbonIntensity","datetime","updatedAt","isEstimated",...}.
core::Result<ParsedReading> parse_electricity_maps_latest(std::string_view body);

// WattTime GET /login: {"token": "..."}.
core::Result<std::string> parse_watttime_login(std::string_view body);
// WattTime GET /v3/forecast: the first point of data[] is the current value;
// meta.units must be lbs_co2_per_mwh (× 0.4536 → g/kWh).
core::Result<ParsedReading> parse_watttime_forecast(std::string_view body);
inline constexpr double kGramsPerKwhPerLbsPerMwh = 0.4536;

// UK Carbon Intensity GET /intensity (national) and
// GET /regional/regionid/{id}: the first period's intensity.actual, else its
// intensity.forecast (then `estimated`).
core::Result<ParsedReading> parse_uk_intensity(std::string_view body);

// GSF Carbon Aware SDK WebAPI GET /emissions/bylocation?location=L:
// [{"location","time","rating",...}]: the latest entry for `location`
// (case-insensitive; any location when empty).
core::Result<ParsedReading> parse_carbon_aware_emissions(std::string_view body, std::string_view location);

// CSV traces of the `file` feed, told apart by their header:
//   kTimeIntensity       "Time,Carbon Intensity" (lets-wait-awhile), g/kWh
//   kElectricityMaps     the Electricity Maps data-portal export: "Datetime (UTC)" and
//                        "Carbon Intensity gCO₂eq/kWh (direct)" / "(LCA)" columns
//   kWattTime            "time,<region>" (WattTime MOER), lbs/MWh → g/kWh
enum class CsvFormat { kTimeIntensity, kElectricityMaps, kWattTime };
std::string_view to_string(CsvFormat f);
// Which Electricity Maps column: direct (operational) emissions, the default,
// or life-cycle (LCA).
enum class EmissionFactor { kDirect, kLifecycle };

struct TracePoint {
  Clock::time_point at;
  double gco2_per_kwh = 0;
  bool estimated = false;
};
struct CsvTrace {
  CsvFormat format = CsvFormat::kTimeIntensity;
  std::string zone;  // the zone the file names (Zone Id, WattTime region), if any
  std::vector<TracePoint> points;  // strictly increasing time
  std::size_t skipped_rows = 0;    // rows with an empty intensity cell
};
// Whole file text. Errors name the line ("line 12: ...").
core::Result<CsvTrace> parse_intensity_csv(std::string_view text, EmissionFactor factor = EmissionFactor::kDirect);

}  // namespace aegis::carbon
