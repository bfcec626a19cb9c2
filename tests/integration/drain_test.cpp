// Graceful drain on SIGTERM/SIGINT: stop accepting, let in-flight requests
// finish (up to drain_timeout), exit 0.
#include "harness.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace aegis::itest {
namespace {

bool wait_inflight(Upstream& up, std::uint64_t n, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (up.stat("inflight") >= n) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(Drain, SigtermLetsInFlightRequestFinishThenExitsZero) {
  TempDir dir("drain");
  Upstream up(dir.path());
  auto cfg = config_for({up.endpoint()});
  cfg.drain_timeout = "10s";
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  Process slow("curl-slow",
               {"curl", "-sS", "--noproxy", "*", "--max-time", "20", "-w", "|%{http_code}",
                url(cfg.listener_port, "/slow?ms=1500")},
               dir.path());
  ASSERT_TRUE(wait_inflight(up, 1, 5s)) << "the slow request never reached the upstream";
  const auto signalled = std::chrono::steady_clock::now();
  proxy.process().signal(SIGTERM);

  EXPECT_TRUE(wait_until_port_refuses(cfg.listener_port, 1000ms))
      << "the listener still accepts new connections after SIGTERM";
  EXPECT_TRUE(slow.running()) << "the in-flight request ended before it could have completed";
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 1400ms);

  const auto curl_status = slow.wait_for(15s);
  ASSERT_TRUE(curl_status.has_value());
  EXPECT_TRUE(curl_status->ok()) << slow.stderr_text();
  EXPECT_EQ(slow.stdout_text(), "slept 1500\n|200");

  const auto proxy_status = proxy.process().wait_for(12s);
  ASSERT_TRUE(proxy_status.has_value()) << "aegis-flow did not exit after draining";
  EXPECT_TRUE(proxy_status->ok()) << proxy_status->describe() << "\n" << proxy.process().stderr_tail();
  EXPECT_FALSE(port_accepts(cfg.listener_port));
}

TEST(Drain, DrainTimeoutBoundsTheWait) {
  TempDir dir("drain");
  Upstream up(dir.path());
  auto cfg = config_for({up.endpoint()});
  cfg.drain_timeout = "1s";
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  Process slow("curl-slow",
               {"curl", "-sS", "--noproxy", "*", "--max-time", "30", "-w", "|%{http_code}",
                url(cfg.listener_port, "/slow?ms=20000")},
               dir.path());
  ASSERT_TRUE(wait_inflight(up, 1, 5s));
  const auto signalled = std::chrono::steady_clock::now();
  proxy.process().signal(SIGTERM);
  const auto proxy_status = proxy.process().wait_for(8s);
  ASSERT_TRUE(proxy_status.has_value()) << "aegis-flow ignored drain_timeout: 1s";
  EXPECT_TRUE(proxy_status->ok()) << proxy_status->describe();
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 900ms) << "did not wait for the in-flight request";
  const auto curl_status = slow.wait_for(10s);
  ASSERT_TRUE(curl_status.has_value());
  EXPECT_NE(slow.stdout_text(), "slept 20000\n|200");
}

TEST(Drain, SigintOnIdleProxyExitsZeroPromptly) {
  TempDir dir("drain");
  Upstream up(dir.path());
  const auto cfg = config_for({up.endpoint()});
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  ASSERT_EQ(curl(dir.path(), {url(cfg.listener_port, "/status/200")}).status, 200);
  proxy.process().signal(SIGINT);
  const auto st = proxy.process().wait_for(5s);
  ASSERT_TRUE(st.has_value()) << "an idle proxy should not wait for drain_timeout";
  EXPECT_TRUE(st->ok()) << st->describe();
}

}  // namespace
}  // namespace aegis::itest
