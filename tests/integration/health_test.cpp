// Active health checks and passive outlier detection against real upstream
// processes: an endpoint that dies is marked unhealthy within the thresholds
// and gets no more traffic, and comes back after healthy_threshold checks
// once restarted on its port; an HTTP check honours expected_statuses; a
// 5xx-answering endpoint is ejected and returns after its ejection time;
// max_ejection_percent caps ejections; below the panic threshold every
// endpoint takes traffic; a real gRPC server (grpc/grpc_server.py,
// python3-grpcio) is checked with grpc.health.v1.Health/Check, plain and
// over TLS. Assertions are on states and counters, every wait bounded.
#include "grpc_peers.h"
#include "harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <thread>

namespace aegis::itest {
namespace {

constexpr const char* kCluster = "backend";

bool wait_until(const std::function<bool()>& done, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

class Health : public ProxyTest<> {
 protected:
  Health() : ProxyTest("health") {}

  void start_upstreams(int n) {
    for (int i = 0; i < n; ++i) ups_.push_back(std::make_unique<Upstream>(dir_.path(), "upstream" + std::to_string(i)));
  }
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const auto& u : ups_) out.push_back(u->endpoint());
    return out;
  }
  void start(const std::string& cluster_yaml) {
    auto cfg = config_for(endpoints());
    cfg.access_log = "stderr";
    cfg.cluster_extra_yaml = cluster_yaml;
    start_proxy(cfg);
  }
  double metric(const std::string& name, const std::string& endpoint, Labels extra = {}) {
    extra["cluster"] = kCluster;
    if (!endpoint.empty()) extra["endpoint"] = endpoint;
    return proxy_->metric(name, extra).value_or(-1);
  }
  double healthy(const std::string& ep) { return metric("aegis_upstream_endpoint_healthy", ep); }
  double ejected(const std::string& ep) { return metric("aegis_upstream_endpoint_ejected", ep); }
  double checks(const std::string& ep, const std::string& result) {
    return metric("aegis_upstream_health_checks_total", ep, {{"result", result}});
  }
  bool wait_metric(const std::function<double()>& value, double want, Millis timeout = 15s) {
    return wait_until([&] { return value() == want; }, timeout);
  }
  // n GETs through the proxy; returns how many answered `status`.
  int send(int n, const std::string& path = "/conn", int status = 200) {
    int matching = 0;
    for (int i = 0; i < n; ++i) matching += simple_get(cfg_.listener_port, path).first == status ? 1 : 0;
    return matching;
  }
  double upstream_requests(const std::string& ep) { return metric("aegis_upstream_requests_total", ep); }
  double connect_failures(const std::string& ep) { return metric("aegis_upstream_connect_failures_total", ep); }

  std::vector<std::unique_ptr<Upstream>> ups_;
};

constexpr const char* kHttpCheck = R"(    health_checks:
      - timeout: 500ms
        interval: 200ms
        interval_jitter: 50ms
        healthy_threshold: 3
        unhealthy_threshold: 2
        http: {path: /healthz}
)";

TEST_F(Health, KilledEndpointIsMarkedUnhealthyGetsNoTrafficAndReturnsAfterRestart) {
  start_upstreams(3);
  start(kHttpCheck);
  for (const auto& ep : endpoints()) ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << ep;

  // A client keeps sending while the endpoint dies.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread client([&] {
    while (!stop) {
      simple_get(cfg_.listener_port, "/conn", 5s);
      ++sent;
    }
  });
  const std::string victim = ups_[1]->endpoint();
  const std::uint16_t victim_port = ups_[1]->port();
  std::this_thread::sleep_for(300ms);
  ups_[1]->process().kill();
  const bool marked = wait_metric([&] { return healthy(victim); }, 0);
  stop = true;
  client.join();
  ASSERT_TRUE(marked) << "the dead endpoint was never marked unhealthy";
  EXPECT_GT(sent.load(), 0);
  EXPECT_GE(checks(victim, "failure"), 2) << "unhealthy_threshold is 2";
  EXPECT_EQ(healthy(ups_[0]->endpoint()), 1);
  EXPECT_EQ(healthy(ups_[2]->endpoint()), 1);
  EXPECT_NE(proxy_->process().stderr_text().find("endpoint " + victim + " is unhealthy (active check: connect"),
            std::string::npos);

  // No more traffic to it: every request answers 200 and the dead endpoint's
  // connect failures stay where they were.
  const double failures_before = connect_failures(victim);
  EXPECT_EQ(send(30), 30);
  EXPECT_EQ(connect_failures(victim), failures_before);

  // Restarted on the same port: back after healthy_threshold (3) passing checks.
  const double successes_before = checks(victim, "success");
  ups_[1] = std::make_unique<Upstream>(dir_.path(), "upstream1-restarted", false, std::vector<std::string>{}, victim_port);
  ASSERT_TRUE(wait_metric([&] { return healthy(victim); }, 1)) << "never re-admitted";
  EXPECT_GE(checks(victim, "success") - successes_before, 3);
  const double requests_before = upstream_requests(victim);
  EXPECT_EQ(send(30), 30);
  EXPECT_GT(upstream_requests(victim), requests_before) << "no traffic after re-admission";
}

// The issue's failure-injection scenario, all mechanisms together: one of
// three endpoints is killed while wrk sends idempotent GETs; retries hide the
// failure from the client (zero errors), outlier detection ejects the endpoint
// on its connect failures and the active check marks it unhealthy; once it is
// restarted on its port it is re-admitted and takes traffic again.
TEST_F(Health, KillOneOfThreeUnderLoadEjectedRetriedReadmitted) {
  const std::string wrk = find_tool("wrk");
  ASSERT_FALSE(wrk.empty()) << "wrk is required (Debian package wrk)";
  start_upstreams(3);
  auto cfg = config_for(endpoints());
  cfg.access_log = "";
  cfg.cluster_extra_yaml = std::string(kHttpCheck) + R"(    outlier_detection:
      consecutive_gateway_failure: 3
      base_ejection_time: 1s
      max_ejection_percent: 34
    circuit_breakers: {max_retries: 1000}
)";
  cfg.route_extra_yaml =
      "              retry_policy:\n"
      "                retry_on: [5xx, reset, connect-failure]\n"
      "                num_retries: 2\n";
  start_proxy(cfg);
  for (const auto& ep : endpoints()) ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << ep;

  const std::string victim = ups_[1]->endpoint();
  const std::uint16_t victim_port = ups_[1]->port();
  Process load("wrk", {wrk, "-t2", "-c8", "-d6s", "--timeout", "5s", url(cfg.listener_port, "/status/200")},
               dir_.path());
  ASSERT_TRUE(wait_until([&] { return ups_[1]->stat("requests") > 200; }, 10s)) << "no load reached the victim";
  ups_[1]->process().kill();
  const auto st = load.wait_for(30s);
  ASSERT_TRUE(st.has_value()) << "wrk did not finish";
  const WrkSummary s = parse_wrk(load.stdout_text());
  std::printf("wrk with one of three upstreams killed:\n%s\n", s.raw.c_str());
  ASSERT_GT(s.requests, 0) << s.raw;
  EXPECT_EQ(s.non_2xx, 0) << s.raw;
  EXPECT_EQ(s.socket_errors, 0) << s.raw;

  // Both detectors saw it.
  // Connect failures count as 5xx and as gateway failures: either detector may
  // trip first.
  const auto ejections = [&](const std::string& reason) {
    return std::max(0.0, metric("aegis_upstream_outlier_ejections_total", victim, {{"reason", reason}}));
  };
  EXPECT_GE(ejections("consecutive_gateway_failure") + ejections("consecutive_5xx"), 1);
  EXPECT_TRUE(wait_metric([&] { return healthy(victim); }, 0)) << "the active check never marked it unhealthy";
  EXPECT_GE(proxy_->metric("aegis_upstream_retries_total", {{"cluster", kCluster}, {"result", "attempted"}}).value_or(0),
            1);

  // Restarted on its port: healthy again, the ejection over, traffic back.
  ups_[1] = std::make_unique<Upstream>(dir_.path(), "upstream1-restarted", false, std::vector<std::string>{}, victim_port);
  ASSERT_TRUE(wait_metric([&] { return healthy(victim); }, 1)) << "never re-admitted by the active check";
  ASSERT_TRUE(wait_metric([&] { return ejected(victim); }, 0)) << "still ejected";
  EXPECT_EQ(send(30, "/status/200"), 30);
  EXPECT_GT(ups_[1]->stat("requests"), 0u) << "no traffic after re-admission";
}

TEST_F(Health, HttpCheckHonoursExpectedStatuses) {
  start_upstreams(2);
  start(R"(    health_checks:
      - timeout: 500ms
        interval: 100ms
        healthy_threshold: 1
        unhealthy_threshold: 1
        http:
          path: /healthz
          expected_statuses: [{start: 200, end: 300}, {start: 418, end: 419}]
)");
  const std::string ep = ups_[1]->endpoint();
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1));
  // 418 is expected: further checks pass and the endpoint stays healthy.
  ASSERT_EQ(simple_get(ups_[1]->port(), "/control/health/418").first, 200);
  const double ok_before = checks(ep, "success");
  ASSERT_TRUE(wait_until([&] { return checks(ep, "success") >= ok_before + 3; }, 10s));
  EXPECT_EQ(checks(ep, "failure"), 0);
  EXPECT_EQ(healthy(ep), 1);
  // 503 is not.
  ASSERT_EQ(simple_get(ups_[1]->port(), "/control/health/503").first, 200);
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 0));
  EXPECT_GE(checks(ep, "failure"), 1);
  EXPECT_NE(proxy_->process().stderr_text().find("unexpected status 503"), std::string::npos);
  EXPECT_EQ(send(10), 10) << "the healthy endpoint serves everything";
  ASSERT_EQ(simple_get(ups_[1]->port(), "/control/health/200").first, 200);
  EXPECT_TRUE(wait_metric([&] { return healthy(ep); }, 1));
}

TEST_F(Health, OutlierDetectionEjects5xxEndpointAndReadmitsItAfterTheEjectionTime) {
  start_upstreams(3);
  start(R"(    outlier_detection:
      consecutive_5xx: 3
      base_ejection_time: 2s
      max_ejection_percent: 34
)");
  const std::string bad = ups_[0]->endpoint();
  ASSERT_EQ(simple_get(ups_[0]->port(), "/control/fail/500").first, 200);
  const std::string reason_5xx = "consecutive_5xx";
  ASSERT_TRUE(wait_until(
      [&] {
        send(3, "/conn", 0);
        return metric("aegis_upstream_outlier_ejections_total", bad, {{"reason", reason_5xx}}) >= 1;
      },
      15s))
      << "never ejected";
  ASSERT_TRUE(wait_metric([&] { return ejected(bad); }, 1));
  EXPECT_EQ(metric("aegis_upstream_endpoints_ejected", ""), 1);
  // Ejected: no request reaches it (two of three usable is above the panic threshold).
  const double bad_requests = upstream_requests(bad);
  EXPECT_EQ(send(20), 20);
  EXPECT_EQ(upstream_requests(bad), bad_requests);
  EXPECT_NE(proxy_->process().stderr_text().find("endpoint " + bad + " ejected for 2000 ms (consecutive_5xx"),
            std::string::npos);

  // It recovers; after its ejection time it takes traffic again.
  ASSERT_EQ(simple_get(ups_[0]->port(), "/control/fail/0").first, 200);
  ASSERT_TRUE(wait_metric([&] { return ejected(bad); }, 0, 10s)) << "never returned";
  EXPECT_EQ(metric("aegis_upstream_endpoints_ejected", ""), 0);
  EXPECT_EQ(send(30), 30);
  EXPECT_GT(upstream_requests(bad), bad_requests);
}

TEST_F(Health, MaxEjectionPercentCapsEjections) {
  start_upstreams(3);
  start(R"(    outlier_detection:
      consecutive_5xx: 2
      base_ejection_time: 60s
      max_ejection_percent: 34
)");
  ASSERT_EQ(simple_get(ups_[0]->port(), "/control/fail/500").first, 200);
  ASSERT_EQ(simple_get(ups_[1]->port(), "/control/fail/500").first, 200);
  // Both failing endpoints trip their detector; only one ejection fits in 34%.
  ASSERT_TRUE(wait_until(
      [&] {
        send(6, "/conn", 0);
        return proxy_->process().stderr_text().find("max_ejection_percent 34 reached") != std::string::npos;
      },
      15s))
      << "the second ejection was never refused";
  EXPECT_EQ(metric("aegis_upstream_endpoints_ejected", ""), 1);
  EXPECT_EQ(ejected(ups_[0]->endpoint()) + ejected(ups_[1]->endpoint()), 1);
  EXPECT_EQ(metric("aegis_upstream_outlier_ejections_total", ""), 1);
  // The failing endpoint that stayed in keeps receiving traffic.
  const auto& kept = ejected(ups_[0]->endpoint()) == 0 ? ups_[0] : ups_[1];
  const double before = upstream_requests(kept->endpoint());
  send(10, "/conn", 0);
  EXPECT_GT(upstream_requests(kept->endpoint()), before);
}

constexpr const char* kTcpCheck = R"(    health_checks:
      - {timeout: 500ms, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, tcp: {}}
)";

TEST_F(Health, BelowThePanicThresholdEveryEndpointTakesTraffic) {
  start_upstreams(3);
  start(kTcpCheck);
  for (const auto& ep : endpoints()) ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << ep;
  ups_[0]->process().kill();
  ups_[1]->process().kill();
  ASSERT_TRUE(wait_metric([&] { return healthy(ups_[0]->endpoint()); }, 0));
  ASSERT_TRUE(wait_metric([&] { return healthy(ups_[1]->endpoint()); }, 0));
  // One of three healthy (33%) is below 50%: panic, traffic goes to all.
  const double dead0 = connect_failures(ups_[0]->endpoint());
  const double dead1 = connect_failures(ups_[1]->endpoint());
  const int ok = send(30, "/conn", 200);
  EXPECT_GT(ok, 0);
  EXPECT_LT(ok, 30) << "the dead endpoints should have been tried";
  EXPECT_GT(connect_failures(ups_[0]->endpoint()), dead0);
  EXPECT_GT(connect_failures(ups_[1]->endpoint()), dead1);
}

TEST_F(Health, WithoutPanicNoHealthyEndpointIs503NoHealthyUpstream) {
  start_upstreams(2);
  start(std::string(kTcpCheck) + "    healthy_panic_threshold: 0\n");
  for (const auto& ep : endpoints()) ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << ep;
  EXPECT_EQ(send(5), 5);
  for (auto& u : ups_) u->process().kill();
  for (const auto& ep : endpoints()) ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 0)) << ep;
  const double before = metric("aegis_upstream_no_healthy_total", "");
  const auto [status, body] = simple_get(cfg_.listener_port, "/conn");
  EXPECT_EQ(status, 503);
  EXPECT_EQ(body, "no healthy upstream\n");
  EXPECT_EQ(metric("aegis_upstream_no_healthy_total", ""), before + 1);
  EXPECT_NE(proxy_->process().stderr_text().find("no_healthy_upstream"), std::string::npos);
}

// gRPC checks against the project's gRPC test server (grpc/grpc_server.py,
// python3-grpcio): SERVING admits, NOT_SERVING does not.
TEST_F(Health, GrpcHealthCheckAgainstARealGrpcServer) {
  GrpcServer server(dir_.path());
  const std::string ep = server.endpoint();
  auto cfg = config_for({ep});
  cfg.cluster_extra_yaml = R"(    health_checks:
      - timeout: 1s
        interval: 100ms
        healthy_threshold: 2
        unhealthy_threshold: 2
        grpc: {service_name: aegis.test.Echo}
)";
  start_proxy(cfg);
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << proxy_->process().stderr_tail();
  EXPECT_EQ(checks(ep, "failure"), 0);
  EXPECT_GE(server.rpc_count("Check", "SERVING"), 1);
  server.set_health("NOT_SERVING");
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 0));
  EXPECT_NE(proxy_->process().stderr_text().find("serving status 2 (not SERVING)"), std::string::npos);
  server.set_health("SERVING");
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1));
}

// gRPC over TLS: the check offers ALPN h2 through the cluster's TLS (an
// ECDSA certificate and pq_policy compat: grpcio's BoringSSL has no ML-DSA).
TEST_F(Health, GrpcHealthCheckOverTls) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "server", "spiffe://aegis.test/ns/demo/sa/grpc",
                          "ecdsa-p256").status.ok());
  GrpcServer::Options opts;
  opts.cert = dir_ / "server" / "cert.pem";
  opts.key = dir_ / "server" / "key.pem";
  GrpcServer server(dir_.path(), opts);
  const std::string ep = server.endpoint();
  auto cfg = config_for({ep});
  cfg.cluster_extra_yaml = R"(    tls: {trust_bundle: ca/ca.crt, server_name: localhost, pq_policy: compat}
    health_checks:
      - {timeout: 2s, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, grpc: {}}
)";
  start_proxy(cfg);
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 1)) << proxy_->process().stderr_tail();
  EXPECT_GE(proxy_->metric("aegis_tls_handshakes_total", {{"cluster", kCluster}, {"result", "success"}}).value_or(0), 1);
  server.set_health("NOT_SERVING");
  ASSERT_TRUE(wait_metric([&] { return healthy(ep); }, 0));
}

TEST_F(Health, GrpcHealthCheckFailsForAnUnknownService) {
  GrpcServer server(dir_.path());
  const std::string ep = server.endpoint();
  auto cfg = config_for({ep});
  cfg.cluster_extra_yaml = R"(    health_checks:
      - {timeout: 1s, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, grpc: {service_name: other}}
)";
  start_proxy(cfg);
  ASSERT_TRUE(wait_until([&] { return checks(ep, "failure") >= 2; }, 15s));
  EXPECT_EQ(checks(ep, "success"), 0);
  EXPECT_EQ(healthy(ep), 0);
  EXPECT_NE(proxy_->process().stderr_text().find("grpc-status 5"), std::string::npos);
}

// A reload keeps the state and the schedule of endpoints that stay (keyed
// like their pools): with a one-hour interval, a kept endpoint is not
// checked again, while an added one gets its first check at once.
TEST_F(Health, ReloadKeepsTheStateOfEndpointsThatStay) {
  start_upstreams(3);
  auto cfg = config_for({ups_[0]->endpoint(), ups_[1]->endpoint()});
  cfg.access_log = "stderr";
  cfg.cluster_extra_yaml = R"(    health_checks:
      - {timeout: 1s, interval: 1h, healthy_threshold: 1, unhealthy_threshold: 1, http: {path: /healthz}}
)";
  start_proxy(cfg);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(wait_metric([&] { return healthy(ups_[i]->endpoint()); }, 1));
  EXPECT_EQ(checks(ups_[0]->endpoint(), "success"), 1);

  cfg.endpoints.push_back(ups_[2]->endpoint());
  proxy_->rewrite_config(http_proxy_config(cfg));
  proxy_->process().signal(SIGHUP);
  ASSERT_TRUE(proxy_->wait_metric_at_least("aegis_config_version", {}, 2, 15s));
  ASSERT_TRUE(wait_metric([&] { return healthy(ups_[2]->endpoint()); }, 1)) << "the added endpoint was not checked";
  EXPECT_EQ(checks(ups_[2]->endpoint(), "success"), 1);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(healthy(ups_[i]->endpoint()), 1);
    EXPECT_EQ(checks(ups_[i]->endpoint(), "success"), 1) << "a kept endpoint was checked again after the reload";
  }
  const auto [status, clusters] = simple_get(proxy_->admin_port(), "/clusters");
  ASSERT_EQ(status, 200);
  EXPECT_NE(clusters.find("\"health\": \"healthy\""), std::string::npos) << clusters;
  EXPECT_EQ(send(9), 9);
}

// Checks over the cluster's TLS: an inbound aegis-flow terminates TLS in
// front of a test upstream, and the outbound one checks it through its
// cluster `tls:` (HTTP and TCP checks). A cluster expecting another server
// identity fails its TCP check: the check really runs the TLS handshake.
TEST_F(Health, ChecksRunOverTheClustersTls) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "server", "spiffe://aegis.test/ns/demo/sa/server").status.ok());
  start_upstreams(1);
  const auto in_admin = free_port(), in_port = free_port();
  const std::string inbound_yaml =
      "admin: {address: 127.0.0.1, port: " + std::to_string(in_admin) + "}\n" +
      "listeners:\n  - name: inbound\n    port: " + std::to_string(in_port) + "\n    route_config: main\n" +
      "    tls: {cert_file: server/cert.pem, key_file: server/key.pem}\n" +
      "route_configs:\n  - name: main\n    virtual_hosts:\n" +
      "      - {name: all, domains: [\"*\"], routes: [{match: {prefix: /}, route: {cluster: app}}]}\n" +
      "clusters:\n  - {name: app, endpoints: [\"" + ups_[0]->endpoint() + "\"]}\n";
  Proxy inbound(dir_.path(), inbound_yaml, in_admin, {in_port}, "inbound");
  AEGIS_ASSERT_READY(inbound);

  const std::string mesh = "127.0.0.1:" + std::to_string(in_port);
  auto cfg = config_for({mesh});
  cfg.cluster_extra_yaml = R"(    tls: {trust_bundle: ca/ca.crt, server_name: localhost}
    health_checks:
      - {timeout: 2s, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, http: {path: /healthz}}
  - name: tcp_checked
    endpoints: [")" + mesh + R"("]
    tls: {trust_bundle: ca/ca.crt, server_name: localhost}
    health_checks:
      - {timeout: 2s, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, tcp: {}}
  - name: wrong_identity
    endpoints: [")" + mesh + R"("]
    tls: {trust_bundle: ca/ca.crt, server_name: localhost, allow_peers: [{exact: "spiffe://aegis.test/ns/demo/sa/other"}]}
    health_checks:
      - {timeout: 2s, interval: 100ms, healthy_threshold: 1, unhealthy_threshold: 1, tcp: {}}
)";
  start_proxy(cfg);
  auto healthy_in = [&](const std::string& cluster) {
    return proxy_->metric("aegis_upstream_endpoint_healthy", {{"cluster", cluster}, {"endpoint", mesh}}).value_or(-1);
  };
  ASSERT_TRUE(wait_metric([&] { return healthy(mesh); }, 1)) << proxy_->process().stderr_tail();
  ASSERT_TRUE(wait_metric([&] { return healthy_in("tcp_checked"); }, 1));
  ASSERT_TRUE(wait_until([&] {
    return proxy_->metric("aegis_upstream_health_checks_total",
                          {{"cluster", "wrong_identity"}, {"result", "failure"}}).value_or(0) >= 2;
  }, 10s));
  EXPECT_EQ(healthy_in("wrong_identity"), 0);
  EXPECT_GE(proxy_->metric("aegis_tls_handshakes_total", {{"cluster", kCluster}, {"result", "success"}}).value_or(0), 1);
  EXPECT_NE(proxy_->process().stderr_text().find("(active check: TLS: peer_identity)"), std::string::npos);
  // The HTTP check's answer comes from the upstream behind the TLS listener.
  ASSERT_EQ(simple_get(ups_[0]->port(), "/control/health/503").first, 200);
  ASSERT_TRUE(wait_metric([&] { return healthy(mesh); }, 0));
  EXPECT_EQ(healthy_in("tcp_checked"), 1);
}

}  // namespace
}  // namespace aegis::itest
