#include "tls/certs_names.h"

#include <fmt/core.h>

namespace aegis::tls {

namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr std::size_t kMaxTrustDomain = 255;
constexpr std::size_t kMaxSpiffeId = 2048;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_trust_domain_char(char c) { return is_lower_alnum(c) || c == '.' || c == '-' || c == '_'; }
bool is_path_char(char c) { return is_alnum(c) || c == '.' || c == '-' || c == '_'; }

}  // namespace

CertResult<void> check_trust_domain(std::string_view td) {
  if (td.starts_with(kScheme))
    return invalid_input(fmt::format("trust domain '{}': give the bare domain, without 'spiffe://' (e.g. '{}')",
                                     td, td.substr(kScheme.size())));
  if (td.empty()) return invalid_input("trust domain is empty; give one such as 'example.org'");
  if (td.size() > kMaxTrustDomain)
    return invalid_input(fmt::format("trust domain is {} characters; at most {} are allowed", td.size(), kMaxTrustDomain));
  for (char c : td)
    if (!is_trust_domain_char(c))
      return invalid_input(fmt::format(
          "trust domain '{}': character '{}' is not allowed (lowercase letters, digits, '.', '-', '_' only)", td, c));
  return {};
}

CertResult<std::string> spiffe_id_trust_domain(std::string_view id) {
  const auto bad = [id](std::string_view why) {
    return invalid_input(fmt::format("SPIFFE ID '{}': {} (expected spiffe://<trust-domain>/<path>, "
                                     "e.g. spiffe://example.org/ns/default/sa/web)", id, why));
  };
  if (!id.starts_with(kScheme)) return bad("must start with 'spiffe://'");
  if (id.size() > kMaxSpiffeId) return bad(fmt::format("longer than {} characters", kMaxSpiffeId));
  const std::string_view rest = id.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  const std::string_view td = rest.substr(0, slash);
  if (auto r = check_trust_domain(td); !r) return bad(r.error().message);
  if (slash == std::string_view::npos || slash + 1 == rest.size())
    return bad("a workload ID needs a path after the trust domain");
  std::string_view path = rest.substr(slash + 1);
  while (true) {
    const std::size_t next = path.find('/');
    const std::string_view seg = path.substr(0, next);
    if (seg.empty()) return bad("empty path segment ('//' or a trailing '/')");
    if (seg == "." || seg == "..") return bad("path segments '.' and '..' are not allowed");
    for (char c : seg)
      if (!is_path_char(c))
        return bad(fmt::format("character '{}' is not allowed in the path (letters, digits, '.', '-', '_' only)", c));
    if (next == std::string_view::npos) break;
    path = path.substr(next + 1);
  }
  return std::string(td);
}

CertResult<void> check_dns_name(std::string_view name) {
  const auto bad = [name](std::string_view why) {
    return invalid_input(fmt::format("DNS name '{}': {}", name, why));
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > 253) return bad("longer than 253 characters");
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  while (true) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    if (label.empty()) return bad("has an empty label");
    if (label.size() > 63) return bad("has a label longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
    for (char c : label)
      if (!is_alnum(c) && c != '-')
        return bad(fmt::format("character '{}' is not allowed (letters, digits, '-'; '*.' only as the first label)", c));
    if (dot == std::string_view::npos) break;
    rest = rest.substr(dot + 1);
  }
  return {};
}

}  // namespace aegis::tls
