// Rules for route_configs: virtual hosts, matches, header matchers, rewrites.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

// One cluster "demo" (lines 1-3); tests append route_configs from line 4.
constexpr std::string_view kCluster = R"(clusters:
  - {name: demo, endpoints: ["127.0.0.1:8080"]}
  - {name: other, endpoints: ["127.0.0.1:8081"]}
)";

LoadResult load_routes(std::string_view route_configs) {
  return load(std::string(kCluster) + "route_configs:\n" + std::string(route_configs));
}

// A route config with one virtual host and one route whose body is `route`
// (the route item starts on line 8 at column 9: "      - ").
LoadResult load_route(std::string_view route) {
  return load_routes(
      "  - name: rc\n"
      "    virtual_hosts:\n"
      "      - name: vh\n"
      "        domains: [\"*\"]\n"
      "        routes:\n"
      "          - " + std::string(route) + "\n");
}

TEST(RouteRules, FullRouteParses) {
  const auto r = load_routes(R"(  - name: rc
    virtual_hosts:
      - name: vh
        domains: ["API.Example.com", "*.example.com", "api.example.com:10000"]
        routes:
          - name: r1
            match:
              path: /exact
              headers:
                - {name: X-Canary, exact: "1"}
                - {name: x-tenant, prefix: acme-}
                - {name: x-debug, invert: true}
            route:
              cluster: other
              timeout: 0
              max_request_body_bytes: 1048576
              request_headers_to_add: [{name: X-Via, value: aegis}]
              request_headers_to_remove: [X-Debug]
              response_headers_to_add: [{name: x-served-by, value: "a b"}]
              response_headers_to_remove: [server]
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const VirtualHost& vh = r.config->route_configs.at(0).virtual_hosts.at(0);
  EXPECT_EQ(vh.domains, (std::vector<std::string>{"api.example.com", "*.example.com", "api.example.com:10000"}));
  const Route& route = vh.routes.at(0);
  EXPECT_EQ(route.name, "r1");
  EXPECT_EQ(route.match.path, "/exact");
  EXPECT_FALSE(route.match.prefix);
  ASSERT_EQ(route.match.headers.size(), 3u);
  EXPECT_EQ(route.match.headers[0].name, "x-canary");
  EXPECT_EQ(route.match.headers[0].exact, "1");
  EXPECT_EQ(route.match.headers[1].prefix, "acme-");
  EXPECT_FALSE(route.match.headers[2].exact);
  EXPECT_FALSE(route.match.headers[2].prefix);
  EXPECT_TRUE(route.match.headers[2].invert);
  EXPECT_EQ(route.action.cluster, "other");
  EXPECT_EQ(route.action.timeout, Millis{0});
  EXPECT_EQ(route.action.max_request_body_bytes, 1048576u);
  ASSERT_EQ(route.action.request_headers_to_add.size(), 1u);
  EXPECT_EQ(route.action.request_headers_to_add[0].name, "x-via");
  EXPECT_EQ(route.action.request_headers_to_add[0].value, "aegis");
  EXPECT_EQ(route.action.request_headers_to_remove, std::vector<std::string>{"x-debug"});
  EXPECT_EQ(route.action.response_headers_to_add.at(0).value, "a b");
  EXPECT_EQ(route.action.response_headers_to_remove, std::vector<std::string>{"server"});
}

TEST(RouteRules, RequiredFields) {
  EXPECT_TRUE(HasError(load_routes("  - virtual_hosts: []\n"), 5, 5, "missing required field 'name' in route config"));
  EXPECT_TRUE(HasError(load_routes("  - name: rc\n    virtual_hosts:\n      - {domains: [\"*\"]}\n"), 7, 9,
                       "missing required field 'name' in virtual host"));
  EXPECT_TRUE(HasError(load_routes("  - name: rc\n    virtual_hosts:\n      - {name: vh}\n"), 7, 9,
                       "missing required field 'domains' in virtual host"));
  EXPECT_TRUE(HasError(load_routes("  - name: rc\n    virtual_hosts:\n      - {name: vh, domains: []}\n"), 7, 29,
                       "domains: needs at least one entry"));
  EXPECT_TRUE(HasError(load_route("{route: {cluster: demo}}"), 10, 13, "missing required field 'match' in route"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /}}"), 10, 13, "missing required field 'route' in route"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /}, route: {timeout: 1s}}"), 10, 41,
                       "missing required field 'cluster' in route action"));
}

TEST(RouteRules, MatchHasExactlyOneOfPrefixOrPath) {
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /a, path: /b}, route: {cluster: demo}}"), 10, 40,
                       "match sets both 'prefix' and 'path'; use exactly one"));
  EXPECT_TRUE(HasError(load_route("{match: {headers: []}, route: {cluster: demo}}"), 10, 21,
                       "match needs exactly one of 'prefix' or 'path'"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: api}, route: {cluster: demo}}"), 10, 30,
                       "prefix: must start with '/', got 'api'"));
  EXPECT_TRUE(HasError(load_route("{match: {path: \"\"}, route: {cluster: demo}}"), 10, 28,
                       "path: must start with '/', got ''"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: }, route: {cluster: demo}}"), 10, 21, "match needs exactly one"));
}

TEST(RouteRules, HeaderMatchers) {
  const auto both = load_route("{match: {prefix: /, headers: [{name: a, exact: x, prefix: y}]}, route: {cluster: demo}}");
  EXPECT_TRUE(HasError(both, 10, 71, "header matcher 'a' sets both 'exact' and 'prefix'"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /, headers: [{name: \"x y\"}]}, route: {cluster: demo}}"), 10, 50,
                       "name: 'x y' is not a valid header name"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /, headers: [{exact: x}]}, route: {cluster: demo}}"), 10, 43,
                       "missing required field 'name' in header matcher"));
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /, headers: [{name: a, invert: 1}]}, route: {cluster: demo}}"), 10,
                       61, "invert: expected true or false, got '1'"));
}

TEST(RouteRules, HeaderRewrites) {
  const auto r = load_route(
      "{match: {prefix: /}, route: {cluster: demo, request_headers_to_add: [{name: \"a:b\", value: x}, "
      "{name: ok, value: \"x\\r\\nevil: 1\"}, {name: v}], response_headers_to_remove: [good, \"bad header\"]}}");
  EXPECT_TRUE(HasError(r, 10, 89, "name: 'a:b' is not a valid header name"));
  EXPECT_TRUE(HasError(r, 10, 125, "value: must not contain CR, LF or NUL characters"));
  EXPECT_TRUE(HasError(r, 10, 142, "missing required field 'value' in request_headers_to_add entry"));
  EXPECT_TRUE(HasError(r, 10, 189, "response_headers_to_remove: 'bad header' is not a valid header name"));
  EXPECT_EQ(r.diagnostics.size(), 4u) << testing::all_diagnostics(r);
}

TEST(RouteRules, RouteClusterMustExist) {
  EXPECT_TRUE(HasError(load_route("{match: {prefix: /}, route: {cluster: ghost}}"), 10, 51,
                       "route sends to cluster 'ghost', which does not exist (defined: demo, other)"));
}

TEST(RouteRules, NamesAndDomainsAreUnique) {
  const auto r = load_routes(R"(  - name: rc
    virtual_hosts:
      - {name: vh, domains: ["a.example.com", "*"]}
      - {name: vh, domains: ["A.example.com"]}
  - name: rc2
    virtual_hosts:
      - {name: vh, domains: ["*"]}
  - name: rc
)");
  EXPECT_TRUE(HasError(r, 8, 16, "duplicate virtual host name 'vh' in route config 'rc'"));
  EXPECT_TRUE(HasError(r, 8, 30, "domain 'a.example.com' is already served by virtual host 'vh'"));
  EXPECT_TRUE(HasError(r, 12, 11, "duplicate route config name 'rc' (first defined at line 5)"));
  EXPECT_EQ(r.diagnostics.size(), 3u) << testing::all_diagnostics(r);
}

TEST(RouteRules, DomainSyntax) {
  EXPECT_TRUE(LoadsCleanly(
      load_routes("  - name: rc\n    virtual_hosts:\n      - {name: vh, domains: [\"*\", \"*-api.example.com\", \"api.*\"]}\n")));
  EXPECT_FALSE(load_routes("  - name: rc\n    virtual_hosts:\n      - {name: vh, domains: [\"*a*\"]}\n").ok());
  const auto r = load_routes("  - name: rc\n    virtual_hosts:\n      - {name: vh, domains: [\"api.*.com\", \"a b\", \"\"]}\n");
  EXPECT_TRUE(HasError(r, 7, 30, "domains: 'api.*.com' is not a domain"));
  EXPECT_TRUE(HasError(r, 7, 43, "domains: 'a b' is not a domain"));
  EXPECT_TRUE(HasError(r, 7, 50, "domains: '' is not a domain"));
}

}  // namespace
}  // namespace aegis::config
