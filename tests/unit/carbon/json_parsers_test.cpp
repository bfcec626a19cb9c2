// The provider JSON parsers on bodies shaped exactly like each API's
// documented responses, and on malformed ones (clear errors, never a crash).
#include <gtest/gtest.h>

#include <cmath>

#include "carbon/parsers.h"

namespace aegis::carbon {
namespace {

using namespace std::chrono_literals;

Clock::time_point utc(const char* s) {
  auto t = parse_timestamp(s);
  EXPECT_TRUE(t.ok()) << s;
  return t.ok() ? *t : Clock::time_point{};
}

TEST(Timestamp, ProviderForms) {
  const auto base = std::chrono::sys_days(std::chrono::year(2019) / 5 / 21) + 13h + 4min + 5s;
  EXPECT_EQ(*parse_timestamp("2019-05-21T13:04:05Z"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21T13:04:05.000Z"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21T13:04:05.250Z"), base + 250ms);
  EXPECT_EQ(*parse_timestamp("2019-05-21T13:04:05+00:00"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21T15:04:05+02:00"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21T12:04:05-0100"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21 13:04:05"), base);
  EXPECT_EQ(*parse_timestamp("2019-05-21T13:04Z"), base - 5s);
  EXPECT_EQ(format_timestamp(base), "2019-05-21T13:04:05Z");
}

TEST(Timestamp, RejectsGarbage) {
  // A bare date is midnight UTC (daily traces), not garbage.
  EXPECT_TRUE(parse_timestamp("2019-05-21").ok());
  for (const char* s : {"", "2019", "2019-05-2", "2019-13-01T00:00Z", "2019-02-30T00:00Z", "2019-05-21T25:00Z",
                        "2019-05-21T13:04:05Zjunk", "2019-05-21T13:04:05+", "2019-05-21T13:04:05.Z",
                        "x019-05-21T13:04Z", "2019-05-21T13:04:05+25:00"}) {
    auto r = parse_timestamp(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_NE(r.error().message.find("timestamp"), std::string::npos);
  }
}

TEST(ElectricityMaps, LatestBody) {
  const auto r = parse_electricity_maps_latest(R"({
    "zone": "DE", "carbonIntensity": 302, "datetime": "2019-05-21T00:00:00.000Z",
    "updatedAt": "2019-05-21T00:10:00.000Z", "createdAt": "2019-05-18T00:00:00.000Z",
    "emissionFactorType": "lifecycle", "isEstimated": true, "estimationMethod": "TIME_SLICER_AVERAGE"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 302);
  EXPECT_EQ(r->at, utc("2019-05-21T00:00:00Z"));
  EXPECT_TRUE(r->estimated);
}

TEST(ElectricityMaps, FractionalAndNotEstimated) {
  const auto r = parse_electricity_maps_latest(
      R"({"zone":"FR","carbonIntensity":42.5,"datetime":"2024-03-01T10:00:00.000Z","isEstimated":false,"estimationMethod":null})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 42.5);
  EXPECT_FALSE(r->estimated);
}

TEST(ElectricityMaps, Malformed) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "expected a JSON object"},
      {R"({"datetime":"2019-05-21T00:00:00Z"})", "'carbonIntensity' is missing"},
      {R"({"carbonIntensity":null,"datetime":"2019-05-21T00:00:00Z"})", "'carbonIntensity' is missing"},
      {R"({"carbonIntensity":"302","datetime":"2019-05-21T00:00:00Z"})", "'carbonIntensity' is not a number"},
      {R"({"carbonIntensity":-3,"datetime":"2019-05-21T00:00:00Z"})", "negative"},
      {R"({"carbonIntensity":3})", "'datetime' is missing"},
      {R"({"carbonIntensity":3,"datetime":"yesterday"})", "timestamp 'yesterday'"},
      {R"({"carbonIntensity":3,"datetime":"2019-05-21T00:00:00Z","isEstimated":"no"})", "'isEstimated' is not true/false"},
      {R"({"error":"Zone 'XX' does not exist"})", "'carbonIntensity' is missing"},
  };
  for (const auto& [body, want] : cases) {
    auto r = parse_electricity_maps_latest(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << body << " → " << r.error().message;
    EXPECT_NE(r.error().message.find("Electricity Maps"), std::string::npos);
  }
}

TEST(ElectricityMaps, DeepNestingIsRefused) {
  std::string deep(10000, '[');
  EXPECT_FALSE(parse_electricity_maps_latest(deep).ok());
}

TEST(WattTime, Login) {
  auto t = parse_watttime_login(R"({"token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"})");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(*t, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl");
  EXPECT_FALSE(parse_watttime_login(R"({"token":""})").ok());
  EXPECT_FALSE(parse_watttime_login(R"({"token":"a\r\nx-evil: 1"})").ok());
  EXPECT_FALSE(parse_watttime_login(R"({"error":"invalid credentials"})").ok());
  EXPECT_FALSE(parse_watttime_login(R"({"token":42})").ok());
}

TEST(WattTime, ForecastFirstPointConverted) {
  const auto r = parse_watttime_forecast(R"({
    "data": [
      {"point_time": "2023-08-17T17:05:00+00:00", "value": 887.9},
      {"point_time": "2023-08-17T17:10:00+00:00", "value": 900.1}
    ],
    "meta": {"data_point_period_seconds": 300, "region": "CAISO_NORTH", "warnings": [],
             "signal_type": "co2_moer", "model": {"date": "2023-03-01", "type": "binned_regression"},
             "units": "lbs_co2_per_mwh", "generated_at_period_seconds": 300,
             "generated_at": "2023-08-17T17:00:00+00:00"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, 887.9 * 0.4536);
  EXPECT_EQ(r->at, utc("2023-08-17T17:05:00Z"));
  EXPECT_TRUE(r->estimated);
}

TEST(WattTime, ForecastMalformed) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"data":[{"point_time":"2023-08-17T17:05:00+00:00","value":1}]})", "no 'meta'"},
      {R"({"data":[],"meta":{"units":"lbs_co2_per_mwh"}})", "'data' is empty"},
      {R"({"meta":{"units":"lbs_co2_per_mwh"}})", "no 'data' array"},
      {R"({"data":[{"point_time":"2023-08-17T17:05:00+00:00","value":1}],"meta":{"units":"percentile"}})",
       "meta.units is 'percentile'"},
      {R"({"data":[{"value":1}],"meta":{"units":"lbs_co2_per_mwh"}})", "'point_time' is missing"},
      {R"({"data":[5],"meta":{"units":"lbs_co2_per_mwh"}})", "expected a JSON object"},
      {R"({"data":[{"point_time":"2023-08-17T17:05:00+00:00","value":1e400}],"meta":{"units":"lbs_co2_per_mwh"}})",
       "'value' is not a number"},
  };
  for (const auto& [body, want] : cases) {
    auto r = parse_watttime_forecast(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << body << " → " << r.error().message;
  }
}

TEST(UkCarbonIntensity, NationalActual) {
  const auto r = parse_uk_intensity(
      R"({"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":263,"index":"moderate"}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 263);
  EXPECT_FALSE(r->estimated);
  EXPECT_EQ(r->at, utc("2018-01-20T12:00:00Z"));
}

TEST(UkCarbonIntensity, NationalForecastWhenActualNull) {
  const auto r = parse_uk_intensity(
      R"({"data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z","intensity":{"forecast":266,"actual":null,"index":"moderate"}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 266);
  EXPECT_TRUE(r->estimated);
}

TEST(UkCarbonIntensity, Regional) {
  const auto r = parse_uk_intensity(R"({"data":[{"regionid":3,"dnoregion":"Electricity North West",
    "shortname":"North West England","data":[{"from":"2018-01-20T12:00Z","to":"2018-01-20T12:30Z",
    "intensity":{"forecast":99,"index":"low"},
    "generationmix":[{"fuel":"gas","perc":43.6},{"fuel":"coal","perc":0.7}]}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 99);
  EXPECT_TRUE(r->estimated);
}

TEST(UkCarbonIntensity, Malformed) {
  for (const char* body : {R"({"data":[]})", R"({"data":{}})", R"({"error":{"code":"400 Bad Request"}})",
                           R"({"data":[{"from":"2018-01-20T12:00Z","intensity":{"index":"low"}}]})",
                           R"({"data":[{"from":"2018-01-20T12:00Z"}]})",
                           R"({"data":[{"intensity":{"forecast":1}}]})",
                           R"({"data":[{"regionid":3,"data":[]}]})", "null"}) {
    auto r = parse_uk_intensity(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.error().message.find("UK Carbon Intensity"), std::string::npos) << r.error().message;
  }
}

TEST(CarbonAwareSdk, LatestForLocation) {
  const auto r = parse_carbon_aware_emissions(R"([
    {"location":"eastus","time":"2022-06-01T14:45:00+00:00","rating":65.0,"duration":"00:08:00"},
    {"location":"eastus","time":"2022-06-01T14:50:00+00:00","rating":70.5,"duration":"00:05:00"},
    {"location":"westus","time":"2022-06-01T14:55:00+00:00","rating":300,"duration":"00:05:00"}])",
                                              "EastUS");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->gco2_per_kwh, 70.5);
  EXPECT_EQ(r->at, utc("2022-06-01T14:50:00Z"));
}

TEST(CarbonAwareSdk, Malformed) {
  EXPECT_NE(parse_carbon_aware_emissions("[]", "eastus").error().message.find("no emissions data for location 'eastus'"),
            std::string::npos);
  EXPECT_FALSE(parse_carbon_aware_emissions(R"({"location":"eastus"})", "").ok());
  EXPECT_FALSE(parse_carbon_aware_emissions(R"([{"location":"eastus","time":"2022-06-01T14:45:00Z"}])", "").ok());
  EXPECT_FALSE(parse_carbon_aware_emissions(R"([{"location":"eastus","rating":1}])", "").ok());
  EXPECT_FALSE(parse_carbon_aware_emissions(R"([{"time":"2022-06-01T14:45:00Z","rating":1}])", "").ok());
  EXPECT_FALSE(parse_carbon_aware_emissions(R"([1,2])", "").ok());
}

}  // namespace
}  // namespace aegis::carbon
