// Fractional gauges and counters (grid intensity, reading ages, grams of CO2).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "stats/stats.h"

namespace aegis::stats {
namespace {

TEST(FloatMetrics, RenderedWithFullPrecision) {
  Store store;
  store.float_gauge("test_intensity_gco2_per_kwh", "Intensity.", {{"zone", "DE"}}).set(218.29003068829462);
  store.float_gauge("test_intensity_gco2_per_kwh", "Intensity.", {{"zone", "FR"}}).set(42.5);
  auto& grams = store.float_counter("test_grams_total", "Grams.", {{"cluster", "a"}});
  grams.add(0.25);
  grams.add(0.5);
  grams.add(-3);                                      // counters never go down
  grams.add(std::numeric_limits<double>::quiet_NaN());  // ignored
  const std::string text = store.prometheus_text();
  EXPECT_NE(text.find("# TYPE test_intensity_gco2_per_kwh gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_intensity_gco2_per_kwh{zone=\"DE\"} 218.29003068829462\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_intensity_gco2_per_kwh{zone=\"FR\"} 42.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE test_grams_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("test_grams_total{cluster=\"a\"} 0.75\n"), std::string::npos) << text;
  EXPECT_EQ(grams.value(), 0.75);
}

TEST(FloatMetrics, SameNameRulesAsIntegerMetrics) {
  Store store;
  store.gauge("test_mixed", "Mixed.", {{"k", "int"}}).set(3);
  store.float_gauge("test_mixed", "Mixed.", {{"k", "float"}}).set(0.5);  // one family, both kinds of series
  EXPECT_THROW(store.float_gauge("test_mixed", "Mixed.", {{"k", "int"}}), std::logic_error);
  EXPECT_THROW(store.float_counter("test_without_suffix", "Bad."), std::logic_error);
  EXPECT_THROW(store.float_gauge("test_mixed", "Other help."), std::logic_error);
  const std::string text = store.prometheus_text();
  EXPECT_NE(text.find("test_mixed{k=\"float\"} 0.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_mixed{k=\"int\"} 3\n"), std::string::npos) << text;
}

TEST(FloatMetrics, CounterAddsFromManyThreads) {
  Store store;
  auto& c = store.float_counter("test_parallel_total", "Parallel.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) c.add(0.5);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 20'000.0);  // halves are exact in binary
}

}  // namespace
}  // namespace aegis::stats
