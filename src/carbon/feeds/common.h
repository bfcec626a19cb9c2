// What the HTTP feeds share: the request template of a provider (base URL,
// TLS context, timeout), credentials read from their variable or file, and
// the judgement of a response's status. Internal to carbon/feeds.
#pragma once

#include <string>
#include <string_view>

#include "carbon/feed.h"
#include "carbon/http_get.h"
#include "config/carbon.h"

namespace aegis::carbon::feeds {

// Base URL parsed, TLS context built when https.
FeedResult<HttpGet> request_template(const config::CarbonProvider& p);

// The secret in environment variable `env` or file `file` (one of them set;
// surrounding whitespace trimmed). Errors name the variable or file, never
// the value. An empty result when neither is set.
FeedResult<std::string> read_secret(const std::string& env, const std::string& file, std::string_view what);

// 2xx: the body. 401/403: kAuth. Anything else: kHttpStatus. The message
// quotes at most a short, printable prefix of the body.
FeedResult<std::string> body_of(HttpResponse r, std::string_view provider);

// A parse error from carbon/parsers.h as a feed error.
inline FeedError malformed(const core::Error& e) { return FeedError{FeedErrorKind::kMalformed, e.message}; }

std::unique_ptr<IntensityFeed> make_electricity_maps(HttpGet tmpl, std::string token);
std::unique_ptr<IntensityFeed> make_watttime(HttpGet tmpl, const std::string& username, const std::string& password,
                                             const std::string& provider_name, NowFn now);
std::unique_ptr<IntensityFeed> make_uk_carbon_intensity(HttpGet tmpl);
std::unique_ptr<IntensityFeed> make_carbon_aware_sdk(HttpGet tmpl, const std::string& token);
FeedResult<std::unique_ptr<IntensityFeed>> make_file(const config::CarbonProvider& p, NowFn now);

}  // namespace aegis::carbon::feeds
