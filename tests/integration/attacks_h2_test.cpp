// Attack suite, HTTP/2: h2 → h1 downgrade smuggling (what reaches the
// HTTP/1.1 upstream is checked through the test upstream's /seen) and
// resource exhaustion (HPACK bomb and table-size abuse, stream-id abuse,
// concurrent-stream exhaustion, WINDOW_UPDATE and PRIORITY floods,
// MadeYouReset-style server-induced resets). The floods h2_test.cpp already
// covers (rapid reset, CONTINUATION, SETTINGS, PING, empty DATA) and its
// slow-reader test are referenced from docs/attacks.md, not repeated.
#include "attack_tools.h"
#include "h2_client.h"
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

using attack::upstream_saw;
using attack::upstream_seen;
using attack::wait_until;
using h2::Client;
using h2::FrameType;
using h2::Headers;

class H2Attacks : public ProxyTest<> {
 protected:
  H2Attacks() : ProxyTest("attacks_h2") {}
  void start(const std::string& listener_extra = {}) {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.listener_extra_yaml = listener_extra;
    start_proxy(cfg);
  }
  std::string authority() const { return "127.0.0.1:" + std::to_string(cfg_.listener_port); }
  double metric(const std::string& name, const Labels& labels) { return proxy_->metric(name, labels).value_or(0); }
  double malformed_total() { return metric("aegis_http_malformed_requests_total", {{"listener", cfg_.listener_name}}); }
  double flood(const std::string& kind) {
    return metric("aegis_http2_flood_total", {{"listener", cfg_.listener_name}, {"kind", kind}});
  }
  std::uint64_t rss() { return attack::rss_kib(proxy_->process().pid()); }
  // A fresh h2c connection gets a 200.
  bool bystander() {
    Client c(cfg_.listener_port);
    if (!c.handshake()) return false;
    return c.request(h2::request_headers(authority(), "/status/200")).status == 200;
  }
};

struct DowngradeCase {
  const char* name;
  const char* advisory;
  Headers extra;       // added to a POST /sha256 head (or replacing pseudo-headers, see `raw`)
  bool raw = false;    // `extra` is the whole head
};
void PrintTo(const DowngradeCase& c, std::ostream* os) { *os << c.name; }

Headers post_head(const std::string& a) { return h2::request_headers(a, "/sha256", "POST"); }

// Each of these is malformed under RFC 9113 §8.2/§8.3 and would turn into a
// second request (or a different one) once rewritten as HTTP/1.1. The
// proxy must refuse the stream (RST_STREAM or a 4xx) and the upstream must
// never see it.
std::vector<DowngradeCase> downgrade_cases() {
  const std::string crlf_te = "x\r\nTransfer-Encoding: chunked";
  return {
      {"TransferEncodingChunked", "RFC 9113 §8.2.2; PortSwigger h2.TE", {{"transfer-encoding", "chunked"}}},
      {"ConnectionKeepAlive", "RFC 9113 §8.2.2 (connection-specific)", {{"connection", "keep-alive"}}},
      {"KeepAlive", "RFC 9113 §8.2.2", {{"keep-alive", "timeout=5"}}},
      {"ProxyConnection", "RFC 9113 §8.2.2", {{"proxy-connection", "keep-alive"}}},
      {"Upgrade", "RFC 9113 §8.2.2; h2c smuggling", {{"upgrade", "h2c"}}},
      {"TeGzip", "RFC 9113 §8.2.2 (te other than trailers)", {{"te", "gzip"}}},
      {"CrlfInValue", "PortSwigger h2.CRLF; CVE-2021-39240 class (HAProxy)", {{"x-a", crlf_te}}},
      {"LfInValue", "RFC 9113 §8.2.1", {{"x-a", "x\nTransfer-Encoding: chunked"}}},
      {"NulInValue", "RFC 9113 §8.2.1; CVE-2019-9900 class (Envoy)", {{"x-a", std::string("a\0b", 3)}}},
      {"CrlfInName", "RFC 9113 §8.2.1", {{"x-a\r\ntransfer-encoding", "chunked"}}},
      {"UpperCaseName", "RFC 9113 §8.2.1", {{"Transfer-Encoding", "chunked"}}},
      {"SpaceInName", "RFC 9113 §8.2.1", {{"x a", "b"}}},
      {"ColonInName", "RFC 9113 §8.2.1", {{"x:a", "b"}}},
      {"MethodWithRequestLine", "CVE-2021-33193 (Apache httpd), CVE-2021-39241 (HAProxy)",
       {{":method", "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\nGET"}, {":scheme", "http"}, {":path", "/sha256"},
        {":authority", "127.0.0.1"}},
       true},
      {"MethodWithSpace", "CVE-2021-39241 (HAProxy)",
       {{":method", "GET /smuggled"}, {":scheme", "http"}, {":path", "/sha256"}, {":authority", "127.0.0.1"}}, true},
      {"PathWithSpaceAndVersion", "CVE-2021-33193 class",
       {{":method", "GET"}, {":scheme", "http"}, {":path", "/x HTTP/1.1\r\nHost: y\r\n\r\nGET /smuggled"},
        {":authority", "127.0.0.1"}},
       true},
      {"PathNotStartingWithSlash", "RFC 9113 §8.3.1",
       {{":method", "GET"}, {":scheme", "http"}, {":path", "smuggled"}, {":authority", "127.0.0.1"}}, true},
      {"DuplicatePath", "RFC 9113 §8.3",
       {{":method", "GET"}, {":scheme", "http"}, {":path", "/status/200"}, {":path", "/smuggled"},
        {":authority", "127.0.0.1"}},
       true},
      {"PseudoAfterRegular", "RFC 9113 §8.3",
       {{":method", "GET"}, {":scheme", "http"}, {"x-a", "b"}, {":path", "/smuggled"}, {":authority", "127.0.0.1"}},
       true},
      {"AuthorityWithUserinfo", "CVE-2021-39240 (HAProxy :authority with @)",
       {{":method", "GET"}, {":scheme", "http"}, {":path", "/smuggled"}, {":authority", "user@127.0.0.1"}}, true},
      {"AuthorityWithCrlf", "CVE-2021-39242 class (HAProxy :authority/Host)",
       {{":method", "GET"}, {":scheme", "http"}, {":path", "/smuggled"}, {":authority", "a\r\nX: smuggled"}}, true},
  };
}

class H2Downgrade : public ProxyTest<::testing::TestWithParam<DowngradeCase>> {
 protected:
  H2Downgrade() : ProxyTest("attacks_h2_downgrade") {}
  void SetUp() override { start_with_upstream(); }
};

TEST_P(H2Downgrade, RefusedAndNeverForwarded) {
  const DowngradeCase& c = GetParam();
  const std::string a = "127.0.0.1:" + std::to_string(cfg_.listener_port);
  const Labels listener = {{"listener", cfg_.listener_name}};
  const double before = proxy_->metric("aegis_http_malformed_requests_total", listener).value_or(0);
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake()) << evil.error();
  Headers h = c.raw ? c.extra : post_head(a);
  if (!c.raw) h.insert(h.end(), c.extra.begin(), c.extra.end());
  const auto r = evil.request(h, c.raw ? "" : "hello", 20s);
  // Refused: a reset stream (PROTOCOL_ERROR), a 4xx, or the connection
  // closed with GOAWAY; never a response from the upstream.
  const bool refused = r.reset_code.has_value() || (r.status >= 400 && r.status < 500) || r.goaway.has_value();
  EXPECT_TRUE(refused) << c.advisory << ": " << r.describe();
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", listener, before + 1, 10s))
      << "not counted\n" << proxy_->metrics();
  // Another connection is served; on the same connection too unless it was closed.
  Client bystander(cfg_.listener_port);
  ASSERT_TRUE(bystander.handshake());
  EXPECT_EQ(bystander.request(h2::request_headers(a, "/status/200")).status, 200);
  if (!r.goaway) {
    EXPECT_EQ(evil.request(h2::request_headers(a, "/status/200")).status, 200);
  }
  const auto seen = upstream_seen(upstream_->port());
  EXPECT_FALSE(upstream_saw(seen, "smuggled")) << attack::describe(seen);
  for (const auto& s : seen) EXPECT_NE(s.method, "POST") << c.name << " reached the upstream\n" << s.describe();
}

INSTANTIATE_TEST_SUITE_P(Attacks, H2Downgrade, ::testing::ValuesIn(downgrade_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// content-length that disagrees with the DATA (RFC 9113 §8.1.1): more body
// than declared would be a second request on the HTTP/1.1 side; less leaves
// the upstream waiting for bytes the next request on its connection would
// supply. The stream is reset and the upstream connection is not reused.
TEST_F(H2Attacks, ContentLengthMismatchIsResetAndTheUpstreamConnectionDropped) {
  start();
  const auto a = authority();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const auto& [declared, body] : std::vector<std::pair<std::string, std::string>>{
           {"5", "hello" + smuggled}, {"100", "hello"}}) {
    Client c(cfg_.listener_port);
    ASSERT_TRUE(c.handshake()) << c.error();
    auto h = post_head(a);
    h.emplace_back("content-length", declared);
    const auto r = c.request(h, body, 20s);
    EXPECT_TRUE(r.reset_code.has_value() || r.status == 400) << declared << ": " << r.describe();
    EXPECT_NE(r.status, 200) << r.describe();
    // More requests, which must not complete the truncated one upstream.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(c.request(h2::request_headers(a, "/status/200")).status, 200);
  }
  EXPECT_GE(malformed_total(), 2);
  const auto seen = upstream_seen(upstream_->port());
  EXPECT_FALSE(upstream_saw(seen, "smuggled")) << attack::describe(seen);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].method != "POST") continue;
    EXPECT_LE(seen[i].body_bytes, 5U) << seen[i].describe();
    for (std::size_t j = i + 1; j < seen.size(); ++j)
      EXPECT_NE(seen[j].conn, seen[i].conn) << "upstream connection reused after a truncated body\n"
                                            << attack::describe(seen);
  }
}

// :authority wins over a Host field that says otherwise (RFC 9113 §8.3.1;
// CVE-2021-39242, HAProxy forwarded both): the upstream sees one Host.
TEST_F(H2Attacks, AuthorityWinsOverAConflictingHost) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  auto h = h2::request_headers("routed.example", "/headers");
  h.emplace_back("host", "evil.example");
  EXPECT_EQ(c.request(h).status, 200);
  const auto seen = upstream_seen(upstream_->port());
  ASSERT_EQ(seen.size(), 1U) << attack::describe(seen);
  EXPECT_EQ(seen[0].values("host"), std::vector<std::string>{"routed.example"}) << seen[0].describe();
}

// An overlong :authority: longer than a DNS name can be → 400 invalid_host;
// longer than max_header_list_size → 431. Never forwarded.
TEST_F(H2Attacks, OverlongAuthorityIsRefused) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  const auto r1 = c.request(h2::request_headers(std::string(300, 'a') + ".example", "/status/200"));
  EXPECT_EQ(r1.status, 400) << r1.describe();
  const auto r2 = c.request(h2::request_headers(std::string(70000, 'a'), "/status/200"));
  EXPECT_TRUE(r2.status == 431 || r2.reset_code || r2.goaway) << r2.describe();
  EXPECT_GE(metric("aegis_http_malformed_requests_total", {{"listener", cfg_.listener_name}, {"reason", "invalid_host"}}), 1);
  EXPECT_TRUE(bystander());
  EXPECT_EQ(upstream_seen(upstream_->port()).size(), 1U);  // the bystander
}

// HPACK bomb (CVE-2016-6581, python-hyper; CVE-2016-1544, nghttp2): a tiny
// header block that decodes to ~30 MB by repeating one indexed 3000-byte
// field. max_header_list_size bounds what is kept: 431, counted, RSS bounded.
TEST_F(H2Attacks, HpackBombIs431WithBoundedMemory) {
  start();
  const auto rss_before = rss();
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake()) << evil.error();
  evil.hpack_bomb(10000, 3000, h2::request_headers(authority(), "/status/200"));
  const auto r = evil.read_response(1, 30s);
  EXPECT_TRUE(r.status == 431 || r.reset_code.has_value() || r.goaway.has_value()) << r.describe();
  EXPECT_TRUE(bystander());
  EXPECT_GE(metric("aegis_http_malformed_requests_total", {{"listener", cfg_.listener_name}, {"reason", "header_too_large"}}) +
                malformed_total(),
            1);
  EXPECT_LT(rss(), rss_before + 32 * 1024) << "RSS " << rss_before << " → " << rss() << " KiB";
  EXPECT_TRUE(upstream_seen(upstream_->port()).empty() ||
              !upstream_saw(upstream_seen(upstream_->port()), std::string(3000, 'a')));
}

// A dynamic table size update above the SETTINGS_HEADER_TABLE_SIZE the
// proxy announced (4096) in a header block: COMPRESSION_ERROR, connection
// closed (RFC 7541 §6.3), nothing allocated for it.
TEST_F(H2Attacks, HpackTableSizeUpdateAboveTheLimitIsACompressionError) {
  start();
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake()) << evil.error();
  // 001xxxxx with a 5-bit prefix: 31 + varint(2^30 - 31) → 1 GiB table.
  std::string block = "\x3f";
  for (std::uint32_t v = (1U << 30) - 31; v >= 128; v >>= 7) block += static_cast<char>((v & 0x7f) | 0x80);
  block += static_cast<char>(((1U << 30) - 31) >> 28);
  block += evil.encoder().encode(h2::request_headers(authority(), "/status/200"));
  evil.send_headers_block(1, block, h2::flag::kEndHeaders | h2::flag::kEndStream);
  const auto g = evil.wait_for_goaway(20s);
  EXPECT_TRUE(g.received) << g.describe();
  EXPECT_EQ(g.error_code, h2::err::kCompressionError) << g.describe();
  EXPECT_TRUE(evil.connection_closed(20s));
  EXPECT_TRUE(bystander());
  EXPECT_TRUE(upstream_seen(upstream_->port()).size() == 1U);  // the bystander
}

// Stream-id abuse (RFC 9113 §5.1.1): an even (server-initiated) id is a
// connection error (GOAWAY PROTOCOL_ERROR); an id lower than one already
// used is ignored, never served.
// The highest id (2^31 − 1) is served, after which the client must open a
// new connection; the proxy's state does not depend on how ids are spent.
TEST_F(H2Attacks, StreamIdAbuseIsAProtocolErrorAndTheLastIdIsServed) {
  start();
  const auto get = h2::request_headers(authority(), "/status/200");
  {
    Client evil(cfg_.listener_port);
    ASSERT_TRUE(evil.handshake());
    evil.send_headers(2, get, true);
    const auto g = evil.wait_for_goaway(20s);
    EXPECT_TRUE(g.received && g.error_code == h2::err::kProtocolError) << g.describe();
  }
  {
    Client evil(cfg_.listener_port);
    ASSERT_TRUE(evil.handshake());
    evil.send_headers(101, get, true);
    EXPECT_EQ(evil.read_response(101, 20s).status, 200);
    // A lower id than one used: nghttp2 ignores the block (it cannot tell
    // an idle id from a closed one it forgot); it is never served.
    evil.send_headers(51, get, true);
    evil.send_headers(103, get, true);
    EXPECT_EQ(evil.read_response(103, 20s).status, 200);  // the connection is fine
    EXPECT_FALSE(evil.count(FrameType::kHeaders) > 2) << "stream 51 was answered";
  }
  {
    Client last(cfg_.listener_port);
    ASSERT_TRUE(last.handshake());
    last.send_headers(0x7fffffff, get, true);
    EXPECT_EQ(last.read_response(0x7fffffff, 20s).status, 200);
  }
  EXPECT_TRUE(bystander());
}

// Concurrent-stream exhaustion (CVE-2019-9517 shape, internal data
// buffering): far more request streams than max_concurrent_streams, bodies
// never finished. nghttp2 refuses the excess: RST_STREAM REFUSED_STREAM
// while the client has not yet acknowledged the SETTINGS, and once it has,
// a connection error (GOAWAY PROTOCOL_ERROR, RFC 9113 §5.1.2 allows
// either). At most the limit reaches the upstream, memory stays bounded,
// other connections are served.
TEST_F(H2Attacks, StreamsOverMaxConcurrentStreamsAreRefused) {
  start("    http2:\n      max_concurrent_streams: 10\n");
  const auto rss_before = rss();
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake());
  for (int i = 0; i < 50; ++i) evil.send_headers(evil.next_stream_id(), post_head(authority()), false);
  bool refused = false;
  EXPECT_TRUE(wait_until([&] {
    evil.read_frame(100ms);
    std::size_t rst = 0;
    for (const auto& f : evil.frames())
      if (f.type == FrameType::kRstStream) ++rst;
    refused = rst >= 40 || evil.count(FrameType::kGoaway) > 0;
    return refused;
  }, 30s)) << evil.count(FrameType::kRstStream) << " RST_STREAMs, " << evil.count(FrameType::kGoaway) << " GOAWAYs";
  if (evil.count(FrameType::kGoaway) > 0) {
    const auto g = evil.wait_for_goaway(1s);
    EXPECT_EQ(g.error_code, h2::err::kProtocolError) << g.describe();
    EXPECT_LE(g.last_stream_id, 19U) << g.describe();  // streams 1..19: the first ten
  }
  EXPECT_TRUE(bystander());
  EXPECT_LE(upstream_seen(upstream_->port()).size(), 11U) << attack::describe(upstream_seen(upstream_->port()));
  EXPECT_LT(rss(), rss_before + 32 * 1024);
}

// WINDOW_UPDATE flood (Envoy's max_inbound_window_update_frames_per_data_frame_sent,
// the CVE-2019-9511..9518 family): many WINDOW_UPDATEs with no DATA sent to
// earn them: GOAWAY ENHANCE_YOUR_CALM, counted.
TEST_F(H2Attacks, WindowUpdateFloodIsClosedAndCounted) {
  start();
  Client evil(cfg_.listener_port);
  // Without opening the window first (that would put the proxy's send window at 2^31 − 1).
  ASSERT_TRUE(evil.handshake({{h2::setting::kEnablePush, 0}}, false));
  for (int i = 0; i < 1000 && evil.send_window_update(0, 1); ++i) {
  }
  const auto g = evil.wait_for_goaway(20s);
  EXPECT_TRUE(g.received) << g.describe();
  EXPECT_EQ(g.error_code, h2::err::kEnhanceYourCalm) << g.describe();
  EXPECT_TRUE(wait_until([&] { return flood("window_update") >= 1; }, 10s));
  EXPECT_TRUE(bystander());
}

// PRIORITY flood (CVE-2019-9513, "Resource Loop"): PRIORITY frames far
// beyond what the streams opened warrant: GOAWAY ENHANCE_YOUR_CALM.
TEST_F(H2Attacks, PriorityFloodIsClosedAndCounted) {
  start();
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake());
  for (std::uint32_t i = 0; i < 5000 && evil.send_priority(2 * i + 1, 2 * i + 3, 16); ++i) {
  }
  const auto g = evil.wait_for_goaway(20s);
  EXPECT_TRUE(g.received) << g.describe();
  EXPECT_EQ(g.error_code, h2::err::kEnhanceYourCalm) << g.describe();
  EXPECT_TRUE(wait_until([&] { return flood("priority") >= 1; }, 10s));
  EXPECT_TRUE(bystander());
}

// Legitimate use stays under both ratios: a download (WINDOW_UPDATEs per
// DATA received) and a few priorities.
TEST_F(H2Attacks, WindowUpdatesEarnedByDataAreNotAFlood) {
  start();
  Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake(h2::Settings{{h2::setting::kInitialWindowSize, 16384}}, false));
  const auto a = authority();
  for (int i = 0; i < 5; ++i) {
    const auto id = c.next_stream_id();
    c.send_priority(id, 0, 16);
    c.send_headers(id, h2::request_headers(a, "/bytes/262144"), true);
    std::size_t got = 0;
    while (auto f = c.read_frame(20s)) {
      if (f->type == FrameType::kData && f->stream_id == id) {
        got += f->payload.size();
        c.send_window_update(id, static_cast<std::uint32_t>(f->payload.size()));
        c.send_window_update(0, static_cast<std::uint32_t>(f->payload.size()));
        if (f->flags & h2::flag::kEndStream) break;
      }
    }
    EXPECT_EQ(got, 262144U);
  }
  EXPECT_FALSE(c.closed());
  EXPECT_EQ(flood("window_update"), 0);
  EXPECT_EQ(flood("priority"), 0);
}

// MadeYouReset (CVE-2025-8671): frames that make the server reset a stream
// (WINDOW_UPDATE of 0 on an open stream) in a loop. Each reset stream's
// upstream request is cancelled; nothing piles up, other clients are served.
TEST_F(H2Attacks, ServerInducedResetsDoNotPileUpUpstreamWork) {
  start();
  const auto rss_before = rss();
  Client evil(cfg_.listener_port);
  ASSERT_TRUE(evil.handshake());
  const auto slow = h2::request_headers(authority(), "/slow?ms=20000");
  for (int i = 0; i < 200; ++i) {
    const auto id = evil.next_stream_id();
    if (!evil.send_headers(id, slow, true) || !evil.send_window_update(id, 0)) break;
  }
  // Either each stream is reset (PROTOCOL_ERROR) or the connection is closed.
  EXPECT_TRUE(wait_until([&] {
    evil.read_frame(100ms);
    return evil.closed() || evil.count(FrameType::kRstStream) >= 100 || evil.count(FrameType::kGoaway) > 0;
  }, 30s)) << evil.count(FrameType::kRstStream);
  EXPECT_TRUE(bystander());
  // The upstream requests of the reset streams end (bounded wait).
  EXPECT_TRUE(wait_until([&] { return proxy_->metric("aegis_upstream_requests_active").value_or(0) == 0; }, 30s));
  EXPECT_LT(rss(), rss_before + 32 * 1024);
}

}  // namespace
}  // namespace aegis::itest
