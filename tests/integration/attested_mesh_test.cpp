// Attested PQC mTLS between two sidecars, end to end, with the `simulated`
// provider (no TEE here): each sidecar presents an ML-DSA-65 certificate from
// `aegis-flow attest issue-cert` whose RA-TLS extension carries a TDX quote
// bound to its key; both trust the TEST roots; the handshake (MLKEM1024)
// verifies the peer's evidence, binding and policy. Refused: a peer whose
// MRTD is not on the allow list, one whose evidence binds another key, one
// with no evidence. Every outcome shows in metrics and in /attestation.
// Then the sidecars issue their own identities (attestation.identity): key,
// evidence and certificate made in the process and renewed every
// evidence_ttl, while the mesh keeps working.
#include <sys/stat.h>

#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "attest/evidence_extension.h"
#include "harness.h"
#include "tls/certs.h"
#include "tls_helpers.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

using Json = nlohmann::json;

const std::string kServerId = "spiffe://aegis.test/ns/demo/sa/server";
const std::string kClientId = "spiffe://aegis.test/ns/demo/sa/client";

class AttestedMesh : public ::testing::Test {
 protected:
  AttestedMesh() : dir_("attested-mesh") {}

  CommandResult attest(std::vector<std::string> args) {
    args.insert(args.begin(), {proxy_binary(), "attest"});
    return run_command("attest", args, dir_.path(), 60s);
  }
  // An attested leaf in <dir>/<name> (TDX quote from the TEST roots).
  void attested_leaf(const std::string& name, const std::string& id, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"issue-cert",
                                  "--ca",
                                  (dir_ / "ca").string(),
                                  "--spiffe-id",
                                  id,
                                  "--dns",
                                  "localhost",
                                  "--out",
                                  (dir_ / name).string(),
                                  "--source",
                                  "simulated",
                                  "--simulated-roots",
                                  (dir_ / "roots").string(),
                                  "--tee",
                                  "tdx"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = attest(a);
    ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  }
  // The evidence claims of a certificate, verified against the TEST roots.
  Json claims_of(const std::string& name) {
    const auto r =
        attest({"verify", "--evidence", (dir_ / name / "cert.pem").string(), "--test-root", tdx_root_, "--json"});
    EXPECT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
    return Json::parse(r.out);
  }

  TempDir dir_;
  std::string tdx_root_;
};

std::string attested_cluster(const std::string& name, const std::string& mesh, const std::string& cert_dir) {
  return "  - name: " + name + "\n    connect_timeout: 2s\n    endpoints: [\"" + mesh + "\"]\n" +
         "    tls:\n      trust_bundle: ca/ca.crt\n      pq_policy: pq_only_1024\n      server_name: localhost\n" +
         "      cert_file: " + cert_dir + "/cert.pem\n      key_file: " + cert_dir + "/key.pem\n" +
         "      allow_peers: [{exact: \"" + kServerId + "\"}]\n" + "      attestation: {tee: tdx}\n";
}

// A sidecar's admin and its one http listener (its tls block, if any, follows).
std::string sidecar_head(std::uint16_t admin, const std::string& listener, std::uint16_t port,
                         const std::string& route_config) {
  return "admin: {address: 127.0.0.1, port: " + std::to_string(admin) + "}\ndrain_timeout: 1s\n" +
         "listeners:\n  - name: " + listener + "\n    address: 127.0.0.1\n    port: " + std::to_string(port) +
         "\n    protocol: http\n    route_config: " + route_config + "\n";
}

std::string route(const std::string& prefix, const std::string& cluster) {
  return "          - {name: " + cluster + ", match: {prefix: \"" + prefix + "\"}, route: {cluster: " + cluster +
         ", timeout: 10s}}\n";
}

TEST_F(AttestedMesh, SimulatedTdxEvidenceVerifiedBothWaysAndRefusalsCounted) {
  auto r = attest({"test-roots", "--out", (dir_ / "roots").string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  tdx_root_ = Json::parse(read_file(dir_ / "roots" / "roots.json"))["tdx_root_sha256"];
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test").status.ok());
  ASSERT_NO_FATAL_FAILURE(attested_leaf("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(attested_leaf("client", kClientId));
  ASSERT_NO_FATAL_FAILURE(attested_leaf("intruder", kClientId, {"--measurement", std::string(96, 'e')}));
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "plain", kClientId).status.ok());
  // A certificate whose evidence (copied from the client's) binds another key.
  {
    const auto client_pem = read_file(dir_ / "client" / "cert.pem");
    const tls::BioPtr bio(BIO_new_mem_buf(client_pem.data(), static_cast<int>(client_pem.size())));
    const tls::X509Ptr client(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(client);
    const auto stolen = attest::find_extension(client.get());
    ASSERT_TRUE(stolen);
    tls::LeafRequest req;
    req.ca_dir = dir_ / "ca";
    req.spiffe_id = kClientId;
    req.dns_names = {"localhost"};
    req.days = 1;
    req.out_dir = dir_ / "unbound";
    req.before_signing = [&](X509* leaf) -> tls::CertResult<void> {
      if (!attest::add_extension(leaf, *stolen)) return tls::failure("add_extension");
      return {};
    };
    ASSERT_TRUE(tls::issue_certificate(req));
  }
  const auto server_claims = claims_of("server");
  ASSERT_EQ(server_claims["verified"], true) << server_claims.dump();
  EXPECT_EQ(server_claims["simulated"], true);
  const std::string mrtd = server_claims["mrtd"];

  Upstream up(dir_.path());
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  const std::string trust = "attestation:\n  test_roots: [\"" + tdx_root_ + "\"]\n";
  const std::string inbound_yaml =
      trust + sidecar_head(in_admin, "inbound", in_port, "main") +
      "    tls:\n      cert_file: server/cert.pem\n      key_file: server/key.pem\n      pq_policy: pq_only_1024\n"
      "      trust_bundle: ca/ca.crt\n      require_client_cert: true\n"
      "      attestation: {tee: tdx, measurements: [\"" +
      mrtd +
      "\"]}\n"
      "route_configs:\n  - name: main\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n"
      "        routes:\n" +
      route("/", "app") + "clusters:\n  - name: app\n    endpoints: [\"" + up.endpoint() + "\"]\n";
  const std::string mesh = "127.0.0.1:" + std::to_string(in_port);
  const std::string outbound_yaml =
      trust + sidecar_head(out_admin, "outbound", out_port, "out") +
      "route_configs:\n  - name: out\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n"
      "        routes:\n" +
      route("/intruder/", "as_intruder") + route("/unbound/", "as_unbound") + route("/plain/", "as_plain") +
      route("/", "mesh") + "clusters:\n" + attested_cluster("mesh", mesh, "client") +
      attested_cluster("as_intruder", mesh, "intruder") + attested_cluster("as_unbound", mesh, "unbound") +
      attested_cluster("as_plain", mesh, "plain");
  Proxy inbound(dir_.path(), inbound_yaml, in_admin, {in_port}, "inbound");
  AEGIS_ASSERT_READY(inbound);
  Proxy outbound(dir_.path(), outbound_yaml, out_admin, {out_port}, "outbound");
  AEGIS_ASSERT_READY(outbound);

  // Both directions attested: 200, on MLKEM1024 with ML-DSA-65.
  const auto ok = curl(dir_.path(), {url(out_port, "/headers")});
  ASSERT_EQ(ok.status, 200) << ok.stderr_text << ok.body << inbound.process().stderr_tail();
  EXPECT_TRUE(inbound.wait_metric_at_least("aegis_attestation_verified_total",
                                           {{"listener", "inbound"}, {"tee", "tdx"}, {"simulated", "true"}}, 1, 3s));
  EXPECT_TRUE(outbound.wait_metric_at_least("aegis_attestation_verified_total",
                                            {{"cluster", "mesh"}, {"tee", "tdx"}, {"simulated", "true"}}, 1, 3s));
  EXPECT_GE(inbound
                .metric("aegis_tls_handshakes_total",
                        {{"listener", "inbound"}, {"group", "MLKEM1024"}, {"sigalg", "mldsa65"}, {"result", "success"}})
                .value_or(0),
            1);
  {
    const auto [status, body] = simple_get(in_admin, "/attestation");
    ASSERT_EQ(status, 200);
    const auto j = Json::parse(body);
    ASSERT_EQ(j["peers"].size(), 1u) << body;
    EXPECT_EQ(j["peers"][0]["listener"], "inbound");
    EXPECT_EQ(j["peers"][0]["verified"], true);
    EXPECT_EQ(j["peers"][0]["claims"]["mrtd"], mrtd);
    EXPECT_EQ(j["peers"][0]["claims"]["simulated"], true);
  }

  // Refusals: each a failed handshake at the inbound. In TLS 1.3 the client
  // finishes its handshake before the server has checked its certificate,
  // so the outbound sees the refusal as a reset of its request: 502.
  const std::pair<const char*, const char*> refused[] = {
      {"/intruder/x", "policy"}, {"/unbound/x", "key_binding"}, {"/plain/x", "no_evidence"}};
  for (const auto& [path, reason] : refused) {
    SCOPED_TRACE(path);
    const auto r2 = curl(dir_.path(), {url(out_port, path)});
    EXPECT_EQ(r2.status, 502) << r2.body;
    EXPECT_TRUE(inbound.wait_metric_at_least("aegis_attestation_failures_total",
                                             {{"listener", "inbound"}, {"reason", reason}}, 1, 3s))
        << inbound.metrics();
    const auto [status, body] = simple_get(in_admin, "/attestation");
    const auto j = Json::parse(body);
    EXPECT_EQ(j["peers"][0]["verified"], false) << body;
    EXPECT_EQ(j["peers"][0]["reason"].get<std::string>().rfind(std::string(reason) + ": ", 0), 0u) << body;
  }
  EXPECT_GE(
      inbound.metric("aegis_tls_handshake_failures_total", {{"listener", "inbound"}, {"reason", "peer_attestation"}})
          .value_or(0),
      3);
  // The attested client still gets through.
  EXPECT_EQ(curl(dir_.path(), {url(out_port, "/headers")}).status, 200);
}

// attestation.identity on both sidecars: each makes its key in its state
// directory, binds fresh simulated TDX evidence to it and has the CA sign
// it, at start and every 2 s; the listener and the cluster present it with
// `identity: attested`. The mesh works across renewals, /attestation shows
// each sidecar's own claims, and new handshakes get the renewed certificate.
TEST_F(AttestedMesh, SidecarsIssueAndRenewTheirOwnAttestedIdentities) {
  auto r = attest({"test-roots", "--out", (dir_ / "roots").string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  tdx_root_ = Json::parse(read_file(dir_ / "roots" / "roots.json"))["tdx_root_sha256"];
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test").status.ok());
  const std::string mrtd = std::string(48, 'a') + std::string(48, 'b');
  auto identity = [&](const std::string& state, const std::string& id) {
    return "attestation:\n  test_roots: [\"" + tdx_root_ + "\"]\n  identity:\n    state_dir: " + state +
           "\n    ca_dir: ca\n    spiffe_id: \"" + id +
           "\"\n    dns: [localhost]\n    evidence_ttl: 2s\n    source: simulated\n"
           "    simulated: {roots: roots, tee: tdx, measurement: \"" +
           mrtd + "\"}\n";
  };
  const std::string policy = "      attestation: {tee: tdx, measurements: [\"" + mrtd + "\"]}\n";

  Upstream up(dir_.path());
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  const std::string inbound_yaml =
      identity("in-state", kServerId) + sidecar_head(in_admin, "inbound", in_port, "main") +
      "    tls:\n      identity: attested\n      pq_policy: pq_only_1024\n"
      "      trust_bundle: ca/ca.crt\n      require_client_cert: true\n" +
      policy +
      "route_configs:\n  - name: main\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n"
      "        routes:\n" +
      route("/", "app") + "clusters:\n  - name: app\n    endpoints: [\"" + up.endpoint() + "\"]\n";
  const std::string outbound_yaml =
      identity("out-state", kClientId) + sidecar_head(out_admin, "outbound", out_port, "out") +
      "route_configs:\n  - name: out\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n"
      "        routes:\n" +
      route("/", "mesh") +
      "clusters:\n  - name: mesh\n    connect_timeout: 2s\n    endpoints: [\"127.0.0.1:" + std::to_string(in_port) +
      "\"]\n    tls:\n      identity: attested\n      trust_bundle: ca/ca.crt\n      pq_policy: pq_only_1024\n"
      "      server_name: localhost\n      allow_peers: [{exact: \"" +
      kServerId + "\"}]\n" + policy;
  Proxy inbound(dir_.path(), inbound_yaml, in_admin, {in_port}, "inbound");
  AEGIS_ASSERT_READY(inbound);
  Proxy outbound(dir_.path(), outbound_yaml, out_admin, {out_port}, "outbound");
  AEGIS_ASSERT_READY(outbound);

  // The key stays in the private state directory; nothing else is left there.
  for (const char* state : {"in-state", "out-state"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / state).c_str(), &st), 0) << state;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << state;
    ASSERT_EQ(::stat((dir_ / state / "key.pem").c_str(), &st), 0) << state;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << state;
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ / state)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"cert.pem", "key.pem"})) << state;
  }

  auto own = [](std::uint16_t admin) {
    const auto [status, body] = simple_get(admin, "/attestation");
    EXPECT_EQ(status, 200);
    return Json::parse(body)["own"];
  };
  const Json in_own = own(in_admin), out_own = own(out_admin);
  ASSERT_TRUE(in_own.is_object()) << in_own.dump();
  EXPECT_EQ(in_own["verified"], true) << in_own.dump();
  EXPECT_EQ(in_own["simulated"], true);
  EXPECT_EQ(in_own["source"], "simulated");
  EXPECT_EQ(in_own["mrtd"], mrtd);
  EXPECT_EQ(in_own["spiffe_id"], kServerId);
  ASSERT_TRUE(out_own.is_object()) << out_own.dump();
  EXPECT_EQ(out_own["spiffe_id"], kClientId);
  EXPECT_EQ(out_own["verified"], true) << out_own.dump();

  // What the listener presents is the certificate /attestation describes.
  auto presented = [&] {
    tlsh::TlsConn::Options o;
    o.groups = "MLKEM1024";
    const tlsh::TlsConn c(in_port, o);
    return c.peer_fingerprint();
  };
  EXPECT_EQ(presented(), in_own["certificate_sha256"]);

  const auto ok = curl(dir_.path(), {url(out_port, "/headers")});
  ASSERT_EQ(ok.status, 200) << ok.stderr_text << ok.body << inbound.process().stderr_tail();
  EXPECT_TRUE(inbound.wait_metric_at_least("aegis_attestation_verified_total",
                                           {{"listener", "inbound"}, {"tee", "tdx"}, {"simulated", "true"}}, 1, 3s));

  // Renewed: a new certificate with fresh evidence, presented to new connections.
  const std::string first = in_own["certificate_sha256"];
  std::string renewed;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const Json now = own(in_admin);
    if (now.is_object() && now["certificate_sha256"] != first && presented() == now["certificate_sha256"]) {
      renewed = now["certificate_sha256"];
      EXPECT_NE(now["report_data"], in_own["report_data"]) << "the new key is not what the evidence binds";
      break;
    }
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_FALSE(renewed.empty()) << "the listener still presents " << presented() << " (first " << first << ")\n"
                                << inbound.process().stderr_tail();
  EXPECT_GE(inbound.metric("aegis_attestation_identity_issues_total", {{"result", "success"}}).value_or(0), 2);
  EXPECT_EQ(inbound.metric("aegis_attestation_identity_issues_total", {{"result", "failure"}}).value_or(0), 0);
  EXPECT_TRUE(outbound.wait_metric_at_least("aegis_tls_credential_reloads_total", {{"result", "success"}}, 1, 6s))
      << outbound.metrics();
  for (int i = 0; i < 3; ++i) {
    const auto again = curl(dir_.path(), {url(out_port, "/headers")});
    EXPECT_EQ(again.status, 200) << again.stderr_text << outbound.process().stderr_tail();
  }
  EXPECT_EQ(inbound.metric("aegis_attestation_failures_total", {{"listener", "inbound"}, {"reason", "key_binding"}})
                .value_or(0),
            0);
}

// No evidence at start (configfs-tsm with nothing behind it): the sidecar
// does not start, and says why.
TEST_F(AttestedMesh, ASidecarWithoutEvidenceForItsIdentityDoesNotStart) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test").status.ok());
  fs::create_directories(dir_ / "no-tsm");
  const auto port = free_port(), admin = free_port();
  write_file(dir_ / "sidecar.yaml",
             "attestation:\n  identity:\n    state_dir: state\n    ca_dir: ca\n"
             "    spiffe_id: \"" +
                 kServerId +
                 "\"\n    source: configfs-tsm\n    tsm_root: no-tsm\n"
                 "admin: {address: 127.0.0.1, port: " +
                 std::to_string(admin) +
                 "}\nlisteners:\n  - name: in\n    address: 127.0.0.1\n    port: " + std::to_string(port) +
                 "\n    protocol: tcp\n    cluster: app\n    tls: {identity: attested}\n"
                 "clusters:\n  - name: app\n    endpoints: [\"127.0.0.1:9\"]\n");
  const auto r =
      run_command("sidecar", {proxy_binary(), "run", "-c", (dir_ / "sidecar.yaml").string()}, dir_.path(), 30s);
  EXPECT_EQ(r.status.code, 1) << r.status.describe() << r.err;
  EXPECT_NE(r.err.find("attestation identity " + kServerId + ": no evidence"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not starting: attestation.identity could not be issued"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "state" / "key.pem")) << "a key without a certificate was left behind";
}

}  // namespace
}  // namespace aegis::itest
