// `tls:` on listeners and clusters, and `allow_peers` on listeners, routes and
// clusters: what loads, what is refused, and where the error points.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "config_test_util.h"

namespace aegis::config {
namespace {

namespace fs = std::filesystem;
using testing::HasError;

// A directory with readable (content does not matter here) cert/key/ca files.
class TlsRules : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "aegis-tlsrules-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    for (const char* f : {"cert.pem", "key.pem", "ca.pem"}) std::ofstream(dir_ / f) << "x\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  LoadResult load(const std::string& yaml) const {
    LoadOptions o{&testing::fake_resolve, dir_.string()};
    return load_from_string(yaml, "test.yaml", o);
  }
  fs::path dir_;
};

constexpr const char* kRoutes = R"(route_configs:
  - name: r
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: c}
clusters:
  - name: c
    endpoints: ["127.0.0.1:8080"]
)";

TEST_F(TlsRules, FullListenerAndClusterTlsLoadWithPathsMadeAbsolute) {
  const auto r = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      cert_file: cert.pem
      key_file: key.pem
      trust_bundle: ca.pem
      require_client_cert: true
      pq_policy: pq_only_1024
      groups: [MLKEM1024]
      session_resumption: false
      handshake_timeout: 3s
      allow_peers:
        - exact: spiffe://a.test/ns/x/sa/y
        - prefix: spiffe://a.test/ns/
)") + kRoutes + R"(    tls:
      trust_bundle: ca.pem
      cert_file: cert.pem
      key_file: key.pem
      server_name: in.a.test
      allow_peers: [{exact: spiffe://a.test/ns/x/sa/server}]
)");
  ASSERT_TRUE(r.ok()) << testing::all_diagnostics(r);
  const auto& t = *r.config->listeners[0].tls;
  EXPECT_EQ(t.cert_file, (dir_ / "cert.pem").string());
  EXPECT_TRUE(t.require_client_cert);
  EXPECT_EQ(t.pq_policy, "pq_only_1024");
  EXPECT_EQ(t.groups, std::vector<std::string>{"MLKEM1024"});
  EXPECT_FALSE(t.session_resumption);
  EXPECT_EQ(t.handshake_timeout, Millis(3000));
  ASSERT_EQ(t.allow_peers.size(), 2u);
  EXPECT_TRUE(t.allow_peers[1].matches("spiffe://a.test/ns/z/sa/w"));
  EXPECT_FALSE(t.allow_peers[0].matches("spiffe://a.test/ns/x/sa/yy"));
  const auto& ct = *r.config->clusters[0].tls;
  EXPECT_EQ(ct.server_name, "in.a.test");
  EXPECT_EQ(ct.trust_bundle, (dir_ / "ca.pem").string());
  // The dump shows the paths and loads back.
  auto dump = nlohmann::json::parse(to_json(*r.config));
  dump.erase("source");  // not a YAML field
  const auto again = load(dump.dump());
  EXPECT_TRUE(again.ok()) << testing::all_diagnostics(again);
}

TEST_F(TlsRules, MissingFileIsReportedAtItsLine) {
  const auto r = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      cert_file: nope.pem
      key_file: key.pem
)") + kRoutes);
  EXPECT_TRUE(HasError(r, 6, 18, "cert_file: cannot read")) << testing::all_diagnostics(r);
}

TEST_F(TlsRules, ListenerNeedsItsCertificateAndMtlsNeedsATrustBundle) {
  const auto r = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      require_client_cert: true
      pq_policy: quantum
)") + kRoutes);
  EXPECT_TRUE(HasError(r, 6, 7, "listener tls needs 'cert_file' and 'key_file'")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 6, 28, "require_client_cert: needs 'trust_bundle'")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 7, 18, "pq_policy")) << testing::all_diagnostics(r);
}

TEST_F(TlsRules, AllowPeersAreSpiffeIdsAndNeedClientCertificates) {
  const auto r = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      cert_file: cert.pem
      key_file: key.pem
      allow_peers:
        - exact: https://not-spiffe
        - {exact: spiffe://a/b, prefix: spiffe://a/}
)") + kRoutes);
  EXPECT_TRUE(HasError(r, 9, 9, "allow_peers: needs 'require_client_cert: true'")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 9, 18, "expected a SPIFFE ID")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 10, 11, "exactly one of 'exact' or 'prefix'")) << testing::all_diagnostics(r);
}

TEST_F(TlsRules, EmptyAllowListIsRefusedRatherThanDenyingEveryone) {
  const auto r = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls: {cert_file: cert.pem, key_file: key.pem, trust_bundle: ca.pem, require_client_cert: true, allow_peers: []}
)") + kRoutes);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(testing::all_diagnostics(r).find("empty list would deny every peer"), std::string::npos)
      << testing::all_diagnostics(r);
}

TEST_F(TlsRules, RouteAllowPeersBehindAListenerWithoutMtlsIsRefused) {
  const auto r = load(R"(listeners:
  - name: plain
    port: 10000
    route_config: r
route_configs:
  - name: r
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /admin}
            route: {cluster: c}
            allow_peers: [{exact: spiffe://a/b}]
clusters:
  - name: c
    endpoints: ["127.0.0.1:8080"]
)");
  EXPECT_TRUE(HasError(r, 13, 26, "which does not verify client certificates")) << testing::all_diagnostics(r);
}

TEST_F(TlsRules, ClusterTlsNeedsATrustBundleAndBothHalvesOfAClientCertificate) {
  const auto r = load(R"(listeners: []
clusters:
  - name: c
    endpoints: ["127.0.0.1:8080"]
    tls:
      cert_file: cert.pem
      require_client_cert: true
)");
  EXPECT_TRUE(HasError(r, 6, 7, "cluster tls needs 'trust_bundle'")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 6, 7, "needs both 'cert_file' and 'key_file'")) << testing::all_diagnostics(r);
  EXPECT_NE(testing::all_diagnostics(r).find("require_client_cert"), std::string::npos) << "listener-only field";
}

// attestation.identity: the sidecar's own attested certificate; tls blocks
// present it with `identity: attested` (its files, not read at load).
TEST_F(TlsRules, AttestedIdentityIsReadAndPresentedByTlsBlocks) {
  fs::create_directories(dir_ / "ca");
  fs::create_directories(dir_ / "roots");
  const auto r = load(std::string(R"(attestation:
  identity:
    state_dir: state
    ca_dir: ca
    spiffe_id: spiffe://a.test/ns/x/sa/y
    dns: [localhost, y.a.test]
    key_type: mldsa87
    evidence_ttl: 10m
    source: simulated
    simulated: {roots: roots, tee: snp, measurement: )") +
                      std::string(96, 'C') + R"(, debug: true}
listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      identity: attested
      trust_bundle: ca.pem
      require_client_cert: true
)" + kRoutes + R"(    tls:
      identity: attested
      trust_bundle: ca.pem
)");
  ASSERT_TRUE(r.ok()) << testing::all_diagnostics(r);
  const auto& id = *r.config->attestation.identity;
  EXPECT_EQ(id.state_dir, (dir_ / "state").string());
  EXPECT_EQ(id.ca_dir, (dir_ / "ca").string());
  EXPECT_EQ(id.spiffe_id, "spiffe://a.test/ns/x/sa/y");
  EXPECT_EQ(id.dns, (std::vector<std::string>{"localhost", "y.a.test"}));
  EXPECT_EQ(id.key_type, "mldsa87");
  EXPECT_EQ(id.evidence_ttl, Millis(600'000));
  EXPECT_EQ(id.source, "simulated");
  EXPECT_EQ(id.simulated_roots, (dir_ / "roots").string());
  EXPECT_EQ(id.simulated_tee, "snp");
  EXPECT_EQ(id.simulated_measurement, std::string(96, 'c'));
  EXPECT_TRUE(id.simulated_debug);
  for (const auto* t : {&*r.config->listeners[0].tls, &*r.config->clusters[0].tls}) {
    EXPECT_TRUE(t->attested_identity);
    EXPECT_EQ(t->cert_file, (dir_ / "state" / "cert.pem").string());
    EXPECT_EQ(t->key_file, (dir_ / "state" / "key.pem").string());
  }
  // The dump says `identity: attested` (not the paths) and loads back.
  auto dump = nlohmann::json::parse(to_json(*r.config));
  EXPECT_EQ(dump["listeners"][0]["tls"]["identity"], "attested");
  EXPECT_FALSE(dump["listeners"][0]["tls"].contains("cert_file"));
  EXPECT_EQ(dump["attestation"]["identity"]["evidence_ttl"], "600s");
  dump.erase("source");
  const auto again = load(dump.dump());
  ASSERT_TRUE(again.ok()) << testing::all_diagnostics(again);
  EXPECT_EQ(*again.config->attestation.identity, id);
}

TEST_F(TlsRules, AttestedIdentityMistakesAreReportedAtTheirLine) {
  const auto r = load(std::string(R"(attestation:
  identity:
    state_dir: state
    ca_dir: nope
    spiffe_id: a.test/y
    evidence_ttl: 500ms
    source: simulated
listeners:
  - name: in
    port: 15443
    route_config: r
    tls:
      identity: attested
      cert_file: cert.pem
      key_file: key.pem
)") + kRoutes);
  EXPECT_TRUE(HasError(r, 4, 13, "ca_dir: cannot read")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 5, 16, "is not a spiffe:// URI")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 6, 19, "evidence_ttl: must be at least 1s")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 7, 13, "source: simulated needs 'simulated: {roots, tee}'")) << testing::all_diagnostics(r);
  EXPECT_TRUE(HasError(r, 13, 17, "remove cert_file and key_file")) << testing::all_diagnostics(r);

  const auto no_identity = load(std::string(R"(listeners:
  - name: in
    port: 15443
    route_config: r
    tls: {identity: attested}
)") + kRoutes);
  EXPECT_TRUE(HasError(no_identity, 5, 21, "needs a top-level attestation.identity"))
      << testing::all_diagnostics(no_identity);

  const auto incomplete = load(std::string(R"(attestation:
  identity:
    spiffe_id: spiffe://a.test/y
    simulated: {tee: tdx}
)") + kRoutes);
  EXPECT_TRUE(HasError(incomplete, 3, 5, "attestation identity needs 'state_dir'"))
      << testing::all_diagnostics(incomplete);
  EXPECT_TRUE(HasError(incomplete, 3, 5, "attestation identity needs 'ca_dir'"))
      << testing::all_diagnostics(incomplete);
  EXPECT_TRUE(HasError(incomplete, 4, 16, "simulated: applies to 'source: simulated' only"))
      << testing::all_diagnostics(incomplete);
}

}  // namespace
}  // namespace aegis::config
