// Upstream failures: reset mid-response aborts only that client, reset
// before the response is a 502, connect failure a 503, route timeout a 504;
// the proxy keeps serving afterwards.
#include "harness.h"

#include <gtest/gtest.h>

#include <thread>

namespace aegis::itest {
namespace {

class UpstreamFailure : public ProxyTest<> {
 protected:
  UpstreamFailure() : ProxyTest("upfail") {}
  void start(HttpProxyConfig cfg) { start_proxy(std::move(cfg)); }
  void expect_still_serving() {
    for (int i = 0; i < 5; ++i) {
      const auto r = curl(dir_.path(), {u("/status/200")}, 10s);
      EXPECT_EQ(r.status, 200) << r.stderr_text;
    }
    EXPECT_TRUE(proxy_->process().running());
  }
};

TEST_F(UpstreamFailure, ResetMidResponseAbortsOnlyThatClient) {
  Upstream up(dir_.path());
  start(config_for({up.endpoint()}));

  // A slow, long download that must survive the other client's abort.
  constexpr std::uint64_t n = 8ULL << 20U;
  const fs::path parallel_out = dir_ / "parallel.bin";
  Process parallel("curl-parallel",
                   {"curl", "-sS", "--noproxy", "*", "--max-time", "40", "-o", parallel_out.string(), "-w",
                    "%{http_code}", u("/bytes/" + std::to_string(n) + "?pace_ms=100")},
                   dir_.path());
  std::this_thread::sleep_for(500ms);

  const auto aborted = curl(dir_.path(), {u("/abort?after=300000")}, 20s);
  EXPECT_NE(aborted.curl_exit, 0) << "the client did not see the upstream's abort";
  EXPECT_EQ(aborted.status, 200);
  EXPECT_EQ(aborted.body.size(), 300000U) << "bytes before the reset should be relayed";
  EXPECT_TRUE(parallel.running()) << "the parallel transfer ended early";

  const auto st = parallel.wait_for(45s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->ok()) << st->describe() << "\n" << parallel.stderr_text();
  EXPECT_EQ(parallel.stdout_text(), "200");
  EXPECT_EQ(sha256_file(parallel_out), pattern_sha256(n));
  expect_still_serving();
}

TEST_F(UpstreamFailure, ResetBeforeResponseIs502) {
  Upstream up(dir_.path());
  start(config_for({up.endpoint()}));
  const auto r = curl(dir_.path(), {u("/reset")}, 15s);
  EXPECT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 502);
  EXPECT_FALSE(r.body.empty()) << "a 502 should say why";
  expect_still_serving();
}

TEST_F(UpstreamFailure, ConnectFailureIs503) {
  const std::uint16_t dead = free_port();  // nothing listens here
  Upstream up(dir_.path());
  auto cfg = config_for({"127.0.0.1:" + std::to_string(dead)});
  cfg.extra_routes_yaml =
      "          - name: alive\n"
      "            match:\n"
      "              prefix: /status\n"
      "            route:\n"
      "              cluster: alive\n";
  std::string yaml = http_proxy_config(cfg);
  yaml += "  - name: alive\n    lb_policy: round_robin\n    connect_timeout: 1s\n    endpoints: [\"" +
          up.endpoint() + "\"]\n";
  cfg_ = cfg;
  proxy_ = std::make_unique<Proxy>(dir_.path(), yaml, cfg.admin_port, std::vector<std::uint16_t>{cfg.listener_port});
  AEGIS_ASSERT_READY(*proxy_);

  for (int i = 0; i < 3; ++i) {
    const auto r = curl(dir_.path(), {u("/conn")}, 15s);
    EXPECT_EQ(r.curl_exit, 0) << r.stderr_text;
    EXPECT_EQ(r.status, 503);
    EXPECT_FALSE(r.body.empty()) << "a 503 should say why";
  }
  expect_still_serving();
}

// The circuit breaker (max_connections per endpoint per worker): one slow
// request holds the only connection, the next one gets 503 at once with
// x-aegis-overloaded: true, and the overflow is counted.
TEST_F(UpstreamFailure, CircuitBreakerOpenIs503Overloaded) {
  Upstream up(dir_.path());
  cfg_ = config_for({up.endpoint()});
  std::string yaml = http_proxy_config(cfg_) + "    max_connections: 1\n";  // the last cluster is `backend`
  proxy_ = std::make_unique<Proxy>(dir_.path(), yaml, cfg_.admin_port, std::vector<std::uint16_t>{cfg_.listener_port},
                                   "aegis-flow", std::vector<std::string>{"--concurrency", "1"});
  AEGIS_ASSERT_READY(*proxy_);
  RawResult slow;
  std::thread holder([&] {
    slow = raw_exchange(cfg_.listener_port,
                        "GET /slow?ms=1500 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 10s);
  });
  for (int i = 0; i < 100 && up.stat("inflight") == 0; ++i) std::this_thread::sleep_for(20ms);
  const auto refused = raw_exchange(cfg_.listener_port,
                                    "GET /status/200 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5s);
  holder.join();
  EXPECT_EQ(slow.status, 200) << slow.data;
  ASSERT_EQ(refused.status, 503) << refused.data;
  EXPECT_NE(refused.data.find("\r\nx-aegis-overloaded: true\r\n"), std::string::npos) << refused.data;
  EXPECT_EQ(proxy_->metric("aegis_upstream_overflow_total", {{"cluster", "backend"}}).value_or(0), 1);
  expect_still_serving();
}

TEST_F(UpstreamFailure, RouteTimeoutIs504) {
  Upstream up(dir_.path());
  auto cfg = config_for({up.endpoint()});
  cfg.route_timeout = "500ms";
  start(cfg);
  const auto begin = std::chrono::steady_clock::now();
  const auto r = curl(dir_.path(), {u("/slow?ms=5000")}, 15s);
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_EQ(r.status, 504) << r.stderr_text;
  EXPECT_LT(took, 3s) << "the route timeout did not fire";
  const auto fast = curl(dir_.path(), {u("/slow?ms=50")}, 15s);
  EXPECT_EQ(fast.status, 200);
  EXPECT_EQ(fast.body, "slept 50\n");
}

TEST_F(UpstreamFailure, UpstreamKilledMidResponse) {
  auto up = std::make_unique<Upstream>(dir_.path(), "doomed");
  Upstream survivor(dir_.path(), "survivor");
  auto cfg = config_for({up->endpoint()});
  cfg.extra_routes_yaml =
      "          - name: survivor\n"
      "            match:\n"
      "              prefix: /status\n"
      "            route:\n"
      "              cluster: survivor\n";
  std::string yaml = http_proxy_config(cfg);
  yaml += "  - name: survivor\n    lb_policy: round_robin\n    connect_timeout: 1s\n    endpoints: [\"" +
          survivor.endpoint() + "\"]\n";
  cfg_ = cfg;
  proxy_ = std::make_unique<Proxy>(dir_.path(), yaml, cfg.admin_port, std::vector<std::uint16_t>{cfg.listener_port});
  AEGIS_ASSERT_READY(*proxy_);

  constexpr std::uint64_t n = 32ULL << 20U;
  const fs::path out = dir_ / "killed.bin";
  Process victim("curl-victim",
                 {"curl", "-sS", "--noproxy", "*", "--max-time", "30", "--limit-rate", "4M", "-o", out.string(),
                  "-D", (dir_ / "victim.headers").string(),
                  "-w", "%{http_code}", u("/bytes/" + std::to_string(n))},
                 dir_.path());
  // Kill the upstream once the body is flowing (not before the response head).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::error_code ec;
  while (std::chrono::steady_clock::now() < deadline && (fs::file_size(out, ec) < (1U << 20U) || ec)) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_GE(fs::file_size(out, ec), 1U << 20U) << "the download never started";
  up->process().kill();
  const auto st = victim.wait_for(20s);
  ASSERT_TRUE(st.has_value()) << "the client hung after its upstream was killed";
  EXPECT_FALSE(st->ok()) << "a truncated body (" << fs::file_size(out)
                         << " bytes) was ended cleanly; response head:\n"
                         << read_file(dir_ / "victim.headers");
  EXPECT_EQ(victim.stdout_text(), "200");
  EXPECT_LT(fs::file_size(out), n);
  expect_still_serving();
}

}  // namespace
}  // namespace aegis::itest
