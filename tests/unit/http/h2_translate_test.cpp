// HTTP/1.1 ↔ HTTP/2 message translation (RFC 9113 §8): request fields for an
// HTTP/2 upstream, an HTTP/2 response head for an HTTP/1.1 client, trailers
// as a chunked trailer section.
#include <gtest/gtest.h>

#include "http/h2_translate.h"

namespace aegis::http::h2 {
namespace {

namespace bhttp = boost::beast::http;

std::string value(const Fields& f, std::string_view name) {
  auto v = find_field(f, name);
  return v ? std::string(*v) : "<absent>";
}

TEST(H2Translate, RequestFieldsPseudoFirstAndNoConnectionSpecificFields) {
  bhttp::request_header<> head;
  head.method(bhttp::verb::post);
  head.target("/svc/Method?x=1");
  head.set(bhttp::field::host, "api.example:8443");
  head.set("X-Custom", "Value");
  head.set(bhttp::field::transfer_encoding, "chunked");
  head.set(bhttp::field::connection, "keep-alive");
  head.set(bhttp::field::keep_alive, "timeout=5");
  head.set(bhttp::field::proxy_connection, "keep-alive");
  head.set(bhttp::field::upgrade, "websocket");
  head.set(bhttp::field::te, "gzip");
  head.set(bhttp::field::content_length, "12");
  const auto f = request_fields(head, "https", /*te_trailers=*/false);
  ASSERT_GE(f.size(), 4u);
  EXPECT_EQ(f[0].name, ":method");
  EXPECT_EQ(f[0].value, "POST");
  EXPECT_EQ(f[1].name, ":scheme");
  EXPECT_EQ(f[1].value, "https");
  EXPECT_EQ(f[2].name, ":authority");
  EXPECT_EQ(f[2].value, "api.example:8443");
  EXPECT_EQ(f[3].name, ":path");
  EXPECT_EQ(f[3].value, "/svc/Method?x=1");
  EXPECT_EQ(value(f, "x-custom"), "Value");  // lower-cased name
  EXPECT_EQ(value(f, "content-length"), "12");
  for (const auto* gone : {"host", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "te"})
    EXPECT_EQ(value(f, gone), "<absent>") << gone;
  const auto g = request_fields(head, "http", /*te_trailers=*/true);
  EXPECT_EQ(value(g, "te"), "trailers");
  EXPECT_EQ(value(g, ":scheme"), "http");
}

TEST(H2Translate, TeTrailersIsAToken) {
  bhttp::fields f;
  EXPECT_FALSE(te_trailers(f));
  f.set(bhttp::field::te, "gzip;q=0.5");
  EXPECT_FALSE(te_trailers(f));
  f.set(bhttp::field::te, "gzip, Trailers");
  EXPECT_TRUE(te_trailers(f));  // case-insensitive
  f.set(bhttp::field::te, "gzip, trailers");
  EXPECT_TRUE(te_trailers(f));
  f.set(bhttp::field::te, "trailersx");
  EXPECT_FALSE(te_trailers(f));
}

TEST(H2Translate, ResponseHead) {
  auto h = response_head({{":status", "404"}, {"content-type", "text/plain"}, {"grpc-status", "5"}});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->result_int(), 404u);
  EXPECT_EQ(h->version(), 11u);
  EXPECT_EQ((*h)["content-type"], "text/plain");
  EXPECT_EQ((*h)["grpc-status"], "5");
  EXPECT_FALSE(response_head({{"content-type", "x"}}));          // no :status
  EXPECT_FALSE(response_head({{":status", "abc"}}));
  EXPECT_FALSE(response_head({{":status", "99"}}));
  EXPECT_FALSE(response_head({{":status", "1000"}}));
  EXPECT_FALSE(response_head({{":status", "200 "}}));
}

TEST(H2Translate, TrailerSectionLeavesOutUnsafeFields) {
  EXPECT_EQ(trailer_section({}), "");
  EXPECT_EQ(trailer_section({{"grpc-status", "0"}, {"grpc-message", "ok"}}), "grpc-status: 0\r\ngrpc-message: ok\r\n");
  EXPECT_EQ(trailer_section({{"x-a", "1\r\nx-smuggled: 1"}, {":status", "200"}, {"x-b", "2"}}), "x-b: 2\r\n");
}

}  // namespace
}  // namespace aegis::http::h2
