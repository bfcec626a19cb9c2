#include "route/router.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace aegis::route {
namespace {

using config::HeaderMatcher;
using config::Route;
using config::RouteConfiguration;
using config::VirtualHost;

Route prefix_route(std::string name, std::string prefix) {
  Route r;
  r.name = std::move(name);
  r.match.prefix = std::move(prefix);
  r.action.cluster = r.name;
  return r;
}

Route path_route(std::string name, std::string path) {
  Route r;
  r.name = std::move(name);
  r.match.path = std::move(path);
  r.action.cluster = r.name;
  return r;
}

VirtualHost vhost(std::string name, std::vector<std::string> domains) {
  VirtualHost v;
  v.name = std::move(name);
  v.domains = std::move(domains);
  v.routes.push_back(prefix_route(v.name + "-all", "/"));
  return v;
}

class Headers {
 public:
  Headers(std::initializer_list<std::pair<const std::string, std::string>> h) : h_(h) {}
  HeaderLookup lookup() const {
    return [this](std::string_view name) -> std::optional<std::string_view> {
      auto it = h_.find(std::string(name));
      if (it == h_.end()) return std::nullopt;
      return std::string_view(it->second);
    };
  }

 private:
  std::map<std::string, std::string> h_;
};

const HeaderLookup kNoHeaders = [](std::string_view) { return std::optional<std::string_view>{}; };

class VhostSelection : public ::testing::Test {
 protected:
  VhostSelection() {
    rc_.name = "rc";
    rc_.virtual_hosts = {
        vhost("catch-all", {"*"}),
        vhost("prefix-short", {"api.*"}),
        vhost("prefix-long", {"api.internal.*"}),
        vhost("suffix-short", {"*.example.com"}),
        vhost("suffix-long", {"*.api.example.com"}),
        vhost("suffix-dash", {"*-bar.foo.com"}),
        vhost("exact", {"www.example.com", "Mixed.Example.ORG"}),
        vhost("with-port", {"ported.example.com:8443"}),
    };
  }

  std::string pick(std::string_view authority) {
    const Router router(rc_);
    const auto m = router.match(authority, "/", kNoHeaders);
    return m ? m->vhost->name : std::string("<none>");
  }

  RouteConfiguration rc_;
};

TEST_F(VhostSelection, ExactBeatsWildcards) {
  EXPECT_EQ(pick("www.example.com"), "exact");
  EXPECT_EQ(pick("mixed.example.org"), "exact");
}

TEST_F(VhostSelection, CaseInsensitive) {
  EXPECT_EQ(pick("WWW.Example.COM"), "exact");
  EXPECT_EQ(pick("MIXED.EXAMPLE.ORG"), "exact");
  EXPECT_EQ(pick("X.EXAMPLE.com"), "suffix-short");
  EXPECT_EQ(pick("API.foo"), "prefix-short");
}

TEST_F(VhostSelection, LongestSuffixWins) {
  EXPECT_EQ(pick("foo.example.com"), "suffix-short");
  EXPECT_EQ(pick("v1.api.example.com"), "suffix-long");
  EXPECT_EQ(pick("baz-bar.foo.com"), "suffix-dash");
}

TEST_F(VhostSelection, WildcardNeedsAtLeastOneCharacter) {
  EXPECT_EQ(pick(".example.com"), "catch-all");
  EXPECT_EQ(pick("-bar.foo.com"), "catch-all");
  EXPECT_EQ(pick("api."), "catch-all");
  EXPECT_EQ(pick("example.com"), "catch-all");
}

TEST_F(VhostSelection, SuffixBeatsPrefix) {
  // Both "api.*" and "*.example.com" match; suffix wildcards are searched first.
  EXPECT_EQ(pick("api.example.com"), "suffix-short");
}

TEST_F(VhostSelection, LongestPrefixWins) {
  EXPECT_EQ(pick("api.foo"), "prefix-short");
  EXPECT_EQ(pick("api.internal.svc"), "prefix-long");
}

TEST_F(VhostSelection, CatchAllLast) {
  EXPECT_EQ(pick("unknown.host"), "catch-all");
  EXPECT_EQ(pick(""), "catch-all");
}

TEST_F(VhostSelection, PortIsStrippedWhenHostPortDoesNotMatch) {
  EXPECT_EQ(pick("www.example.com:8080"), "exact");
  EXPECT_EQ(pick("foo.example.com:8080"), "suffix-short");
  EXPECT_EQ(pick("unknown.host:80"), "catch-all");
}

TEST_F(VhostSelection, HostPortDomainMatchesOnlyThatPort) {
  EXPECT_EQ(pick("ported.example.com:8443"), "with-port");
  EXPECT_EQ(pick("PORTED.example.com:8443"), "with-port");
  // Other port, or none: falls to the suffix wildcard on the bare host.
  EXPECT_EQ(pick("ported.example.com:9000"), "suffix-short");
  EXPECT_EQ(pick("ported.example.com"), "suffix-short");
}

TEST_F(VhostSelection, PortStrippedBeforeCatchAll) {
  // "*" must not shadow a specific domain just because the authority has a port.
  rc_.virtual_hosts = {vhost("catch-all", {"*"}), vhost("exact", {"a.com"})};
  EXPECT_EQ(pick("a.com:8080"), "exact");
}

TEST_F(VhostSelection, Ipv6Authorities) {
  rc_.virtual_hosts = {vhost("v6", {"[::1]"}), vhost("v6-port", {"[::1]:9000"})};
  EXPECT_EQ(pick("[::1]"), "v6");
  EXPECT_EQ(pick("[::1]:8080"), "v6");
  EXPECT_EQ(pick("[::1]:9000"), "v6-port");
  EXPECT_EQ(pick("::1"), "<none>");  // not a valid authority; no port split
}

TEST_F(VhostSelection, NoCatchAllNoMatch) {
  rc_.virtual_hosts = {vhost("exact", {"a.com"})};
  EXPECT_EQ(pick("b.com"), "<none>");
  const Router router(rc_);
  EXPECT_EQ(router.find_virtual_host("b.com"), nullptr);
  EXPECT_EQ(router.find_virtual_host("A.com"), &rc_.virtual_hosts[0]);
}

TEST_F(VhostSelection, DuplicateDomainFirstVhostWins) {
  rc_.virtual_hosts = {vhost("first", {"a.com", "*.b.com"}), vhost("second", {"a.com", "*.b.com"})};
  EXPECT_EQ(pick("a.com"), "first");
  EXPECT_EQ(pick("x.b.com"), "first");
}

TEST_F(VhostSelection, ManyExactDomains) {
  rc_.virtual_hosts.clear();
  for (int i = 0; i < 200; ++i) {
    rc_.virtual_hosts.push_back(vhost("h" + std::to_string(i), {"host" + std::to_string(i) + ".svc"}));
  }
  const Router router(rc_);
  for (int i = 0; i < 200; ++i) {
    const auto* vh = router.find_virtual_host("HOST" + std::to_string(i) + ".svc:80");
    ASSERT_NE(vh, nullptr) << i;
    EXPECT_EQ(vh->name, "h" + std::to_string(i));
  }
  EXPECT_EQ(router.find_virtual_host("host200.svc"), nullptr);
}

class RouteSelection : public ::testing::Test {
 protected:
  std::string pick(std::string_view target, const HeaderLookup& headers = kNoHeaders) {
    RouteConfiguration rc;
    rc.virtual_hosts.push_back(vh_);
    const Router router(rc);
    const auto m = router.match("svc", target, headers);
    return m ? m->route->name : std::string("<none>");
  }

  VirtualHost vh_ = [] {
    VirtualHost v;
    v.name = "svc";
    v.domains = {"svc"};
    return v;
  }();
};

TEST_F(RouteSelection, FirstMatchWins) {
  vh_.routes = {prefix_route("api", "/api"), prefix_route("api-v1", "/api/v1"),
                prefix_route("root", "/")};
  EXPECT_EQ(pick("/api/v1/users"), "api");
  EXPECT_EQ(pick("/other"), "root");
}

TEST_F(RouteSelection, ExactPath) {
  vh_.routes = {path_route("health", "/healthz"), prefix_route("root", "/")};
  EXPECT_EQ(pick("/healthz"), "health");
  EXPECT_EQ(pick("/healthz/"), "root");
  EXPECT_EQ(pick("/healthzz"), "root");
  EXPECT_EQ(pick("/HEALTHZ"), "root");  // case-sensitive, as Envoy's default
}

TEST_F(RouteSelection, QueryAndFragmentIgnored) {
  vh_.routes = {path_route("health", "/healthz"), prefix_route("api", "/api/")};
  EXPECT_EQ(pick("/healthz?verbose=1"), "health");
  EXPECT_EQ(pick("/healthz#frag"), "health");
  EXPECT_EQ(pick("/api/x?y=/z"), "api");
  // The query is not part of the path: "/api?x=/api/" must not match prefix "/api/".
  EXPECT_EQ(pick("/api?q=/api/"), "<none>");
}

TEST_F(RouteSelection, NoRouteMatches) {
  vh_.routes = {prefix_route("api", "/api")};
  EXPECT_EQ(pick("/web"), "<none>");
}

TEST_F(RouteSelection, HeaderExact) {
  Route r = prefix_route("canary", "/");
  r.match.headers.push_back(HeaderMatcher{"x-canary", "1", std::nullopt, false});
  vh_.routes = {r, prefix_route("default", "/")};
  EXPECT_EQ(pick("/", Headers{{"x-canary", "1"}}.lookup()), "canary");
  EXPECT_EQ(pick("/", Headers{{"x-canary", "10"}}.lookup()), "default");
  EXPECT_EQ(pick("/", Headers{}.lookup()), "default");
}

TEST_F(RouteSelection, HeaderPrefix) {
  Route r = prefix_route("grpc", "/");
  r.match.headers.push_back(HeaderMatcher{"content-type", std::nullopt, "application/grpc", false});
  vh_.routes = {r, prefix_route("default", "/")};
  EXPECT_EQ(pick("/", Headers{{"content-type", "application/grpc+proto"}}.lookup()), "grpc");
  EXPECT_EQ(pick("/", Headers{{"content-type", "application/json"}}.lookup()), "default");
}

TEST_F(RouteSelection, HeaderPresence) {
  Route r = prefix_route("traced", "/");
  r.match.headers.push_back(HeaderMatcher{"x-trace", std::nullopt, std::nullopt, false});
  vh_.routes = {r, prefix_route("default", "/")};
  EXPECT_EQ(pick("/", Headers{{"x-trace", ""}}.lookup()), "traced");
  EXPECT_EQ(pick("/", Headers{}.lookup()), "default");
}

TEST_F(RouteSelection, InvertedMatchers) {
  Route not_v1 = prefix_route("not-v1", "/");
  not_v1.match.headers.push_back(HeaderMatcher{"x-version", "v1", std::nullopt, true});
  Route absent = prefix_route("no-auth", "/");
  absent.match.headers.push_back(HeaderMatcher{"authorization", std::nullopt, std::nullopt, true});
  vh_.routes = {not_v1, absent, prefix_route("default", "/")};

  EXPECT_EQ(pick("/", Headers{{"x-version", "v2"}, {"authorization", "x"}}.lookup()), "not-v1");
  EXPECT_EQ(pick("/", Headers{{"x-version", "v1"}}.lookup()), "no-auth");
  EXPECT_EQ(pick("/", Headers{{"x-version", "v1"}, {"authorization", "x"}}.lookup()), "default");
  // Envoy semantics: a missing header never satisfies an inverted value matcher.
  EXPECT_EQ(pick("/", Headers{{"authorization", "x"}}.lookup()), "default");
}

TEST_F(RouteSelection, InvertedPrefix) {
  Route r = prefix_route("not-grpc", "/");
  r.match.headers.push_back(HeaderMatcher{"content-type", std::nullopt, "application/grpc", true});
  vh_.routes = {r, prefix_route("default", "/")};
  EXPECT_EQ(pick("/", Headers{{"content-type", "text/plain"}}.lookup()), "not-grpc");
  EXPECT_EQ(pick("/", Headers{{"content-type", "application/grpc"}}.lookup()), "default");
}

TEST_F(RouteSelection, AllHeaderMatchersMustHold) {
  Route r = path_route("both", "/x");
  r.match.headers.push_back(HeaderMatcher{"a", "1", std::nullopt, false});
  r.match.headers.push_back(HeaderMatcher{"b", std::nullopt, "2", false});
  vh_.routes = {r, prefix_route("default", "/")};
  EXPECT_EQ(pick("/x", Headers{{"a", "1"}, {"b", "22"}}.lookup()), "both");
  EXPECT_EQ(pick("/x", Headers{{"a", "1"}}.lookup()), "default");
  EXPECT_EQ(pick("/x", Headers{{"b", "2"}}.lookup()), "default");
  EXPECT_EQ(pick("/y", Headers{{"a", "1"}, {"b", "2"}}.lookup()), "default");
}

TEST_F(RouteSelection, HeadersOnlyLookedUpWhenPathMatches) {
  Route r = path_route("x", "/x");
  r.match.headers.push_back(HeaderMatcher{"a", "1", std::nullopt, false});
  vh_.routes = {r};
  int lookups = 0;
  const HeaderLookup counting = [&](std::string_view) {
    ++lookups;
    return std::optional<std::string_view>{"1"};
  };
  EXPECT_EQ(pick("/y", counting), "<none>");
  EXPECT_EQ(lookups, 0);
  EXPECT_EQ(pick("/x", counting), "x");
  EXPECT_EQ(lookups, 1);
}

TEST(Router, MatchPointsIntoTheConfiguration) {
  RouteConfiguration rc;
  rc.virtual_hosts = {vhost("a", {"a.com"}), vhost("b", {"b.com"})};
  const Router router(rc);
  const auto m = router.match("b.com", "/anything", kNoHeaders);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->vhost, &rc.virtual_hosts[1]);
  EXPECT_EQ(m->route, &rc.virtual_hosts[1].routes[0]);
  EXPECT_EQ(m->route->action.cluster, "b-all");
}

TEST(Router, EmptyConfiguration) {
  const RouteConfiguration rc;
  const Router router(rc);
  EXPECT_FALSE(router.match("a.com", "/", kNoHeaders).has_value());
}

}  // namespace
}  // namespace aegis::route
