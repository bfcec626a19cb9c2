// Self-test of the tools the other integration tests rely on: the test
// upstream, curl helpers and raw sockets, without the proxy in between.
// If these fail, a proxy test failure says nothing about the proxy.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>

namespace aegis::itest {
namespace {

TEST(UpstreamSelfTest, BytesEchoShaAndConnReuse) {
  TempDir dir("selftest");
  Upstream up(dir.path());

  const fs::path got = dir / "bytes.out";
  auto r = curl(dir.path(), {url(up.port(), "/bytes/3000000")}, 30s, got);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(sha256_file(got), pattern_sha256(3000000));
  EXPECT_EQ(r.header("x-sha256").value_or(""), pattern_sha256(3000000));

  const fs::path in = dir / "in.bin";
  write_pattern_file(in, 5000000);
  r = curl(dir.path(), {"-X", "POST", "-T", in.string(), url(up.port(), "/sha256")});
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(r.body, pattern_sha256(5000000) + " 5000000\n");

  const fs::path echoed = dir / "echo.out";
  r = curl(dir.path(), {"-X", "POST", "-H", "Transfer-Encoding: chunked", "-T", in.string(),
                        url(up.port(), "/echo")}, 30s, echoed);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(sha256_file(echoed), pattern_sha256(5000000));

  // Ten URLs in one curl: one keep-alive connection, so one serial.
  std::vector<std::string> args;
  for (int i = 0; i < 10; ++i) args.push_back(url(up.port(), "/conn"));
  r = curl(dir.path(), args);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  // curl's -o applies to the first URL; the other nine bodies go to stdout.
  std::istringstream lines(r.body + r.stdout_text);
  std::set<std::string> serials;
  int count = 0;
  for (std::string line; std::getline(lines, line); ++count) serials.insert(line);
  EXPECT_EQ(count, 10);
  EXPECT_EQ(serials.size(), 1U);
}

TEST(UpstreamSelfTest, AbortResetStatusAndRawSocket) {
  TempDir dir("selftest");
  Upstream up(dir.path());
  auto r = curl(dir.path(), {url(up.port(), "/abort?after=100000")});
  EXPECT_NE(r.curl_exit, 0);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 100000U);

  r = curl(dir.path(), {url(up.port(), "/status/418")});
  EXPECT_EQ(r.status, 418);

  const RawResult raw = raw_exchange(up.port(), "GET /reset HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(raw.peer_closed);
  EXPECT_EQ(raw.status, 0);

  auto [status, body] = simple_get(up.port(), "/headers");
  ASSERT_EQ(status, 200);
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_GE(up.stat("requests"), 4U);
}

TEST(UpstreamSelfTest, MetricParser) {
  const std::string text =
      "# TYPE a_total counter\n"
      "a_total{listener=\"x\",status_class=\"2xx\"} 3\n"
      "a_total{listener=\"x\",status_class=\"5xx\"} 4\n"
      "a_total{listener=\"y\",status_class=\"2xx\"} 5\n"
      "b 7\n";
  EXPECT_EQ(metric_value(text, "a_total", {{"listener", "x"}}), 7.0);
  EXPECT_EQ(metric_value(text, "a_total", {{"status_class", "2xx"}}), 8.0);
  EXPECT_EQ(metric_value(text, "b"), 7.0);
  EXPECT_FALSE(metric_value(text, "a_total", {{"listener", "z"}}).has_value());
}

}  // namespace
}  // namespace aegis::itest
