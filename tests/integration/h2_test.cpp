// Downstream HTTP/2 through the proxy to an HTTP/1.1 upstream
// (aegis-test-upstream): nghttp and h2load (Debian nghttp2-client) over h2c
// prior knowledge and over TLS with ALPN h2, many streams on one
// connection, large bodies checksummed both ways, the h2 → h1 translation
// seen from the upstream, an upstream failure that resets only its own
// stream, and each flood mitigation (a raw-frame client sends the attack:
// GOAWAY + close, the counter, another client served meanwhile, bounded RSS).
#include "h2_client.h"
#include "h2_tools.h"
#include "harness.h"
#include "pattern.h"
#include "sha256.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <strings.h>

#include <csignal>
#include <functional>
#include <thread>

namespace aegis::itest {
namespace {

using h2::Client;
using h2::FrameType;

std::string pattern_bytes(std::size_t n) {
  std::string s(n, '\0');
  fill_pattern(0, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(s.data()), s.size()));
  return s;
}

// Polls `pred` every 50 ms until it holds or `timeout` passes.
bool wait_for(const std::function<bool()>& pred, Millis timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

class H2Test : public ProxyTest<> {
 protected:
  H2Test() : ProxyTest("h2") {}

  void start(const std::string& listener_extra = {}) {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.listener_extra_yaml = listener_extra;
    start_proxy(cfg);
  }
  std::string authority() const { return "127.0.0.1:" + std::to_string(cfg_.listener_port); }
  double metric(const std::string& name, const Labels& labels) { return proxy_->metric(name, labels).value_or(-1); }
  double flood_count(const std::string& kind) {
    return metric("aegis_http2_flood_total", {{"listener", cfg_.listener_name}, {"kind", kind}});
  }
};

TEST_F(H2Test, H2cPriorKnowledgeManyStreamsOnFewConnections) {
  start();
  // 2 connections, 100 streams in flight on each.
  const auto run = h2load(dir_.path(), u("/bytes/2000"), {"-n", "4000", "-c", "2", "-m", "100"});
  EXPECT_EQ(run.summary.succeeded, 4000) << run.summary.raw;
  EXPECT_EQ(run.summary.status_2xx, 4000) << run.summary.raw;
  EXPECT_NE(run.summary.protocol.find("h2c"), std::string::npos) << run.summary.raw;
  EXPECT_GE(metric("aegis_http2_streams_total", {{"listener", cfg_.listener_name}}), 4000);
  EXPECT_EQ(metric("aegis_http2_connections_total", {{"listener", cfg_.listener_name}}), 2);
  // HTTP/1.1 still works on the same (codec: auto) listener.
  const auto r = curl(dir_.path(), {u("/bytes/10")});
  EXPECT_EQ(r.status, 200) << r.stderr_text;
}

TEST_F(H2Test, LargeBodiesChecksummedBothWays) {
  start();
  constexpr std::size_t kSize = 16 << 20;
  // Download: the upstream's x-sha256 must match what nghttp received.
  const auto down = nghttp(dir_.path(), {u("/bytes/" + std::to_string(kSize))});
  ASSERT_TRUE(down.ok()) << down.describe();
  ASSERT_EQ(down.status(), 200) << down.describe();
  EXPECT_EQ(down.body.size(), kSize);
  const auto want = down.entries.front().headers.find("x-sha256");
  ASSERT_NE(want, down.entries.front().headers.end());
  EXPECT_EQ(sha256_hex(down.body), want->second);
  // Upload: the upstream hashes what it received.
  const auto file = dir_ / "upload.bin";
  write_file(file, pattern_bytes(kSize));
  const auto up = nghttp(dir_.path(), {u("/sha256")}, {"-d", file.string()});
  ASSERT_TRUE(up.ok()) << up.describe();
  ASSERT_EQ(up.status(), 200) << up.describe();
  EXPECT_NE(up.body.find(sha256_hex(pattern_bytes(kSize))), std::string::npos) << up.body.substr(0, 300);
  // Echo: the body goes up and comes back through both directions at once.
  const auto echo = nghttp(dir_.path(), {u("/echo")}, {"-d", file.string()});
  ASSERT_TRUE(echo.ok()) << echo.describe();
  EXPECT_EQ(echo.body.size(), kSize);
  EXPECT_TRUE(echo.body == pattern_bytes(kSize));
}

TEST_F(H2Test, TranslationToHttp11AsTheUpstreamSeesIt) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  auto h = h2::request_headers("app.example:8080", "/headers?x=1");
  h.emplace_back("te", "trailers");
  h.emplace_back("x-aegis-peer-identity", "spiffe://forged");
  h.emplace_back("x-request-id", "rid-h2-1");
  const auto r = c.request(h);
  ASSERT_EQ(r.status, 200) << r.describe();
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["target"], "/headers?x=1");
  EXPECT_EQ(j["version"], 11);
  std::multimap<std::string, std::string> seen;
  for (const auto& f : j["headers"]) seen.emplace(f[0].get<std::string>(), f[1].get<std::string>());
  auto value = [&](const std::string& name) {
    auto it = seen.find(name);
    return it == seen.end() ? std::string("<absent>") : it->second;
  };
  EXPECT_EQ(value("Host"), "app.example:8080");  // from :authority
  EXPECT_EQ(value("x-forwarded-proto"), "http");
  EXPECT_EQ(value("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(value("x-request-id"), "rid-h2-1");
  EXPECT_EQ(seen.count("te"), 0U);  // hop-by-hop: never crosses
  // HEADERS with END_STREAM: a request without a body, framed as one.
  for (const auto& [name, v] : seen) {
    EXPECT_FALSE(strcasecmp(name.c_str(), "transfer-encoding") == 0) << name << ": " << v;
    EXPECT_FALSE(strcasecmp(name.c_str(), "content-length") == 0) << name << ": " << v;
  }
  EXPECT_EQ(seen.count("x-aegis-peer-identity"), 0U);  // only the proxy speaks for the peer
  // The response carries the request id; the access log line says HTTP/2.
  bool rid = false;
  for (const auto& [k, v] : r.headers) rid |= k == "x-request-id" && v == "rid-h2-1";
  EXPECT_TRUE(rid) << r.describe();
  EXPECT_TRUE(wait_for([&] { return proxy_->process().stdout_text().find("\"HTTP/2\"") != std::string::npos; }, 5s))
      << proxy_->process().stdout_text();
  // No route → 404 on this stream; the connection goes on.
  const auto ok = c.request(h2::request_headers("x", "/bytes/5"));
  EXPECT_EQ(ok.status, 200) << ok.describe();
}

TEST_F(H2Test, AnUpstreamResetAbortsOnlyItsStream) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  const auto a = authority();
  // An upstream that dies mid-response: that stream is reset, after its head.
  const auto broken = c.request(h2::request_headers(a, "/abort?after=100000"), {}, 20s);
  EXPECT_TRUE(broken.reset_code.has_value()) << broken.describe();
  EXPECT_FALSE(broken.complete) << broken.describe();
  // Before any response: 502 on that stream only.
  const auto reset = c.request(h2::request_headers(a, "/reset"));
  EXPECT_EQ(reset.status, 502) << reset.describe();
  // The same connection still serves.
  const auto fine = c.request(h2::request_headers(a, "/bytes/100000"), {}, 20s);
  EXPECT_EQ(fine.status, 200) << fine.describe();
  EXPECT_EQ(fine.body.size(), 100000U);
  EXPECT_FALSE(c.closed());
}

TEST_F(H2Test, AGrpcRequestGetsAGrpcShapedLocalError) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  auto h = h2::request_headers(authority(), "/reset", "POST");
  h.emplace_back("content-type", "application/grpc");
  h.emplace_back("te", "trailers");
  const auto r = c.request(h, std::string("\0\0\0\0\0", 5));
  // Trailers-only: HTTP 200, grpc-status UNAVAILABLE (the 502 the upstream reset gives).
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.grpc("grpc-status"), "14") << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
}

TEST_F(H2Test, TlsWithAlpnH2AndHttp11OnOneListener) {
  ASSERT_TRUE(certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir_.path(), dir_ / "ca", dir_ / "server", "spiffe://aegis.test/ns/demo/sa/server",
                          "ecdsa-p256")
                  .status.ok());
  // Debian's nghttp/h2load/curl link OpenSSL 3.0 (no ML-KEM): compat policy.
  start("    tls:\n      cert_file: server/cert.pem\n      key_file: server/key.pem\n      pq_policy: compat\n");
  const std::string url = "https://localhost:" + std::to_string(cfg_.listener_port);
  const auto one = nghttp(dir_.path(), {url + "/bytes/100000"});
  ASSERT_TRUE(one.ok()) << one.describe();
  EXPECT_EQ(one.status(), 200) << one.describe();
  EXPECT_EQ(one.body.size(), 100000U);
  const auto load = h2load(dir_.path(), url + "/bytes/1000", {"-n", "1000", "-c", "2", "-m", "50"});
  EXPECT_EQ(load.summary.succeeded, 1000) << load.summary.raw;
  EXPECT_NE(load.summary.protocol.find("h2"), std::string::npos) << load.summary.raw;
  // A client that offers only http/1.1 gets HTTP/1.1 on the same listener.
  const auto h1 = curl(dir_.path(), {"-k", "--http1.1", url + "/bytes/10"});
  EXPECT_EQ(h1.status, 200) << h1.stderr_text;
  // x-forwarded-proto https over h2.
  Client::Options o;
  o.tls = true;
  Client c(cfg_.listener_port, o);
  ASSERT_TRUE(c.handshake()) << c.error();
  EXPECT_EQ(c.alpn(), "h2");
  const auto r = c.request(h2::request_headers("localhost", "/headers", "GET", "https"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_NE(r.body.find("[\"x-forwarded-proto\",\"https\"]"), std::string::npos) << r.body;
}

TEST_F(H2Test, ASlowReaderDoesNotMakeTheProxyBuffer) {
  start();
  // The client's stream window is 64 KiB and it never opens it further: the
  // proxy may hold that window plus its own bounded buffers, never the body.
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake({{h2::setting::kInitialWindowSize, 65535}}, /*open_window=*/false)) << c.error();
  const auto rss_before = vm_rss_kib(proxy_->process().pid()).value_or(0);
  const auto id = c.next_stream_id();
  ASSERT_TRUE(c.send_headers(id, h2::request_headers(authority(), "/bytes/" + std::to_string(256 << 20)), true));
  // The first DATA (bounded wait: a loaded machine may be slow), then 1.5 s
  // more reading what the window lets through (up to 64 KiB in all).
  ASSERT_TRUE(c.wait_for(FrameType::kData, 20s, id).has_value());
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) c.read_frame(100ms);
  std::size_t received = 0;
  for (const auto& f : c.frames())
    if (f.type == FrameType::kData) received += f.payload.size();
  EXPECT_LE(received, 65535U);
  const auto rss_after = vm_rss_kib(proxy_->process().pid()).value_or(0);
  // 256 MiB would be there if the proxy read the upstream unchecked.
  EXPECT_LT(rss_after, rss_before + 16 * 1024) << "RSS " << rss_before << " → " << rss_after << " KiB";
  EXPECT_FALSE(c.closed());
}

TEST_F(H2Test, DrainSendsGoawayAndLetsOpenStreamsFinish) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  const auto id = c.next_stream_id();
  ASSERT_TRUE(c.send_headers(id, h2::request_headers(authority(), "/slow?ms=1000"), true));
  std::this_thread::sleep_for(200ms);
  proxy_->process().signal(SIGTERM);
  const auto r = c.read_response(id, 10s);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(r.complete) << r.describe();
  EXPECT_GE(c.count(FrameType::kGoaway), 1U);
  EXPECT_TRUE(c.connection_closed(10s));
  const auto st = proxy_->process().wait_for(10s);
  ASSERT_TRUE(st.has_value()) << "no exit after SIGTERM";
  EXPECT_TRUE(st->exited && st->code == 0) << st->describe();
  proxy_.reset();  // exited on purpose: TearDown must not call it dead
}

TEST_F(H2Test, Http1CodecDoesNotSpeakH2c) {
  start("    codec: http1\n");
  Client c(cfg_.listener_port);
  EXPECT_FALSE(c.handshake(3s));  // the preface is a bad HTTP/1.1 request: 400 and close
  const auto r = curl(dir_.path(), {u("/bytes/10")});
  EXPECT_EQ(r.status, 200) << r.stderr_text;
}

// ---- floods ---------------------------------------------------------------

// Runs `attack` on one connection while another client keeps being served;
// then: GOAWAY (ENHANCE_YOUR_CALM) and close, the counter, bounded memory.
void expect_flood_closes(H2Test& t, std::uint16_t port, const std::string& authority, const std::string& kind,
                         double before, const std::function<void(Client&)>& attack, Proxy& proxy,
                         const std::function<double()>& count) {
  const auto rss_before = vm_rss_kib(proxy.process().pid()).value_or(0);
  Client bystander(port);
  ASSERT_TRUE(bystander.handshake()) << bystander.error();
  Client evil(port);
  ASSERT_TRUE(evil.handshake()) << evil.error();
  attack(evil);
  const auto g = evil.wait_for_goaway(10s);
  EXPECT_TRUE(g.received) << kind << ": " << g.describe();
  EXPECT_EQ(g.error_code, h2::err::kEnhanceYourCalm) << kind << ": " << g.describe();
  EXPECT_TRUE(evil.connection_closed(10s)) << kind;
  EXPECT_TRUE(wait_for([&] { return count() >= before + 1; }, 5s)) << kind << " counter: " << count();
  // The other connection was not affected.
  const auto r = bystander.request(h2::request_headers(authority, "/bytes/1000"));
  EXPECT_EQ(r.status, 200) << kind << ": " << r.describe();
  const auto rss_after = vm_rss_kib(proxy.process().pid()).value_or(0);
  EXPECT_LT(rss_after, rss_before + 64 * 1024) << kind << ": RSS " << rss_before << " → " << rss_after << " KiB";
}

TEST_F(H2Test, EachFloodIsClosedWithGoawayAndCounted) {
  start();
  const auto a = authority();
  auto count = [&](const std::string& kind) { return [this, kind] { return flood_count(kind); }; };
  const auto get = h2::request_headers(a, "/bytes/10");
  expect_flood_closes(*this, cfg_.listener_port, a, "rapid_reset", flood_count("rapid_reset"),
                      [&](Client& c) { c.rapid_reset(1000, get); }, *proxy_, count("rapid_reset"));
  expect_flood_closes(*this, cfg_.listener_port, a, "continuation", flood_count("continuation"),
                      [&](Client& c) { c.continuation_flood(1000, get, 32); }, *proxy_, count("continuation"));
  expect_flood_closes(*this, cfg_.listener_port, a, "settings", flood_count("settings"),
                      [&](Client& c) { c.settings_flood(1000); }, *proxy_, count("settings"));
  expect_flood_closes(*this, cfg_.listener_port, a, "ping", flood_count("ping"),
                      [&](Client& c) { c.ping_flood(1000); }, *proxy_, count("ping"));
  expect_flood_closes(*this, cfg_.listener_port, a, "empty_frames", flood_count("empty_frames"),
                      [&](Client& c) { c.empty_data_flood(1000, h2::request_headers(a, "/echo", "POST")); },
                      *proxy_, count("empty_frames"));
  EXPECT_GE(metric("aegis_http2_goaways_sent_total", {{"listener", cfg_.listener_name}}), 5);
}

TEST_F(H2Test, LegitimateTrafficIsNotAFlood) {
  start();
  const auto a = authority();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  // A few pings, resets of streams that were served, and a header block in
  // a handful of CONTINUATIONs stay well under the limits.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.send_ping(static_cast<std::uint64_t>(i)));
  for (int i = 0; i < 20; ++i) {
    const auto r = c.request(h2::request_headers(a, "/bytes/100"));
    ASSERT_EQ(r.status, 200) << r.describe();
  }
  c.rapid_reset(20, h2::request_headers(a, "/bytes/10"));
  auto big = h2::request_headers(a, "/bytes/10");
  for (int i = 0; i < 6; ++i) big.emplace_back("x-pad-" + std::to_string(i), std::string(6000, 'a' + i));
  const auto r = c.request(big);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_FALSE(c.closed());
  for (const char* kind : {"rapid_reset", "continuation", "settings", "ping", "empty_frames"})
    EXPECT_EQ(flood_count(kind), 0) << kind;
}

TEST_F(H2Test, OversizedHeadListIs431AndTheConnectionStays) {
  start("    http2:\n      max_header_list_size: 8192\n");
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  auto h = h2::request_headers(authority(), "/bytes/10");
  h.emplace_back("x-big", std::string(10000, 'x'));
  const auto r = c.request(h);
  EXPECT_EQ(r.status, 431) << r.describe();
  const auto ok = c.request(h2::request_headers(authority(), "/bytes/10"));
  EXPECT_EQ(ok.status, 200) << ok.describe();
  EXPECT_EQ(metric("aegis_http_malformed_requests_total", {{"listener", cfg_.listener_name}, {"reason", "header_too_large"}}),
            1);
}

}  // namespace
}  // namespace aegis::itest
