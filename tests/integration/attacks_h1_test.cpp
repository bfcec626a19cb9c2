// Attack suite, HTTP/1.1: request smuggling and resource exhaustion replayed
// from advisories against other proxies (docs/attacks.md lists each attack,
// its advisory and the result). Every test sends the attack over a raw
// socket and checks the refusal, the connection handling, the counter, what
// the upstream received (GET /seen on the test upstream: nothing smuggled),
// that a bystander on another connection is served, and for resource
// exhaustion that the proxy's RSS stays bounded. Cases already covered by
// framing_test.cpp and limits_test.cpp are referenced from docs/attacks.md,
// not repeated here.
#include "attack_tools.h"
#include "harness.h"

#include <gtest/gtest.h>

#include <thread>

namespace aegis::itest {
namespace {

using attack::RawConn;
using attack::upstream_saw;
using attack::upstream_seen;
using attack::wait_until;

// The request a lenient parser would find hidden in the first one's body.
const std::string kHidden = "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const std::string kPost = "POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\n";

struct SmuggleCase {
  const char* name;
  const char* advisory;  // the advisory whose bug this replays (docs/attacks.md)
  std::string request;
  int status;          // the proxy's answer: 400/501 refused; 200 accepted (correctly framed)
  const char* reason;  // aegis_http_malformed_requests_total reason (refusals)
  // Found only in the body, after the head went upstream: the upstream may
  // see the request's head and a truncated body, never on a reused connection.
  bool body_phase = false;
  // Accepted cases: a field the upstream must see, spelled plainly.
  std::pair<const char*, const char*> upstream_field{nullptr, nullptr};
};
void PrintTo(const SmuggleCase& c, std::ostream* os) { *os << c.name; }

std::vector<SmuggleCase> smuggle_cases() {
  const std::string chunked_hello = "5\r\nhello\r\n0\r\n\r\n";
  return {
      // TE.TE: obfuscated Transfer-Encoding next to a Content-Length. A
      // proxy that does not see the obfuscated TE frames by Content-Length;
      // an upstream that does frames by chunks, and the rest is a new request.
      {"TeXchunkedWithCl", "PortSwigger TE.TE; CVE-2019-18802 (Envoy)",
       kPost + "Content-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n5c\r\n" + kHidden, 400, "ambiguous_framing"},
      {"TeXchunkedAlone", "RFC 9112 §6.1 (unknown coding)",
       kPost + "Transfer-Encoding: xchunked\r\n\r\n" + chunked_hello + kHidden, 400, "unsupported_transfer_encoding"},
      {"TeIdentityThenChunked", "CVE-2022-32213 (Node llhttp)",
       kPost + "Transfer-Encoding: identity, chunked\r\n\r\n" + chunked_hello + kHidden, 400,
       "unsupported_transfer_encoding"},
      {"TeChunkedTwiceInOneField", "RFC 9112 §6.1 (chunked applied twice)",
       kPost + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked_hello + kHidden, 400, nullptr},
      {"TeTwoFieldsChunkedThenIdentity", "PortSwigger TE.TE; CVE-2020-25017 (Envoy, first value only)",
       kPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + chunked_hello + kHidden, 400,
       nullptr},
      {"TeVerticalTab", "CVE-2019-18277 (HAProxy \\x0bchunked)",
       kPost + "Content-Length: 4\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"TeFormFeed", "CVE-2019-18277 class (HAProxy)",
       kPost + "Transfer-Encoding: \x0c" "chunked\r\n\r\n" + chunked_hello + kHidden, 400, nullptr},
      {"TeSpaceBeforeColon", "RFC 9112 §5.1; PortSwigger TE.TE",
       kPost + "Content-Length: 4\r\nTransfer-Encoding : chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"TeTabBeforeColon", "RFC 9112 §5.1; PortSwigger TE.TE",
       kPost + "Content-Length: 4\r\nTransfer-Encoding\t: chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"TeObsFoldContinuation", "CVE-2022-32215 (Node llhttp multi-line Transfer-Encoding)",
       kPost + "Content-Length: 4\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"TeLeadingSpaceFoldsIntoPreviousField", "CVE-2024-27982 (Node, space before a field name)",
       kPost + "Content-Length: 4\r\n Transfer-Encoding: chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"TeQuoted", "PortSwigger TE.TE",
       kPost + "Transfer-Encoding: \"chunked\"\r\n\r\n" + chunked_hello + kHidden, 400, nullptr},
      {"TeInHttp10", "RFC 9112 §6.1 (Transfer-Encoding in HTTP/1.0)",
       "POST /sha256 HTTP/1.0\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_hello + kHidden,
       400, nullptr},
      // Content-Length tricks.
      {"ClPlusSign", "RFC 9110 §8.6 (1*DIGIT); CVE-2018-7159 (Node, lenient Content-Length)",
       kPost + "Content-Length: +5\r\n\r\nhello" + kHidden, 400, nullptr},
      {"ClInnerSpace", "CVE-2018-7159 (Node: \"1 2\" read as 12)",
       kPost + "Content-Length: 1 5\r\n\r\nhello" + kHidden, 400, nullptr},
      {"ClHex", "RFC 9110 §8.6", kPost + "Content-Length: 0x5\r\n\r\nhello" + kHidden, 400, nullptr},
      {"ClEmpty", "CVE-2023-40225 (HAProxy empty Content-Length)",
       kPost + "Content-Length: \r\n\r\nhello" + kHidden, 400, nullptr},
      {"ClOverflow64", "integer overflow of Content-Length (2^64 + 5)",
       kPost + "Content-Length: 18446744073709551621\r\n\r\nhello" + kHidden, 400, nullptr},
      {"ClDuplicateCaseVariant", "CVE-2020-25017 (Envoy duplicate headers)",
       kPost + "Content-Length: 5\r\ncontent-length: 48\r\n\r\nhello" + kHidden, 400, nullptr},
      // Line endings and control bytes.
      {"BareLfLineEndings", "CVE-2022-32214 (Node llhttp, bare LF)",
       "POST /sha256 HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 5\n\nhello" + kHidden, 400, nullptr},
      {"BareLfHidesTe", "CVE-2022-35256 (Node llhttp, fields not ended by CRLF)",
       kPost + "Content-Length: 4\r\nX-A: b\nTransfer-Encoding: chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"BareCrInValue", "CVE-2023-30589 (Node llhttp, CR alone ends a field)",
       kPost + "Content-Length: 4\r\nX-A: b\rTransfer-Encoding: chunked\r\n\r\n5c\r\n" + kHidden, 400, nullptr},
      {"NulInValue", "CVE-2019-9900 (Envoy, NUL in header values)",
       kPost + "Content-Length: 5\r\nX-A: a" + std::string(1, '\0') + "b\r\n\r\nhello" + kHidden, 400, nullptr},
      {"NulInName", "CVE-2019-9900 class (Envoy)",
       kPost + "Content-Length: 5\r\nX-" + std::string(1, '\0') + "A: b\r\n\r\nhello" + kHidden, 400, nullptr},
      {"EmptyFieldName", "CVE-2023-25725 (HAProxy empty header name)",
       kPost + "Content-Length: 5\r\n: x\r\n\r\nhello" + kHidden, 400, nullptr},
      {"SpaceInFieldName", "RFC 9110 §5.1 (token)",
       kPost + "Content Length: 5\r\n\r\nhello" + kHidden, 400, nullptr},
      // RFC 9112 §5.2 lets a server replace obs-fold by SP: the value goes
      // upstream on one line, the framing is the proxy's own.
      {"ObsFoldOrdinaryFieldIsJoined", "RFC 9112 §5.2 (obs-fold); CVE-2022-32215 class",
       kPost + "Content-Length: 5\r\nX-A: a\r\n b\r\n\r\nhello", 200, nullptr, false, {"x-a", "a b"}},
      {"ObsFoldTeAloneIsChunked", "CVE-2022-32215 (Node llhttp multi-line Transfer-Encoding)",
       kPost + "Transfer-Encoding:\r\n chunked\r\n\r\n" + chunked_hello, 200, nullptr},
      // Chunked body tricks.
      {"ChunkSizeWrapsTo5", "CVE-2013-2028 (nginx chunk-size overflow)",
       kPost + "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n" + kHidden, 400,
       "invalid_chunk", true},
      {"ChunkSizeBareLf", "CVE-2022-32214 class (Node llhttp)",
       kPost + "Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + kHidden, 400, "invalid_chunk", true},
      {"ChunkDataLongerThanSize", "chunk data not followed by CRLF",
       kPost + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" + kHidden, 400, "invalid_chunk", true},
      // Accepted (well-defined) spellings: must be forwarded as plain chunked.
      {"TeTrailingSpaceIsChunked", "CVE-2019-18802 (Envoy trailing whitespace)",
       kPost + "Transfer-Encoding: chunked \r\n\r\n" + chunked_hello, 200, nullptr},
      {"TeTabOwsIsChunked", "RFC 9110 §5.6.3 (OWS)",
       kPost + "Transfer-Encoding:\tchunked\t\r\n\r\n" + chunked_hello, 200, nullptr},
      {"TeMixedCaseIsChunked", "RFC 9112 §7 (codings are case-insensitive)",
       kPost + "Transfer-Encoding: ChUnKeD\r\n\r\n" + chunked_hello, 200, nullptr},
  };
}

class Smuggling : public ProxyTest<::testing::TestWithParam<SmuggleCase>> {
 protected:
  Smuggling() : ProxyTest("attacks_h1") {}
  void SetUp() override { start_with_upstream(); }
};

TEST_P(Smuggling, RefusedOrFramedAndNothingSmuggledUpstream) {
  const SmuggleCase& c = GetParam();
  const Labels listener = {{"listener", cfg_.listener_name}};
  const double malformed_before = proxy_->metric("aegis_http_malformed_requests_total", listener).value_or(0);
  RawConn conn(cfg_.listener_port);
  ASSERT_TRUE(conn.ok());
  conn.send(c.request);
  // A refusal closes the connection; an accepted request is answered and
  // the connection stays (nothing else was sent on it).
  if (c.status == 200) {
    ASSERT_TRUE(conn.read_until([](const std::string& in) { return in.find("hello") != std::string::npos ||
                                                                   in.find(" 11\n") != std::string::npos ||
                                                                   in.find("\n5\n") != std::string::npos ||
                                                                   in.find(" 5\n") != std::string::npos; },
                                20s))
        << c.advisory << "\n" << conn.received();
    EXPECT_EQ(conn.status(), 200) << conn.received();
    EXPECT_NE(conn.received().find(sha256_hex("hello") + " 5\n"), std::string::npos) << conn.received();
    EXPECT_FALSE(conn.closed());
  } else {
    EXPECT_TRUE(conn.wait_closed(20s)) << c.name << ": the connection stayed open after a refusal";
    EXPECT_EQ(conn.status(), c.status) << c.advisory << "\n" << conn.received();
    EXPECT_EQ(conn.responses(), 1) << conn.received();
    EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", listener, malformed_before + 1, 10s))
        << "the refusal was not counted";
    if (c.reason) {
      EXPECT_GE(proxy_->metric("aegis_http_malformed_requests_total",
                               {{"listener", cfg_.listener_name}, {"reason", c.reason}})
                    .value_or(0),
                1)
          << c.reason << "\n" << proxy_->metrics();
    }
  }
  EXPECT_EQ(conn.received().find("smuggled"), std::string::npos) << conn.received();
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));

  // More requests after the attack: none may reuse the upstream connection
  // a truncated request body was sent on.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  const auto seen = upstream_seen(upstream_->port());
  EXPECT_FALSE(upstream_saw(seen, "smuggled")) << c.advisory << "\n" << attack::describe(seen);
  std::size_t posts = 0;
  for (const auto& r : seen) {
    if (r.method != "POST") continue;
    ++posts;
    // What went upstream is framed one way only, spelled plainly.
    const auto te = r.values("transfer-encoding");
    const auto cl = r.values("content-length");
    EXPECT_LE(te.size() + cl.size(), 1U) << r.describe();
    for (const auto& v : te) EXPECT_EQ(v, "chunked") << r.describe();
    if (c.body_phase) {
      EXPECT_TRUE(std::string("hello").starts_with(r.body)) << r.describe();
      // Requests are recorded in arrival order: none after this one on its connection.
      bool after = false;
      for (const auto& later : seen) {
        if (after) {
          EXPECT_NE(later.conn, r.conn) << "upstream connection reused after a truncated body\n"
                                        << attack::describe(seen);
        }
        after = after || &later == &r;
      }
    } else {
      EXPECT_EQ(r.body, "hello") << r.describe();
    }
    if (c.upstream_field.first) {
      const auto v = r.values(c.upstream_field.first);
      ASSERT_EQ(v.size(), 1U) << r.describe();
      EXPECT_EQ(v[0], c.upstream_field.second) << r.describe();
    }
  }
  EXPECT_EQ(posts, c.status == 200 ? 1U : c.body_phase ? posts : 0U) << attack::describe(seen);
  EXPECT_LE(posts, 1U) << attack::describe(seen);
}

INSTANTIATE_TEST_SUITE_P(Attacks, Smuggling, ::testing::ValuesIn(smuggle_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- absolute-form and authority ------------------------------------------

class Authority : public ProxyTest<> {
 protected:
  Authority() : ProxyTest("attacks_h1_authority") {}
  void SetUp() override { start_with_upstream(); }
  // One request on its own connection; the status the proxy answered.
  int status_of(const std::string& head) {
    RawConn c(cfg_.listener_port);
    c.send(head);
    c.read_until([](const std::string& in) { return in.find("\r\n\r\n") != std::string::npos; }, 20s);
    return c.status();
  }
};

// RFC 9112 §3.2.2: with an absolute-form target the proxy uses the target's
// authority and ignores Host; the upstream sees exactly that one authority
// (a Host that disagrees with what was routed is how caches and ACLs that
// trust Host get confused: CVE-2021-39242 is the HTTP/2 form in HAProxy).
TEST_F(Authority, AbsoluteFormAuthorityReplacesAMismatchedHost) {
  const Labels listener = {{"listener", cfg_.listener_name}};
  RawConn c(cfg_.listener_port);
  c.send("GET http://routed.example/headers?abs HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(c.wait_closed(20s));
  EXPECT_EQ(c.status(), 200) << c.received();
  const auto seen = upstream_seen(upstream_->port());
  ASSERT_EQ(seen.size(), 1U) << attack::describe(seen);
  EXPECT_EQ(seen[0].target, "/headers?abs") << seen[0].describe();
  EXPECT_EQ(seen[0].values("host"), std::vector<std::string>{"routed.example"}) << seen[0].describe();
  EXPECT_FALSE(upstream_saw(seen, "evil.example")) << seen[0].describe();
  // Unusable absolute forms are refused and counted.
  const double before = proxy_->metric("aegis_http_malformed_requests_total", listener).value_or(0);
  EXPECT_EQ(status_of("GET ftp://routed.example/x HTTP/1.1\r\nHost: routed.example\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET http://user@routed.example/x HTTP/1.1\r\nHost: routed.example\r\n\r\n"), 400);
  EXPECT_EQ(status_of("GET http:///x HTTP/1.1\r\nHost: routed.example\r\n\r\n"), 400);
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", listener, before + 3, 10s));
  EXPECT_EQ(upstream_seen(upstream_->port()).size(), 1U);
}

// Host values the router must never have to guess about: overlong, userinfo,
// IPv6 literals without brackets or unclosed, ports out of range. Each is
// 400 (counted, reason invalid_host); the valid IPv6 forms are routed.
TEST_F(Authority, MalformedHostsAreRefusedAndIpv6LiteralsRouted) {
  const auto get = [](const std::string& host) {
    return "GET /status/200 HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  };
  const Labels invalid = {{"listener", cfg_.listener_name}, {"reason", "invalid_host"}};
  const std::vector<std::string> bad = {
      std::string(300, 'a') + ".example",  // longer than a DNS name can be (RFC 1035: 255)
      "user@routed.example",                // userinfo (CVE-2021-39240 class, HAProxy)
      "::1",                                // IPv6 literal without brackets
      "[::1",                               // unclosed
      "[::1]x",                             // junk after the literal
      "[::1]:99999",                        // port out of range
      "routed.example:80:80",               // two ports
      "routed.example/path",                // a path in the authority
      "[zz::1]",                            // not hex
      "",                                   // empty
  };
  for (const auto& h : bad) {
    const double before = proxy_->metric("aegis_http_malformed_requests_total", invalid).value_or(0);
    EXPECT_EQ(status_of(get(h)), 400) << "Host: " << h;
    EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", invalid, before + 1, 10s))
        << "Host: " << h;
  }
  for (const std::string h : {"[::1]", "[::1]:8080", "[fe80::1%25eth0]:80", "[::ffff:127.0.0.1]", "routed.example:"})
    EXPECT_EQ(status_of(get(h)), 200) << "Host: " << h;
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  const auto seen = upstream_seen(upstream_->port());
  for (const auto& r : seen)
    for (const auto& h : bad)
      EXPECT_NE(r.values("host").front(), h) << r.describe();
}

// ---- resource exhaustion --------------------------------------------------

// Sends `drip` on every connection the proxy has not closed yet, then waits
// `pump` for its answer, until all are closed (false if `timeout` passes).
bool drip_until_closed(std::vector<std::unique_ptr<RawConn>>& conns, const std::string& drip, Millis pump,
                       Millis timeout) {
  return wait_until([&] {
    bool all = true;
    for (auto& c : conns) {
      if (c->closed()) continue;
      c->send(drip);
      c->pump(pump);
      all = all && c->closed();
    }
    return all;
  }, timeout);
}

class Exhaustion : public ProxyTest<> {
 protected:
  Exhaustion() : ProxyTest("attacks_h1_exhaustion") {}
  void start(const std::string& listener_extra, const std::string& route_timeout = "30s",
             const std::string& cluster_extra = {}) {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.listener_extra_yaml = listener_extra;
    cfg.route_timeout = route_timeout;
    cfg.cluster_extra_yaml = cluster_extra;
    start_proxy(cfg);
  }
  double malformed(const std::string& reason) {
    return proxy_->metric("aegis_http_malformed_requests_total", {{"listener", cfg_.listener_name}, {"reason", reason}})
        .value_or(0);
  }
  std::uint64_t rss() { return attack::rss_kib(proxy_->process().pid()); }
};

// Slowloris (CVE-2007-6750, Apache httpd): many connections that send a
// header line now and then and never finish the head. request_headers_timeout
// bounds the whole head: 408, closed, counted; others are served meanwhile.
TEST_F(Exhaustion, SlowlorisHeadersGet408WithinRequestHeadersTimeout) {
  start("    request_headers_timeout: 1s\n");
  const auto rss_before = rss();
  std::vector<std::unique_ptr<RawConn>> evil;
  for (int i = 0; i < 20; ++i) {
    evil.push_back(std::make_unique<RawConn>(cfg_.listener_port));
    ASSERT_TRUE(evil.back()->ok());
    evil.back()->send("GET /status/200 HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  }
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port)) << "a bystander was not served during the attack";
  // Drip a header line on every connection until the proxy closed them all.
  const bool all_closed = drip_until_closed(evil, "X-Drip: 1\r\n", 10ms, 40s);
  EXPECT_TRUE(all_closed) << "some slowloris connections were never closed";
  for (auto& c : evil) EXPECT_EQ(c->status(), 408) << c->received();
  EXPECT_GE(malformed("request_headers_timeout"), 20);
  EXPECT_EQ(upstream_seen(upstream_->port()).size(), 1U);  // the bystander only
  EXPECT_LT(rss(), rss_before + 32 * 1024) << "RSS " << rss_before << " → " << rss() << " KiB";
}

// Slow POST ("R-U-Dead-Yet", the body form of CVE-2007-6750): a body that
// trickles in holds a connection both sides. The route timeout bounds it;
// it is the client's fault, so it is a 408 counted as request_body_timeout,
// never an upstream timeout that outlier detection would eject a healthy
// endpoint for.
TEST_F(Exhaustion, SlowPostGets408AndIsNotBlamedOnTheUpstream) {
  start("", "2s",
        "    outlier_detection:\n"
        "      consecutive_gateway_failure: 2\n"
        "      interval: 100ms\n"
        "      base_ejection_time: 30s\n"
        "      max_ejection_percent: 100\n");
  const auto rss_before = rss();
  std::vector<std::unique_ptr<RawConn>> evil;
  for (int i = 0; i < 3; ++i) {
    evil.push_back(std::make_unique<RawConn>(cfg_.listener_port));
    evil.back()->send("POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\nx");
  }
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  const bool all_closed = drip_until_closed(evil, "x", 100ms, 40s);
  EXPECT_TRUE(all_closed);
  for (auto& c : evil) EXPECT_EQ(c->status(), 408) << c->received();
  EXPECT_GE(malformed("request_body_timeout"), 3);
  EXPECT_EQ(proxy_->metric("aegis_upstream_timeouts_total").value_or(0), 0);
  EXPECT_EQ(proxy_->metric("aegis_upstream_outlier_ejections_total").value_or(0), 0) << proxy_->metrics();
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port)) << "the endpoint was ejected for a slow client";
  EXPECT_LT(rss(), rss_before + 32 * 1024);
}

// The slow POST's sibling: a client that breaks its own body (an invalid
// chunk) or goes away mid-body ends the upstream attempt too. Counting that
// as an upstream reset let any client eject healthy endpoints through
// outlier detection; the attempt is not reported to it.
TEST_F(Exhaustion, ClientFaultsDoNotEjectAHealthyUpstream) {
  start("", "30s",
        "    outlier_detection:\n"
        "      consecutive_gateway_failure: 2\n"
        "      interval: 100ms\n"
        "      base_ejection_time: 30s\n"
        "      max_ejection_percent: 100\n");
  const auto posts = [&] {
    std::size_t n = 0;
    for (const auto& r : upstream_seen(upstream_->port())) n += r.method == "POST";
    return n;
  };
  for (int i = 0; i < 3; ++i) {
    RawConn bad(cfg_.listener_port);
    bad.send("POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n");
    EXPECT_TRUE(bad.wait_closed(20s));
    EXPECT_EQ(bad.status(), 400) << bad.received();
    {
      RawConn gone(cfg_.listener_port);
      gone.send("POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nabc");
      // Wait until the head reached the upstream, then go away mid-body.
      EXPECT_TRUE(wait_until([&] { return posts() >= 2 * static_cast<std::size_t>(i) + 2; }, 10s));
    }
  }
  EXPECT_TRUE(wait_until([&] { return proxy_->metric("aegis_upstream_requests_active").value_or(1) == 0; }, 20s));
  // Outlier detection decides every 100 ms: ten rounds to act if it had been told.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(proxy_->metric("aegis_upstream_outlier_ejections_total").value_or(0), 0) << proxy_->metrics();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
}

// Zero-window slow read (the HTTP/1.1 form of CVE-2019-9517, internal data
// buffering): a client asks for 64 MiB and never reads. The proxy relays
// through a fixed buffer, so it stops reading the upstream; idle_timeout
// ends the stalled write; nothing near 64 MiB is buffered.
TEST_F(Exhaustion, ZeroWindowSlowReadIsBoundedAndClosed) {
  start("    idle_timeout: 2s\n");
  const auto rss_before = rss();
  const Labels listener = {{"listener", cfg_.listener_name}};
  RawConn evil(cfg_.listener_port, /*rcvbuf=*/4096);
  ASSERT_TRUE(evil.ok());
  evil.send("GET /bytes/67108864 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_downstream_timeouts_total",
                                           {{"listener", cfg_.listener_name}, {"kind", "response_write"}}, 1, 30s))
      << proxy_->metrics();
  EXPECT_LT(rss(), rss_before + 32 * 1024) << "RSS " << rss_before << " → " << rss() << " KiB";
  // What the client can still read ends well short of 64 MiB: the proxy closed.
  EXPECT_TRUE(evil.wait_closed(30s));
  EXPECT_LT(evil.received().size(), 64U << 20);
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
}

// Unbounded chunk extensions (CVE-2024-22019, Node) and a chunk-size line of
// a million leading zeros: a parser that buffers the line until its CRLF
// grows without limit. Both are refused with the connection closed and the
// RSS bounded.
TEST_F(Exhaustion, HugeChunkSizeLinesAreRefusedWithBoundedMemory) {
  start("");
  const auto rss_before = rss();
  for (const std::string& line : {"5;" + std::string(16 << 20, 'a'), std::string(16 << 20, '0') + "5"}) {
    RawConn evil(cfg_.listener_port);
    evil.send("POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    // The proxy may close before it has read all 16 MiB: send what it takes.
    evil.send(line);
    EXPECT_TRUE(evil.wait_closed(30s));
    EXPECT_EQ(evil.status(), 400) << evil.received().substr(0, 300);
    EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  }
  EXPECT_GE(malformed("invalid_chunk"), 2) << proxy_->metrics();
  EXPECT_LT(rss(), rss_before + 32 * 1024) << "RSS " << rss_before << " → " << rss() << " KiB";
}

// 100k tiny header fields (CVE-2019-15226, Envoy: CPU spent re-checking the
// header map size per field): refused by the head limits with 431, closed,
// counted, memory bounded, never forwarded.
TEST_F(Exhaustion, HundredThousandTinyHeadersAre431) {
  start("");
  const auto rss_before = rss();
  std::string head = "GET /status/200 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 100000; ++i) head += "a:\r\n";
  head += "\r\n";
  RawConn evil(cfg_.listener_port);
  evil.send(head);
  EXPECT_TRUE(evil.wait_closed(30s));
  EXPECT_EQ(evil.status(), 431) << evil.received().substr(0, 300);
  EXPECT_GE(malformed("header_too_large") + malformed("too_many_headers"), 1);
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
  EXPECT_EQ(upstream_seen(upstream_->port()).size(), 1U);  // the bystander only
  EXPECT_LT(rss(), rss_before + 32 * 1024);
}

}  // namespace
}  // namespace aegis::itest
