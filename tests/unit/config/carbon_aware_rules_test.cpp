// Rules for lb_policy carbon_aware: its option block and the grid_zone and
// capacity every locality needs.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

TEST(CarbonAwareRules, OptionsAndLocalitiesParse) {
  const auto r = load(R"(
clusters:
  - name: inference
    lb_policy: carbon_aware
    carbon_aware: {max_utilization: 0.7, latency_slo: 150ms, rebalance_interval: 30s, max_step: 0.05, max_age: 90m}
    load_assignment:
      endpoints:
        - locality: {region: eu-central}
          grid_zone: DE
          capacity: 500
          lb_endpoints: [{address: 127.0.0.1, port: 8001}]
        - locality: {region: eu-west}
          grid_zone: FR
          capacity: 250.5
          lb_endpoints: [{address: 127.0.0.1, port: 8002}, {address: 127.0.0.1, port: 8003}]
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const Cluster& c = r.config->clusters.at(0);
  EXPECT_EQ(c.lb_policy, LbPolicy::kCarbonAware);
  EXPECT_DOUBLE_EQ(c.carbon_aware.max_utilization, 0.7);
  EXPECT_EQ(c.carbon_aware.latency_slo, Millis(150));
  EXPECT_EQ(c.carbon_aware.rebalance_interval, Millis(30'000));
  EXPECT_DOUBLE_EQ(c.carbon_aware.max_step, 0.05);
  EXPECT_EQ(c.carbon_aware.max_age, Millis(90 * 60'000));
  EXPECT_EQ(c.load_assignment.localities.at(0).grid_zone, "DE");
  EXPECT_DOUBLE_EQ(c.load_assignment.localities.at(1).capacity, 250.5);
  const std::string dump = to_json(*r.config, -1);
  EXPECT_NE(dump.find(R"("grid_zone":"FR")"), std::string::npos) << dump;
  EXPECT_NE(dump.find(R"("max_utilization":0.7)"), std::string::npos) << dump;
}

TEST(CarbonAwareRules, DefaultsMatchTheIssue) {
  const CarbonAwareConfig d;
  EXPECT_DOUBLE_EQ(d.max_utilization, 0.8);
  EXPECT_EQ(d.latency_slo, Millis(0));
  EXPECT_FALSE(d.max_age.has_value());  // the feed's max_age decides
}

TEST(CarbonAwareRules, LocalityWithoutGridZoneOrCapacityIsAnError) {
  const auto r = load(R"(
clusters:
  - name: c
    lb_policy: carbon_aware
    load_assignment:
      endpoints:
        - grid_zone: DE
          lb_endpoints: [{address: 127.0.0.1, port: 8001}]
        - capacity: 10
          lb_endpoints: [{address: 127.0.0.1, port: 8002}]
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 6, 11, "has no capacity"));
  EXPECT_TRUE(HasError(r, 8, 11, "has no grid_zone"));
}

TEST(CarbonAwareRules, ShorthandEndpointsAndSingleLocalityAreRefused) {
  auto r = load(R"(
clusters:
  - {name: c, lb_policy: carbon_aware, endpoints: ["127.0.0.1:1"]}
)");
  EXPECT_TRUE(HasError(r, 2, 51, "needs load_assignment with localities"));
  r = load(R"(
clusters:
  - name: c
    lb_policy: carbon_aware
    load_assignment:
      endpoints:
        - {grid_zone: DE, capacity: 5, lb_endpoints: [{address: 127.0.0.1, port: 1}]}
)");
  EXPECT_TRUE(HasError(r, 5, 7, "at least two localities"));
}

TEST(CarbonAwareRules, OptionRangesAreChecked) {
  const auto r = load(R"(
clusters:
  - name: c
    lb_policy: carbon_aware
    carbon_aware: {max_utilization: 1.5, max_step: 0, rebalance_interval: 0, max_age: 0, latency_slo: fast}
    load_assignment:
      endpoints:
        - {grid_zone: DE, capacity: -5, lb_endpoints: [{address: 127.0.0.1, port: 1}]}
        - {grid_zone: FR, capacity: 5, lb_endpoints: [{address: 127.0.0.1, port: 2}]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 4, 37, "max_utilization"));
  EXPECT_TRUE(HasError(r, 4, 52, "max_step"));
  EXPECT_TRUE(HasError(r, 4, 75, "rebalance_interval: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 4, 87, "max_age: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 4, 103, "latency_slo"));
  EXPECT_TRUE(HasError(r, 7, 37, "capacity: expected a decimal number"));
}

TEST(CarbonAwareRules, BlockOnAnotherPolicyIsRefused) {
  const auto r = load(R"(
clusters:
  - name: c
    lb_policy: least_request
    carbon_aware: {max_utilization: 0.5}
    endpoints: ["127.0.0.1:1"]
)");
  EXPECT_TRUE(HasError(r, 4, 19, "options of lb_policy 'carbon_aware'"));
}

// carbon_accounting works with any policy; every locality needs its grid zone.
TEST(CarbonAccountingRules, ParsesWithAnyPolicyAndIsDumped) {
  const auto r = load(R"(
clusters:
  - name: c
    lb_policy: round_robin
    carbon_accounting: {joules_per_request: 50, joules_per_upstream_second: 120.5}
    load_assignment:
      endpoints:
        - {locality: {region: eu}, grid_zone: DE, lb_endpoints: [{address: 127.0.0.1, port: 1}]}
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& a = r.config->clusters.at(0).carbon_accounting;
  ASSERT_TRUE(a.has_value());
  EXPECT_DOUBLE_EQ(a->joules_per_request, 50);
  EXPECT_DOUBLE_EQ(a->joules_per_upstream_second, 120.5);
  const std::string dump = to_json(*r.config, -1);
  EXPECT_NE(dump.find(R"("carbon_accounting":{"joules_per_request":50.0,"joules_per_upstream_second":120.5})"),
            std::string::npos)
      << dump;
}

TEST(CarbonAccountingRules, NeedsEnergyAndAGridZoneEverywhere) {
  auto r = load(R"(
clusters:
  - name: c
    carbon_accounting: {}
    load_assignment:
      endpoints:
        - {grid_zone: DE, lb_endpoints: [{address: 127.0.0.1, port: 1}]}
        - {lb_endpoints: [{address: 127.0.0.1, port: 2}]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 3, 24, "set joules_per_request"));
  EXPECT_TRUE(HasError(r, 7, 11, "carbon_accounting: this locality has no grid_zone"));
  r = load(R"(
clusters:
  - {name: c, carbon_accounting: {joules_per_request: -1, watts: 3}, endpoints: ["127.0.0.1:1"]}
)");
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 2, 55, "joules_per_request: expected a decimal number"));
  EXPECT_TRUE(HasError(r, 2, 59, "unknown field 'watts'"));
  EXPECT_TRUE(HasError(r, 2, 34, "needs load_assignment"));
  EXPECT_FALSE(HasError(r, 2, 34, "set joules_per_request"));  // the bad value was reported instead
}

}  // namespace
}  // namespace aegis::config
