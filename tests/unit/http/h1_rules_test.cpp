#include "http/h1_rules.h"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>

namespace aegis::http {
namespace {

namespace bhttp = boost::beast::http;

// Parses a request head with Beast exactly as the proxy does.
struct Parsed {
  boost::system::error_code ec;
  bhttp::request_parser<bhttp::empty_body> parser;
};

std::unique_ptr<Parsed> parse(std::string_view raw) {
  auto p = std::make_unique<Parsed>();
  p->parser.eager(false);
  p->parser.header_limit(64 * 1024);
  p->parser.put(boost::asio::buffer(raw.data(), raw.size()), p->ec);
  return p;
}

constexpr HeadLimits kLimits{100, 8192};

std::optional<Rejection> check(std::string_view raw) {
  auto p = parse(raw);
  EXPECT_FALSE(p->ec) << p->ec.message();
  return check_request_head(p->parser.get(), kLimits);
}

TEST(H1Rules, AcceptsPlainRequest) {
  EXPECT_FALSE(check("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"));
  EXPECT_FALSE(check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_FALSE(check("GET / HTTP/1.0\r\n\r\n"));  // Host is optional in HTTP/1.0
}

TEST(H1Rules, BeastRefusesContentLengthAfterChunked) {
  auto p = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(p->ec);
  EXPECT_EQ(rejection_for_parse_error(p->ec).status, 400u);
  EXPECT_EQ(rejection_for_parse_error(p->ec).reason, "ambiguous_framing");
}

TEST(H1Rules, ContentLengthBeforeTransferEncodingIsRefused) {
  auto p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_TRUE(p->ec);
  EXPECT_EQ(rejection_for_parse_error(p->ec).reason, "ambiguous_framing");
}

TEST(H1Rules, ObfuscatedTransferEncodingIsRefused) {
  for (auto te : {"xchunked", "chunked, identity", "identity", "gzip, chunked"}) {
    auto r = check(std::string("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te + "\r\n\r\n");
    ASSERT_TRUE(r) << te;
    EXPECT_EQ(r->status, 400u) << te;
  }
}

TEST(H1Rules, TransferEncodingWithContentLengthIsRefused) {
  // Beast ignores a non-chunked TE and then accepts Content-Length: the proxy must not.
  auto r = check("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "ambiguous_framing");
}

TEST(H1Rules, DifferingContentLengthsAreRefused) {
  auto p = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(p->ec);
  EXPECT_EQ(rejection_for_parse_error(p->ec).status, 400u);
}

TEST(H1Rules, RepeatedEqualContentLengthsAreRefused) {
  auto r = check("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "ambiguous_framing");
}

TEST(H1Rules, MissingOrDuplicateHost) {
  auto r = check("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "invalid_host");
  r = check("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason, "invalid_host");
}

TEST(H1Rules, TooManyHeadersIs431) {
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 100; ++i) raw += "x-h" + std::to_string(i) + ": v\r\n";
  raw += "\r\n";
  auto r = check(raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431u);
}

TEST(H1Rules, LongTargetIs414) {
  auto r = check("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414u);
}

TEST(H1Rules, HeaderLimitMapsTo431) {
  EXPECT_EQ(rejection_for_parse_error(bhttp::error::header_limit).status, 431u);
  EXPECT_EQ(rejection_for_parse_error(bhttp::error::body_limit).status, 413u);
  EXPECT_EQ(rejection_for_parse_error(bhttp::error::bad_chunk).reason, "invalid_chunk");
}

TEST(H1Rules, RemovesHopByHopAndConnectionNamedFields) {
  bhttp::fields f;
  f.set("connection", "keep-alive, x-secret");
  f.set("x-secret", "1");
  f.set("keep-alive", "timeout=5");
  f.set("te", "trailers");
  f.set("upgrade", "websocket");
  f.set("proxy-connection", "keep-alive");
  f.set("transfer-encoding", "chunked");
  f.set("expect", "100-continue");
  f.set("x-kept", "yes");
  remove_hop_by_hop(f);
  for (auto name : {"connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-connection",
                    "transfer-encoding", "expect"})
    EXPECT_EQ(f.find(name), f.end()) << name;
  EXPECT_EQ(f["x-kept"], "yes");
}

TEST(H1Rules, ForwardingHeaders) {
  bhttp::fields f;
  f.set("x-forwarded-for", "10.0.0.1");
  set_forwarding_headers(f, "127.0.0.1", "http", /*trust_downstream=*/false);
  EXPECT_EQ(f["x-forwarded-for"], "127.0.0.1");
  EXPECT_EQ(f["x-forwarded-proto"], "http");
  f.set("x-forwarded-for", "10.0.0.1");
  set_forwarding_headers(f, "127.0.0.1", "http", /*trust_downstream=*/true);
  EXPECT_EQ(f["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
}

TEST(H1Rules, AuthorityFromHostOrAbsoluteForm) {
  auto p = parse("GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  EXPECT_EQ(request_authority(p->parser.get()), "example.com:8080");
  auto q = parse("GET http://example.org/x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(request_authority(q->parser.get()), "example.org");
}

TEST(H1Rules, StatusClass) {
  EXPECT_EQ(status_class(204), "2xx");
  EXPECT_EQ(status_class(503), "5xx");
  EXPECT_EQ(status_class(99), "other");
}

}  // namespace
}  // namespace aegis::http

namespace aegis::http {
namespace {

TEST(ValidAuthority, HostPortAndIpLiterals) {
  for (const char* ok : {"example.com", "example.com:80", "a-b_c~d.example", "127.0.0.1:8080", "[::1]", "[::1]:443",
                         "[fe80::1%25eth0]:80", "[::ffff:127.0.0.1]", "host:", "xn--bcher-kva.example"})
    EXPECT_TRUE(valid_authority(ok)) << ok;
  for (const char* bad : {"", "user@example.com", "::1", "[::1", "[::1]x", "[::1]:99999", "a:80:80", "a/b",
                          "[zz::1]", "a b", "[1.2.3.4]", "example.com:123456", "[fe80::1%eth0]", "a%zz"})
    EXPECT_FALSE(valid_authority(bad)) << bad;
  EXPECT_TRUE(valid_authority(std::string(255, 'a')));
  EXPECT_FALSE(valid_authority(std::string(256, 'a')));
}

TEST(AbsoluteForm, AuthorityReplacesHostAndConnectIsLeftAlone) {
  bhttp::request_header<> h;
  h.method(bhttp::verb::get);
  h.target("http://a.example:8080/x?y");
  h.set(bhttp::field::host, "evil.example");
  EXPECT_FALSE(adopt_absolute_form_authority(h));
  EXPECT_EQ(h[bhttp::field::host], "a.example:8080");
  h.target("ftp://a.example/x");
  EXPECT_EQ(adopt_absolute_form_authority(h)->reason, "bad_target");
  h.target("http://u@a.example/");
  EXPECT_EQ(adopt_absolute_form_authority(h)->status, 400U);
  h.method(bhttp::verb::connect);
  h.target("a.example:443");
  EXPECT_FALSE(adopt_absolute_form_authority(h));
  EXPECT_EQ(check_request_head(h, {100, 8192})->status, 501U);
}

}  // namespace
}  // namespace aegis::http
