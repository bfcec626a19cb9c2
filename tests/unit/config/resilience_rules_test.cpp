// Rules for the resilience fields: a route's retry_policy and idle_timeout, a
// cluster's circuit_breakers and retry_budget. Each refusal names FILE:LINE:COL.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

// Lines 1-8: a cluster and a route config up to the route action, whose
// fields (`action`, indented 14 spaces) start on line 9.
LoadResult load_action(std::string_view action) {
  return load(std::string(R"(clusters:
  - {name: demo, endpoints: ["127.0.0.1:8080"]}
route_configs:
  - name: rc
    virtual_hosts:
      - {name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: demo}}]}
      - name: vh2
        domains: [a.example]
        routes:
          - match: {prefix: /}
            route:
              cluster: demo
)") + std::string(action));
}
// The action fields begin on line 13, column 15.

LoadResult load_cluster(std::string_view fields) {
  return load("clusters:\n  - name: c\n    endpoints: [\"127.0.0.1:80\"]\n" + std::string(fields));
}
// Cluster fields begin on line 4, column 5.

TEST(ResilienceRules, FullRetryPolicyParses) {
  const auto r = load_action(R"(              idle_timeout: 30s
              retry_policy:
                retry_on: [5xx, reset, connect-failure, retriable-status-codes, unavailable]
                num_retries: 3
                per_try_timeout: 250ms
                retriable_status_codes: [409]
                retry_back_off: {base_interval: 10ms, max_interval: 1s}
                retry_non_idempotent: true
                retry_buffer_limit: 1024
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& a = r.config->route_configs.at(0).virtual_hosts.at(1).routes.at(0).action;
  EXPECT_EQ(a.idle_timeout, Millis{30'000});
  ASSERT_TRUE(a.retry_policy);
  const RetryPolicy& p = *a.retry_policy;
  EXPECT_EQ(p.retry_on, kRetryOn5xx | kRetryOnReset | kRetryOnConnectFailure | kRetryOnRetriableStatusCodes |
                            kRetryOnUnavailable);
  EXPECT_EQ(p.num_retries, 3u);
  EXPECT_EQ(p.per_try_timeout, Millis{250});
  EXPECT_EQ(p.retriable_status_codes, std::vector<unsigned>{409});
  EXPECT_EQ(p.back_off.base_interval, Millis{10});
  EXPECT_EQ(p.back_off.max_interval, Millis{1000});
  EXPECT_TRUE(p.retry_non_idempotent);
  EXPECT_EQ(p.retry_buffer_limit, 1024u);
}

TEST(ResilienceRules, RetryPolicyDefaults) {
  const auto r = load_action("              retry_policy: {retry_on: \"gateway-error, cancelled\"}\n");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& a = r.config->route_configs.at(0).virtual_hosts.at(1).routes.at(0).action;
  const RetryPolicy& p = *a.retry_policy;
  EXPECT_EQ(p.retry_on, kRetryOnGatewayError | kRetryOnCancelled);  // Envoy's comma-separated form
  EXPECT_EQ(p.num_retries, 1u);
  EXPECT_EQ(p.per_try_timeout, Millis{0});
  EXPECT_EQ(p.back_off.base_interval, Millis{25});
  EXPECT_EQ(p.back_off.max_interval, Millis{250});
  EXPECT_FALSE(p.retry_non_idempotent);
  EXPECT_EQ(p.retry_buffer_limit, 64u * 1024);
  EXPECT_EQ(a.idle_timeout, Millis{0});
  EXPECT_FALSE(r.config->route_configs.at(0).virtual_hosts.at(0).routes.at(0).action.retry_policy);
}

TEST(ResilienceRules, RetryOnErrors) {
  EXPECT_TRUE(HasError(load_action("              retry_policy: {num_retries: 2}\n"), 13, 29,
                       "missing required field 'retry_on' in retry_policy"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx, 4xx]}\n"), 13, 46,
                       "retry_on: unknown condition '4xx'; expected: 5xx, gateway-error, reset"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: []}\n"), 13, 40,
                       "retry_on: needs at least one condition"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [retriable-status-codes]}\n"), 13, 40,
                       "'retriable-status-codes' needs a non-empty retriable_status_codes list"));
}

TEST(ResilienceRules, RetryFieldErrors) {
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], num_retries: 101}\n"), 13, 60,
                       "num_retries: expected an integer 0-100, got '101'"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], per_try_timeout: 1x}\n"), 13, 64,
                       "per_try_timeout:"));
  EXPECT_TRUE(HasError(
      load_action("              retry_policy: {retry_on: [retriable-status-codes], retriable_status_codes: [409, 99]}\n"),
      13, 96, "retriable_status_codes: expected HTTP status codes 100-599, got '99'"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], retry_back_off: {base_interval: 0}}\n"),
                       13, 79, "base_interval: must be greater than 0"));
  EXPECT_TRUE(HasError(
      load_action("              retry_policy: {retry_on: [5xx], retry_back_off: {base_interval: 1s, max_interval: 10ms}}\n"),
      13, 97, "max_interval: must not be less than base_interval (1s)"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], retry_non_idempotent: maybe}\n"),
                       13, 69, "retry_non_idempotent:"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], retry_buffer_limit: 1GiB}\n"), 13,
                       67, "retry_buffer_limit: expected an integer 0-67108864"));
  EXPECT_TRUE(HasError(load_action("              retry_policy: {retry_on: [5xx], retries: 2}\n"), 13, 47,
                       "unknown field 'retries'"));
  EXPECT_TRUE(HasError(load_action("              idle_timeout: soon\n"), 13, 29, "idle_timeout:"));
}

TEST(ResilienceRules, CircuitBreakersAndBudgetParse) {
  const auto r = load_cluster(R"(    circuit_breakers: {max_connections: 10, max_pending_requests: 5, max_requests: 20, max_retries: 0}
    retry_budget: {budget_percent: 25, min_retry_concurrency: 1}
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const Cluster& c = r.config->clusters.at(0);
  EXPECT_EQ(c.circuit_breakers.max_connections, 10u);
  EXPECT_EQ(c.circuit_breakers.max_pending_requests, 5u);
  EXPECT_EQ(c.circuit_breakers.max_requests, 20u);
  EXPECT_EQ(c.circuit_breakers.max_retries, 0u);
  ASSERT_TRUE(c.retry_budget);
  EXPECT_EQ(c.retry_budget->budget_percent, 25u);
  EXPECT_EQ(c.retry_budget->min_retry_concurrency, 1u);

  const auto d = load_cluster("");
  ASSERT_TRUE(LoadsCleanly(d));
  const Cluster& dc = d.config->clusters.at(0);
  EXPECT_EQ(dc.circuit_breakers.max_connections, CircuitBreakers::kUnlimited);
  EXPECT_EQ(dc.circuit_breakers.max_pending_requests, CircuitBreakers::kUnlimited);
  EXPECT_EQ(dc.circuit_breakers.max_requests, CircuitBreakers::kUnlimited);
  EXPECT_EQ(dc.circuit_breakers.max_retries, 3u);
  EXPECT_FALSE(dc.retry_budget);
  EXPECT_EQ(dc.max_connections, 1024u);  // the per-endpoint-per-worker limit stays as it was
}

TEST(ResilienceRules, CircuitBreakerErrors) {
  EXPECT_TRUE(HasError(load_cluster("    circuit_breakers: {max_requests: 0}\n"), 4, 38,
                       "max_requests: expected an integer 1-4294967295, got '0'"));
  EXPECT_TRUE(HasError(load_cluster("    circuit_breakers: {max_connections: -1}\n"), 4, 41, "max_connections:"));
  EXPECT_TRUE(HasError(load_cluster("    circuit_breakers: {max_pending_requests: x}\n"), 4, 46,
                       "max_pending_requests:"));
  EXPECT_TRUE(HasError(load_cluster("    circuit_breakers: {max_retries: 1.5}\n"), 4, 37, "max_retries:"));
  EXPECT_TRUE(HasError(load_cluster("    circuit_breakers: {max_streams: 1}\n"), 4, 24, "unknown field 'max_streams'"));
  EXPECT_TRUE(HasError(load_cluster("    retry_budget: {budget_percent: 0}\n"), 4, 36,
                       "budget_percent: expected an integer 1-100, got '0'"));
  EXPECT_TRUE(HasError(load_cluster("    retry_budget: {min_retry_concurrency: many}\n"), 4, 43,
                       "min_retry_concurrency:"));
}

}  // namespace
}  // namespace aegis::config
