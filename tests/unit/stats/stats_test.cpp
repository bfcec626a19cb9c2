#include "stats/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace aegis::stats {
namespace {

TEST(Counter, CountsAcrossEightThreads) {
  Store store;
  Counter& c = store.counter("test_events_total", "Events.");
  Histogram& h = store.histogram("test_latency_seconds", "Latency.");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        c.inc();
        if (i % 10 == 0) h.observe(0.002);
      }
    });
  }
  // Scrape while the writers run: must be race-free (checked under TSan).
  for (int i = 0; i < 20; ++i) (void)store.prometheus_text();
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.value(), std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.snapshot().count, std::uint64_t{kThreads} * (kPerThread / 10));
}

TEST(Counter, IncByN) {
  Store store;
  Counter& c = store.counter("test_bytes_total", "Bytes.");
  c.inc(40);
  c.inc(2);
  EXPECT_EQ(c.value(), 42u);
}

TEST(Gauge, AddSubSet) {
  Store store;
  Gauge& g = store.gauge("test_connections", "Open connections.");
  g.add(5);
  g.sub(2);
  EXPECT_EQ(g.value(), 3);
  g.set(-7);
  EXPECT_EQ(g.value(), -7);
}

TEST(Histogram, BucketsAreInclusiveAndCumulative) {
  Histogram h({0.1, 1, 10});
  h.observe(0.05);
  h.observe(0.1);  // exactly on a bound: counts in that bucket (le = "less or equal")
  h.observe(0.5);
  h.observe(10);
  h.observe(11);
  const auto s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{0.1, 1, 10}));
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 10 + 11);
}

TEST(Histogram, RejectsBadBounds) {
  EXPECT_THROW(Histogram({1, 0.5}), std::logic_error);
  EXPECT_THROW(Histogram({1, 1}), std::logic_error);
  EXPECT_THROW(Histogram({std::nan("")}), std::logic_error);
  Histogram h({1, std::numeric_limits<double>::infinity()});  // explicit +Inf folds away
  EXPECT_EQ(h.snapshot().bounds, std::vector<double>{1});
}

TEST(Histogram, DefaultLatencyBuckets) {
  EXPECT_EQ(latency_buckets(), (std::vector<double>{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}));
}

TEST(Store, SameNameAndLabelsReturnSameMetric) {
  Store store;
  Counter& a = store.counter("test_requests_total", "Requests.", {{"a", "1"}, {"b", "2"}});
  Counter& b = store.counter("test_requests_total", "Requests.", {{"b", "2"}, {"a", "1"}});
  Counter& other = store.counter("test_requests_total", "Requests.", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  Histogram& h1 = store.histogram("test_size_bytes", "Sizes.", {}, {1, 2});
  Histogram& h2 = store.histogram("test_size_bytes", "Sizes.", {}, {1, 2});
  EXPECT_EQ(&h1, &h2);
}

TEST(Store, ReferencesStayValidWhileRegistering) {
  Store store;
  Counter& first = store.counter("test_first_total", "First.");
  first.inc();
  for (int i = 0; i < 1000; ++i) {
    store.counter("test_many_total", "Many.", {{"i", std::to_string(i)}}).inc();
  }
  first.inc();
  EXPECT_EQ(first.value(), 2u);
  EXPECT_EQ(&first, &store.counter("test_first_total", "First."));
}

TEST(Store, MisuseIsALogicError) {
  Store store;
  store.counter("test_x_total", "X.");
  EXPECT_THROW(store.gauge("test_x_total", "X."), std::logic_error);             // type
  EXPECT_THROW(store.counter("test_x_total", "Other help."), std::logic_error);  // help
  EXPECT_THROW(store.counter("test_no_suffix", "X."), std::logic_error);
  EXPECT_THROW(store.gauge("test_gauge_total", "X."), std::logic_error);
  EXPECT_THROW(store.gauge("test_thing_count", "X."), std::logic_error);
  EXPECT_THROW(store.counter("9bad_total", "X."), std::logic_error);
  EXPECT_THROW(store.counter("bad-name_total", "X."), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", ""), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", "Y.", {{"bad-label", "v"}}), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", "Y.", {{"__reserved", "v"}}), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", "Y.", {{"le", "v"}}), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", "Y.", {{"a", "1"}, {"a", "2"}}), std::logic_error);
  EXPECT_THROW(store.counter("test_y_total", "Y.", {{"a", "\xff"}}), std::logic_error);
  store.histogram("test_h_seconds", "H.", {}, {1, 2});
  EXPECT_THROW(store.histogram("test_h_seconds", "H.", {}, {1, 3}), std::logic_error);
}

TEST(Global, IsOneStore) { EXPECT_EQ(&global(), &global()); }

}  // namespace
}  // namespace aegis::stats
