// The trace CSV readers: real files from ../shared/testdata and bad input.
#include "carbon/csv_trace.h"
#include "carbon/parsers.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace aegis::carbon {
namespace {

using namespace std::chrono;

std::filesystem::path testdata() {
  const char* env = std::getenv("AEGIS_TESTDATA");
  return env ? env : "../shared/testdata";
}

Clock::time_point utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return time_point_cast<Clock::duration>(sys_days(year_month_day{year{y}, month{m}, day{d}}) + hours(hh) +
                                          minutes(mm));
}

TEST(CsvTrace, ReadsTheLetsWaitAwhileGermanTrace) {
  const auto path = testdata() / "carbon/de_2020_ci.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no test data at " << path;
  const auto r = load_intensity_trace(path.string());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 37147u);  // rows after the header
  EXPECT_EQ(r->front().at, utc(2019, 12, 20));
  EXPECT_NEAR(r->front().value, 218.29003068829462, 1e-9);
  EXPECT_EQ((*r)[1].at, utc(2019, 12, 20, 0, 15));
}

// The simulator reads every format the file feed does, in g/kWh.
TEST(CsvTrace, ReadsTheElectricityMapsExportAndWattTimeForTheSimulator) {
  const auto em = testdata() / "carbon/electricitymaps_DE_2022_hourly.csv";
  const auto wt = testdata() / "carbon/watttime_caiso_north_2023-06_moer.csv";
  if (!std::filesystem::exists(em) || !std::filesystem::exists(wt)) GTEST_SKIP() << "no test data at " << testdata();
  const auto r = load_intensity_trace(em.string());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GE(r->size(), 8700u);  // hourly, one year
  EXPECT_EQ(r->front().at, utc(2022, 1, 1));
  const auto w = load_intensity_trace(wt.string());
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->front().at, utc(2023, 6, 8));
  EXPECT_NEAR(w->front().value, 425.01605069 * 0.4536, 1e-9);  // lbs/MWh → g/kWh
}

TEST(CsvTrace, ReadsTheWikipediaWorkload) {
  const auto path = testdata() / "workload/wikipedia_en_hourly_requests.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no test data at " << path;
  const auto r = load_workload_trace(path.string());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->front().at, utc(2020, 1, 1));
  EXPECT_EQ(r->front().value, 3292633);
  EXPECT_EQ(r->back().at, utc(2023, 12, 31, 23));
}

TEST(CsvTrace, AcceptsCrlfBomAndBlankLines) {
  const auto r = parse_intensity_trace("\xEF\xBB\xBFTime,Carbon Intensity\r\n2020-01-01 00:00:00,10.5\r\n\r\n"
                                       "2020-01-01T00:30:00Z, 20\n");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].at, utc(2020, 1, 1, 0, 30));
  EXPECT_EQ((*r)[1].value, 20);
}

TEST(CsvTrace, RejectsBadInputNamingTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "empty"},
      {"ds,y\n2020-01-01,1\n", "line 1: unrecognised header 'ds,y'"},
      {"Time,Carbon Intensity\n", "no data rows"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00\n", "line 2: 1 field(s), the header needs at least 2"},
      {"Time,Carbon Intensity\n2020-02-30 00:00:00,1\n", "line 2: timestamp '2020-02-30 00:00:00': no such date"},
      {"Time,Carbon Intensity\n2020-01-01 24:00:00,1\n", "line 2: timestamp '2020-01-01 24:00:00'"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,-1\n", "line 2: intensity -1 is negative"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,nan\n", "line 2: intensity 'nan' is not a number"},
      {"Time,Carbon Intensity\n2020-01-01 00:00:00,1x\n", "line 2: intensity '1x' is not a number"},
      {"Time,Carbon Intensity\n2020-01-01 01:00:00,1\n2020-01-01 00:00:00,1\n", "line 3: time 2020-01-01 00:00:00 is not after the previous row's"},
  };
  for (const auto& c : cases) {
    const auto r = parse_intensity_trace(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << r.error().message;
  }
  EXPECT_FALSE(load_intensity_trace("/nonexistent/trace.csv"));
}

TEST(CsvTrace, ParsesTimestampForms) {
  EXPECT_EQ(*parse_timestamp("2020-03-01"), utc(2020, 3, 1));
  EXPECT_EQ(*parse_timestamp("2020-03-01T05:06"), utc(2020, 3, 1, 5, 6));
  EXPECT_EQ(*parse_timestamp("2020-03-01 05:06:07Z"), utc(2020, 3, 1, 5, 6) + seconds(7));
  EXPECT_EQ(*parse_timestamp("2020-03-01T05:06:07+01:00"), utc(2020, 3, 1, 4, 6) + seconds(7));
  for (const char* bad : {"2020-3-01", "2020-03-01 5:06", "20200301", "2020-13-01"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(TraceCursor, IsAStepFunction) {
  const std::vector<SeriesPoint> pts{{utc(2020, 1, 1), 1}, {utc(2020, 1, 1, 1), 2}, {utc(2020, 1, 1, 2), 3}};
  TraceCursor c(pts);
  EXPECT_EQ(c.value_at(utc(2019, 1, 1)), 1);
  EXPECT_EQ(c.value_at(utc(2020, 1, 1, 0, 59)), 1);
  EXPECT_EQ(c.value_at(utc(2020, 1, 1, 1)), 2);
  EXPECT_EQ(c.value_at(utc(2021, 1, 1)), 3);
}

}  // namespace
}  // namespace aegis::carbon
