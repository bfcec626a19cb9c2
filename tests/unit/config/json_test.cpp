// to_json (/config_dump): every field present, durations as strings, and a
// dump (minus "source") loads back to the same config.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::load;
using testing::LoadsCleanly;

Config load_example() {
  auto r = load_from_file(std::string(AEGIS_SOURCE_DIR) + "/examples/aegis-flow.yaml",
                          LoadOptions{&testing::fake_resolve, {}});
  EXPECT_TRUE(LoadsCleanly(r));
  return r.config.value_or(Config{});
}

TEST(ToJson, KeyFields) {
  const Config c = load_example();
  const auto j = nlohmann::json::parse(to_json(c));
  EXPECT_EQ(j["source"], c.source);
  EXPECT_EQ(j["admin"]["address"], "127.0.0.1");
  EXPECT_EQ(j["admin"]["port"], 9901);
  EXPECT_EQ(j["access_log"]["path"], "stdout");
  EXPECT_EQ(j["drain_timeout"], "30s");
  const auto& l0 = j["listeners"][0];
  EXPECT_EQ(l0["name"], "ingress");
  EXPECT_EQ(l0["protocol"], "http");
  EXPECT_EQ(l0["route_config"], "local");
  EXPECT_EQ(l0["idle_timeout"], "300s");
  EXPECT_EQ(l0["request_headers_timeout"], "10s");
  EXPECT_EQ(l0["xff_trust_downstream"], false);
  EXPECT_EQ(l0["limits"]["max_request_body_bytes"], 1073741824u);
  const auto& l1 = j["listeners"][1];
  EXPECT_EQ(l1["protocol"], "tcp");
  EXPECT_EQ(l1["cluster"], "db");
  EXPECT_FALSE(l1.contains("route_config"));
  const auto& health = j["route_configs"][0]["virtual_hosts"][1]["routes"][0];
  EXPECT_EQ(health["match"]["path"], "/healthz");
  EXPECT_TRUE(health["match"]["prefix"].is_null());
  EXPECT_EQ(health["route"]["timeout"], "250ms");
  EXPECT_TRUE(health["route"]["max_request_body_bytes"].is_null());
  const auto& api = j["route_configs"][0]["virtual_hosts"][0]["routes"][1];
  EXPECT_EQ(api["route"]["request_headers_to_add"][0]["name"], "x-via");
  EXPECT_EQ(api["route"]["response_headers_to_remove"][0], "server");
  const auto& canary = j["clusters"][1];
  EXPECT_EQ(canary["lb_policy"], "least_request");
  EXPECT_EQ(canary["connect_timeout"], "500ms");
  const auto& ep = canary["load_assignment"]["endpoints"][0]["lb_endpoints"][0];
  EXPECT_EQ(ep["address"], "127.0.0.1");
  EXPECT_EQ(ep["port"], 8082);
  EXPECT_EQ(ep["weight"], 2);
  EXPECT_EQ(canary["load_assignment"]["endpoints"][1]["lb_endpoints"][0]["hostname"], "localhost");
}

TEST(ToJson, DurationsUseEnvoyStyleStrings) {
  auto r = load("drain_timeout: 1.5s\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(nlohmann::json::parse(to_json(*r.config))["drain_timeout"], "1.5s");
}

TEST(ToJson, DumpLoadsBackAsTheSameConfig) {
  const Config original = load_example();
  auto j = nlohmann::json::parse(to_json(original));
  j.erase("source");
  // "hostname" is informational; drop it so the dump is pure schema.
  for (auto& cluster : j["clusters"]) {
    for (auto& group : cluster["load_assignment"]["endpoints"]) {
      for (auto& ep : group["lb_endpoints"]) ep.erase("hostname");
    }
  }
  const auto again = load_from_string(j.dump(), original.source, LoadOptions{&testing::fake_resolve, {}});
  ASSERT_TRUE(LoadsCleanly(again));
  // Same dump both ways, except for the informational hostnames.
  auto j2 = nlohmann::json::parse(to_json(*again.config));
  j2.erase("source");
  EXPECT_EQ(j, j2);
}

TEST(ToJson, LoadBalancingFieldsLoadBack) {
  const auto r = load(R"(
node: {region: eu, zone: a}
route_configs:
  - name: rc
    virtual_hosts:
      - name: vh
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route:
              cluster: h
              hash_policy: [{header: {name: x-user}}, {cookie: {name: s}}, {source_ip: true}]
clusters:
  - {name: h, lb_policy: ring_hash, ring_hash: {minimum_ring_size: 64}, endpoints: ["127.0.0.1:1"]}
  - {name: e, lb_policy: peak_ewma, peak_ewma: {default_rtt: 5ms}, endpoints: ["127.0.0.1:2"],
     locality_aware: {overprovisioning_factor: 1.25, min_local_healthy_percent: 60}}
)");
  ASSERT_TRUE(LoadsCleanly(r));
  auto j = nlohmann::json::parse(to_json(*r.config));
  EXPECT_EQ(j["node"]["zone"], "a");
  EXPECT_EQ(j["clusters"][0]["ring_hash"]["minimum_ring_size"], 64);
  EXPECT_EQ(j["clusters"][1]["peak_ewma"]["default_rtt"], "5ms");
  EXPECT_EQ(j["clusters"][1]["locality_aware"]["overprovisioning_factor"], 1.25);
  EXPECT_EQ(j["route_configs"][0]["virtual_hosts"][0]["routes"][0]["route"]["hash_policy"][1]["cookie"]["name"], "s");
  j.erase("source");
  const auto again = load_from_string(j.dump(), "dump.json", LoadOptions{&testing::fake_resolve, {}});
  ASSERT_TRUE(LoadsCleanly(again));
  auto j2 = nlohmann::json::parse(to_json(*again.config));
  j2.erase("source");
  EXPECT_EQ(j, j2);
}

TEST(ToJson, EmptyConfigAndIndent) {
  const Config c;
  const std::string compact = to_json(c, -1);
  EXPECT_EQ(compact.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(compact);
  EXPECT_TRUE(j["listeners"].is_array());
  EXPECT_TRUE(j["listeners"].empty());
}

}  // namespace
}  // namespace aegis::config
