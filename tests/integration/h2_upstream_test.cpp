// Upstream HTTP/2 (cluster protocol: http2): nginx as an h2c and a TLS (ALPN
// h2) origin, HTTP/1.1 and HTTP/2 clients in front (h1 → h2 and h2 → h2
// translation), requests multiplexed on few upstream connections, an origin
// that does not speak h2 over TLS refused clearly, and gRPC (Debian
// python3-grpcio client and server) through one proxy and through the
// two-sidecar mesh with ML-KEM-1024 + ML-DSA-65 mTLS: unary, large
// messages, server/client/bidirectional streaming checksummed, deadlines,
// errors with trailers, metadata both ways, and an endpoint that is down.
#include "grpc_peers.h"
#include "h2_tools.h"
#include "harness.h"
#include "nginx_server.h"
#include "pattern.h"
#include "sha256.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

const std::string kClientId = "spiffe://aegis.test/ns/demo/sa/client";
const std::string kServerId = "spiffe://aegis.test/ns/demo/sa/server";

// Distinct nginx connection numbers in its access log ("$connection $request
// $status $server_protocol"), and how many lines had `protocol`.
struct NginxLog {
  std::set<std::string> connections;
  int lines = 0, with_protocol = 0;
};
NginxLog parse_nginx_log(const std::string& log, const std::string& protocol) {
  NginxLog out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    ++out.lines;
    out.connections.insert(line.substr(0, line.find(' ')));
    if (line.size() >= protocol.size() && line.compare(line.size() - protocol.size(), protocol.size(), protocol) == 0)
      ++out.with_protocol;
  }
  return out;
}

class H2Upstream : public ProxyTest<> {
 protected:
  H2Upstream() : ProxyTest("h2up") {}

  // The proxy in front of `endpoint` with protocol: http2 (+ `cluster_extra`).
  void start_h2(const std::string& endpoint, const std::string& cluster_extra = {},
                const std::string& route_extra = {}) {
    auto cfg = config_for({endpoint});
    cfg.cluster_extra_yaml = "    protocol: http2\n" + cluster_extra;
    cfg.route_extra_yaml = route_extra;
    start_proxy(cfg);
  }
  double metric(const std::string& name, const Labels& labels) { return proxy_->metric(name, labels).value_or(-1); }
  std::string target() const { return "127.0.0.1:" + std::to_string(cfg_.listener_port); }
};

TEST_F(H2Upstream, Http11ClientToH2cNginxOnOneConnection) {
  NginxServer::Options o;
  o.http2 = true;
  NginxServer nginx(dir_, free_port(), o);
  nginx.put_pattern("big.bin", 3'000'000);
  nginx.put("small.txt", "hello over h2c\n");
  start_h2(nginx.endpoint());

  const auto big = curl(dir_.path(), {u("/big.bin")});
  ASSERT_EQ(big.status, 200) << big.stderr_text;
  EXPECT_EQ(big.body.size(), 3'000'000U);
  EXPECT_EQ(sha256_hex(big.body), pattern_sha256(3'000'000));
  EXPECT_EQ(big.header("content-length").value_or(""), "3000000");
  // HEAD: the length of what GET would send, no body.
  const auto head = curl(dir_.path(), {"-I", u("/small.txt")});
  EXPECT_EQ(head.status, 200) << head.stderr_text;
  EXPECT_EQ(head.header("content-length").value_or(""), "15");
  // Not found upstream: nginx's 404 passes through with its body.
  const auto missing = curl(dir_.path(), {u("/nope")});
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("404"), std::string::npos);
  // Sequential requests on several downstream connections share the
  // worker's upstream connection(s): nginx saw HTTP/2.0 only, on at most one
  // connection per proxy worker.
  for (int i = 0; i < 40; ++i) {
    const auto r = curl(dir_.path(), {u("/small.txt")});
    ASSERT_EQ(r.status, 200) << r.stderr_text;
    ASSERT_EQ(r.body, "hello over h2c\n");
  }
  const auto log = parse_nginx_log(nginx.access_log(), "HTTP/2.0");
  EXPECT_EQ(log.lines, 43) << nginx.access_log();
  EXPECT_EQ(log.with_protocol, log.lines) << nginx.access_log();
  EXPECT_LE(log.connections.size(), 2U) << nginx.access_log();
  EXPECT_LE(metric("aegis_upstream_connections_total", {{"cluster", cfg_.cluster_name}}), 2);
}

TEST_F(H2Upstream, H2ClientsMultiplexedOnFewUpstreamConnections) {
  NginxServer::Options o;
  o.http2 = true;
  NginxServer nginx(dir_, free_port(), o);
  nginx.put_pattern("f.bin", 2000);
  start_h2(nginx.endpoint());
  // 4 downstream connections × 50 streams in flight; nginx allows 128
  // concurrent streams per connection.
  const auto run = h2load(dir_.path(), u("/f.bin"), {"-n", "4000", "-c", "4", "-m", "50"});
  EXPECT_EQ(run.summary.succeeded, 4000) << run.summary.raw;
  EXPECT_EQ(run.summary.status_2xx, 4000) << run.summary.raw;
  const auto log = parse_nginx_log(nginx.access_log(), "HTTP/2.0");
  EXPECT_EQ(log.lines, 4000);
  EXPECT_EQ(log.with_protocol, 4000);
  // At most 200 in flight: two connections per worker at most.
  EXPECT_LE(log.connections.size(), 4U) << "nginx connections: " << log.connections.size();
  // HTTP/1.1 clients too, many connections at once (wrk-like h2load --h1).
  const auto h1 = h2load(dir_.path(), u("/f.bin"), {"--h1", "-n", "2000", "-c", "20"});
  EXPECT_EQ(h1.summary.status_2xx, 2000) << h1.summary.raw;
  EXPECT_LE(parse_nginx_log(nginx.access_log(), "HTTP/2.0").connections.size(), 6U);
}

TEST_F(H2Upstream, TlsWithAlpnH2AndAnOriginWithoutH2IsRefusedClearly) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "origin", kServerId, "ecdsa-p256").status.ok());
  NginxServer::Options o;
  o.http2 = true;
  o.cert = dir_ / "origin/cert.pem";
  o.key = dir_ / "origin/key.pem";
  NginxServer h2origin(dir_, free_port(), o);
  h2origin.put("a.txt", "over TLS and h2\n");
  o.name = "nginx-h1";
  o.http2 = false;
  NginxServer h1origin(dir_, free_port(), o);
  h1origin.put("a.txt", "h1 only\n");

  const std::string tls = "    tls:\n      trust_bundle: " + (dir_ / "ca/ca.crt").string() +
                          "\n      pq_policy: compat\n      server_name: localhost\n";
  auto cfg = config_for({h2origin.endpoint()});
  cfg.cluster_extra_yaml = "    protocol: http2\n" + tls;
  cfg.extra_routes_yaml =
      "          - name: h1only\n            match:\n              prefix: /h1only/\n            route:\n"
      "              cluster: h1only\n";
  // A second cluster after the generated one.
  cfg.cluster_extra_yaml += "  - name: h1only\n    protocol: http2\n    endpoints: [\"" + h1origin.endpoint() + "\"]\n" + tls;
  start_proxy(cfg);

  const auto r = curl(dir_.path(), {u("/a.txt")});
  EXPECT_EQ(r.status, 200) << r.stderr_text;
  EXPECT_EQ(r.body, "over TLS and h2\n");
  EXPECT_EQ(parse_nginx_log(h2origin.access_log(), "HTTP/2.0").with_protocol, 1) << h2origin.access_log();

  const auto refused = curl(dir_.path(), {u("/h1only/a.txt")});
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("did not select ALPN 'h2'"), std::string::npos) << refused.body;
  EXPECT_EQ(h1origin.access_log(), "");
}

// ---- gRPC ------------------------------------------------------------------

const std::vector<std::string> kGrpcSuite = {
    "--test", "unary,unary_large,server_stream,client_stream,bidi,error,metadata,headers", "--count", "3000",
    "--lockstep", "500"};

TEST_F(H2Upstream, GrpcThroughOneProxy) {
  GrpcServer server(dir_.path());
  start_h2(server.endpoint());
  const auto run = grpc_client(dir_.path(), target(), kGrpcSuite, 55s);
  EXPECT_TRUE(run.ok()) << run.describe();
  // The proxy's forwarding headers reached the server; grpc-timeout too.
  const auto seen = run.result("headers");
  EXPECT_NE(seen.dump().find("x-forwarded-for"), std::string::npos) << seen.dump();
  EXPECT_NE(seen.dump().find("x-request-id"), std::string::npos) << seen.dump();
  // Every call on few upstream connections.
  EXPECT_LE(metric("aegis_upstream_connections_total", {{"cluster", cfg_.cluster_name}}), 2);
}

TEST_F(H2Upstream, GrpcDeadlinesAndAnEndpointThatIsDown) {
  GrpcServer server(dir_.path());
  start_h2(server.endpoint());
  // A long bidi call shares the upstream connection with the calls whose
  // streams get reset below: it must finish intact (checksums both ways).
  GrpcClientRun bystander;
  std::thread bidi([&] {
    bystander = grpc_client(dir_.path(), target(), {"--test", "bidi", "--count", "20000", "--lockstep", "2000"}, 55s);
  });
  // The client's deadline passes while the server sleeps: DEADLINE_EXCEEDED
  // (from the client or the proxy, whichever is first), and the server sees
  // the call cancelled (the proxy reset the upstream stream).
  auto run = grpc_client(dir_.path(), target(), {"--test", "deadline", "--sleep-ms", "3000", "--deadline-ms", "300"});
  EXPECT_TRUE(run.ok()) << run.describe();
  bool cancelled = false;
  for (int i = 0; i < 200 && !cancelled; ++i) {
    cancelled = server.rpc_count("Slow", "CANCELLED") == 1;
    if (!cancelled) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(cancelled) << server.process().stderr_tail();
  // Headers first, then the deadline: the stream is cut mid-response.
  run = grpc_client(dir_.path(), target(),
                    {"--test", "deadline", "--sleep-ms", "3000", "--deadline-ms", "300", "--headers-first"});
  EXPECT_TRUE(run.ok()) << run.describe();
  bidi.join();
  EXPECT_TRUE(bystander.ok()) << bystander.describe();
  EXPECT_LE(metric("aegis_upstream_connections_total", {{"cluster", cfg_.cluster_name}}), 2);
  // The endpoint goes away: UNAVAILABLE, gRPC-shaped (HTTP 200, grpc-status 14).
  server.stop();
  run = grpc_client(dir_.path(), target(), {"--test", "unary", "--expect-code", "UNAVAILABLE", "--timeout", "10"});
  EXPECT_TRUE(run.ok()) << run.describe();
  EXPECT_NE(run.result("unary")["details"].get<std::string>().find("upstream connect error"), std::string::npos)
      << run.describe();
}

TEST_F(H2Upstream, GrpcRetriesReplayTheRequestBody) {
  // Two servers behind one h2 cluster; Error answers UNAVAILABLE (trailers-only
  // from grpcio), which retry_on: unavailable retries on the other endpoint,
  // resending the request message the first attempt kept.
  GrpcServer::Options oa, ob;
  oa.name = "grpc-a";
  ob.name = "grpc-b";
  GrpcServer a(dir_.path(), oa);
  GrpcServer b(dir_.path(), ob);
  auto cfg = config_for({a.endpoint(), b.endpoint()});
  cfg.cluster_extra_yaml = "    protocol: http2\n";
  cfg.route_extra_yaml =
      "              retry_policy:\n                retry_on: [unavailable, connect-failure]\n                num_retries: 3\n"
      "                retry_back_off: {base_interval: 10ms, max_interval: 50ms}\n"
      "                retry_non_idempotent: true\n";  // gRPC calls are POSTs
  start_proxy(cfg);
  const auto run = grpc_client(dir_.path(), target(), {"--test", "error", "--code", "UNAVAILABLE", "--message", "busy"});
  EXPECT_TRUE(run.ok()) << run.describe();  // after the retries, the last answer is relayed with its trailers
  EXPECT_EQ(a.rpc_count("Error") + b.rpc_count("Error"), 4) << "1 try + 3 retries";
  EXPECT_GE(a.rpc_count("Error"), 1);
  EXPECT_GE(b.rpc_count("Error"), 1);
  EXPECT_EQ(metric("aegis_upstream_retries_total", {{"cluster", cfg_.cluster_name}, {"result", "attempted"}}), 3);
  // Not retriable (NOT_FOUND): one attempt.
  const auto nf = grpc_client(dir_.path(), target(), {"--test", "error", "--code", "NOT_FOUND", "--message", "no"});
  EXPECT_TRUE(nf.ok()) << nf.describe();
  EXPECT_EQ(a.rpc_count("Error") + b.rpc_count("Error"), 5);
  // One endpoint down: a refused connect is retried on the other, so every
  // call (with its request body) is still answered.
  a.stop();
  const auto ok = grpc_client(dir_.path(), target(), {"--test", "unary,client_stream", "--count", "50"});
  EXPECT_TRUE(ok.ok()) << ok.describe();
}

TEST_F(H2Upstream, GrpcAndHttp11ThroughThePostQuantumMesh) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test", "mldsa65").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "server", kServerId, "mldsa65").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "client", kClientId, "mldsa65").status.ok());
  GrpcServer server(dir_.path());
  Upstream app(dir_.path());
  // Inbound sidecar: mTLS (MLKEM1024, ML-DSA-65), ALPN h2 or http/1.1;
  // /grpc-app → the gRPC server (h2c), the rest → the HTTP/1.1 test upstream.
  const auto in_admin = free_port(), in_port = free_port(), out_admin = free_port(), out_port = free_port();
  auto route = [](const std::string& name, const std::string& prefix, const std::string& cluster) {
    return "          - name: " + name + "\n            match:\n              prefix: \"" + prefix +
           "\"\n            route:\n              cluster: " + cluster + "\n              timeout: 50s\n";
  };
  auto routes = [&](const std::string& name, const std::string& body) {
    return "  - name: " + name + "\n    virtual_hosts:\n      - name: all\n        domains: [\"*\"]\n        routes:\n" +
           body;
  };
  auto head = [](std::uint16_t admin) {
    return "admin:\n  address: 127.0.0.1\n  port: " + std::to_string(admin) + "\ndrain_timeout: 2s\nlisteners:\n";
  };
  const std::string grpc_prefix = "/aegis.test.Echo/";
  const std::string inbound =
      head(in_admin) + "  - name: inbound\n    address: 127.0.0.1\n    port: " + std::to_string(in_port) +
      "\n    protocol: http\n    route_config: main\n    tls:\n      cert_file: server/cert.pem\n"
      "      key_file: server/key.pem\n      pq_policy: pq_only_1024\n      trust_bundle: ca/ca.crt\n"
      "      require_client_cert: true\n      allow_peers:\n        - exact: " + kClientId +
      "\nroute_configs:\n" + routes("main", route("grpc", grpc_prefix, "grpc") + route("app", "/", "app")) +
      "clusters:\n  - name: grpc\n    protocol: http2\n    endpoints: [\"" + server.endpoint() +
      "\"]\n  - name: app\n    endpoints: [\"" + app.endpoint() + "\"]\n";
  const std::string outbound =
      head(out_admin) + "  - name: outbound\n    address: 127.0.0.1\n    port: " + std::to_string(out_port) +
      "\n    protocol: http\n    route_config: to_mesh\nroute_configs:\n" +
      routes("to_mesh", route("all", "/", "mesh")) + "clusters:\n  - name: mesh\n    protocol: http2\n"
      "    endpoints: [\"127.0.0.1:" + std::to_string(in_port) + "\"]\n    tls:\n      trust_bundle: ca/ca.crt\n"
      "      pq_policy: pq_only_1024\n      server_name: localhost\n      cert_file: client/cert.pem\n"
      "      key_file: client/key.pem\n      allow_peers:\n        - exact: " + kServerId + "\n";
  Proxy in(dir_.path(), inbound, in_admin, {in_port}, "inbound");
  AEGIS_ASSERT_READY(in);
  Proxy out(dir_.path(), outbound, out_admin, {out_port}, "outbound");
  AEGIS_ASSERT_READY(out);
  const std::string entry = "127.0.0.1:" + std::to_string(out_port);

  auto run = grpc_client(dir_.path(), entry, kGrpcSuite, 55s);
  EXPECT_TRUE(run.ok()) << run.describe();
  run = grpc_client(dir_.path(), entry, {"--test", "deadline", "--sleep-ms", "3000", "--deadline-ms", "400"});
  EXPECT_TRUE(run.ok()) << run.describe();

  // HTTP/1.1 through the same HTTP/2 hop: a 16 MiB upload checksummed by the
  // app, chunked (no length) and with a length.
  constexpr std::uint64_t n = 16ULL << 20U;
  write_pattern_file(dir_ / "body.bin", n);
  auto up = curl(dir_.path(), {"--data-binary", "@" + (dir_ / "body.bin").string(), url(out_port, "/sha256")});
  EXPECT_EQ(up.status, 200) << up.stderr_text << up.body;
  EXPECT_EQ(up.body, pattern_sha256(n) + " " + std::to_string(n) + "\n");
  up = curl(dir_.path(), {"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + (dir_ / "body.bin").string(),
                          url(out_port, "/sha256")});
  EXPECT_EQ(up.status, 200) << up.stderr_text << up.body;
  EXPECT_EQ(up.body, pattern_sha256(n) + " " + std::to_string(n) + "\n");
  const auto down = curl(dir_.path(), {url(out_port, "/bytes/5000000")});
  EXPECT_EQ(down.status, 200);
  EXPECT_EQ(down.body.size(), 5'000'000U);

  // The hop between the sidecars is one post-quantum mTLS connection per
  // outbound worker, carrying HTTP/2.
  EXPECT_GE(in.metric("aegis_tls_handshakes_total", {{"listener", "inbound"}, {"group", "MLKEM1024"},
                                                     {"sigalg", "mldsa65"}, {"result", "success"}})
                .value_or(0),
            1);
  EXPECT_LE(out.metric("aegis_upstream_connections_total", {{"cluster", "mesh"}}).value_or(99), 2);
  EXPECT_GE(in.metric("aegis_http2_streams_total", {{"listener", "inbound"}}).value_or(0), 10);
}

}  // namespace
}  // namespace aegis::itest
