// Route matching on arbitrary requests: route::Router (virtual host by
// authority, then path and header matchers), the hash key of the matched
// route (route::request_hash, find_cookie) and the allow_peers check
// (config::peers_allowed, the target standing in for a peer's SPIFFE ID) on request values that no codec filtered: HTTP/2
// hands :authority and :path over with far fewer rules than HTTP/1.1.
// The route table comes from a YAML config through the real loader, once.
//
// Input: NUL-separated authority, target, then "name:value" header fields.
// Invariants: a match names a virtual host and a route of the table, and a
// route whose path is `path:` matches only that exact path.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "fuzz_check.h"
#include "route/hash_key.h"
#include "route/router.h"

namespace {

using namespace aegis;

constexpr std::string_view kConfig = R"(listeners:
  - name: ingress
    port: 10000
    route_config: local
route_configs:
  - name: local
    virtual_hosts:
      - name: exact
        domains: ["api.example.com", "api.example.com:8443", "[::1]:10000", "10.0.0.1"]
        routes:
          - match:
              prefix: /v1/
              headers:
                - {name: x-canary, exact: "1"}
                - {name: x-tenant, prefix: "acme-"}
            route: {cluster: backend, hash_policy: [{header: {name: x-user}}, {cookie: {name: session}}, {source_ip: true}]}
          - match: {path: /exact}
            route: {cluster: backend}
          - match:
              prefix: /
              headers: [{name: x-debug, invert: true}]
            route: {cluster: backend, hash_policy: [{cookie: {name: sid}}]}
      - name: suffix
        domains: ["*.example.com", "*.b.example.com"]
        routes:
          - match: {prefix: /static/}
            route: {cluster: backend}
          - match: {prefix: /}
            route: {cluster: backend}
      - name: prefix
        domains: ["www.*", "w.*"]
        routes:
          - match: {path: /}
            route: {cluster: backend}
      - name: any
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: backend}
clusters:
  - name: backend
    lb_policy: ring_hash
    endpoints: ["127.0.0.1:8080"]
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const config::Config cfg = [] {
    auto r = config::load_from_string(kConfig, "fuzz_router.yaml");
    if (!r.ok()) {
      for (const auto& d : r.diagnostics) std::fprintf(stderr, "%s\n", d.str().c_str());
      std::abort();
    }
    return std::move(*r.config);
  }();
  static const route::Router router(cfg.route_configs.front());

  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto next = [&in]() -> std::optional<std::string_view> {
    if (in.empty()) return std::nullopt;
    const auto nul = in.find('\0');
    const auto part = in.substr(0, nul);
    in = nul == std::string_view::npos ? std::string_view() : in.substr(nul + 1);
    return part;
  };
  const auto authority = next().value_or("");
  const auto target = next().value_or("");
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  while (auto field = next()) {
    const auto colon = field->find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(field->substr(0, colon), field->substr(colon + 1));
  }
  const route::HeaderLookup lookup = [&headers](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : headers)
      if (n == name) return v;
    return std::nullopt;
  };

  const auto& rc = cfg.route_configs.front();
  const auto* vhost = router.find_virtual_host(authority);
  const auto match = router.match(authority, target, lookup);
  if (match) {
    FUZZ_CHECK(match->vhost == vhost);
    FUZZ_CHECK(match->vhost >= rc.virtual_hosts.data() &&
               match->vhost < rc.virtual_hosts.data() + rc.virtual_hosts.size());
    const auto& routes = match->vhost->routes;
    FUZZ_CHECK(match->route >= routes.data() && match->route < routes.data() + routes.size());
    if (match->route->match.path) {
      const auto path = target.substr(0, target.find_first_of("?#"));
      FUZZ_CHECK(path == *match->route->match.path);
    }
    (void)route::request_hash(match->route->action.hash_policy, lookup, authority);
  }
  if (auto cookie = lookup("cookie")) (void)route::find_cookie(*cookie, "session");
  static const std::vector<config::PeerMatcher> allow{{"spiffe://aegis.local/ns/demo/sa/web", ""},
                                                      {"", "spiffe://aegis.local/ns/payments/"}};
  const bool allowed = config::peers_allowed(allow, std::optional<std::string>(std::string(target)));
  FUZZ_CHECK(!allowed || target.starts_with("spiffe://aegis.local/ns/"));
  return 0;
}
