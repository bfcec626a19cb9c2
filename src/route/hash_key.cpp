#include "route/hash_key.h"

#include "core/hash.h"

namespace aegis::route {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    const auto semi = cookie_header.find(';');
    const std::string_view pair = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view() : cookie_header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> request_hash(std::span<const config::HashPolicy> rules, const HeaderLookup& header,
                                          std::string_view source_ip) {
  for (const auto& rule : rules) {
    std::optional<std::string_view> value;
    switch (rule.kind) {
      case config::HashPolicy::Kind::kHeader:
        value = header(rule.name);
        break;
      case config::HashPolicy::Kind::kCookie:
        if (auto cookies = header("cookie")) value = find_cookie(*cookies, rule.name);
        break;
      case config::HashPolicy::Kind::kSourceIp:
        if (!source_ip.empty()) value = source_ip;
        break;
    }
    if (value) return core::stable_hash(*value);
  }
  return std::nullopt;
}

}  // namespace aegis::route
