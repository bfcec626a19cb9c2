// Request limits: 431 (header bytes, header count), 414 (request line),
// 413 (body per route and per listener). Each limit is also checked from
// below, so a proxy that refuses everything cannot pass.
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

class Limits : public ProxyTest<> {
 protected:
  Limits() : ProxyTest("limits") {}
  void SetUp() override {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.limits_yaml =
        "      max_request_header_bytes: 4096\n"
        "      max_request_headers: 20\n"
        "      max_request_line_bytes: 1024\n"
        "      max_request_body_bytes: 65536\n";
    cfg.extra_routes_yaml =
        "          - name: small-bodies\n"
        "            match:\n"
        "              prefix: /sha256\n"
        "            route:\n"
        "              cluster: backend\n"
        "              max_request_body_bytes: 1024\n"
        "          - name: limited\n"
        "            match:\n"
        "              prefix: /limited\n"
        "            route:\n"
        "              cluster: backend\n"
        "              rate_limit: {requests_per_second: 1, burst: 2}\n";
    start_proxy(std::move(cfg));
  }

  RawResult get_with_headers(const std::string& target, const std::string& headers) {
    return raw_exchange(cfg_.listener_port,
                        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers +
                            "\r\n",
                        5s);
  }
  RawResult post(const std::string& target, const std::string& body, bool chunked) {
    std::string req = "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (chunked) {
      req += "Transfer-Encoding: chunked\r\n\r\n";
      for (std::size_t off = 0; off < body.size(); off += 256) {
        const std::string piece = body.substr(off, 256);
        char size[16];
        std::snprintf(size, sizeof size, "%zx", piece.size());
        req += std::string(size) + "\r\n" + piece + "\r\n";
      }
      req += "0\r\n\r\n";
    } else {
      req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    }
    return raw_exchange(cfg_.listener_port, req, 5s);
  }

};

// A route's local rate limit: a burst of 2 passes, the third request at once
// gets 429 with retry-after, is counted, and other routes are not limited.
TEST_F(Limits, RouteRateLimitAnswers429WithRetryAfter) {
  const auto first = get_with_headers("/limited/a", "");
  const auto second = get_with_headers("/limited/b", "");
  const auto third = get_with_headers("/limited/c", "");
  EXPECT_NE(first.status, 429) << first.data;
  EXPECT_NE(first.status, 0) << first.data;
  EXPECT_NE(second.status, 429) << second.data;
  ASSERT_EQ(third.status, 429) << third.data;
  EXPECT_NE(third.data.find("\r\nretry-after: 1\r\n"), std::string::npos) << third.data;
  EXPECT_EQ(proxy_->metric("aegis_http_rate_limited_total", {{"route", "limited"}}).value_or(0), 1);
  for (int i = 0; i < 5; ++i) {
    const auto other = get_with_headers("/status/200", "");
    EXPECT_EQ(other.status, 200) << other.data;
  }
  EXPECT_EQ(proxy_->metric("aegis_http_rate_limited_total", {{"route", "limited"}}).value_or(0), 1);
}

TEST_F(Limits, HeaderBytesOverLimitIs431) {
  EXPECT_EQ(get_with_headers("/status/200", "x-big: " + std::string(3000, 'a') + "\r\n").status, 200);
  const RawResult r = get_with_headers("/status/200", "x-big: " + std::string(6000, 'a') + "\r\n");
  EXPECT_EQ(r.status, 431) << r.data.substr(0, 300);
}

TEST_F(Limits, ManySmallHeadersOverByteLimitIs431) {
  std::string headers;
  for (int i = 0; i < 15; ++i) headers += "x-h" + std::to_string(i) + ": " + std::string(400, 'b') + "\r\n";
  EXPECT_EQ(get_with_headers("/status/200", headers).status, 431);
}

TEST_F(Limits, HeaderCountOverLimitIs431) {
  std::string fifteen;
  for (int i = 0; i < 15; ++i) fifteen += "x-h" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(get_with_headers("/status/200", fifteen).status, 200);
  std::string thirty;
  for (int i = 0; i < 30; ++i) thirty += "x-h" + std::to_string(i) + ": v\r\n";
  const RawResult r = get_with_headers("/status/200", thirty);
  EXPECT_EQ(r.status, 431) << r.data.substr(0, 300);
}

TEST_F(Limits, RequestLineOverLimitIs414) {
  EXPECT_EQ(get_with_headers("/status/200?pad=" + std::string(900, 'p'), "").status, 200);
  const RawResult r = get_with_headers("/status/200?pad=" + std::string(1100, 'p'), "");
  EXPECT_EQ(r.status, 414) << r.data.substr(0, 300);
}

TEST_F(Limits, RouteBodyLimitWithContentLengthIs413) {
  const std::string at_limit(1024, 'x');
  const RawResult ok = post("/sha256", at_limit, false);
  EXPECT_EQ(ok.status, 200) << ok.data;
  EXPECT_NE(ok.data.find(sha256_hex(at_limit) + " 1024"), std::string::npos) << ok.data;
  const RawResult r = post("/sha256", std::string(2048, 'x'), false);
  EXPECT_EQ(r.status, 413) << r.data.substr(0, 300);
}

TEST_F(Limits, RouteBodyLimitWithChunkedBodyIs413) {
  const std::string at_limit(1024, 'y');
  const RawResult ok = post("/sha256", at_limit, true);
  EXPECT_EQ(ok.status, 200) << ok.data;
  EXPECT_NE(ok.data.find(sha256_hex(at_limit) + " 1024"), std::string::npos) << ok.data;
  const RawResult r = post("/sha256", std::string(4096, 'y'), true);
  EXPECT_EQ(r.status, 413) << r.data.substr(0, 300);
}

TEST_F(Limits, ListenerBodyLimitAppliesToOtherRoutes) {
  const std::string under(60000, 'z');
  const RawResult ok = post("/echo", under, false);
  EXPECT_EQ(ok.status, 200);
  EXPECT_NE(ok.data.find(under), std::string::npos) << "echoed body missing";
  const RawResult r = post("/echo", std::string(100000, 'z'), false);
  EXPECT_EQ(r.status, 413) << r.data.substr(0, 300);
}

TEST_F(Limits, ProxyKeepsServingAfterRefusals) {
  for (int i = 0; i < 3; ++i) {
    get_with_headers("/status/200", "x-big: " + std::string(6000, 'a') + "\r\n");
    post("/sha256", std::string(2048, 'x'), false);
  }
  const auto r = curl(dir_.path(), {url(cfg_.listener_port, "/status/200")});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(proxy_->process().running());
}

}  // namespace
}  // namespace aegis::itest
