#include "route/router.h"

#include <algorithm>

namespace aegis::route {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

// `key` is already lower-case; `s` is whatever the client sent.
bool iequals(std::string_view s, std::string_view key) {
  return s.size() == key.size() &&
         std::equal(s.begin(), s.end(), key.begin(), [](char a, char b) { return lower(a) == b; });
}

// Three-way compare of lower(s) against an already lower-case key.
int icompare(std::string_view s, std::string_view key) {
  const std::size_t n = std::min(s.size(), key.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto a = static_cast<unsigned char>(lower(s[i]));
    const auto b = static_cast<unsigned char>(key[i]);
    if (a != b) return a < b ? -1 : 1;
  }
  if (s.size() == key.size()) return 0;
  return s.size() < key.size() ? -1 : 1;
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The authority without its ":port", or nullopt when it carries no port.
// Handles "host:80", "[::1]:80"; a bare IPv6 literal has no port.
std::optional<std::string_view> strip_port(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || close + 1 >= authority.size() ||
        authority[close + 1] != ':' || !all_digits(authority.substr(close + 2))) {
      return std::nullopt;
    }
    return authority.substr(0, close + 1);
  }
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.find(':') != colon ||
      !all_digits(authority.substr(colon + 1))) {
    return std::nullopt;
  }
  return authority.substr(0, colon);
}

bool header_matches(const config::HeaderMatcher& m, const HeaderLookup& header) {
  const auto value = header(m.name);
  if (!value) {
    // As in Envoy: a missing header never satisfies a value matcher, even an
    // inverted one; an inverted presence matcher is satisfied by absence.
    return !m.exact && !m.prefix && m.invert;
  }
  bool ok = true;  // presence
  if (m.exact) {
    ok = *value == *m.exact;
  } else if (m.prefix) {
    ok = value->starts_with(*m.prefix);
  }
  return ok != m.invert;
}

bool route_matches(const config::RouteMatch& m, std::string_view path, const HeaderLookup& header) {
  if (m.path) {
    if (path != *m.path) return false;
  } else if (m.prefix) {
    if (!path.starts_with(*m.prefix)) return false;
  }
  return std::all_of(m.headers.begin(), m.headers.end(),
                     [&](const config::HeaderMatcher& h) { return header_matches(h, header); });
}

}  // namespace

Router::Router(const config::RouteConfiguration& rc) : rc_(&rc) {
  for (std::size_t i = 0; i < rc.virtual_hosts.size(); ++i) {
    for (const std::string& domain : rc.virtual_hosts[i].domains) {
      if (domain == "*") {
        if (!catch_all_) catch_all_ = i;
      } else if (domain.size() > 1 && domain.front() == '*') {
        suffixes_.push_back({lowered(std::string_view(domain).substr(1)), i});
      } else if (domain.size() > 1 && domain.back() == '*') {
        prefixes_.push_back({lowered(std::string_view(domain).substr(0, domain.size() - 1)), i});
      } else {
        exact_.push_back({lowered(domain), i});
      }
    }
  }
  // Stable sorts: on a duplicate domain the virtual host listed first wins.
  std::stable_sort(exact_.begin(), exact_.end(),
                   [](const DomainEntry& a, const DomainEntry& b) { return a.key < b.key; });
  const auto longest_first = [](const DomainEntry& a, const DomainEntry& b) {
    return a.key.size() > b.key.size();
  };
  std::stable_sort(suffixes_.begin(), suffixes_.end(), longest_first);
  std::stable_sort(prefixes_.begin(), prefixes_.end(), longest_first);
}

const config::VirtualHost* Router::find_specific(std::string_view host) const {
  const auto& vhosts = rc_->virtual_hosts;
  const auto it = std::lower_bound(
      exact_.begin(), exact_.end(), host,
      [](const DomainEntry& e, std::string_view h) { return icompare(h, e.key) > 0; });
  if (it != exact_.end() && iequals(host, it->key)) return &vhosts[it->vhost];

  // A wildcard stands for at least one character ("*.a.com" does not match ".a.com").
  for (const DomainEntry& e : suffixes_) {
    if (host.size() > e.key.size() && iequals(host.substr(host.size() - e.key.size()), e.key)) {
      return &vhosts[e.vhost];
    }
  }
  for (const DomainEntry& e : prefixes_) {
    if (host.size() > e.key.size() && iequals(host.substr(0, e.key.size()), e.key)) {
      return &vhosts[e.vhost];
    }
  }
  return nullptr;
}

const config::VirtualHost* Router::find_virtual_host(std::string_view authority) const {
  if (const auto* vh = find_specific(authority)) return vh;
  if (const auto host = strip_port(authority)) {
    if (const auto* vh = find_specific(*host)) return vh;
  }
  return catch_all_ ? &rc_->virtual_hosts[*catch_all_] : nullptr;
}

std::optional<Match> Router::match(std::string_view authority, std::string_view target,
                                   const HeaderLookup& header) const {
  const config::VirtualHost* vh = find_virtual_host(authority);
  if (vh == nullptr) return std::nullopt;
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  for (const config::Route& r : vh->routes) {
    if (route_matches(r.match, path, header)) return Match{vh, &r};
  }
  return std::nullopt;
}

}  // namespace aegis::route
