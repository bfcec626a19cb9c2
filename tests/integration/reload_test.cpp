// Configuration reload: under load with wrk (zero failed requests), on
// SIGHUP and on file change; an invalid file is refused and the old routes
// keep serving.
#include "harness.h"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <thread>

namespace aegis::itest {
namespace {

const Labels kSuccess = {{"result", "success"}};
const Labels kFailure = {{"result", "failure"}};

// Config generation `gen`: tags responses with x-config-gen and routes to
// the given endpoints.
std::string generation(HttpProxyConfig cfg, int gen, std::vector<std::string> endpoints) {
  cfg.endpoints = std::move(endpoints);
  cfg.route_extra_yaml = "              response_headers_to_add: [{name: x-config-gen, value: \"" +
                         std::to_string(gen) + "\"}]\n";
  return http_proxy_config(cfg);
}

std::string config_gen_seen(const fs::path& dir, std::uint16_t port) {
  const auto r = curl(dir, {url(port, "/status/200")}, 10s);
  return r.header("x-config-gen").value_or("<none>");
}

bool wait_config_gen(const fs::path& dir, std::uint16_t port, const std::string& gen, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (config_gen_seen(dir, port) == gen) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(Reload, UnderLoadWithSighupLosesNoRequests) {
  const std::string wrk = find_tool("wrk");
  ASSERT_FALSE(wrk.empty()) << "wrk is required (Debian package wrk)";
  TempDir dir("reload");
  Upstream a(dir.path(), "upstream-a");
  Upstream b(dir.path(), "upstream-b");
  const auto cfg = config_for({a.endpoint()});
  Proxy proxy(dir.path(), generation(cfg, 0, {a.endpoint()}), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  ASSERT_EQ(config_gen_seen(dir.path(), cfg.listener_port), "0");
  const double success_before = proxy.metric("aegis_config_reloads_total", kSuccess).value_or(0);

  Process load("wrk", {wrk, "-t2", "-c16", "-d8s", "--timeout", "5s", url(cfg.listener_port, "/status/200")},
               dir.path());
  const std::vector<std::vector<std::string>> plans = {
      {b.endpoint()}, {a.endpoint(), b.endpoint()}, {a.endpoint()}, {b.endpoint()}, {a.endpoint(), b.endpoint()}};
  for (std::size_t i = 0; i < plans.size(); ++i) {
    std::this_thread::sleep_for(1200ms);
    proxy.rewrite_config(generation(cfg, static_cast<int>(i + 1), plans[i]));
    proxy.process().signal(SIGHUP);
  }
  const auto st = load.wait_for(30s);
  ASSERT_TRUE(st.has_value()) << "wrk did not finish";
  ASSERT_TRUE(st->ok()) << st->describe() << load.stderr_text();
  const WrkSummary s = parse_wrk(load.stdout_text());
  std::printf("wrk during 5 reloads:\n%s\n", s.raw.c_str());
  EXPECT_GE(s.requests, 2000) << s.raw;
  EXPECT_EQ(s.non_2xx, 0) << s.raw;
  EXPECT_EQ(s.socket_errors, 0) << s.raw;

  EXPECT_TRUE(proxy.process().running());
  EXPECT_EQ(config_gen_seen(dir.path(), cfg.listener_port), std::to_string(plans.size()))
      << "the last configuration is not the one serving";
  EXPECT_GE(proxy.metric("aegis_config_reloads_total", kSuccess).value_or(0), success_before + 5);
  EXPECT_EQ(proxy.metric("aegis_config_reloads_total", kFailure).value_or(0), 0);
  // Both upstreams served part of the load, so the reloads changed routing.
  EXPECT_GT(a.stat("requests"), 100U);
  EXPECT_GT(b.stat("requests"), 100U);
}

TEST(Reload, InvalidConfigIsRefusedAndOldRoutesKeepServing) {
  TempDir dir("reload");
  Upstream a(dir.path());
  const auto cfg = config_for({a.endpoint()});
  Proxy proxy(dir.path(), generation(cfg, 1, {a.endpoint()}), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  ASSERT_EQ(config_gen_seen(dir.path(), cfg.listener_port), "1");
  const double failures_before = proxy.metric("aegis_config_reloads_total", kFailure).value_or(0);

  // Would be generation 2, but with an unknown key and a wrong type.
  std::string bad = generation(cfg, 2, {a.endpoint()});
  bad += "bogus_top_level_key: true\n";
  bad.replace(bad.find("connect_timeout: 1s"), 19, "connect_timeout: [not, a, duration]");
  proxy.rewrite_config(bad);
  proxy.process().signal(SIGHUP);

  EXPECT_TRUE(proxy.wait_metric_at_least("aegis_config_reloads_total", kFailure, failures_before + 1, 5s))
      << "aegis_config_reloads_total{result=\"failure\"} did not increase\n"
      << proxy.metrics();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(config_gen_seen(dir.path(), cfg.listener_port), "1");
  }
  EXPECT_TRUE(proxy.process().running());
  EXPECT_NE(proxy.process().stderr_text().find(proxy.config_path().string() + ":"), std::string::npos)
      << "the refused reload should log FILE:LINE:COL errors\n"
      << proxy.process().stderr_tail();

  // A valid file afterwards is taken again.
  proxy.rewrite_config(generation(cfg, 3, {a.endpoint()}));
  proxy.process().signal(SIGHUP);
  EXPECT_TRUE(wait_config_gen(dir.path(), cfg.listener_port, "3", 5s));
}

TEST(Reload, FileChangeIsPickedUpWithoutSignal) {
  TempDir dir("reload");
  Upstream a(dir.path());
  const auto cfg = config_for({a.endpoint()});
  Proxy proxy(dir.path(), generation(cfg, 1, {a.endpoint()}), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  ASSERT_EQ(config_gen_seen(dir.path(), cfg.listener_port), "1");
  proxy.rewrite_config(generation(cfg, 2, {a.endpoint()}));
  EXPECT_TRUE(wait_config_gen(dir.path(), cfg.listener_port, "2", 6s)) << "file change not reloaded within 6 s";
  EXPECT_GE(proxy.metric("aegis_config_reloads_total", kSuccess).value_or(0), 1);
}

}  // namespace
}  // namespace aegis::itest
