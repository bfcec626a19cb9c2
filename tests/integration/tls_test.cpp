// TLS on the data path, end to end: aegis-flow listeners and clusters with
// post-quantum key exchange (ML-KEM) and ML-DSA certificates minted by
// `aegis-flow certs`, driven by the OpenSSL 3.5 `s_client`, Debian's curl
// (OpenSSL 3.0, classical only) and a second aegis-flow as the mesh peer.
// Group policy refusals, mTLS refusals (unknown CA, expired, no certificate,
// SPIFFE ID not allowed at listener and route level), the peer-identity
// header, a two-sidecar mesh with a large body, TLS on L4 listeners with
// half-close, and the classical-handshake counter of compat listeners.
#include "harness.h"
#include "pattern.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

using Json = nlohmann::json;

const std::string kClientId = "spiffe://aegis.test/ns/demo/sa/client";
const std::string kAdminId = "spiffe://aegis.test/ns/demo/sa/admin";
const std::string kServerId = "spiffe://aegis.test/ns/demo/sa/server";
const std::string kIntruderId = "spiffe://aegis.test/ns/other/sa/intruder";

// ---- config pieces (paths relative to the config file's directory) --------

// `tls:` block of a listener (4-space indent for the key).
std::string listener_tls(const std::string& policy, bool mtls, const std::string& allow_yaml = {},
                         const std::string& cert_dir = "server") {
  std::ostringstream y;
  y << "    tls:\n"
    << "      cert_file: " << cert_dir << "/cert.pem\n"
    << "      key_file: " << cert_dir << "/key.pem\n"
    << "      pq_policy: " << policy << "\n"
    << "      handshake_timeout: 5s\n";
  if (mtls) y << "      trust_bundle: ca/ca.crt\n      require_client_cert: true\n";
  if (!allow_yaml.empty()) y << "      allow_peers:\n" << allow_yaml;
  return y.str();
}

std::string allow_exact(const std::string& id, int indent = 8) {
  return std::string(static_cast<std::size_t>(indent), ' ') + "- exact: " + id + "\n";
}
std::string allow_prefix(const std::string& id, int indent = 8) {
  return std::string(static_cast<std::size_t>(indent), ' ') + "- prefix: " + id + "\n";
}

std::string header(std::uint16_t admin, const std::string& access_log = "stdout") {
  return "admin:\n  address: 127.0.0.1\n  port: " + std::to_string(admin) + "\naccess_log:\n  path: \"" +
         access_log + "\"\ndrain_timeout: 2s\nlisteners:\n";
}

std::string http_listener(const std::string& name, std::uint16_t port, const std::string& route_config,
                          const std::string& tls_yaml) {
  return "  - name: " + name + "\n    address: 127.0.0.1\n    port: " + std::to_string(port) +
         "\n    protocol: http\n    route_config: " + route_config + "\n" + tls_yaml;
}

std::string tcp_listener(const std::string& name, std::uint16_t port, const std::string& cluster,
                         const std::string& tls_yaml) {
  return "  - name: " + name + "\n    address: 127.0.0.1\n    port: " + std::to_string(port) +
         "\n    protocol: tcp\n    cluster: " + cluster + "\n" + tls_yaml;
}

// One route config: `routes_yaml` entries (10-space indent) before a catch-all to `cluster`.
std::string route_config(const std::string& name, const std::string& cluster, const std::string& routes_yaml = {}) {
  return "  - name: " + name +
         "\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n        routes:\n" + routes_yaml +
         "          - name: default\n            match:\n              prefix: /\n            route:\n"
         "              cluster: " + cluster + "\n              timeout: 10s\n";
}

std::string route_entry(const std::string& name, const std::string& prefix, const std::string& cluster,
                        const std::string& allow_yaml = {}) {
  std::string y = "          - name: " + name + "\n            match:\n              prefix: " + prefix +
                  "\n            route:\n              cluster: " + cluster + "\n              timeout: 10s\n";
  if (!allow_yaml.empty()) y += "            allow_peers:\n" + allow_yaml;
  return y;
}

std::string cluster(const std::string& name, const std::string& endpoint, const std::string& tls_yaml = {}) {
  return "  - name: " + name + "\n    lb_policy: round_robin\n    connect_timeout: 2s\n    endpoints: [\"" + endpoint +
         "\"]\n" + tls_yaml;
}

// `tls:` block of a cluster: client certificate in `cert_dir` (none if empty).
std::string cluster_tls(const std::string& policy, const std::string& cert_dir, const std::string& allow_id) {
  std::string y = "    tls:\n      trust_bundle: ca/ca.crt\n      pq_policy: " + policy +
                  "\n      server_name: localhost\n";
  if (!cert_dir.empty()) y += "      cert_file: " + cert_dir + "/cert.pem\n      key_file: " + cert_dir + "/key.pem\n";
  if (!allow_id.empty()) y += "      allow_peers:\n" + allow_exact(allow_id);
  return y;
}

std::string get_request(const std::string& path, const std::string& extra_headers = {}) {
  return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "Connection: close\r\n\r\n";
}

// Headers the test upstream's /headers saw (lower-case names).
std::multimap<std::string, std::string> seen_headers(const std::string& body) {
  std::multimap<std::string, std::string> out;
  if (!Json::accept(body)) return out;
  const Json parsed = Json::parse(body);  // named: a temporary would dangle in the range-for
  for (const auto& h : parsed.at("headers")) {
    std::string name = h.at(0).get<std::string>();
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    out.emplace(name, h.at(1).get<std::string>());
  }
  return out;
}

std::string pattern_string(std::uint64_t n) {
  std::vector<std::uint8_t> bytes(n);
  fill_pattern(0, bytes);
  return {bytes.begin(), bytes.end()};
}

// ---- fixture ----------------------------------------------------------------

class Tls : public ::testing::Test {
 protected:
  Tls() : dir_("tls") {}

  void SetUp() override {
    ASSERT_FALSE(openssl_binary().empty())
        << "the OpenSSL 3.5 CLI is missing (set AEGIS_OPENSSL_BIN or build OpenSSL into ~/.cache/aegis-flow)";
  }
  void TearDown() override {
    for (auto* p : {proxy_.get(), proxy2_.get()}) {
      if (p != nullptr) {
        if (!p->alive()) {
          ADD_FAILURE() << p->process().name() << " died during the test ("
                        << p->process().wait_for(0ms)->describe() << ")\n" << p->process().stderr_tail();
        }
      }
    }
  }

  // A CA in <dir>/<name> (ca.crt, ca.key).
  void init_ca(const std::string& name = "ca", const std::string& key_type = "mldsa65") {
    const auto r = certs_init_ca(dir_.path(), dir_ / name, "aegis.test", key_type);
    ASSERT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.out << r.err;
  }
  // A leaf in <dir>/<name> (cert.pem, key.pem) signed by <dir>/<ca>.
  void issue(const std::string& name, const std::string& id, const std::string& ca = "ca",
             const std::string& key_type = "mldsa65") {
    const auto r = certs_issue(dir_.path(), dir_ / ca, dir_ / name, id, key_type, 30, "localhost");
    ASSERT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.out << r.err;
  }
  // A leaf made with the OpenSSL 3.5 CLI (for what `aegis-flow certs` does
  // not make: other key types, odd validity): key `algorithm` (genpkey
  // name), SPIFFE URI SAN `id` and DNS localhost, signed by <dir>/ca;
  // `validity` is x509's -days or -not_before/-not_after arguments.
  void hand_made_leaf(const std::string& name, const std::string& algorithm, const std::string& id,
                      const std::vector<std::string>& validity) {
    const std::string ossl = openssl_binary();
    const fs::path d = dir_ / name;
    fs::create_directories(d);
    write_file(d / "ext.cnf", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                              "extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=URI:" + id +
                                  ",DNS:localhost\n");
    std::vector<std::string> sign = {ossl, "x509", "-req", "-in", (d / "req.csr").string(), "-CA",
                                     (dir_ / "ca" / "ca.crt").string(), "-CAkey", (dir_ / "ca" / "ca.key").string(),
                                     "-set_serial", "4242", "-extfile", (d / "ext.cnf").string(), "-out",
                                     (d / "cert.pem").string()};
    sign.insert(sign.end(), validity.begin(), validity.end());
    for (const auto& argv : std::vector<std::vector<std::string>>{
             {ossl, "genpkey", "-algorithm", algorithm, "-out", (d / "key.pem").string()},
             {ossl, "req", "-new", "-key", (d / "key.pem").string(), "-subj", "/O=aegis.test", "-out",
              (d / "req.csr").string()},
             sign}) {
      const auto r = run_command("openssl-" + argv[1], argv, dir_.path(), 20s);
      ASSERT_TRUE(r.status.ok()) << argv[1] << ": " << r.out << r.err;
    }
  }
  // s_client arguments that verify the server (ca/ca.crt, name localhost) and
  // optionally present <dir>/<client>/cert.pem.
  std::vector<std::string> verified(const std::string& groups, const std::string& client = {}) {
    std::vector<std::string> a = {"-groups", groups, "-CAfile", (dir_ / "ca" / "ca.crt").string(),
                                  "-verify_return_error", "-servername", "localhost",
                                  "-verify_hostname", "localhost"};
    if (!client.empty()) {
      a.insert(a.end(), {"-cert", (dir_ / client / "cert.pem").string(), "-key", (dir_ / client / "key.pem").string()});
    }
    return a;
  }
  Proxy& start(const std::string& yaml, std::uint16_t admin, std::vector<std::uint16_t> ports,
               const std::string& name = "aegis-flow") {
    auto p = std::make_unique<Proxy>(dir_.path(), yaml, admin, std::move(ports), name);
    std::string why;
    EXPECT_TRUE(p->wait_ready(20s, &why)) << why;
    auto& slot = proxy_ ? proxy2_ : proxy_;
    slot = std::move(p);
    return *slot;
  }
  // Waits (bounded) until the counter reaches `want`, then checks it is exactly `want`.
  static void expect_metric(Proxy& p, const std::string& name, const Labels& labels, double want) {
    p.wait_metric_at_least(name, labels, want, 3s);
    std::this_thread::sleep_for(50ms);  // a late extra increment would show now
    EXPECT_EQ(p.metric(name, labels).value_or(0), want) << name << " " << ::testing::PrintToString(labels);
  }

  TempDir dir_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<Proxy> proxy2_;
};

// 1. Group policy: hybrid refuses classical-only X25519 and accepts the ML-KEM
// hybrids and pure MLKEM1024; pq_only_1024 refuses X25519MLKEM768.
TEST_F(Tls, GroupPolicyRefusesClassicalAndAcceptsPostQuantum) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  Upstream up(dir_.path());
  const auto admin = free_port(), hybrid = free_port(), pq1024 = free_port();
  const std::string yaml = header(admin) + http_listener("hybrid", hybrid, "main", listener_tls("hybrid", false)) +
                           http_listener("pq1024", pq1024, "main", listener_tls("pq_only_1024", false)) +
                           "route_configs:\n" + route_config("main", "app") + "clusters:\n" +
                           cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {hybrid, pq1024});
  if (HasFatalFailure()) return;

  const auto classical = s_client(dir_.path(), hybrid, verified("X25519"), get_request("/headers"));
  EXPECT_FALSE(classical.handshake_done) << classical.cmd.out << classical.cmd.err;
  EXPECT_EQ(classical.status, 0) << classical.cmd.out;
  EXPECT_NE(classical.cmd.status.code, 0);
  expect_metric(proxy, "aegis_tls_handshake_failures_total", {{"listener", "hybrid"}, {"reason", "no_shared_group"}}, 1);

  for (const std::string group : {"X25519MLKEM768", "MLKEM1024"}) {
    SCOPED_TRACE(group);
    const auto ok = s_client(dir_.path(), hybrid, verified(group), get_request("/headers"));
    EXPECT_TRUE(ok.handshake_done) << ok.cmd.out << ok.cmd.err;
    EXPECT_EQ(ok.group, group);
    EXPECT_EQ(ok.peer_sigalg, "mldsa65");
    ASSERT_EQ(ok.status, 200) << ok.cmd.out << ok.cmd.err;
    const auto h = seen_headers(ok.body());
    ASSERT_EQ(h.count("x-forwarded-proto"), 1U) << ok.body();
    EXPECT_EQ(h.find("x-forwarded-proto")->second, "https");
    EXPECT_EQ(Json::parse(ok.body()).value("target", ""), "/headers");
    expect_metric(proxy, "aegis_tls_handshakes_total",
                  {{"listener", "hybrid"}, {"group", group}, {"sigalg", "mldsa65"}, {"result", "success"}}, 1);
  }

  const auto hybrid_on_1024 = s_client(dir_.path(), pq1024, verified("X25519MLKEM768"), get_request("/headers"));
  EXPECT_FALSE(hybrid_on_1024.handshake_done) << hybrid_on_1024.cmd.out;
  EXPECT_EQ(hybrid_on_1024.status, 0) << hybrid_on_1024.cmd.out;
  expect_metric(proxy, "aegis_tls_handshake_failures_total", {{"listener", "pq1024"}, {"reason", "no_shared_group"}}, 1);
  // ... while MLKEM1024 is what it speaks.
  const auto pure = s_client(dir_.path(), pq1024, verified("MLKEM1024"), get_request("/status/204"));
  EXPECT_EQ(pure.status, 204) << pure.cmd.out << pure.cmd.err;
  EXPECT_EQ(pure.group, "MLKEM1024");
  // Only the one refusal each (the readiness probe's connect-and-close counts as peer_closed).
  EXPECT_EQ(proxy.metric("aegis_tls_handshake_failures_total", {{"listener", "hybrid"}, {"reason", "no_shared_group"}}).value_or(0), 1);
  EXPECT_EQ(proxy.metric("aegis_tls_handshake_failures_total", {{"listener", "pq1024"}, {"reason", "no_shared_group"}}).value_or(0), 1);
}

// 1b. Clients that never finish a ClientHello: connect-and-close (counted
// peer_closed) and plain HTTP on the TLS port (not_tls); the proxy survives.
TEST_F(Tls, NoClientHelloIsCountedAndSurvived) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port();
  const std::string yaml = header(admin) + http_listener("hybrid", port, "main", listener_tls("hybrid", false)) +
                           "route_configs:\n" + route_config("main", "app") + "clusters:\n" +
                           cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {port});
  if (HasFatalFailure()) return;
  const Labels closed = {{"listener", "hybrid"}, {"reason", "peer_closed"}};
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_tls_handshake_failures_total", closed, 1, 3s));  // the readiness probe
  const double before = proxy.metric("aegis_tls_handshake_failures_total", closed).value_or(0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(port_accepts(port));
  expect_metric(proxy, "aegis_tls_handshake_failures_total", closed, before + 5);
  const RawResult plain = raw_exchange(port, get_request("/status/200"), 3s);
  EXPECT_TRUE(plain.peer_closed);
  EXPECT_NE(plain.status, 200) << plain.data;
  expect_metric(proxy, "aegis_tls_handshake_failures_total", {{"listener", "hybrid"}, {"reason", "not_tls"}}, 1);
  const auto ok = s_client(dir_.path(), port, verified("X25519MLKEM768"), get_request("/status/200"));
  EXPECT_EQ(ok.status, 200) << ok.cmd.out << ok.cmd.err;
}

// 2. mTLS: other CA, expired certificate, no certificate, SPIFFE ID not allowed.
TEST_F(Tls, MutualTlsRefusals) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(init_ca("other-ca"));
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  ASSERT_NO_FATAL_FAILURE(issue("rogue", kClientId, "other-ca"));
  ASSERT_NO_FATAL_FAILURE(issue("intruder", kIntruderId));

  // Expired: a fresh ML-DSA-65 key, signed by the real CA, valid only in 2020.
  ASSERT_NO_FATAL_FAILURE(hand_made_leaf("expired", "ML-DSA-65", kClientId,
                                         {"-not_before", "20200101000000Z", "-not_after", "20200201000000Z"}));
  const std::string ossl = openssl_binary();
  const auto check = run_command("openssl-verify",
                                 {ossl, "verify", "-CAfile", (dir_ / "ca" / "ca.crt").string(),
                                  (dir_ / "expired" / "cert.pem").string()},
                                 dir_.path(), 20s);
  ASSERT_NE((check.out + check.err).find("expired"), std::string::npos) << "the hand-made certificate should be just expired\n"
                                                          << check.out << check.err;

  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port();
  const std::string yaml =
      header(admin) +
      http_listener("inbound", port, "main",
                    listener_tls("hybrid", true, allow_exact(kClientId) + allow_prefix("spiffe://aegis.test/ns/demo/"))) +
      "route_configs:\n" + route_config("main", "app") + "clusters:\n" + cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {port});
  if (HasFatalFailure()) return;
  const Labels inbound = {{"listener", "inbound"}};

  // The allowed client gets through (so the refusals below are about the certificate).
  const auto ok = s_client(dir_.path(), port, verified("X25519MLKEM768", "client"), get_request("/status/200"));
  ASSERT_EQ(ok.status, 200) << ok.cmd.out << ok.cmd.err;
  // (each /stats request to the upstream counts itself)
  const std::uint64_t upstream_requests = up.stat("requests");
  const double failures_before = proxy.metric("aegis_tls_handshake_failures_total", inbound).value_or(0);

  struct Refusal {
    std::string client, reason;
  };
  for (const auto& [client, reason] : {Refusal{"rogue", "unknown_ca"}, Refusal{"expired", "certificate_expired"},
                                       Refusal{"", "no_client_certificate"}}) {
    SCOPED_TRACE(reason);
    const auto r = s_client(dir_.path(), port, verified("X25519MLKEM768", client), get_request("/status/200"));
    EXPECT_FALSE(r.cmd.timed_out) << "connection left open after a refused client certificate";
    EXPECT_EQ(r.status, 0) << r.cmd.out;
    EXPECT_EQ(r.cmd.out.find("HTTP/1."), std::string::npos) << r.cmd.out;
    expect_metric(proxy, "aegis_tls_handshake_failures_total", {{"listener", "inbound"}, {"reason", reason}}, 1);
  }
  EXPECT_EQ(proxy.metric("aegis_tls_handshake_failures_total", inbound).value_or(0), failures_before + 3);

  // A valid certificate whose SPIFFE ID is not on the allow list: 403 and closed.
  EXPECT_EQ(proxy.metric("aegis_authz_denied_total", inbound).value_or(0), 0);
  const auto denied = s_client(dir_.path(), port, verified("X25519MLKEM768", "intruder"),
                               get_request("/status/200", "x-try: 1\r\n"));
  EXPECT_EQ(denied.status, 403) << denied.cmd.out << denied.cmd.err;
  EXPECT_FALSE(denied.cmd.timed_out) << "listener-level denial must close the connection";
  expect_metric(proxy, "aegis_authz_denied_total", inbound, 1);
  EXPECT_EQ(up.stat("requests"), upstream_requests + 1) << "a refused or denied client reached the upstream";
}

// 2a. Ed25519 certificates (made with the OpenSSL CLI, signed by the ML-DSA-65
// CA) work on both sides: as the server's and as the client's.
TEST_F(Tls, Ed25519CertificatesAreAccepted) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(hand_made_leaf("server", "ED25519", kServerId, {"-days", "2"}));
  ASSERT_NO_FATAL_FAILURE(hand_made_leaf("client", "ED25519", kClientId, {"-days", "2"}));
  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port();
  const std::string yaml = header(admin) +
                           http_listener("inbound", port, "main", listener_tls("hybrid", true, allow_exact(kClientId))) +
                           "route_configs:\n" + route_config("main", "app") + "clusters:\n" + cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {port});
  if (HasFatalFailure()) return;
  const auto r = s_client(dir_.path(), port, verified("MLKEM1024", "client"), get_request("/headers"));
  ASSERT_EQ(r.status, 200) << r.cmd.out << r.cmd.err;
  const auto headers = seen_headers(r.body());
  const auto id = headers.find("x-aegis-peer-identity");
  ASSERT_NE(id, headers.end());
  EXPECT_EQ(id->second, kClientId);
  expect_metric(proxy, "aegis_tls_handshakes_total",
                {{"listener", "inbound"}, {"group", "MLKEM1024"}, {"sigalg", "ed25519"}, {"result", "success"}}, 1);
}

// 2b. Route-level allow_peers, checked in addition to the listener's.
TEST_F(Tls, RouteLevelAllowPeers) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  ASSERT_NO_FATAL_FAILURE(issue("admin", kAdminId));
  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port();
  const std::string yaml =
      header(admin) +
      http_listener("inbound", port, "main", listener_tls("hybrid", true, allow_prefix("spiffe://aegis.test/ns/demo/"))) +
      "route_configs:\n" +
      route_config("main", "app",
                   route_entry("admin-only", "/admin-only", "app", allow_exact(kAdminId, 14)) +
                       route_entry("open", "/open", "app")) +
      "clusters:\n" + cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {port});
  if (HasFatalFailure()) return;

  const auto open = s_client(dir_.path(), port, verified("X25519MLKEM768", "client"), get_request("/open"));
  EXPECT_NE(open.status, 403) << open.cmd.out << open.cmd.err;
  EXPECT_NE(open.status, 0) << open.cmd.out << open.cmd.err;  // the upstream's answer (404 for /open)
  const std::uint64_t before = up.stat("requests");
  const auto wrong = s_client(dir_.path(), port, verified("X25519MLKEM768", "client"), get_request("/admin-only"));
  EXPECT_EQ(wrong.status, 403) << wrong.cmd.out << wrong.cmd.err;
  expect_metric(proxy, "aegis_authz_denied_total", {{"listener", "inbound"}}, 1);
  // (each /stats request to the upstream counts itself)
  EXPECT_EQ(up.stat("requests"), before + 1) << "a request denied by the route reached the upstream";
  const auto right = s_client(dir_.path(), port, verified("X25519MLKEM768", "admin"), get_request("/admin-only"));
  EXPECT_NE(right.status, 403) << right.cmd.out;
  EXPECT_NE(right.status, 0) << right.cmd.out << right.cmd.err;
  EXPECT_EQ(up.stat("requests"), before + 3);
  EXPECT_EQ(proxy.metric("aegis_authz_denied_total", {{"listener", "inbound"}}).value_or(0), 1);
}

// 3. x-aegis-peer-identity: a client's own value is replaced by the verified
// ID on a TLS listener and dropped on a plain one; access log TLS fields.
TEST_F(Tls, PeerIdentityHeaderIsTheVerifiedOne) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port(), plain = free_port();
  const fs::path log = dir_ / "access.log";
  const std::string yaml =
      header(admin, log.string()) +
      http_listener("inbound", port, "main", listener_tls("hybrid", true, allow_exact(kClientId))) +
      http_listener("plain", plain, "main", "") + "route_configs:\n" + route_config("main", "app") + "clusters:\n" +
      cluster("app", up.endpoint());
  start(yaml, admin, {port, plain});
  if (HasFatalFailure()) return;

  const auto r = s_client(dir_.path(), port, verified("MLKEM1024", "client"),
                          get_request("/headers", "x-aegis-peer-identity: spiffe://evil\r\nx-request-id: itest-tls-log\r\n"));
  ASSERT_EQ(r.status, 200) << r.cmd.out << r.cmd.err;
  const auto h = seen_headers(r.body());
  ASSERT_EQ(h.count("x-aegis-peer-identity"), 1U) << r.body();
  EXPECT_EQ(h.find("x-aegis-peer-identity")->second, kClientId);
  ASSERT_EQ(h.count("x-forwarded-proto"), 1U);
  EXPECT_EQ(h.find("x-forwarded-proto")->second, "https");

  const auto p = curl(dir_.path(), {"-H", "x-aegis-peer-identity: spiffe://evil", url(plain, "/headers")});
  ASSERT_EQ(p.status, 200) << p.stderr_text;
  const auto hp = seen_headers(p.body);
  EXPECT_EQ(hp.count("x-aegis-peer-identity"), 0U) << "a plain listener forwarded the client's claimed identity: "
                                                   << p.body;

  Json entry;
  for (int attempt = 0; attempt < 100 && entry.is_null(); ++attempt) {
    std::istringstream lines(read_file(log));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("itest-tls-log") != std::string::npos && Json::accept(line)) entry = Json::parse(line);
    }
    if (entry.is_null()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(entry.is_null()) << read_file(log);
  EXPECT_EQ(entry.value("tls_group", ""), "MLKEM1024") << entry.dump();
  EXPECT_EQ(entry.value("tls_sigalg", ""), "mldsa65") << entry.dump();
  EXPECT_EQ(entry.value("peer_identity", ""), kClientId) << entry.dump();
  EXPECT_NE(entry.value("tls_cipher", "").find("AES"), std::string::npos) << entry.dump();
}

// 4. Two sidecars: plain outbound -> mTLS (pq_only_1024) -> inbound -> upstream.
TEST_F(Tls, MeshCarriesLargeBodyAndChecksServerIdentity) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  Upstream up(dir_.path());
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  const fs::path out_log = dir_ / "outbound-access.log";
  const std::string inbound_yaml =
      header(in_admin) +
      http_listener("inbound", in_port, "main", listener_tls("pq_only_1024", true, allow_exact(kClientId))) +
      "route_configs:\n" + route_config("main", "app") + "clusters:\n" + cluster("app", up.endpoint());
  const std::string mesh = "127.0.0.1:" + std::to_string(in_port);
  const std::string outbound_yaml =
      header(out_admin, out_log.string()) + http_listener("outbound", out_port, "to_mesh", "") + "route_configs:\n" +
      route_config("to_mesh", "mesh", route_entry("wrong", "/wrong/", "mesh_wrong_id")) + "clusters:\n" +
      cluster("mesh", mesh, cluster_tls("pq_only_1024", "client", kServerId)) +
      cluster("mesh_wrong_id", mesh, cluster_tls("pq_only_1024", "client", "spiffe://aegis.test/ns/demo/sa/not-the-server"));
  Proxy& inbound = start(inbound_yaml, in_admin, {in_port}, "inbound");
  if (HasFatalFailure()) return;
  Proxy& outbound = start(outbound_yaml, out_admin, {out_port}, "outbound");
  if (HasFatalFailure()) return;

  constexpr std::uint64_t n = 16ULL << 20U;
  write_pattern_file(dir_ / "body.bin", n);
  const auto r = curl(dir_.path(), {"--data-binary", "@" + (dir_ / "body.bin").string(), "-H",
                                    "Content-Type: application/octet-stream", url(out_port, "/sha256")});
  ASSERT_EQ(r.status, 200) << r.stderr_text << r.body;
  EXPECT_EQ(r.body, pattern_sha256(n) + " " + std::to_string(n) + "\n");

  expect_metric(inbound, "aegis_tls_handshakes_total",
                {{"listener", "inbound"}, {"group", "MLKEM1024"}, {"sigalg", "mldsa65"}, {"result", "success"}}, 1);
  expect_metric(outbound, "aegis_tls_handshakes_total",
                {{"cluster", "mesh"}, {"group", "MLKEM1024"}, {"sigalg", "mldsa65"}, {"result", "success"}}, 1);
  // The upstream sees the outbound sidecar's identity.
  const auto h = curl(dir_.path(), {url(out_port, "/headers")});
  ASSERT_EQ(h.status, 200);
  const auto seen = seen_headers(h.body);
  ASSERT_EQ(seen.count("x-aegis-peer-identity"), 1U) << h.body;
  EXPECT_EQ(seen.find("x-aegis-peer-identity")->second, kClientId);

  // The cluster expecting another server identity: 503, upstream_tls_failure.
  const auto wrong = curl(dir_.path(), {"-H", "x-request-id: itest-wrong-id", url(out_port, "/wrong/x")});
  EXPECT_EQ(wrong.status, 503) << wrong.body;
  expect_metric(outbound, "aegis_tls_handshake_failures_total", {{"cluster", "mesh_wrong_id"}, {"reason", "peer_identity"}}, 1);
  EXPECT_EQ(outbound.metric("aegis_tls_handshake_failures_total", {{"cluster", "mesh"}}).value_or(0), 0);
  std::string flags;
  for (int attempt = 0; attempt < 100 && flags.empty(); ++attempt) {
    std::istringstream lines(read_file(out_log));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("itest-wrong-id") != std::string::npos && Json::accept(line)) {
        const Json j = Json::parse(line);
        flags = j.contains("flags") ? j["flags"].dump() : "(no flags)";
      }
    }
    if (flags.empty()) std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(flags.find("upstream_tls_failure"), std::string::npos) << flags << "\n" << read_file(out_log);
}

// 4b. Clusters resume TLS sessions on new connections (the ticket of the
// last one, per endpoint): no certificate and no signature, and the inbound
// still knows the caller's identity. `session_resumption: false` turns it off.
TEST_F(Tls, ClusterResumesSessionsOnNewConnections) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  Upstream up(dir_.path());
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  const std::string inbound_yaml =
      header(in_admin) +
      http_listener("inbound", in_port, "main", listener_tls("pq_only_1024", true, allow_exact(kClientId))) +
      "route_configs:\n" + route_config("main", "app") + "clusters:\n" + cluster("app", up.endpoint());
  const std::string mesh = "127.0.0.1:" + std::to_string(in_port);
  // No pooling: every request opens a new mTLS connection.
  const std::string no_pool = "    max_idle_connections: 0\n";
  const std::string outbound_yaml =
      header(out_admin) + http_listener("outbound", out_port, "to_mesh", "") + "route_configs:\n" +
      route_config("to_mesh", "mesh", route_entry("full", "/status/", "mesh_full")) + "clusters:\n" +
      cluster("mesh", mesh, cluster_tls("pq_only_1024", "client", kServerId)) + no_pool +
      cluster("mesh_full", mesh, cluster_tls("pq_only_1024", "client", kServerId) + "      session_resumption: false\n") +
      no_pool;
  Proxy& inbound = start(inbound_yaml, in_admin, {in_port}, "inbound");
  if (HasFatalFailure()) return;
  Proxy& outbound = start(outbound_yaml, out_admin, {out_port}, "outbound");
  if (HasFatalFailure()) return;

  constexpr int kRequests = 6;
  for (int i = 0; i < kRequests; ++i) {
    const auto h = curl(dir_.path(), {url(out_port, "/headers")});
    ASSERT_EQ(h.status, 200) << h.body;
    const auto seen = seen_headers(h.body);
    ASSERT_EQ(seen.count("x-aegis-peer-identity"), 1U) << "request " << i << ": " << h.body;
    EXPECT_EQ(seen.find("x-aegis-peer-identity")->second, kClientId);
  }
  // Each worker (2) keeps its own ticket per endpoint: at most one full
  // handshake per worker, every other connection resumes.
  const Labels full = {{"cluster", "mesh"}, {"sigalg", "mldsa65"}, {"result", "success"}};
  const Labels resumed = {{"cluster", "mesh"}};
  for (int attempt = 0; attempt < 60; ++attempt) {
    if (outbound.metric("aegis_tls_handshakes_total", full).value_or(0) +
            outbound.metric("aegis_tls_resumed_handshakes_total", resumed).value_or(0) >= kRequests)
      break;
    std::this_thread::sleep_for(50ms);
  }
  const double full_count = outbound.metric("aegis_tls_handshakes_total", full).value_or(0);
  const double resumed_count = outbound.metric("aegis_tls_resumed_handshakes_total", resumed).value_or(0);
  EXPECT_GE(full_count, 1);
  EXPECT_LE(full_count, 2);
  EXPECT_EQ(full_count + resumed_count, kRequests);
  EXPECT_EQ(inbound.metric("aegis_tls_resumed_handshakes_total", {{"listener", "inbound"}}).value_or(0), resumed_count);

  for (int i = 0; i < 3; ++i) {
    const auto h = curl(dir_.path(), {url(out_port, "/status/200")});
    ASSERT_EQ(h.status, 200) << h.body;
  }
  expect_metric(outbound, "aegis_tls_handshakes_total",
                {{"cluster", "mesh_full"}, {"group", "MLKEM1024"}, {"sigalg", "mldsa65"}, {"result", "success"}}, 3);
  EXPECT_EQ(outbound.metric("aegis_tls_resumed_handshakes_total", {{"cluster", "mesh_full"}}).value_or(0), 0);
}

// 5. TLS on L4 listeners and clusters: half-close across two TLS hops; a
// peer whose ID is not allowed is closed and counted.
TEST_F(Tls, TcpListenerWithTls) {
  ASSERT_NO_FATAL_FAILURE(init_ca());
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId));
  ASSERT_NO_FATAL_FAILURE(issue("client", kClientId));
  ASSERT_NO_FATAL_FAILURE(issue("intruder", kIntruderId));
  Upstream up(dir_.path(), "tcp-upstream", /*tcp_mode=*/true);
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  const std::string inbound_yaml =
      header(in_admin) + tcp_listener("tcp-in", in_port, "app", listener_tls("hybrid", true, allow_exact(kClientId))) +
      "clusters:\n" + cluster("app", up.endpoint());
  const std::string outbound_yaml =
      header(out_admin) + tcp_listener("tcp-out", out_port, "mesh", "") + "clusters:\n" +
      cluster("mesh", "127.0.0.1:" + std::to_string(in_port), cluster_tls("hybrid", "client", kServerId));
  Proxy& inbound = start(inbound_yaml, in_admin, {in_port}, "inbound");
  if (HasFatalFailure()) return;
  Proxy& outbound = start(outbound_yaml, out_admin, {out_port}, "outbound");
  if (HasFatalFailure()) return;

  // The upstream answers only after the client's EOF: that EOF has to cross
  // both TLS legs as close_notify and come back out as a TCP half-close.
  constexpr std::uint64_t n = 2ULL << 20U;
  const std::string payload = pattern_string(n);
  const RawResult r = raw_exchange(out_port, payload, 8s, /*half_close=*/true);
  EXPECT_TRUE(r.peer_closed);
  EXPECT_FALSE(r.reset);
  ASSERT_EQ(r.data.rfind("HELLO ", 0), 0U) << r.data;
  const auto nl = r.data.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(r.data.substr(nl + 1), sha256_hex(payload) + " " + std::to_string(n) + "\n");
  // At least 1: the outbound's readiness probe (connect, close) also opens a TLS connection to the inbound.
  EXPECT_TRUE(inbound.wait_metric_at_least("aegis_tls_handshakes_total",
                                           {{"listener", "tcp-in"}, {"group", "X25519MLKEM768"}, {"sigalg", "mldsa65"}, {"result", "success"}}, 1, 3s))
      << inbound.metrics();
  EXPECT_TRUE(outbound.wait_metric_at_least("aegis_tls_handshakes_total",
                                            {{"cluster", "mesh"}, {"group", "X25519MLKEM768"}, {"result", "success"}}, 1, 3s))
      << outbound.metrics();

  // s_client with the allowed certificate sees the upstream's greeting (and
  // stays connected: the upstream waits for EOF, so the run is cut short).
  const auto allowed = s_client(dir_.path(), in_port, verified("X25519MLKEM768", "client"), "", 2s);
  EXPECT_NE(allowed.cmd.out.find("HELLO "), std::string::npos) << allowed.cmd.out << allowed.cmd.err;
  // The intruder is closed before reaching the upstream.
  const auto denied = s_client(dir_.path(), in_port, verified("X25519MLKEM768", "intruder"), "", 5s);
  EXPECT_FALSE(denied.cmd.timed_out) << "a denied peer's connection was left open\n" << denied.cmd.out;
  EXPECT_EQ(denied.cmd.out.find("HELLO "), std::string::npos) << denied.cmd.out;
  expect_metric(inbound, "aegis_authz_denied_total", {{"listener", "tcp-in"}}, 1);
}

// 6. compat: classical X25519 from Debian's curl (OpenSSL 3.0) is accepted,
// counted and logged; a hybrid handshake on the same listener is not.
TEST_F(Tls, CompatListenerCountsClassicalHandshakes) {
  ASSERT_NO_FATAL_FAILURE(init_ca("ca", "ecdsa-p256"));
  ASSERT_NO_FATAL_FAILURE(issue("server", kServerId, "ca", "ecdsa-p256"));
  Upstream up(dir_.path());
  const auto admin = free_port(), port = free_port();
  const std::string yaml = header(admin) + http_listener("compat", port, "main", listener_tls("compat", false)) +
                           "route_configs:\n" + route_config("main", "app") + "clusters:\n" +
                           cluster("app", up.endpoint());
  Proxy& proxy = start(yaml, admin, {port});
  if (HasFatalFailure()) return;
  const Labels compat = {{"listener", "compat"}};

  const std::string https = "https://localhost:" + std::to_string(port) + "/status/200";
  const auto r = curl(dir_.path(), {"--cacert", (dir_ / "ca" / "ca.crt").string(), "--resolve",
                                    "localhost:" + std::to_string(port) + ":127.0.0.1", https});
  ASSERT_EQ(r.status, 200) << r.curl_exit << " " << r.stderr_text;
  expect_metric(proxy, "aegis_tls_classical_handshakes_total", compat, 1);
  expect_metric(proxy, "aegis_tls_handshakes_total",
                {{"listener", "compat"}, {"sigalg", "ecdsa_secp256r1_sha256"}, {"result", "success"}}, 1);
  std::string log;
  for (int attempt = 0; attempt < 60; ++attempt) {
    log = proxy.process().stdout_text() + proxy.process().stderr_text();
    if (log.find("classical") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_NE(log.find("classical-only TLS key exchange"), std::string::npos) << log;

  const auto pq = s_client(dir_.path(), port, verified("X25519MLKEM768"), get_request("/status/200"));
  ASSERT_EQ(pq.status, 200) << pq.cmd.out << pq.cmd.err;
  EXPECT_EQ(pq.group, "X25519MLKEM768");
  EXPECT_EQ(pq.peer_sigalg, "ecdsa_secp256r1_sha256");
  expect_metric(proxy, "aegis_tls_handshakes_total", {{"listener", "compat"}, {"result", "success"}}, 2);
  EXPECT_EQ(proxy.metric("aegis_tls_classical_handshakes_total", compat).value_or(0), 1)
      << "a hybrid handshake was counted as classical";
}

}  // namespace
}  // namespace aegis::itest
