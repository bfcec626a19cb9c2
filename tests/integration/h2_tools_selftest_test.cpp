// Self-test of the HTTP/2 and gRPC test tools, without the proxy: the
// python gRPC client against the python gRPC server (plaintext and TLS), the
// frame-level client, nghttp and h2load against nginx's HTTP/2 (a server we
// did not write). If these fail, an HTTP/2 proxy test failure says nothing
// about the proxy.
#include "grpc_peers.h"
#include "h2_client.h"
#include "h2_tools.h"
#include "harness.h"
#include "nginx_server.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace aegis::itest {
namespace {

using h2::Client;
using h2::FrameType;

// ---- gRPC peers -------------------------------------------------------------

TEST(GrpcToolsSelfTest, EveryScenarioPlaintext) {
  TempDir dir("grpc-selftest");
  GrpcServer server(dir.path());
  const auto run = grpc_client(dir.path(), server.endpoint(),
                               {"--test", "unary,server_stream,client_stream,deadline,error,metadata,headers,health",
                                "--metadata", "x-seen=by-the-server"});
  ASSERT_TRUE(run.ok()) << run.describe();
  ASSERT_EQ(run.results.size(), 8U) << run.describe();
  EXPECT_EQ(run.result("server_stream")["received"], 100);
  EXPECT_EQ(run.result("deadline")["code"], "DEADLINE_EXCEEDED");
  EXPECT_EQ(run.result("error")["code"], "NOT_FOUND");
  EXPECT_EQ(run.result("error")["details"], "not found: caf\u00e9 100% sure");
  EXPECT_EQ(run.result("error")["trailers"]["x-error-detail"][0], "detail-1");
  EXPECT_EQ(run.result("metadata")["trailers"]["x-echo-multi"], nlohmann::json({"one", "two"}));
  EXPECT_EQ(run.result("health")["health"], "SERVING");

  // The expired deadline reached the server as a cancellation.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (server.rpc_count("Slow", "CANCELLED") == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(server.rpc_count("Slow", "CANCELLED"), 1);
  EXPECT_EQ(server.rpc_count("Check", "SERVING"), 1);

  // SIGUSR1 switches health to NOT_SERVING (handled between the server's
  // 0.2 s waits: poll, bounded).
  server.process().signal(SIGUSR1);
  bool switched = false;
  for (int attempt = 0; attempt < 20 && !switched; ++attempt) {
    switched = grpc_client(dir.path(), server.endpoint(), {"--test", "health", "--expect-health", "NOT_SERVING"}).ok();
    if (!switched) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(switched) << "SIGUSR1 did not switch health to NOT_SERVING";

  const auto st = server.stop();
  ASSERT_TRUE(st.has_value()) << "no exit after SIGTERM";
  EXPECT_TRUE(st->ok()) << st->describe();
  EXPECT_NE(server.process().stdout_text().find("STOPPED"), std::string::npos);
}

TEST(GrpcToolsSelfTest, LargeMessagesAndBidiPlaintext) {
  TempDir dir("grpc-selftest");
  GrpcServer server(dir.path());
  const auto run = grpc_client(dir.path(), server.endpoint(), {"--test", "unary_large,too_large,bidi"}, 50s);
  ASSERT_TRUE(run.ok()) << run.describe();
  EXPECT_EQ(run.result("unary_large")["sizes"], nlohmann::json({4 << 20, (16 << 20) - 1024}));
  EXPECT_EQ(run.result("too_large")["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(run.result("bidi")["received"], 5000);
  EXPECT_EQ(run.result("bidi")["lockstep"], 1000);
}

TEST(GrpcToolsSelfTest, TlsWithAnEcdsaCertificate) {
  TempDir dir("grpc-selftest");
  ASSERT_TRUE(certs_init_ca(dir.path(), dir / "ca", "grpc.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir.path(), dir / "ca", dir / "leaf", "spiffe://grpc.test/server", "ecdsa-p256")
                  .status.ok());
  GrpcServer::Options tls;
  tls.cert = dir / "leaf/cert.pem";
  tls.key = dir / "leaf/key.pem";
  GrpcServer server(dir.path(), tls);
  const std::string ca = (dir / "ca/ca.crt").string();
  auto run = grpc_client(dir.path(), server.endpoint(),
                         {"--tls", ca, "--test", "unary,server_stream,client_stream,bidi,error,metadata,health",
                          "--count", "2000"});
  EXPECT_TRUE(run.ok()) << run.describe();

  // Refusals: plaintext to a TLS port, and a CA that did not sign the server.
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "unary", "--timeout", "5"});
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.result("unary")["code"], "UNAVAILABLE") << run.describe();
  ASSERT_TRUE(certs_init_ca(dir.path(), dir / "other-ca", "other.test", "ecdsa-p256").status.ok());
  run = grpc_client(dir.path(), server.endpoint(),
                    {"--tls", (dir / "other-ca/ca.crt").string(), "--test", "unary", "--timeout", "5"});
  EXPECT_EQ(run.result("unary")["code"], "UNAVAILABLE") << run.describe();
}

TEST(GrpcToolsSelfTest, MismatchesAreReported) {
  TempDir dir("grpc-selftest");
  // A hop that holds the stream until the client is done stalls the
  // lockstep part of bidi: the deadline fires and the test fails.
  GrpcServer::Options buffer;
  buffer.name = "grpc-buffering";
  buffer.buffer_bidi = true;
  GrpcServer buffering(dir.path(), buffer);
  auto run = grpc_client(dir.path(), buffering.endpoint(),
                         {"--test", "bidi", "--count", "50", "--lockstep", "10", "--timeout", "5"});
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.cmd.status.code, 0);
  EXPECT_EQ(run.result("bidi")["code"], "DEADLINE_EXCEEDED") << run.describe();
  EXPECT_EQ(run.result("bidi")["received"], 0);

  GrpcServer server(dir.path());
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "unary", "--expect-code", "UNAVAILABLE"});
  EXPECT_FALSE(run.ok()) << "an OK call must not pass --expect-code UNAVAILABLE";

  // Health switched at run time through the health file.
  server.set_health("NOT_SERVING");
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "health"});
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.result("health")["health"], "NOT_SERVING");
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "health", "--expect-health", "NOT_SERVING"});
  EXPECT_TRUE(run.ok()) << run.describe();
  server.set_health("HANG");
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "health", "--timeout", "1"});
  EXPECT_EQ(run.result("health")["code"], "DEADLINE_EXCEEDED") << run.describe();
  run = grpc_client(dir.path(), server.endpoint(), {"--test", "health", "--service", "no.such.Service"});
  EXPECT_EQ(run.result("health")["code"], "NOT_FOUND") << run.describe();
  EXPECT_EQ(server.rpc_count("Check", "NOT_SERVING"), 2);

  // Nothing listening: UNAVAILABLE, and an --expect-code that says so passes.
  const std::string nowhere = "127.0.0.1:" + std::to_string(free_port());
  run = grpc_client(dir.path(), nowhere, {"--test", "unary", "--timeout", "5"});
  EXPECT_FALSE(run.ok());
  EXPECT_EQ(run.result("unary")["code"], "UNAVAILABLE");
  run = grpc_client(dir.path(), nowhere, {"--test", "unary", "--timeout", "5", "--expect-code", "UNAVAILABLE"});
  EXPECT_TRUE(run.ok()) << run.describe();
}

// ---- frames and HPACK, offline --------------------------------------------

TEST(H2FramesSelfTest, ParsingIsBoundsChecked) {
  std::string buf = h2::frame_bytes(FrameType::kPing, h2::flag::kAck, 0, "12345678");
  const std::string whole = buf;
  for (std::size_t cut = 0; cut < whole.size(); ++cut) {
    std::string partial = whole.substr(0, cut);
    EXPECT_FALSE(h2::take_frame(partial).has_value()) << "cut at " << cut;
    EXPECT_EQ(partial.size(), cut) << "a short buffer must stay untouched";
  }
  auto f = h2::take_frame(buf);
  ASSERT_TRUE(f.has_value());
  EXPECT_TRUE(buf.empty());
  EXPECT_EQ(f->type, FrameType::kPing);
  EXPECT_TRUE(f->has(h2::flag::kAck));
  EXPECT_EQ(f->payload, "12345678");
  // A header announcing 16 MiB - 1 with 3 bytes behind it: wait, don't read.
  std::string liar = h2::frame_header(h2::kMaxFrameLength, FrameType::kData, 0, 1) + "abc";
  EXPECT_FALSE(h2::take_frame(liar).has_value());

  EXPECT_FALSE(h2::parse_goaway("1234567").has_value());
  const auto g = h2::parse_goaway(h2::u32_be(7) + h2::u32_be(h2::err::kEnhanceYourCalm) + "why");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->last_stream_id, 7U);
  EXPECT_EQ(g->error_code, h2::err::kEnhanceYourCalm);
  EXPECT_EQ(g->debug, "why");
  EXPECT_FALSE(h2::parse_rst_stream("123").has_value());
  EXPECT_FALSE(h2::parse_settings("12345").has_value());
  // PADDED with a pad length longer than the payload.
  h2::Frame padded{FrameType::kData, h2::flag::kPadded, 1, std::string("\x09" "abc"), {}, false};
  EXPECT_FALSE(h2::data_content(padded).has_value());
  padded.payload = std::string("\x02" "abcXX");
  EXPECT_EQ(h2::data_content(padded).value_or("?"), "abc");
}

TEST(H2FramesSelfTest, HpackRoundTripAndGarbage) {
  h2::HpackEncoder enc;
  h2::HpackDecoder dec;
  const h2::Headers h = {{":method", "GET"}, {":path", "/x"}, {"Upper-Case", "kept as sent"}, {"connection", "close"}};
  for (int i = 0; i < 3; ++i) {  // the dynamic table stays in step
    const auto back = dec.decode(enc.encode(h));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, h);
  }
  h2::HpackDecoder fresh;
  EXPECT_FALSE(fresh.decode(std::string("\xff\xff\xff\xff\xff\xff", 6)).has_value());
  EXPECT_FALSE(fresh.decode(std::string("\xbe", 1)).has_value()) << "index 62 with an empty dynamic table";
}

// ---- the frame-level client against nginx (h2c and TLS) ------------------

NginxServer::Options nginx_h2(const TempDir& dir, bool tls) {
  NginxServer::Options o;
  o.http2 = true;
  if (tls) {
    o.cert = dir / "leaf/cert.pem";
    o.key = dir / "leaf/key.pem";
  }
  return o;
}

void mint_ecdsa_leaf(const TempDir& dir) {
  ASSERT_TRUE(certs_init_ca(dir.path(), dir / "ca", "h2.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir.path(), dir / "ca", dir / "leaf", "spiffe://h2.test/nginx", "ecdsa-p256").status.ok());
}

TEST(H2ClientSelfTest, GetPingAndProtocolErrorAgainstNginx) {
  TempDir dir("h2-selftest");
  NginxServer nginx(dir, free_port(), nginx_h2(dir, false));
  nginx.put("hello.txt", "hello over h2\n");
  const std::string authority = nginx.endpoint();

  Client c(nginx.port());
  ASSERT_TRUE(c.handshake()) << c.error();
  auto r = c.request(h2::request_headers(authority, "/hello.txt"));
  ASSERT_TRUE(r.complete) << r.describe();
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, "hello over h2\n");
  EXPECT_EQ(h2::find_header(r.headers, "content-length").value_or(""), "14");
  r = c.request(h2::request_headers(authority, "/missing"));
  EXPECT_EQ(r.status, 404) << r.describe();

  ASSERT_TRUE(c.send_ping(0x0102030405060708ULL));
  const auto ack = c.wait_for(FrameType::kPing, 10s);
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->has(h2::flag::kAck));
  EXPECT_EQ(ack->payload, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));

  // DATA on stream 0 is a connection error (RFC 9113 6.1).
  ASSERT_TRUE(c.send_frame(FrameType::kData, 0, 0, "x"));
  const auto g = c.wait_for_goaway(10s);
  EXPECT_TRUE(g.received) << g.describe();
  EXPECT_EQ(g.error_code, h2::err::kProtocolError) << g.describe();
  EXPECT_EQ(g.last_stream_id, 3U) << g.describe();
  EXPECT_TRUE(c.connection_closed(10s));

  // HTTP/1.1 instead of the preface: nginx gives up on the connection.
  Client raw(nginx.port());
  ASSERT_TRUE(raw.send_raw("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto bad = raw.wait_for_goaway(10s);
  EXPECT_TRUE(bad.received || bad.closed) << bad.describe();
  EXPECT_TRUE(raw.connection_closed(10s));
}

TEST(H2ClientSelfTest, InvalidHeadersAndAttacksAreWellFormed) {
  TempDir dir("h2-selftest");
  NginxServer nginx(dir, free_port(), nginx_h2(dir, false));
  nginx.put("hello.txt", "hello over h2\n");
  const auto get = h2::request_headers(nginx.endpoint(), "/hello.txt");

  // An upper-case field name is malformed (RFC 9113 8.2.1): nginx refuses
  // the stream instead of answering 200.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    auto bad = get;
    bad.emplace_back("X-Upper", "1");
    const auto r = c.request(bad);
    EXPECT_NE(r.status, 200) << r.describe();
    EXPECT_TRUE(r.reset_code.has_value() || r.status == 400) << r.describe();
  }
  // 1000 PINGs, 1000 PING ACKs: every frame parsed by nginx.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    const auto a = c.ping_flood(1000);
    EXPECT_EQ(a.sent, 1000);
    while (c.count(FrameType::kPing) < 1000 && c.read_frame(10s)) {
    }
    EXPECT_EQ(c.count(FrameType::kPing), 1000U);
  }
  // Rapid reset: 100 streams opened and cancelled, the connection still answers.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    const auto a = c.rapid_reset(100, get);
    EXPECT_EQ(a.sent, 100);
    EXPECT_FALSE(a.write_failed);
    const auto r = c.request(get);
    EXPECT_EQ(r.status, 200) << r.describe();
  }
  // A header block that never ends, then HEADERS for another stream:
  // nginx's answer to the interleaving is GOAWAY PROTOCOL_ERROR.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    const auto a = c.continuation_flood(200, get, 64);
    EXPECT_GT(a.sent, 0);
    // A HEADERS for another stream in the middle of a header block is a
    // connection error.
    c.send_headers(c.next_stream_id(), get, true);
    const auto g = c.wait_for_goaway(10s);
    EXPECT_TRUE(g.received) << g.describe();
    EXPECT_EQ(g.error_code, h2::err::kProtocolError) << g.describe();
    EXPECT_EQ(g.last_stream_id, 1U) << g.describe();
  }
  // HPACK bomb: a few KiB on the wire, 3 MB decoded; nginx (header list
  // over http2_max_header_size) answers GOAWAY ENHANCE_YOUR_CALM.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    h2::HpackEncoder probe;
    h2::Headers bomb = get;
    bomb.insert(bomb.end(), 1000, h2::Header{"x-bomb", std::string(3000, 'b')});
    EXPECT_LT(probe.encode(bomb).size(), 8000U) << "the repeats must be 1-2 byte references";
    const auto a = c.hpack_bomb(1000, 3000, get);
    EXPECT_EQ(a.sent, 1);
    const auto r = c.read_response(1, 10s);
    EXPECT_NE(r.status, 200) << r.describe();
    ASSERT_TRUE(r.goaway.has_value()) << r.describe();
    EXPECT_EQ(r.goaway->error_code, h2::err::kEnhanceYourCalm) << r.describe();
  }
  // Empty DATA frames and SETTINGS: sent in full and accepted as frames.
  {
    Client c(nginx.port());
    ASSERT_TRUE(c.handshake()) << c.error();
    auto post = h2::request_headers(nginx.endpoint(), "/hello.txt", "POST");
    EXPECT_EQ(c.empty_data_flood(100, post).sent, 100);
    EXPECT_EQ(c.settings_flood(100).sent, 100);
  }
}

TEST(H2ClientSelfTest, TlsAlpnH2AgainstNginx) {
  TempDir dir("h2-selftest");
  mint_ecdsa_leaf(dir);
  NginxServer nginx(dir, free_port(), nginx_h2(dir, true));
  nginx.put("hello.txt", "hello over h2\n");
  Client::Options tls;
  tls.tls = true;
  tls.ca_file = (dir / "ca/ca.crt").string();
  Client c(nginx.port(), tls);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c.alpn(), "h2");
  ASSERT_TRUE(c.handshake()) << c.error();
  const auto r = c.request(h2::request_headers("localhost", "/hello.txt", "GET", "https"));
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, "hello over h2\n");
  EXPECT_GT(vm_rss_kib(nginx.process().pid()).value_or(0), 0U);
}

// ---- nghttp and h2load against nginx -----------------------------------------

TEST(H2ToolsSelfTest, NghttpAndH2loadAgainstNginx) {
  TempDir dir("h2-selftest");
  mint_ecdsa_leaf(dir);
  NginxServer h2c(dir, free_port(), nginx_h2(dir, false));
  h2c.put("hello.txt", "hello over h2\n");
  auto n = nghttp(dir.path(), {url(h2c.port(), "/hello.txt")});
  ASSERT_TRUE(n.ok()) << n.describe();
  EXPECT_EQ(n.status(), 200);
  EXPECT_EQ(n.body, "hello over h2\n");
  ASSERT_EQ(n.entries.size(), 1U);
  EXPECT_EQ(n.entries[0].headers.find("content-length")->second, "14");
  n = nghttp(dir.path(), {url(h2c.port(), "/missing")}, {"-n"});
  EXPECT_EQ(n.status(), 404) << n.describe();

  auto load = h2load(dir.path(), url(h2c.port(), "/hello.txt"), {"-n", "200", "-c", "2", "-m", "4"});
  EXPECT_EQ(load.summary.protocol, "h2c") << load.summary.raw;
  EXPECT_EQ(load.summary.total, 200) << load.summary.raw;
  EXPECT_EQ(load.summary.succeeded, 200) << load.summary.raw;
  EXPECT_EQ(load.summary.status_2xx, 200) << load.summary.raw;
  load = h2load(dir.path(), url(h2c.port(), "/missing"), {"-n", "50", "-c", "1"});
  EXPECT_EQ(load.summary.status_4xx, 50) << load.summary.raw;
  EXPECT_EQ(load.summary.status_2xx, 0) << load.summary.raw;

  // Nothing listening: no summary, or every request failed.
  load = h2load(dir.path(), url(free_port(), "/"), {"-n", "10", "-c", "1"}, 30s);
  EXPECT_EQ(load.summary.succeeded, 0) << load.summary.raw;

  auto tls_opts = nginx_h2(dir, true);
  tls_opts.name = "nginx-tls";
  NginxServer tls(dir, free_port(), tls_opts);
  tls.put("hello.txt", "hello over h2\n");
  const std::string https = "https://127.0.0.1:" + std::to_string(tls.port()) + "/hello.txt";
  n = nghttp(dir.path(), {https});
  ASSERT_TRUE(n.ok()) << n.describe();
  EXPECT_EQ(n.status(), 200);
  EXPECT_EQ(n.body, "hello over h2\n");
  load = h2load(dir.path(), https, {"-n", "100", "-c", "2", "-m", "4"});
  EXPECT_EQ(load.summary.protocol, "h2") << load.summary.raw;
  EXPECT_EQ(load.summary.status_2xx, 100) << load.summary.raw;
}

TEST(H2ToolsSelfTest, ParseH2load) {
  const auto s = parse_h2load(
      "Application protocol: h2\n"
      "finished in 22.46ms, 4453.35 req/s, 560.93KB/s\n"
      "requests: 100 total, 99 started, 98 done, 90 succeeded, 10 failed, 7 errored, 3 timeout\n"
      "status codes: 90 2xx, 1 3xx, 2 4xx, 5 5xx\n");
  EXPECT_EQ(s.protocol, "h2");
  EXPECT_EQ(s.total, 100);
  EXPECT_EQ(s.started, 99);
  EXPECT_EQ(s.done, 98);
  EXPECT_EQ(s.succeeded, 90);
  EXPECT_EQ(s.failed, 10);
  EXPECT_EQ(s.errored, 7);
  EXPECT_EQ(s.timeout, 3);
  EXPECT_EQ(s.status_2xx, 90);
  EXPECT_EQ(s.status_3xx, 1);
  EXPECT_EQ(s.status_4xx, 2);
  EXPECT_EQ(s.status_5xx, 5);
  EXPECT_EQ(parse_h2load("connect failed").total, -1);
}

}  // namespace
}  // namespace aegis::itest
