// Attack suite, path confusion: a request whose path means one thing to the
// router and another to the upstream reaches what a route was meant to keep
// it from. Two upstreams: /internal/ routes to "internal", everything else
// to "public"; each attack dresses an /internal/ path up for the public route
// (dot segments, %2e, mixed-case escapes, backslashes, doubled and escaped
// slashes). With normalization (docs/configuration.md, "Path normalization")
// the router and the upstream see one and the same path.
#include "attack_tools.h"
#include "h2_client.h"
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

using attack::RawConn;
using attack::upstream_seen;

class PathConfusion : public ProxyTest<> {
 protected:
  PathConfusion() : ProxyTest("attacks_path") {}
  void start(const std::string& listener_extra = {}) {
    upstream_ = std::make_unique<Upstream>(dir_.path(), "public");
    internal_ = std::make_unique<Upstream>(dir_.path(), "internal");
    auto cfg = config_for({upstream_->endpoint()});
    cfg.listener_extra_yaml = listener_extra;
    cfg.extra_routes_yaml =
        "          - name: internal\n"
        "            match:\n"
        "              prefix: /internal/\n"
        "            route:\n"
        "              cluster: internal\n";
    cfg.top_yaml = "  - name: internal\n"
                   "    connect_timeout: 1s\n"
                   "    lb_policy: round_robin\n"
                   "    endpoints: [\"" + internal_->endpoint() + "\"]\n";
    start_proxy(cfg);
  }
  // One GET on its own connection: the status.
  int get(const std::string& target) {
    RawConn c(cfg_.listener_port);
    c.send("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    c.wait_closed(20s);
    return c.status();
  }
  std::vector<std::string> targets(Upstream& u) {
    std::vector<std::string> out;
    for (const auto& r : upstream_seen(u.port())) out.push_back(r.target);
    return out;
  }
  std::string both() {
    return "public: " + attack::describe(upstream_seen(upstream_->port())) +
           "\ninternal: " + attack::describe(upstream_seen(internal_->port()));
  }
  std::unique_ptr<Upstream> internal_;
};

using Targets = std::vector<std::string>;

// CVE-2019-9901 (Envoy: no path normalization before routing),
// CVE-2021-41773 / CVE-2021-42013 (Apache httpd: %2e / .%2e traversal),
// CVE-2009-2629 (nginx: "../" handling): each reaches the internal upstream
// as the plain path, and the public one sees none of them.
TEST_F(PathConfusion, DotSegmentsAndEncodedDotsAreResolvedBeforeRouting) {
  start();
  const Targets attacks = {
      "/public/../internal/a",       "/public/%2e%2e/internal/b", "/public/%2E%2e/internal/c",
      "/public/.%2e/internal/d",     "/public/./../internal/e",   "/public\\..\\internal\\f",
      "/../../internal/g",           "/%69nternal/h",             "/public/%2e%2E/internal/i?q=/../x",
  };
  for (const auto& t : attacks) EXPECT_NE(get(t), 0) << t;
  EXPECT_EQ(targets(*internal_), (Targets{"/internal/a", "/internal/b", "/internal/c", "/internal/d", "/internal/e",
                                          "/internal/f", "/internal/g", "/internal/h", "/internal/i?q=/../x"}))
      << both();
  EXPECT_TRUE(targets(*upstream_).empty()) << both();
  // An ordinary path below the public route is forwarded normalized too.
  EXPECT_NE(get("/public/a/./b/../c%7e"), 0);
  EXPECT_EQ(targets(*upstream_), (Targets{"/public/a/c~"})) << both();
}

// Malformed escapes and fragments are refused rather than guessed at:
// 400, counted (reason invalid_path), nothing forwarded. CVE-2023-45539
// (HAProxy accepted '#' in the path).
TEST_F(PathConfusion, MalformedEscapesAndFragmentsAre400) {
  start();
  const Labels invalid = {{"listener", cfg_.listener_name}, {"reason", "invalid_path"}};
  for (const std::string t : {"/internal%2", "/a%zz/internal/x", "/public/x#/../../internal/y"}) {
    EXPECT_EQ(get(t), 400) << t;
  }
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", invalid, 3, 10s));
  EXPECT_TRUE(targets(*upstream_).empty()) << both();
  EXPECT_TRUE(targets(*internal_).empty()) << both();
  EXPECT_TRUE(attack::bystander_served(cfg_.listener_port));
}

// Doubled slashes and escaped slashes (CVE-2021-29492, Envoy: %2F / %5C
// bypassed route matching). Defaults as Envoy's: "//" is kept and
// "%2F" kept as is (an upstream that decodes it is the operator's choice);
// the options merge_slashes and path_with_escaped_slashes_action close both.
TEST_F(PathConfusion, DoubledAndEscapedSlashesFollowTheListenerOptions) {
  start();
  EXPECT_NE(get("//internal/a"), 0);
  EXPECT_NE(get("/public/..%2Finternal/b"), 0);
  // Defaults: neither resolves into /internal/; both go to the public
  // upstream exactly as documented (not decoded, escapes upper-cased).
  EXPECT_EQ(targets(*upstream_), (Targets{"//internal/a", "/public/..%2Finternal/b"})) << both();
  EXPECT_TRUE(targets(*internal_).empty()) << both();
}

TEST_F(PathConfusion, MergeSlashesAndRejectedEscapedSlashes) {
  start("    merge_slashes: true\n    path_with_escaped_slashes_action: reject_request\n");
  EXPECT_NE(get("//internal///a"), 0);
  EXPECT_EQ(get("/public/..%2Finternal/b"), 400);
  EXPECT_EQ(get("/public/..%5cinternal/c"), 400);
  EXPECT_EQ(targets(*internal_), (Targets{"/internal/a"})) << both();
  EXPECT_TRUE(targets(*upstream_).empty()) << both();
}

TEST_F(PathConfusion, UnescapedSlashesAreRoutedAsSlashes) {
  start("    path_with_escaped_slashes_action: unescape_and_forward\n");
  EXPECT_NE(get("/public/..%2Finternal%2fa"), 0);
  EXPECT_EQ(targets(*internal_), (Targets{"/internal/a"})) << both();
  EXPECT_TRUE(targets(*upstream_).empty()) << both();
}

// The same over HTTP/2 (:path is normalized the same way before routing).
TEST_F(PathConfusion, Http2PathIsNormalizedToo) {
  start();
  h2::Client c(cfg_.listener_port);
  ASSERT_TRUE(c.handshake()) << c.error();
  const std::string a = "127.0.0.1:" + std::to_string(cfg_.listener_port);
  EXPECT_NE(c.request(h2::request_headers(a, "/public/%2e%2E/internal/h2")).status, 0);
  EXPECT_EQ(c.request(h2::request_headers(a, "/public/%zz")).status, 400);
  EXPECT_EQ(targets(*internal_), (Targets{"/internal/h2"})) << both();
  EXPECT_TRUE(targets(*upstream_).empty()) << both();
}

// Normalization can be turned off (normalize_path: false): then the path goes
// through untouched, as documented (this is the configuration the CVEs above
// describe; the test shows the switch does what it says).
TEST_F(PathConfusion, NormalizationOffForwardsThePathUntouched) {
  start("    normalize_path: false\n");
  EXPECT_NE(get("/public/%2e%2e/internal/x"), 0);
  EXPECT_EQ(targets(*upstream_), (Targets{"/public/%2e%2e/internal/x"})) << both();
  EXPECT_TRUE(targets(*internal_).empty()) << both();
}

}  // namespace
}  // namespace aegis::itest
