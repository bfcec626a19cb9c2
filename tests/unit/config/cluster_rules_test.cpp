// Rules for clusters: endpoints, load assignments, policies and DNS.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

LoadResult load_clusters(std::string_view clusters) { return load("clusters:\n" + std::string(clusters)); }

TEST(ClusterRules, FullClusterParses) {
  const auto r = load_clusters(R"(  - name: c
    lb_policy: least_request
    connect_timeout: 250ms
    max_connections: 10
    max_idle_connections: 0
    idle_timeout: 2m
    load_assignment:
      endpoints:
        - locality: {region: eu, zone: a}
          priority: 0
          lb_endpoints:
            - {address: 10.0.0.1, port: 80, weight: 3}
            - {address: "fd00::2", port: 81}
        - priority: 1
          lb_endpoints:
            - {address: backend.test, port: 82}
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const Cluster& c = r.config->clusters.at(0);
  EXPECT_EQ(c.lb_policy, LbPolicy::kLeastRequest);
  EXPECT_EQ(c.connect_timeout, Millis{250});
  EXPECT_EQ(c.max_connections, 10u);
  EXPECT_EQ(c.max_idle_connections, 0u);
  EXPECT_EQ(c.idle_timeout, Millis{120'000});
  const auto& groups = c.load_assignment.localities;
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].region, "eu");
  EXPECT_EQ(groups[0].zone, "a");
  EXPECT_EQ(groups[0].endpoints.at(0).str(), "10.0.0.1:80");
  EXPECT_EQ(groups[0].endpoints.at(0).weight, 3u);
  EXPECT_EQ(groups[0].endpoints.at(1).str(), "[fd00::2]:81");
  EXPECT_EQ(groups[1].priority, 1u);
  EXPECT_EQ(groups[1].endpoints.at(0).host, "10.0.0.7");
  EXPECT_EQ(groups[1].endpoints.at(0).hostname, "backend.test");
}

TEST(ClusterRules, ShorthandEndpoints) {
  const auto r = load_clusters("  - {name: c, endpoints: [\"127.0.0.1:1\", \"[::1]:2\", \"localhost:3\", \"v6.test:4\"]}\n");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& eps = r.config->clusters.at(0).load_assignment.localities.at(0).endpoints;
  ASSERT_EQ(eps.size(), 4u);
  EXPECT_EQ(eps[0].str(), "127.0.0.1:1");
  EXPECT_EQ(eps[1].str(), "[::1]:2");
  EXPECT_EQ(eps[2].str(), "127.0.0.1:3");
  EXPECT_EQ(eps[2].hostname, "localhost");
  EXPECT_EQ(eps[3].str(), "[fd00::1]:4");
  EXPECT_EQ(eps[3].weight, 1u);
}

TEST(ClusterRules, BadShorthandEndpoints) {
  const auto r = load_clusters(
      "  - {name: c, endpoints: [\"::1:80\", \"h:0\", \"nowhere.test:80\", \"bad_name:1\", {address: x}]}\n");
  EXPECT_TRUE(HasError(r, 2, 27, "write IPv6 addresses in brackets"));
  EXPECT_TRUE(HasError(r, 2, 37, "port must be an integer 1-65535"));
  EXPECT_TRUE(HasError(r, 2, 44, "endpoints: cannot resolve host 'nowhere.test': Name or service not known"));
  EXPECT_TRUE(HasError(r, 2, 63, "endpoints: 'bad_name' is neither an IP address nor a valid host name"));
  EXPECT_TRUE(HasError(r, 2, 77, "endpoints: expected \"host:port\" strings, got a mapping"));
  EXPECT_EQ(r.diagnostics.size(), 5u) << testing::all_diagnostics(r);
}

TEST(ClusterRules, EachNameIsResolvedOncePerLoad) {
  int calls = 0;
  LoadOptions options;
  options.resolve = [&](const std::string& host) {
    ++calls;
    return testing::fake_resolve(host);
  };
  const auto r = load_from_string("clusters:\n  - {name: a, endpoints: [\"backend.test:1\", \"backend.test:2\"]}\n"
                                  "  - {name: b, endpoints: [\"backend.test:3\"]}\n",
                                  "t.yaml", options);
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(calls, 1);
}

TEST(ClusterRules, NeedsEndpointsOneWayOnly) {
  EXPECT_TRUE(HasError(load_clusters("  - {name: c}\n"), 2, 5, "cluster 'c' has no endpoints"));
  EXPECT_TRUE(HasError(load_clusters("  - {name: c, endpoints: []}\n"), 2, 26, "cluster 'c' needs at least one endpoint"));
  EXPECT_TRUE(HasError(load_clusters("  - {name: c, load_assignment: {endpoints: [{lb_endpoints: []}]}}\n"), 2, 32,
                       "cluster 'c' needs at least one endpoint"));
  EXPECT_TRUE(HasError(load_clusters("  - {name: c, endpoints: [\"127.0.0.1:1\"], load_assignment: {endpoints: []}}\n"),
                       2, 60, "cluster sets both 'endpoints' and 'load_assignment'"));
  EXPECT_TRUE(HasError(load_clusters("  - {endpoints: [\"127.0.0.1:1\"]}\n"), 2, 5,
                       "missing required field 'name' in cluster"));
  EXPECT_TRUE(HasError(load_clusters("  - {name: c, load_assignment: {}}\n"), 2, 32,
                       "missing required field 'endpoints' in load_assignment"));
}

TEST(ClusterRules, LbEndpointFields) {
  const auto r = load_clusters(R"(  - name: c
    load_assignment:
      endpoints:
        - locality: {region: eu, rack: 3}
          priority: -1
          lb_endpoints:
            - {address: 10.0.0.1, port: 80, weight: 0}
            - {address: 10.0.0.1}
            - {port: 80}
            - {address: "[::1]:80", port: 80}
)");
  EXPECT_TRUE(HasError(r, 5, 34, "unknown field 'rack' in locality; expected one of: region, zone"));
  EXPECT_TRUE(HasError(r, 6, 21, "priority: expected an integer 0-4294967295, got '-1'"));
  EXPECT_TRUE(HasError(r, 8, 53, "weight: expected an integer 1-4294967295, got '0'"));
  EXPECT_TRUE(HasError(r, 9, 15, "missing required field 'port' in lb_endpoint"));
  EXPECT_TRUE(HasError(r, 10, 15, "missing required field 'address' in lb_endpoint"));
  EXPECT_TRUE(HasError(r, 11, 25, "address: '[::1]:80' is neither an IP address nor a valid host name"));
  EXPECT_EQ(r.diagnostics.size(), 6u) << testing::all_diagnostics(r);
}

TEST(ClusterRules, PolicyTimeoutsAndLimits) {
  const auto r = load_clusters(
      "  - {name: c, endpoints: [\"127.0.0.1:1\"], lb_policy: hashed, connect_timeout: 0, max_connections: 0, "
      "idle_timeout: 0}\n");
  EXPECT_TRUE(HasError(r, 2, 54, "lb_policy: expected one of: round_robin, random, least_request, peak_ewma, ring_hash, maglev, carbon_aware; got 'hashed'"));
  EXPECT_TRUE(HasError(r, 2, 79, "connect_timeout: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 2, 99, "max_connections: expected an integer 1-4294967295, got '0'"));
  EXPECT_EQ(r.diagnostics.size(), 3u) << testing::all_diagnostics(r);
}

TEST(ClusterRules, NamesAreUnique) {
  const auto r = load_clusters("  - {name: c, endpoints: [\"127.0.0.1:1\"]}\n  - {name: c, endpoints: [\"127.0.0.1:2\"]}\n");
  EXPECT_TRUE(HasError(r, 3, 12, "duplicate cluster name 'c' (first defined at line 2)"));
}

TEST(ClusterRules, RealResolverFailsForReservedName) {
  // RFC 6761: .invalid never resolves; getaddrinfo answers without the network.
  const auto r = load_from_string("clusters:\n  - {name: c, endpoints: [\"x.invalid:80\"]}\n", "t.yaml");
  EXPECT_TRUE(HasError(r, 2, 27, "cannot resolve host 'x.invalid'"));
}

}  // namespace
}  // namespace aegis::config
