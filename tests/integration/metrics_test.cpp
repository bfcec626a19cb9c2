// Admin listener: /stats/prometheus passes `promtool check metrics` and its
// counters match the traffic sent; /ready, /healthz, /config_dump, /clusters.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

namespace aegis::itest {
namespace {

class Metrics : public ProxyTest<::testing::Test> {
 protected:
  Metrics() : ProxyTest("metrics") {}
  void SetUp() override { start_with_upstream(); }
  void get(const std::string& path, int expected_status) {
    const auto r = curl(dir_.path(), {url(cfg_.listener_port, path)}, 10s);
    ASSERT_EQ(r.status, expected_status) << path << " " << r.stderr_text;
  }
  // Polls until the metric equals `expected` (counters may be merged lazily).
  void expect_metric_eq(const std::string& name, const Labels& labels, double expected) {
    std::optional<double> v;
    for (int i = 0; i < 40; ++i) {
      v = proxy_->metric(name, labels);
      if (v == expected) return;
      std::this_thread::sleep_for(50ms);
    }
    std::string l;
    for (const auto& [k, val] : labels) l += k + "=\"" + val + "\" ";
    ADD_FAILURE() << name << "{" << l << "} = " << (v ? std::to_string(*v) : "<missing>") << ", expected "
                  << expected << "\n"
                  << proxy_->metrics();
  }

};

TEST_F(Metrics, PrometheusExpositionPassesPromtool) {
  const std::string promtool = find_tool("promtool");
  ASSERT_FALSE(promtool.empty()) << "promtool is required (Debian package `prometheus`): this test must "
                                    "not pass without it";
  for (int i = 0; i < 5; ++i) get("/status/200", 200);
  get("/status/404", 404);
  get("/status/503", 503);
  get("/bytes/100000", 200);
  // One refused request and one reload, so those families have samples too.
  raw_exchange(cfg_.listener_port,
               "POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  proxy_->process().signal(SIGHUP);
  ASSERT_TRUE(proxy_->wait_metric_at_least("aegis_config_reloads_total", {{"result", "success"}}, 1, 5s));

  const auto [status, body] = simple_get(cfg_.admin_port, "/stats/prometheus");
  ASSERT_EQ(status, 200);
  ASSERT_FALSE(body.empty());
  const fs::path file = dir_ / "metrics.txt";
  write_file(file, body);
  const auto r = run_command("promtool", {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool,
                                          file.string()},
                             dir_.path(), 30s);
  EXPECT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "promtool lint findings";
  // The families the issue names are all there.
  for (const char* family :
       {"aegis_downstream_requests_total", "aegis_upstream_requests_total", "aegis_upstream_connections_total",
        "aegis_config_reloads_total", "aegis_http_malformed_requests_total"}) {
    EXPECT_NE(body.find(std::string("# TYPE ") + family), std::string::npos) << family << " missing";
  }
  EXPECT_NE(body.find("_bucket{"), std::string::npos) << "no histograms (request durations) exposed";
}

TEST_F(Metrics, CountersMatchTheTrafficSent) {
  const Labels l2xx = {{"listener", cfg_.listener_name}, {"status_class", "2xx"}};
  const Labels l4xx = {{"listener", cfg_.listener_name}, {"status_class", "4xx"}};
  const Labels l5xx = {{"listener", cfg_.listener_name}, {"status_class", "5xx"}};
  const Labels endpoint = {{"cluster", cfg_.cluster_name}, {"endpoint", upstream_->endpoint()}};
  const std::string m = proxy_->metrics();
  const double ok0 = metric_value(m, "aegis_downstream_requests_total", l2xx).value_or(0);
  const double c4xx0 = metric_value(m, "aegis_downstream_requests_total", l4xx).value_or(0);
  const double c5xx0 = metric_value(m, "aegis_downstream_requests_total", l5xx).value_or(0);
  const double up0 = metric_value(m, "aegis_upstream_requests_total", endpoint).value_or(0);

  for (int i = 0; i < 7; ++i) get("/status/200", 200);
  for (int i = 0; i < 3; ++i) get("/status/404", 404);
  for (int i = 0; i < 2; ++i) get("/status/500", 500);

  expect_metric_eq("aegis_downstream_requests_total", l2xx, ok0 + 7);
  expect_metric_eq("aegis_downstream_requests_total", l4xx, c4xx0 + 3);
  expect_metric_eq("aegis_downstream_requests_total", l5xx, c5xx0 + 2);
  expect_metric_eq("aegis_upstream_requests_total", endpoint, up0 + 12);
  expect_metric_eq("aegis_config_reloads_total", {{"result", "failure"}}, 0);
}

TEST_F(Metrics, AdminEndpoints) {
  EXPECT_EQ(simple_get(cfg_.admin_port, "/ready").first, 200);
  EXPECT_EQ(simple_get(cfg_.admin_port, "/healthz").first, 200);

  const auto [dump_status, dump] = simple_get(cfg_.admin_port, "/config_dump");
  ASSERT_EQ(dump_status, 200);
  ASSERT_TRUE(nlohmann::json::accept(dump)) << "/config_dump is not JSON:\n" << dump.substr(0, 500);
  EXPECT_NE(dump.find(cfg_.listener_name), std::string::npos);
  EXPECT_NE(dump.find(cfg_.cluster_name), std::string::npos);
  EXPECT_NE(dump.find(std::to_string(upstream_->port())), std::string::npos);

  const auto [clusters_status, clusters] = simple_get(cfg_.admin_port, "/clusters");
  ASSERT_EQ(clusters_status, 200);
  EXPECT_NE(clusters.find(cfg_.cluster_name), std::string::npos) << clusters;
  EXPECT_NE(clusters.find(upstream_->endpoint()), std::string::npos) << clusters;
  EXPECT_EQ(simple_get(cfg_.admin_port, "/no-such-admin-page").first, 404);
}

}  // namespace
}  // namespace aegis::itest
