// The `file` feed's CSV formats on the real traces in ../shared/testdata/carbon
// and on malformed files.
#include <gtest/gtest.h>

#include "carbon/parsers.h"
#include "testdata.h"

namespace aegis::carbon {
namespace {

using namespace std::chrono_literals;

Clock::time_point utc(const char* s) { return *parse_timestamp(s); }

TEST(CsvTrace, LetsWaitAwhileGermany) {
  AEGIS_READ_TRACE(text, "de_2020_ci.csv");
  auto r = parse_intensity_csv(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->format, CsvFormat::kTimeIntensity);
  EXPECT_EQ(r->points.size(), 37147u);  // every data row of the file
  EXPECT_EQ(r->points.front().at, utc("2019-12-20 00:00:00"));
  EXPECT_DOUBLE_EQ(r->points.front().gco2_per_kwh, 218.29003068829462);
  EXPECT_EQ(r->points[1].at - r->points[0].at, 15min);
  EXPECT_EQ(r->points.back().at, utc("2021-01-09 23:00:00"));
  EXPECT_DOUBLE_EQ(r->points.back().gco2_per_kwh, 508.090651507907);
}

TEST(CsvTrace, LetsWaitAwhileGbAndFr) {
  AEGIS_READ_TRACE(gb, "gb_2020_ci.csv");
  AEGIS_READ_TRACE(fr, "fr_2020_ci.csv");
  auto g = parse_intensity_csv(gb);
  auto f = parse_intensity_csv(fr);
  ASSERT_TRUE(g.ok()) << g.error().message;
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(g->points.size(), 21980u);
  EXPECT_EQ(f->points.size(), 18574u);
  EXPECT_DOUBLE_EQ(g->points[1].gco2_per_kwh, 135.08869637679902);
  EXPECT_DOUBLE_EQ(f->points.back().gco2_per_kwh, 97.171275024982);
}

TEST(CsvTrace, ElectricityMapsExportDirectAndLca) {
  AEGIS_READ_TRACE(text, "electricitymaps_DE_2022_hourly.csv");
  auto direct = parse_intensity_csv(text);
  ASSERT_TRUE(direct.ok()) << direct.error().message;
  EXPECT_EQ(direct->format, CsvFormat::kElectricityMaps);
  EXPECT_EQ(direct->zone, "DE");
  EXPECT_EQ(direct->points.size(), 8760u);
  EXPECT_EQ(direct->points.front().at, utc("2022-01-01 00:00:00"));
  EXPECT_DOUBLE_EQ(direct->points.front().gco2_per_kwh, 163.46);
  EXPECT_FALSE(direct->points.front().estimated);
  EXPECT_DOUBLE_EQ(direct->points.back().gco2_per_kwh, 157.19);
  auto lca = parse_intensity_csv(text, EmissionFactor::kLifecycle);
  ASSERT_TRUE(lca.ok()) << lca.error().message;
  EXPECT_DOUBLE_EQ(lca->points.front().gco2_per_kwh, 213.79);
  EXPECT_DOUBLE_EQ(lca->points.back().gco2_per_kwh, 208.05);
}

TEST(CsvTrace, WattTimeMoerInLbsPerMwh) {
  AEGIS_READ_TRACE(text, "watttime_caiso_north_2023-06_moer.csv");
  auto r = parse_intensity_csv(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->format, CsvFormat::kWattTime);
  EXPECT_EQ(r->zone, "Caiso_North");
  EXPECT_EQ(r->points.size(), 8928u);
  EXPECT_EQ(r->points[1].at - r->points[0].at, 5min);
  EXPECT_DOUBLE_EQ(r->points.front().gco2_per_kwh, 425.01605069 * 0.4536);
}

TEST(CsvTrace, SmallFilesOfEachFormat) {
  auto a = parse_intensity_csv("Time,Carbon Intensity\n2020-01-01 00:00:00,100\n2020-01-01 00:30:00,50.5\n");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->points.size(), 2u);
  auto w = parse_intensity_csv("time,PJM_DC\r\n2023-01-01T00:00:00Z,1000\r\n");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_DOUBLE_EQ(w->points[0].gco2_per_kwh, 453.6);
  auto em = parse_intensity_csv(
      "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh "
      "(LCA),Data Estimated\n"
      "2022-01-01 00:00:00,\"United States, California\",\"CAISO\",US-CAL-CISO,200,250,true\n"
      "2022-01-01 01:00:00,\"United States, California\",\"CAISO\",US-CAL-CISO,,260,false\n");
  ASSERT_TRUE(em.ok()) << em.error().message;
  EXPECT_EQ(em->zone, "US-CAL-CISO");
  ASSERT_EQ(em->points.size(), 1u);
  EXPECT_TRUE(em->points[0].estimated);
  EXPECT_EQ(em->skipped_rows, 1u);
}

TEST(CsvTrace, Malformed) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty"},
      {"\n\n", "empty"},
      {"a,b,c\n1,2,3\n", "unrecognised header"},
      {"Time,Carbon Intensity\n", "no data rows"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00\n", "line 2: 1 field(s)"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,abc\n", "line 2: intensity 'abc' is not a number"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,-5\n", "negative"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,nan\n", "not a number"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,1e999\n", "not a number"},
      {"Time,Carbon Intensity\nlater,5\n", "line 2: timestamp 'later'"},
      {"Time,Carbon Intensity\n2020-01-01 01:00:00,1\n2020-01-01 00:00:00,2\n", "line 3: time"},
      {"Time,Carbon Intensity\n2020-01-01 01:00:00,1\n2020-01-01 01:00:00,2\n", "not after"},
      {"Time,Carbon Intensity\n\"2020-01-01 01:00:00,1\n", "line 2: unterminated quoted field"},
      {"Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (LCA)\n2022-01-01 00:00:00,DE,1\n", "(direct)"},
  };
  for (const auto& [text, want] : cases) {
    auto r = parse_intensity_csv(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message.find(want), std::string::npos) << text << " → " << r.error().message;
  }
}

}  // namespace
}  // namespace aegis::carbon
