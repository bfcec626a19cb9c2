// Rules for admin, listeners and references from listeners.
#include <gtest/gtest.h>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

// Clusters and route configs for listeners to point at (lines 1-9).
constexpr std::string_view kTargets = R"(route_configs:
  - name: local
    virtual_hosts: []
clusters:
  - name: demo
    endpoints: ["127.0.0.1:8080"]
admin:
  port: 9901
listeners:
)";

LoadResult load_listeners(std::string_view listeners) { return load(std::string(kTargets) + std::string(listeners)); }

TEST(ListenerRules, FullListenerParses) {
  const auto r = load_listeners(R"(  - name: in
    address: "::"
    port: 10000
    protocol: http
    route_config: local
    idle_timeout: 1.5s
    request_headers_timeout: 250ms
    xff_trust_downstream: true
    limits:
      max_request_header_bytes: 1000
      max_request_headers: 10
      max_request_line_bytes: 100
      max_request_body_bytes: 0
      max_response_header_bytes: 2000
  - name: db
    address: localhost
    port: 10001
    protocol: tcp
    cluster: demo
    idle_timeout: 2h
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const Listener& in = r.config->listeners[0];
  EXPECT_EQ(in.address.str(), "[::]:10000");
  EXPECT_EQ(in.idle_timeout, Millis{1500});
  EXPECT_EQ(in.request_headers_timeout, Millis{250});
  EXPECT_TRUE(in.xff_trust_downstream);
  EXPECT_EQ(in.limits.max_request_header_bytes, 1000u);
  EXPECT_EQ(in.limits.max_request_headers, 10u);
  EXPECT_EQ(in.limits.max_request_line_bytes, 100u);
  EXPECT_EQ(in.limits.max_request_body_bytes, 0u);
  EXPECT_EQ(in.limits.max_response_header_bytes, 2000u);
  const Listener& db = r.config->listeners[1];
  EXPECT_EQ(db.protocol, ListenerProtocol::kTcp);
  EXPECT_EQ(db.address.address, "127.0.0.1");
  EXPECT_EQ(db.cluster, "demo");
  EXPECT_EQ(db.idle_timeout, Millis{7'200'000});
}

TEST(ListenerRules, RequiredNameAndPort) {
  const auto r = load_listeners("  - route_config: local\n");
  EXPECT_TRUE(HasError(r, 10, 5, "missing required field 'name' in listener"));
  EXPECT_TRUE(HasError(r, 10, 5, "missing required field 'port' in listener"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: '', port: 1, route_config: local}\n"), 10, 12,
                       "name: must not be empty"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: , route_config: local}\n"), 10, 15,
                       "port: required field has no value"));
}

TEST(ListenerRules, PortMustBe1To65535) {
  for (std::string_view bad : {"0", "65536", "-1", "abc", "80.5", "0x50"}) {
    const auto r = load_listeners("  - {name: a, route_config: local, port: " + std::string(bad) + "}\n");
    EXPECT_TRUE(HasError(r, 10, 42, "port: expected an integer 1-65535, got '" + std::string(bad) + "'")) << bad;
  }
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, route_config: local, port: [1]}\n"), 10, 42,
                       "port: expected an integer 1-65535, got a list"));
  EXPECT_TRUE(LoadsCleanly(load_listeners("  - {name: a, route_config: local, port: 65535}\n")));
  EXPECT_TRUE(LoadsCleanly(load_listeners("  - {name: a, route_config: local, port: \"1\"}\n")));
}

TEST(ListenerRules, AddressMustBeAnIpOrLocalhost) {
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, route_config: local, address: example.com}\n"), 10, 54,
                       "address: expected an IPv4 or IPv6 address or 'localhost', got 'example.com'"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, route_config: local, address: \"127.0.0.1:80\"}\n"), 10,
                       54, "set the port in the 'port' field"));
  EXPECT_TRUE(LoadsCleanly(load_listeners("  - {name: a, port: 1, route_config: local, address: \"[::1]\"}\n")));
}

TEST(ListenerRules, ProtocolIsHttpOrTcp) {
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, route_config: local, protocol: udp}\n"), 10, 55,
                       "protocol: expected one of: http, tcp; got 'udp'"));
}

TEST(ListenerRules, HttpListenerNeedsAnExistingRouteConfigAndNoCluster) {
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1}\n"), 10, 5,
                       "missing required field 'route_config' in listener (protocol: http)"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, route_config: remote}\n"), 10, 38,
                       "listener 'a' names route_config 'remote', which does not exist (defined: local)"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, route_config: local, cluster: demo}\n"), 10, 54,
                       "cluster: an http listener routes through 'route_config'"));
}

TEST(ListenerRules, TcpListenerNeedsAnExistingClusterAndNoRouteConfig) {
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, protocol: tcp}\n"), 10, 5,
                       "missing required field 'cluster' in listener (protocol: tcp)"));
  EXPECT_TRUE(HasError(load_listeners("  - {name: a, port: 1, protocol: tcp, cluster: ghost}\n"), 10, 48,
                       "listener 'a' names cluster 'ghost', which does not exist (defined: demo)"));
  const auto r = load_listeners(
      "  - {name: a, port: 1, protocol: tcp, cluster: demo, route_config: local, limits: {}, "
      "xff_trust_downstream: true, request_headers_timeout: 1s}\n");
  EXPECT_TRUE(HasError(r, 10, 68, "route_config: a tcp listener forwards to 'cluster'"));
  EXPECT_TRUE(HasError(r, 10, 83, "limits: applies only to protocol: http"));
  EXPECT_TRUE(HasError(r, 10, 109, "xff_trust_downstream: applies only to protocol: http"));
  EXPECT_TRUE(HasError(r, 10, 140, "request_headers_timeout: applies only to protocol: http"));
}

TEST(ListenerRules, NamesAreUnique) {
  const auto r = load_listeners(
      "  - {name: a, port: 1, route_config: local}\n"
      "  - {name: a, port: 2, route_config: local}\n");
  EXPECT_TRUE(HasError(r, 11, 12, "duplicate listener name 'a' (first defined at line 10)"));
}

TEST(ListenerRules, AddressPortIsUnique) {
  const auto r = load_listeners(
      "  - {name: a, port: 1, address: \"::1\", route_config: local}\n"
      "  - {name: b, port: 1, address: \"0::1\", route_config: local}\n"
      "  - {name: c, port: 1, address: 127.0.0.1, route_config: local}\n"
      "  - {name: d, port: 9901, route_config: local}\n");
  EXPECT_TRUE(HasError(r, 11, 21, "listener 'b' uses [::1]:1, already used by listener 'a'"));
  EXPECT_TRUE(HasError(r, 13, 21, "listener 'd' uses 127.0.0.1:9901, which is the admin address"));
  EXPECT_EQ(r.diagnostics.size(), 2u) << testing::all_diagnostics(r);
}

TEST(ListenerRules, DurationsBoolsAndSizes) {
  const auto r = load_listeners(R"(  - name: a
    port: 1
    route_config: local
    idle_timeout: 10
    request_headers_timeout: 1d
    xff_trust_downstream: yes
    limits:
      max_request_headers: -1
      max_request_body_bytes: 1.5
      max_request_line_bytes: 0
      max_requests: 3
)");
  EXPECT_TRUE(HasError(r, 13, 19, "idle_timeout: expected a duration such as 250ms, 1s, 1.5s, 2m, 1h or 0, got '10' (missing unit)"));
  EXPECT_TRUE(HasError(r, 14, 30, "request_headers_timeout: expected a duration"));
  EXPECT_TRUE(HasError(r, 15, 27, "xff_trust_downstream: expected true or false, got 'yes'"));
  EXPECT_TRUE(HasError(r, 17, 28, "max_request_headers: expected an integer 1-4294967295, got '-1'"));
  EXPECT_TRUE(HasError(r, 18, 31, "max_request_body_bytes: expected an integer 0-18446744073709551615, got '1.5'"));
  EXPECT_TRUE(HasError(r, 19, 31, "max_request_line_bytes: expected an integer 1-4294967295, got '0'"));
  EXPECT_TRUE(HasError(r, 20, 7, "unknown field 'max_requests' in limits; expected one of: max_request_header_bytes"));
  EXPECT_EQ(r.diagnostics.size(), 7u) << testing::all_diagnostics(r);
}

TEST(ListenerRules, TimeoutsMustBePositive) {
  const auto r = load_listeners("  - {name: a, port: 1, route_config: local, idle_timeout: 0, request_headers_timeout: 0ms}\n");
  EXPECT_TRUE(HasError(r, 10, 59, "idle_timeout: must be greater than 0"));
  EXPECT_TRUE(HasError(r, 10, 87, "request_headers_timeout: must be greater than 0"));
}

TEST(ListenerRules, ListenersMustBeAListOfMappings) {
  EXPECT_TRUE(HasError(load("listeners: {name: a}\n"), 1, 12, "listeners: expected a list, got a mapping"));
  EXPECT_TRUE(HasError(load("listeners:\n  - just-a-name\n"), 2, 5,
                       "listener: expected a mapping of fields, got 'just-a-name'"));
}

TEST(AdminRules, AddressAndPort) {
  EXPECT_TRUE(HasError(load("admin: {address: 1.2.3, port: 9901}\n"), 1, 18,
                       "address: expected an IPv4 or IPv6 address or 'localhost', got '1.2.3'"));
  EXPECT_TRUE(HasError(load("admin: {port: 70000}\n"), 1, 15, "port: expected an integer 1-65535, got '70000'"));
  EXPECT_TRUE(HasError(load("admin: {addr: x}\n"), 1, 9, "unknown field 'addr' in admin; expected one of: address, port"));
  const auto r = load("admin: {address: localhost, port: 1234}\naccess_log: {path: /var/log/a.log}\ndrain_timeout: 2m\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->admin.address.str(), "127.0.0.1:1234");
  EXPECT_EQ(r.config->access_log.path, "/var/log/a.log");
  EXPECT_EQ(r.config->drain_timeout, Millis{120'000});
  EXPECT_TRUE(HasError(load("drain_timeout: forever\n"), 1, 16, "drain_timeout: expected a duration"));
  EXPECT_TRUE(HasError(load("access_log: {path: [a]}\n"), 1, 20, "path: expected a string, got a list"));
}

}  // namespace
}  // namespace aegis::config
