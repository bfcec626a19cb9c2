// route_configs[]: virtual hosts, routes, matches and header rewrites
// (xDS RouteConfiguration).
#include <set>

#include "config/sections.h"

namespace aegis::config::detail {
namespace {

void check_path_start(const Object& o, std::string_view field, const std::optional<std::string>& v) {
  if (v && (v->empty() || v->front() != '/')) {
    o.diags().error(o.value_mark(field), std::string(field) + ": must start with '/', got '" + *v + "'");
  }
}

void parse_header_matcher(const YAML::Node& node, const std::string& path, const YAML::Mark& at,
                          Diagnostics& d, HeaderMatcher& m) {
  const Object o(node, at, "header matcher", path, {"name", "exact", "prefix", "invert"}, d);
  if (!o.is_mapping()) return;
  if (o.require("name")) read_header_name(o, "name", m.name);
  std::string s;
  if (o.read_string("exact", s)) m.exact = s;
  if (o.read_string("prefix", s)) m.prefix = s;
  if (o.has("exact") && o.has("prefix")) {
    d.error(o.value_mark("prefix"), "header matcher '" + m.name +
                                        "' sets both 'exact' and 'prefix'; use one (or neither to match presence)");
  }
  o.read_bool("invert", m.invert);
}

void parse_match(const Object& route, RouteMatch& m) {
  const Object o(route.get("match"), route.value_mark("match"), "match", route.path("match"),
                 {"prefix", "path", "headers"}, route.diags());
  if (!o.is_mapping()) return;
  std::string s;
  if (o.read_string("prefix", s)) m.prefix = s;
  if (o.read_string("path", s)) m.path = s;
  // A null value counts as absent (the /config_dump shows unset ones as null).
  if (o.has("prefix") && o.has("path")) {
    o.diags().error(o.value_mark("path"), "match sets both 'prefix' and 'path'; use exactly one");
  } else if (!o.has("prefix") && !o.has("path")) {
    o.diags().error(o.mark(), "match needs exactly one of 'prefix' or 'path' (prefix: / matches everything)");
  }
  check_path_start(o, "prefix", m.prefix);
  check_path_start(o, "path", m.path);
  o.for_each("headers", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
    parse_header_matcher(item, p, at, o.diags(), m.headers.emplace_back());
  });
}

void parse_headers_to_add(const Object& o, std::string_view field, std::vector<HeaderValue>& out) {
  o.for_each(field, [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
    const Object h(item, at, std::string(field) + " entry", p, {"name", "value"}, o.diags());
    if (!h.is_mapping()) return;
    HeaderValue hv;
    if (h.require("name")) read_header_name(h, "name", hv.name);
    if (h.require("value") && h.read_string("value", hv.value) && !is_safe_header_value(hv.value)) {
      o.diags().error(h.value_mark("value"), "value: must not contain CR, LF or NUL characters");
    }
    out.push_back(std::move(hv));
  });
}

void parse_headers_to_remove(const Object& o, std::string_view field, std::vector<std::string>& out) {
  std::vector<std::string> names;
  if (!o.read_strings(field, names)) return;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!is_header_token(names[i])) {
      o.diags().error_at(o.path(field) + "[" + std::to_string(i) + "]",
                         std::string(field) + ": '" + names[i] + "' is not a valid header name");
    }
    out.push_back(to_lower(names[i]));
  }
}

// hash_policy: [{header: {name: x-user}}, {cookie: {name: session}}, {source_ip: true}]
void parse_hash_policy(const Object& action, std::vector<HashPolicy>& out) {
  action.for_each("hash_policy", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at) {
    const Object rule(item, at, "hash_policy entry", p, {"header", "cookie", "source_ip"}, action.diags());
    if (!rule.is_mapping()) return;
    const int kinds = int{rule.has("header")} + int{rule.has("cookie")} + int{rule.has("source_ip")};
    if (kinds != 1) {
      action.diags().error(rule.mark(), "hash_policy entry: set exactly one of 'header: {name: ...}', "
                                        "'cookie: {name: ...}' or 'source_ip: true'");
      return;
    }
    HashPolicy hp;
    if (rule.has("source_ip")) {
      bool on = false;
      if (!rule.read_bool("source_ip", on)) return;
      if (!on) {
        action.diags().error(rule.value_mark("source_ip"),
                             "source_ip: only 'true' means something here; remove the entry instead");
        return;
      }
      hp.kind = HashPolicy::Kind::kSourceIp;
    } else {
      const std::string_view field = rule.has("header") ? "header" : "cookie";
      hp.kind = field == "header" ? HashPolicy::Kind::kHeader : HashPolicy::Kind::kCookie;
      const Object named(rule.get(field), rule.value_mark(field), std::string(field), rule.path(field), {"name"},
                         action.diags());
      if (!named.is_mapping() || !named.require("name")) return;
      if (hp.kind == HashPolicy::Kind::kHeader) {
        if (!read_header_name(named, "name", hp.name)) return;
      } else if (!named.read_name("name", hp.name)) {
        return;
      } else if (!is_header_token(hp.name)) {  // RFC 6265: a cookie name is a token
        action.diags().error(named.value_mark("name"), "name: '" + hp.name + "' is not a valid cookie name");
        return;
      }
    }
    out.push_back(std::move(hp));
  });
}

void parse_action(const Object& route, RouteAction& a) {
  const Object o(route.get("route"), route.value_mark("route"), "route action", route.path("route"),
                 {"cluster", "timeout", "max_request_body_bytes", "request_headers_to_add",
                  "request_headers_to_remove", "response_headers_to_add", "response_headers_to_remove",
                  "rate_limit", "idle_timeout", "retry_policy", "hash_policy"},
                 route.diags());
  if (!o.is_mapping()) return;
  o.read_name("cluster", a.cluster);
  o.read_duration("timeout", a.timeout);
  o.read_duration("idle_timeout", a.idle_timeout);
  if (o.has("retry_policy")) parse_retry_policy(o, a.retry_policy.emplace());
  std::uint64_t body = 0;
  if (o.read_uint("max_request_body_bytes", 0, UINT64_MAX, body)) a.max_request_body_bytes = body;
  parse_headers_to_add(o, "request_headers_to_add", a.request_headers_to_add);
  parse_headers_to_remove(o, "request_headers_to_remove", a.request_headers_to_remove);
  parse_headers_to_add(o, "response_headers_to_add", a.response_headers_to_add);
  parse_headers_to_remove(o, "response_headers_to_remove", a.response_headers_to_remove);
  parse_hash_policy(o, a.hash_policy);
  if (o.has("rate_limit")) {
    const Object rl(o.get("rate_limit"), o.value_mark("rate_limit"), "rate_limit", o.path("rate_limit"),
                    {"requests_per_second", "burst"}, o.diags());
    if (!rl.is_mapping()) return;
    RateLimit limit;
    if (rl.require("requests_per_second")) rl.read_u32("requests_per_second", 1, limit.requests_per_second);
    limit.burst = limit.requests_per_second;
    rl.read_u32("burst", 1, limit.burst);
    a.rate_limit = limit;
  }
}

void parse_route(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                 Route& r) {
  const Object o(node, at, "route", path, {"name", "match", "route", "allow_peers"}, d);
  if (!o.is_mapping()) return;
  o.read_string("name", r.name);
  if (o.require("match")) parse_match(o, r.match);
  if (o.require("route")) parse_action(o, r.action);
  read_peer_matchers(o, "allow_peers", r.allow_peers);
}

// "*", "*SUFFIX" ("*.example.com"), "PREFIX*" ("api.*"), or an exact host
// (optionally ":port"): a wildcard only as the whole, first or last character.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.find_first_of(" \t/") != std::string_view::npos) return false;
  if (d == "*") return true;
  const auto star = d.find('*');
  if (star == std::string_view::npos) return true;
  return (star == 0 || star == d.size() - 1) && d.find('*', star + 1) == std::string_view::npos;
}

void parse_virtual_host(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                        VirtualHost& vh) {
  const Object o(node, at, "virtual host", path, {"name", "domains", "routes"}, d);
  if (!o.is_mapping()) return;
  o.read_name("name", vh.name);
  if (o.require("domains") && o.read_strings("domains", vh.domains)) {
    if (vh.domains.empty()) d.error(o.value_mark("domains"), "domains: needs at least one entry (\"*\" for any)");
    for (std::size_t i = 0; i < vh.domains.size(); ++i) {
      vh.domains[i] = to_lower(vh.domains[i]);
      if (!valid_domain(vh.domains[i])) {
        d.error_at(o.path("domains") + "[" + std::to_string(i) + "]",
                   "domains: '" + vh.domains[i] +
                       "' is not a domain; expected \"*\", \"*.example.com\", \"api.*\" or \"api.example.com[:port]\"");
      }
    }
  }
  o.for_each("routes", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at2) {
    parse_route(item, p, at2, d, vh.routes.emplace_back());
  });
}

void parse_route_config(const YAML::Node& node, const std::string& path, const YAML::Mark& at, Diagnostics& d,
                        RouteConfiguration& rc) {
  const Object o(node, at, "route config", path, {"name", "virtual_hosts"}, d);
  if (!o.is_mapping()) return;
  o.read_name("name", rc.name);
  o.for_each("virtual_hosts", [&](const YAML::Node& item, const std::string& p, const YAML::Mark& at2) {
    parse_virtual_host(item, p, at2, d, rc.virtual_hosts.emplace_back());
  });
  // A request's host must select one virtual host: names and domains are unique.
  std::set<std::string> names;
  std::map<std::string, std::string> domains;  // domain → virtual host
  for (std::size_t i = 0; i < rc.virtual_hosts.size(); ++i) {
    const VirtualHost& vh = rc.virtual_hosts[i];
    const std::string vh_path = o.path("virtual_hosts") + "[" + std::to_string(i) + "]";
    if (!vh.name.empty() && !names.insert(vh.name).second) {
      d.error_at(vh_path + ".name", "duplicate virtual host name '" + vh.name + "' in route config '" + rc.name + "'");
    }
    for (std::size_t j = 0; j < vh.domains.size(); ++j) {
      const auto [it, fresh] = domains.emplace(vh.domains[j], vh.name);
      if (!fresh) {
        d.error_at(vh_path + ".domains[" + std::to_string(j) + "]",
                   "domain '" + vh.domains[j] + "' is already served by virtual host '" + it->second + "'");
      }
    }
  }
}

}  // namespace

bool read_header_name(const Object& obj, std::string_view field, std::string& out) {
  std::string name;
  if (!obj.read_string(field, name)) return false;
  if (!is_header_token(name)) {
    obj.diags().error(obj.value_mark(field),
                      std::string(field) + ": '" + name + "' is not a valid header name (letters, digits, !#$%&'*+-.^_`|~)");
    return false;
  }
  out = to_lower(name);
  return true;
}

void parse_route_configs(const Object& top, Config& out) {
  top.for_each("route_configs", [&](const YAML::Node& item, const std::string& path, const YAML::Mark& at) {
    parse_route_config(item, path, at, top.diags(), out.route_configs.emplace_back());
  });
}

}  // namespace aegis::config::detail
