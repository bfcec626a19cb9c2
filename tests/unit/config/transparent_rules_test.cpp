// Transparent listeners, type: original_dst clusters and the services table:
// what loads, what is refused, and where the error points.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "config/values.h"
#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

// Lines 1-22: a whole sidecar (outbound + inbound listeners, a mesh cluster,
// one service); tests append more YAML after it.
constexpr std::string_view kSidecar = R"(listeners:
  - name: outbound
    address: 0.0.0.0
    port: 15001
    protocol: tcp
    transparent: outbound
    outbound_policy: registry_only
    detect_timeout: 250ms
  - name: inbound
    address: 0.0.0.0
    port: 15006
    protocol: tcp
    transparent: inbound
clusters:
  - name: mesh
    type: original_dst
    connect_timeout: 2s
services:
  - name: backend
    addresses: ["10.96.0.0/12", "10.1.2.3", "fd00::7/64"]
    ports: [80, 8080]
    cluster: mesh
)";

TEST(TransparentRules, SidecarLoads) {
  const auto r = load(std::string(kSidecar) +
                      "    peer_spiffe_id: spiffe://cluster.local/ns/default/sa/backend\n"
                      "    protocol: http\n");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& out = r.config->listeners[0];
  EXPECT_EQ(out.transparent, TransparentMode::kOutbound);
  EXPECT_EQ(out.outbound_policy, OutboundPolicy::kRegistryOnly);
  EXPECT_EQ(out.detect_timeout, Millis(250));
  EXPECT_EQ(r.config->listeners[1].transparent, TransparentMode::kInbound);
  EXPECT_EQ(r.config->listeners[1].outbound_policy, OutboundPolicy::kAllowAny);
  EXPECT_EQ(r.config->clusters[0].type, ClusterType::kOriginalDst);
  ASSERT_EQ(r.config->services.size(), 1u);
  const auto& s = r.config->services[0];
  EXPECT_EQ(s.addresses, (std::vector<std::string>{"10.96.0.0/12", "10.1.2.3/32", "fd00::/64"}));
  EXPECT_EQ(s.ports, (std::vector<std::uint16_t>{80, 8080}));
  EXPECT_EQ(s.cluster, "mesh");
  EXPECT_EQ(s.peer_spiffe_id, "spiffe://cluster.local/ns/default/sa/backend");
  EXPECT_EQ(s.protocol, ServiceProtocol::kHttp);
}

TEST(TransparentRules, DumpLoadsBackTheSame) {
  const auto r = load(kSidecar);
  ASSERT_TRUE(LoadsCleanly(r));
  const auto dumped = nlohmann::json::parse(to_json(*r.config, 2));
  EXPECT_EQ(dumped["listeners"][0]["transparent"], "outbound");
  EXPECT_EQ(dumped["listeners"][0]["outbound_policy"], "registry_only");
  EXPECT_FALSE(dumped["listeners"][0].contains("cluster"));
  EXPECT_EQ(dumped["clusters"][0]["type"], "original_dst");
  EXPECT_FALSE(dumped["clusters"][0].contains("load_assignment"));
  EXPECT_EQ(dumped["services"][0]["addresses"][2], "fd00::/64");
  // JSON is YAML: the dump is a config file again.
  auto back = dumped;
  back.erase("source");
  const auto again = load(back.dump());
  ASSERT_TRUE(LoadsCleanly(again));
  EXPECT_EQ(to_json(*again.config, 2), to_json(*r.config, 2));
}

TEST(TransparentRules, MistakesPointAtTheirLine) {
  auto r = load(R"(
clusters:
  - name: mesh
    type: original_dst
    endpoints: ["127.0.0.1:1"]
  - name: plain
    endpoints: ["127.0.0.1:2"]
listeners:
  - name: out
    port: 15001
    protocol: tcp
    transparent: sideways
  - name: http
    port: 15002
    transparent: outbound
    route_config: x
  - name: in
    port: 15006
    protocol: tcp
    transparent: inbound
    outbound_policy: registry_only
    cluster: plain
  - name: old
    port: 15007
    protocol: tcp
    cluster: mesh
    detect_timeout: 1s
services:
  - name: s
    addresses: ["10.0.0.0/33", "example.com"]
    ports: [0]
    cluster: nowhere
    peer_spiffe_id: backend
    protocol: udp
)");
  EXPECT_TRUE(HasError(r, 4, 16, "a type: original_dst cluster connects to each connection's original destination"));
  EXPECT_TRUE(HasError(r, 11, 18, "transparent: expected one of"));
  EXPECT_TRUE(HasError(r, 14, 18, "transparent: needs protocol: tcp"));
  EXPECT_TRUE(HasError(r, 20, 22, "outbound_policy: applies only to transparent: outbound"));
  EXPECT_TRUE(HasError(r, 21, 14, "a transparent listener sends each connection where its original destination"));
  EXPECT_TRUE(HasError(r, 25, 14, "a type: original_dst cluster, which only transparent listeners"));
  EXPECT_TRUE(HasError(r, 26, 21, "detect_timeout: applies only to transparent: outbound"));
  EXPECT_TRUE(HasError(r, 29, 16, "'10.0.0.0/33'"));
  EXPECT_TRUE(HasError(r, 29, 16, "'example.com'"));
  EXPECT_TRUE(HasError(r, 30, 13, "ports: expected a port 1-65535"));
  EXPECT_TRUE(HasError(r, 31, 14, "service 's' names cluster 'nowhere', which does not exist"));
  EXPECT_TRUE(HasError(r, 32, 21, "peer_spiffe_id: expected a SPIFFE ID"));
  EXPECT_TRUE(HasError(r, 33, 15, "protocol: expected one of"));
}

TEST(TransparentRules, ServicesNeedAnOutboundListener) {
  auto r = load(R"(
clusters:
  - name: mesh
    type: original_dst
services:
  - name: s
    addresses: ["10.0.0.1"]
    cluster: mesh
)");
  EXPECT_TRUE(HasError(r, 5, 3, "only transparent: outbound listeners use the service table"));
}

TEST(TransparentRules, RoutesCannotUseOriginalDst) {
  auto r = load(R"(
clusters:
  - name: mesh
    type: original_dst
listeners:
  - name: in
    port: 10000
    route_config: local
route_configs:
  - name: local
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: mesh}
)");
  EXPECT_TRUE(HasError(r, 15, 30, "a type: original_dst cluster, which only transparent listeners"));
}

TEST(TransparentRules, CanonicalCidr) {
  EXPECT_EQ(canonical_cidr("10.1.2.3"), "10.1.2.3/32");
  EXPECT_EQ(canonical_cidr("10.1.2.3/8"), "10.0.0.0/8");
  EXPECT_EQ(canonical_cidr("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(canonical_cidr("FD00:0::1"), "fd00::1/128");
  EXPECT_EQ(canonical_cidr("fd00::1:2/65"), "fd00::/65");
  EXPECT_EQ(canonical_cidr("fd00::ffff:1/113"), "fd00::ffff:0/113");
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0.0/1a", "host", "10.0.0.0/0008"})
    EXPECT_EQ(canonical_cidr(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace aegis::config
