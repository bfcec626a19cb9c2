// GSF Carbon Aware SDK WebAPI: GET {base}/emissions/bylocation?location=L
// (self-hosted; an optional bearer token for whatever fronts it).
#include "carbon/feeds/common.h"

namespace aegis::carbon::feeds {
namespace {

class CarbonAwareSdkFeed final : public IntensityFeed {
 public:
  CarbonAwareSdkFeed(HttpGet tmpl, const std::string& token) : tmpl_(std::move(tmpl)) {
    if (!token.empty()) tmpl_.headers.emplace_back("authorization", "Bearer " + token);
  }

  core::Task<FeedResult<ParsedReading>> fetch(std::string id) override {
    HttpGet req = tmpl_;
    req.target = "/emissions/bylocation?location=" + query_escape(id);
    auto r = co_await http_get(std::move(req));
    if (!r) co_return r.error();
    auto body = body_of(std::move(*r), "Carbon Aware SDK");
    if (!body) co_return body.error();
    auto parsed = parse_carbon_aware_emissions(*body, id);
    if (!parsed) co_return malformed(parsed.error());
    co_return *parsed;
  }

 private:
  HttpGet tmpl_;
};

}  // namespace

std::unique_ptr<IntensityFeed> make_carbon_aware_sdk(HttpGet tmpl, const std::string& token) {
  return std::make_unique<CarbonAwareSdkFeed>(std::move(tmpl), token);
}

}  // namespace aegis::carbon::feeds
