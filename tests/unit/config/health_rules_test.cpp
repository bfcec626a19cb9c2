// Rules for a cluster's health_checks, outlier_detection and
// healthy_panic_threshold.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

LoadResult load_cluster(std::string_view fields) {
  return load("clusters:\n  - name: c\n    endpoints: [\"127.0.0.1:1\"]\n" + std::string(fields));
}

TEST(HealthRules, FullHealthCheckParses) {
  const auto r = load_cluster(R"(    healthy_panic_threshold: 30
    health_checks:
      - timeout: 1s
        interval: 5s
        interval_jitter: 500ms
        healthy_threshold: 2
        unhealthy_threshold: 3
        http:
          path: /healthz
          host: health.local
          expected_statuses: [{start: 200, end: 300}, {start: 429, end: 430}]
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const Cluster& c = r.config->clusters.at(0);
  EXPECT_EQ(c.healthy_panic_threshold, 30u);
  ASSERT_EQ(c.health_checks.size(), 1u);
  const HealthCheck& hc = c.health_checks[0];
  EXPECT_EQ(hc.timeout, Millis{1000});
  EXPECT_EQ(hc.interval, Millis{5000});
  EXPECT_EQ(hc.interval_jitter, Millis{500});
  EXPECT_EQ(hc.healthy_threshold, 2u);
  EXPECT_EQ(hc.unhealthy_threshold, 3u);
  EXPECT_EQ(hc.kind, HealthCheckKind::kHttp);
  EXPECT_EQ(hc.path, "/healthz");
  EXPECT_EQ(hc.host, "health.local");
  ASSERT_EQ(hc.expected_statuses.size(), 2u);
  EXPECT_EQ(hc.expected_statuses[1].start, 429u);
  EXPECT_EQ(hc.expected_statuses[1].end, 430u);
}

TEST(HealthRules, TcpAndGrpcChecks) {
  auto r = load_cluster("    health_checks: [{timeout: 1s, interval: 2s, healthy_threshold: 1, unhealthy_threshold: 1, tcp: {}}]\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->clusters[0].health_checks.at(0).kind, HealthCheckKind::kTcp);
  EXPECT_EQ(r.config->clusters[0].healthy_panic_threshold, 50u);  // default
  r = load_cluster("    health_checks: [{timeout: 1s, interval: 2s, healthy_threshold: 1, unhealthy_threshold: 1, "
                   "grpc: {service_name: echo, authority: svc.local}}]\n");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& hc = r.config->clusters[0].health_checks.at(0);
  EXPECT_EQ(hc.kind, HealthCheckKind::kGrpc);
  EXPECT_EQ(hc.service_name, "echo");
  EXPECT_EQ(hc.authority, "svc.local");
  r = load_cluster("    health_checks: [{timeout: 1s, interval: 2s, healthy_threshold: 1, unhealthy_threshold: 1, grpc: }]\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->clusters[0].health_checks.at(0).service_name, "");
}

TEST(HealthRules, RequiredFieldsAndKinds) {
  const auto r = load_cluster(R"(    health_checks:
      - {tcp: {}}
      - {timeout: 0, interval: 1s, healthy_threshold: 0, unhealthy_threshold: 1}
)");
  EXPECT_TRUE(HasError(r, 5, 9, "missing required field 'timeout' in health check"));
  EXPECT_TRUE(HasError(r, 5, 9, "missing required field 'interval' in health check"));
  EXPECT_TRUE(HasError(r, 5, 9, "missing required field 'healthy_threshold' in health check"));
  EXPECT_TRUE(HasError(r, 5, 9, "missing required field 'unhealthy_threshold' in health check"));
  EXPECT_TRUE(HasError(r, 6, 9, "health_checks: only one health check per cluster is supported"));
  EXPECT_EQ(r.diagnostics.size(), 5u) << testing::all_diagnostics(r);

  const auto r2 = load_cluster(R"(    health_checks:
      - {timeout: 0, interval: 1s, healthy_threshold: 0, unhealthy_threshold: 1}
)");
  EXPECT_TRUE(HasError(r2, 5, 19, "timeout: must be greater than 0"));
  EXPECT_TRUE(HasError(r2, 5, 55, "healthy_threshold: expected an integer 1-4294967295, got '0'"));
  EXPECT_TRUE(HasError(r2, 5, 9, "health check needs one of 'tcp: {}', 'http: {path: ...}' or 'grpc: {}'"));
  EXPECT_EQ(r2.diagnostics.size(), 3u) << testing::all_diagnostics(r2);

  const auto r3 = load_cluster(
      "    health_checks: [{timeout: 1s, interval: 1s, healthy_threshold: 1, unhealthy_threshold: 1, tcp: {}, "
      "http: {path: /}}]\n");
  EXPECT_TRUE(HasError(r3, 4, 21, "health check sets more than one of 'tcp', 'http' and 'grpc'; use one"));
}

TEST(HealthRules, HttpCheckFields) {
  const auto r = load_cluster(R"(    health_checks:
      - timeout: 1s
        interval: 1s
        healthy_threshold: 1
        unhealthy_threshold: 1
        http:
          path: healthz
          host: ""
          method: HEAD
          expected_statuses: [{start: 300, end: 200}, {start: 99, end: 200}, {start: 200}]
)");
  EXPECT_TRUE(HasError(r, 10, 17, "path: must start with '/' and contain no spaces or line breaks, got 'healthz'"));
  EXPECT_TRUE(HasError(r, 11, 17, "host: must be a non-empty header value without line breaks"));
  EXPECT_TRUE(HasError(r, 12, 11, "unknown field 'method' in http health check; expected one of: path, host, expected_statuses"));
  EXPECT_TRUE(HasError(r, 13, 49, "end: must be greater than start (300); the range is [start, end)"));
  EXPECT_TRUE(HasError(r, 13, 63, "start: expected an integer 100-599, got '99'"));
  EXPECT_TRUE(HasError(r, 13, 78, "missing required field 'end' in expected_statuses entry"));
  EXPECT_EQ(r.diagnostics.size(), 6u) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(load_cluster("    health_checks: [{timeout: 1s, interval: 1s, healthy_threshold: 1, "
                                    "unhealthy_threshold: 1, http: {}}]\n"),
                       4, 101, "missing required field 'path' in http health check"));
}

TEST(OutlierRules, DefaultsAreEnvoys) {
  const auto r = load_cluster("    outlier_detection: {}\n");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& od = r.config->clusters[0].outlier_detection;
  ASSERT_TRUE(od.has_value());
  EXPECT_EQ(od->consecutive_5xx, 5u);
  EXPECT_EQ(od->consecutive_gateway_failure, 5u);
  EXPECT_EQ(od->interval, Millis{10'000});
  EXPECT_EQ(od->base_ejection_time, Millis{30'000});
  EXPECT_EQ(od->max_ejection_time, Millis{300'000});
  EXPECT_EQ(od->max_ejection_percent, 10u);
  EXPECT_FALSE(od->always_eject_one_host);
  EXPECT_EQ(od->success_rate_minimum_hosts, 5u);
  EXPECT_EQ(od->success_rate_request_volume, 100u);
  EXPECT_EQ(od->success_rate_stdev_factor, 1900u);
  EXPECT_FALSE(load_cluster("").config->clusters[0].outlier_detection.has_value());
}

TEST(OutlierRules, FieldsAndLimits) {
  auto r = load_cluster(R"(    outlier_detection:
      consecutive_5xx: 0
      consecutive_gateway_failure: 3
      interval: 1s
      base_ejection_time: 400s
      max_ejection_percent: 50
      always_eject_one_host: true
      success_rate_minimum_hosts: 3
      success_rate_request_volume: 10
      success_rate_stdev_factor: 1000
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& od = *r.config->clusters[0].outlier_detection;
  EXPECT_EQ(od.consecutive_5xx, 0u);
  EXPECT_EQ(od.max_ejection_time, Millis{400'000});  // never below base_ejection_time
  EXPECT_EQ(od.max_ejection_percent, 50u);
  EXPECT_TRUE(od.always_eject_one_host);
  EXPECT_EQ(od.success_rate_stdev_factor, 1000u);

  r = load_cluster(R"(    healthy_panic_threshold: 101
    outlier_detection:
      interval: 0
      base_ejection_time: 1m
      max_ejection_time: 30s
      max_ejection_percent: 110
      success_rate_request_volume: 0
      consecutive_errors: 5
)");
  EXPECT_TRUE(HasError(r, 4, 30, "healthy_panic_threshold: expected an integer 0-100, got '101'"));
  EXPECT_TRUE(HasError(r, 6, 17, "interval: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 8, 26, "max_ejection_time: must be at least base_ejection_time (60s)"));
  EXPECT_TRUE(HasError(r, 9, 29, "max_ejection_percent: expected an integer 0-100, got '110'"));
  EXPECT_TRUE(HasError(r, 10, 36, "success_rate_request_volume: expected an integer 1-4294967295, got '0'"));
  EXPECT_TRUE(HasError(r, 11, 7, "unknown field 'consecutive_errors' in outlier_detection"));
  EXPECT_EQ(r.diagnostics.size(), 6u) << testing::all_diagnostics(r);
}

}  // namespace
}  // namespace aegis::config
