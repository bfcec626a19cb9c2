#include "carbon/feeds/common.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace aegis::carbon {

FeedResult<std::unique_ptr<IntensityFeed>> make_feed(const config::CarbonProvider& p, NowFn now) {
  using T = config::CarbonProviderType;
  if (p.type == T::kFile) return feeds::make_file(p, std::move(now));
  auto tmpl = feeds::request_template(p);
  if (!tmpl) return tmpl.error();
  switch (p.type) {
    case T::kElectricityMaps: {
      auto token = feeds::read_secret(p.token_env, p.token_file, "token");
      if (!token) return token.error();
      return feeds::make_electricity_maps(std::move(*tmpl), std::move(*token));
    }
    case T::kWattTime: {
      auto password = feeds::read_secret(p.password_env, p.password_file, "password");
      if (!password) return password.error();
      return feeds::make_watttime(std::move(*tmpl), p.username, *password, p.name, std::move(now));
    }
    case T::kUkCarbonIntensity:
      return feeds::make_uk_carbon_intensity(std::move(*tmpl));
    case T::kCarbonAwareSdk: {
      auto token = feeds::read_secret(p.token_env, p.token_file, "token");
      if (!token) return token.error();
      return feeds::make_carbon_aware_sdk(std::move(*tmpl), *token);
    }
    case T::kFile: break;
  }
  return FeedError{FeedErrorKind::kSetup, "unknown provider type"};
}

namespace feeds {

FeedResult<HttpGet> request_template(const config::CarbonProvider& p) {
  auto url = config::parse_base_url(p.base_url);
  if (!url) return FeedError{FeedErrorKind::kSetup, url.error().message};
  HttpGet g;
  g.base = *url;
  g.timeout = p.timeout;
  if (url->tls) {
    auto ctx = make_provider_tls(p.ca_file);
    if (!ctx) return FeedError{FeedErrorKind::kSetup, "TLS for " + p.base_url + ": " + ctx.error().message};
    g.tls = std::move(*ctx);
  }
  return g;
}

FeedResult<std::string> read_secret(const std::string& env, const std::string& file, std::string_view what) {
  std::string value;
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr) return FeedError{FeedErrorKind::kSetup, fmt::format("{}: environment variable '{}' is not set", what, env)};
    value = v;
  } else if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return FeedError{FeedErrorKind::kSetup, fmt::format("{}: cannot read '{}'", what, file)};
    std::ostringstream s;
    s << in.rdbuf();
    value = s.str();
    if (value.size() > std::size_t{64} * 1024) return FeedError{FeedErrorKind::kSetup, fmt::format("{}: '{}' is too large", what, file)};
  }
  const auto first = value.find_first_not_of(" \t\r\n");
  const auto last = value.find_last_not_of(" \t\r\n");
  value = first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
  for (const char c : value)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return FeedError{FeedErrorKind::kSetup, fmt::format("{} from {}: holds control characters", what,
                                                          env.empty() ? "'" + file + "'" : "$" + env)};
  if ((!env.empty() || !file.empty()) && value.empty())
    return FeedError{FeedErrorKind::kSetup, fmt::format("{} from {} is empty", what, env.empty() ? "'" + file + "'" : "$" + env)};
  return value;
}

FeedResult<std::string> body_of(HttpResponse r, std::string_view provider) {
  if (r.status >= 200 && r.status < 300) return std::move(r.body);
  std::string snippet;
  for (const char c : std::string_view(r.body).substr(0, 160))
    snippet += (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) ? c : '.';
  const auto kind = (r.status == 401 || r.status == 403) ? FeedErrorKind::kAuth : FeedErrorKind::kHttpStatus;
  return FeedError{kind, fmt::format("{}: HTTP status {}{}{}", provider, r.status, snippet.empty() ? "" : ": ", snippet)};
}

}  // namespace feeds
}  // namespace aegis::carbon
