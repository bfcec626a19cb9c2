// Rules for load balancing: lb_policy and its option blocks, locality_aware,
// the node's locality, and a route's hash_policy.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

LoadResult load_clusters(std::string_view clusters) { return load("clusters:\n" + std::string(clusters)); }

TEST(LbRules, EveryPolicyNameParses) {
  const std::pair<const char*, LbPolicy> names[] = {
      {"round_robin", LbPolicy::kRoundRobin}, {"random", LbPolicy::kRandom},
      {"least_request", LbPolicy::kLeastRequest}, {"peak_ewma", LbPolicy::kPeakEwma},
      {"ring_hash", LbPolicy::kRingHash}, {"maglev", LbPolicy::kMaglev}};
  for (const auto& [name, kind] : names) {
    const auto r = load_clusters(std::string("  - {name: c, endpoints: [\"127.0.0.1:1\"], lb_policy: ") + name + "}\n");
    ASSERT_TRUE(LoadsCleanly(r)) << name;
    EXPECT_EQ(r.config->clusters.at(0).lb_policy, kind);
    EXPECT_STREQ(to_string(kind), name);
  }
}

TEST(LbRules, PolicyOptionsAndLocalityParse) {
  const auto r = load(R"(
node: {region: eu-west, zone: eu-west-1a}
clusters:
  - name: hashed
    lb_policy: ring_hash
    ring_hash: {minimum_ring_size: 4096, maximum_ring_size: 65536}
    locality_aware: {overprovisioning_factor: 1.25, min_local_healthy_percent: 80}
    endpoints: ["127.0.0.1:1"]
  - name: ewma
    lb_policy: peak_ewma
    peak_ewma: {decay_time: 5s, default_rtt: 50ms}
    locality_aware: {enabled: false}
    endpoints: ["127.0.0.1:2"]
  - name: p2c
    lb_policy: least_request
    least_request: {choice_count: 3}
    endpoints: ["127.0.0.1:3"]
  - name: plain
    endpoints: ["127.0.0.1:4"]
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& cfg = *r.config;
  EXPECT_EQ(cfg.node.region, "eu-west");
  EXPECT_EQ(cfg.node.zone, "eu-west-1a");
  const Cluster& hashed = cfg.clusters.at(0);
  EXPECT_EQ(hashed.ring_hash.minimum_ring_size, 4096u);
  EXPECT_EQ(hashed.ring_hash.maximum_ring_size, 65536u);
  EXPECT_TRUE(hashed.locality_aware.enabled);  // the block turns it on
  EXPECT_DOUBLE_EQ(hashed.locality_aware.overprovisioning_factor, 1.25);
  EXPECT_EQ(hashed.locality_aware.min_local_healthy_percent, 80u);
  const Cluster& ewma = cfg.clusters.at(1);
  EXPECT_EQ(ewma.peak_ewma.decay_time, Millis{5'000});
  EXPECT_EQ(ewma.peak_ewma.default_rtt, Millis{50});
  EXPECT_FALSE(ewma.locality_aware.enabled);
  EXPECT_EQ(cfg.clusters.at(2).least_request.choice_count, 3u);
  const Cluster& plain = cfg.clusters.at(3);  // defaults
  EXPECT_EQ(plain.lb_policy, LbPolicy::kRoundRobin);
  EXPECT_FALSE(plain.locality_aware.enabled);
  EXPECT_DOUBLE_EQ(plain.locality_aware.overprovisioning_factor, 1.4);
  EXPECT_EQ(plain.locality_aware.min_local_healthy_percent, 100u);
  EXPECT_EQ(plain.peak_ewma.decay_time, Millis{10'000});
  EXPECT_EQ(plain.peak_ewma.default_rtt, Millis{30});
  EXPECT_EQ(plain.ring_hash.minimum_ring_size, 1024u);
  EXPECT_EQ(plain.least_request.choice_count, 2u);
}

TEST(LbRules, OptionBlockOfAnotherPolicyIsRefused) {
  const auto r = load_clusters(R"(  - name: c
    lb_policy: round_robin
    ring_hash: {minimum_ring_size: 10}
    endpoints: ["127.0.0.1:1"]
)");
  EXPECT_TRUE(HasError(r, 4, 16,
                       "ring_hash: options of lb_policy 'ring_hash', but this cluster's lb_policy is 'round_robin' "
                       "(remove the block or set lb_policy: ring_hash)"));
  EXPECT_EQ(r.diagnostics.size(), 1u) << testing::all_diagnostics(r);
}

TEST(LbRules, PolicyOptionValues) {
  const auto r = load_clusters(R"(  - name: a
    lb_policy: least_request
    least_request: {choice_count: 1}
    endpoints: ["127.0.0.1:1"]
  - name: b
    lb_policy: peak_ewma
    peak_ewma: {decay_time: 0, default_rtt: 30}
    endpoints: ["127.0.0.1:2"]
  - name: c
    lb_policy: ring_hash
    ring_hash: {minimum_ring_size: 0, maximum_ring_size: 9000000, table_size: 7}
    endpoints: ["127.0.0.1:3"]
  - name: d
    lb_policy: ring_hash
    ring_hash: {minimum_ring_size: 4096, maximum_ring_size: 1024}
    endpoints: ["127.0.0.1:4"]
)");
  EXPECT_TRUE(HasError(r, 4, 35, "choice_count: expected an integer 2-100, got '1'"));
  EXPECT_TRUE(HasError(r, 8, 29, "decay_time: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 8, 45, "default_rtt: "));
  EXPECT_TRUE(HasError(r, 12, 36, "minimum_ring_size: expected an integer 1-8388608, got '0'"));
  EXPECT_TRUE(HasError(r, 12, 58, "maximum_ring_size: expected an integer 1-8388608, got '9000000'"));
  EXPECT_TRUE(HasError(r, 12, 67, "unknown field 'table_size' in ring_hash; expected one of: minimum_ring_size, "
                                  "maximum_ring_size"));
  EXPECT_TRUE(HasError(r, 16, 61, "ring_hash: minimum_ring_size (4096) is larger than maximum_ring_size (1024)"));
  EXPECT_EQ(r.diagnostics.size(), 7u) << testing::all_diagnostics(r);
}

TEST(LbRules, LocalityAwareValues) {
  const auto r = load_clusters(R"(  - name: c
    locality_aware: {enabled: yes please, overprovisioning_factor: 0.5, min_local_healthy_percent: 101}
    endpoints: ["127.0.0.1:1"]
  - name: d
    locality_aware: {overprovisioning_factor: 1.4x, spill: true}
    endpoints: ["127.0.0.1:2"]
)");
  EXPECT_TRUE(HasError(r, 3, 31, "enabled: expected true or false, got 'yes please'"));
  EXPECT_TRUE(HasError(r, 3, 68, "overprovisioning_factor: expected a decimal number 1-10, got '0.5'"));
  EXPECT_TRUE(HasError(r, 3, 100, "min_local_healthy_percent: expected a percentage 0-100, got 101"));
  EXPECT_TRUE(HasError(r, 6, 47, "overprovisioning_factor: expected a decimal number 1-10, got '1.4x'"));
  EXPECT_TRUE(HasError(r, 6, 53, "unknown field 'spill' in locality_aware"));
  EXPECT_EQ(r.diagnostics.size(), 5u) << testing::all_diagnostics(r);
}

TEST(LbRules, NodeLocality) {
  const auto r = load("node: {zone: a, rack: 7}\n");
  EXPECT_TRUE(HasError(r, 1, 17, "unknown field 'rack' in node; expected one of: region, zone"));
  EXPECT_TRUE(HasError(r, 1, 14, "node: zone 'a' needs its region (a zone is matched within its region)"));
  EXPECT_EQ(r.diagnostics.size(), 2u) << testing::all_diagnostics(r);
}

// A route whose action is `action` (line 6 of the file, after a cluster).
LoadResult load_action(std::string_view action) {
  return load(
      "clusters: [{name: demo, endpoints: [\"127.0.0.1:1\"]}]\n"
      "route_configs:\n"
      "  - name: rc\n"
      "    virtual_hosts:\n"
      "      - {name: vh, domains: [\"*\"], routes: [{match: {prefix: /}, route: " + std::string(action) + "}]}\n");
}

TEST(LbRules, HashPolicyParses) {
  const auto r = load_action(
      "{cluster: demo, hash_policy: [{header: {name: X-User}}, {cookie: {name: session}}, {source_ip: true}]}");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& rules = r.config->route_configs.at(0).virtual_hosts.at(0).routes.at(0).action.hash_policy;
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].kind, HashPolicy::Kind::kHeader);
  EXPECT_EQ(rules[0].name, "x-user");  // lower-cased like every header name
  EXPECT_EQ(rules[1].kind, HashPolicy::Kind::kCookie);
  EXPECT_EQ(rules[1].name, "session");
  EXPECT_EQ(rules[2].kind, HashPolicy::Kind::kSourceIp);
}

TEST(LbRules, HashPolicyEntries) {
  const auto r = load(R"(clusters: [{name: demo, endpoints: ["127.0.0.1:1"]}]
route_configs:
  - name: rc
    virtual_hosts:
      - name: vh
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route:
              cluster: demo
              hash_policy:
                - {header: {name: x-user}, source_ip: true}
                - {header: {name: "bad name"}}
                - {cookie: {}}
                - {cookie: {name: "a;b"}}
                - {source_ip: false}
                - {query: {name: q}}
)");
  EXPECT_TRUE(HasError(r, 12, 19, "hash_policy entry: set exactly one of 'header: {name: ...}', 'cookie: {name: ...}' "
                                  "or 'source_ip: true'"));
  EXPECT_TRUE(HasError(r, 13, 35, "name: 'bad name' is not a valid header name"));
  EXPECT_TRUE(HasError(r, 14, 28, "missing required field 'name' in cookie"));
  EXPECT_TRUE(HasError(r, 15, 35, "name: 'a;b' is not a valid cookie name"));
  EXPECT_TRUE(HasError(r, 16, 31, "source_ip: only 'true' means something here; remove the entry instead"));
  EXPECT_TRUE(HasError(r, 17, 20, "unknown field 'query' in hash_policy entry; expected one of: header, cookie, "
                                  "source_ip"));
  EXPECT_EQ(r.diagnostics.size(), 7u) << testing::all_diagnostics(r);
}

}  // namespace
}  // namespace aegis::config
