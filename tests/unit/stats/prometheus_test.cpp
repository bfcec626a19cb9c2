#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "stats/stats.h"

namespace aegis::stats {
namespace {

TEST(Exposition, CounterAndGaugeFamilies) {
  Store store;
  store.counter("test_b_total", "B counts.", {{"path", "/x"}}).inc(3);
  store.counter("test_b_total", "B counts.", {{"path", "/a"}}).inc();
  store.gauge("test_a_open", "A is open.").set(-2);
  EXPECT_EQ(store.prometheus_text(),
            "# HELP test_a_open A is open.\n"
            "# TYPE test_a_open gauge\n"
            "test_a_open -2\n"
            "# HELP test_b_total B counts.\n"
            "# TYPE test_b_total counter\n"
            "test_b_total{path=\"/a\"} 1\n"
            "test_b_total{path=\"/x\"} 3\n");
}

TEST(Exposition, EscapesLabelValuesAndHelp) {
  Store store;
  store
      .counter("test_esc_total", "Help with \\ and\nnewline \"quotes\" kept.",
               {{"v", "back\\slash \"quoted\"\nnext"}})
      .inc();
  EXPECT_EQ(store.prometheus_text(),
            "# HELP test_esc_total Help with \\\\ and\\nnewline \"quotes\" kept.\n"
            "# TYPE test_esc_total counter\n"
            "test_esc_total{v=\"back\\\\slash \\\"quoted\\\"\\nnext\"} 1\n");
}

TEST(Exposition, HistogramBucketsSumCount) {
  Store store;
  Histogram& h = store.histogram("test_rtt_seconds", "RTT.", {{"cluster", "c1"}}, {0.0005, 1, 2.5});
  h.observe(0.0001);
  h.observe(2);
  h.observe(100);
  EXPECT_EQ(store.prometheus_text(),
            "# HELP test_rtt_seconds RTT.\n"
            "# TYPE test_rtt_seconds histogram\n"
            "test_rtt_seconds_bucket{cluster=\"c1\",le=\"0.0005\"} 1\n"
            "test_rtt_seconds_bucket{cluster=\"c1\",le=\"1\"} 1\n"
            "test_rtt_seconds_bucket{cluster=\"c1\",le=\"2.5\"} 2\n"
            "test_rtt_seconds_bucket{cluster=\"c1\",le=\"+Inf\"} 3\n"
            "test_rtt_seconds_sum{cluster=\"c1\"} 102.0001\n"
            "test_rtt_seconds_count{cluster=\"c1\"} 3\n");
}

TEST(Exposition, UnlabelledHistogramHasOnlyLe) {
  Store store;
  store.histogram("test_plain_seconds", "Plain.", {}, {1});
  const std::string text = store.prometheus_text();
  EXPECT_NE(text.find("test_plain_seconds_bucket{le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("test_plain_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("test_plain_seconds_sum 0\n"), std::string::npos);
  EXPECT_NE(text.find("test_plain_seconds_count 0\n"), std::string::npos);
}

// Runs `promtool check metrics < file`; returns {exit status, combined output}.
std::pair<int, std::string> promtool_check(const std::string& exposition) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("aegis_stats_" + std::to_string(::getpid()) + ".prom");
  std::ofstream(path) << exposition;
  const std::string cmd = "/usr/bin/promtool check metrics < '" + path.string() + "' 2>&1";
  std::string output;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
  const int status = ::pclose(pipe);
  std::filesystem::remove(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(Exposition, PassesPromtool) {
  // CI installs promtool (Debian package `prometheus`); missing it is a failure, not a skip.
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/promtool"))
      << "promtool not found: apt-get install prometheus";
  Store store;
  store.counter("aegis_test_requests_total", "Requests by path.", {{"path", "/a\"b\\c\nd"}}).inc(7);
  store.counter("aegis_test_requests_total", "Requests by path.", {{"path", "other"}}).inc();
  store.counter("aegis_test_unlabelled_total", "No labels.");
  store.gauge("aegis_test_connections", "Open connections.", {{"listener", "in"}}).set(4);
  Histogram& h = store.histogram("aegis_test_request_duration_seconds", "Request latency.",
                                 {{"cluster", "backend"}, {"code", "200"}});
  for (double v : {0.0002, 0.003, 0.2, 7.0, 99.0}) h.observe(v);
  store.histogram("aegis_test_empty_seconds", "Never observed.");
  const std::string text = store.prometheus_text();
  const auto [status, output] = promtool_check(text);
  EXPECT_EQ(status, 0) << output << "\n--- exposition ---\n" << text;
  EXPECT_EQ(output, "") << "--- exposition ---\n" << text;
}

}  // namespace
}  // namespace aegis::stats
