// Electricity Maps: GET {base}/v3/carbon-intensity/latest?zone=Z, header auth-token.
#include "carbon/feeds/common.h"

namespace aegis::carbon::feeds {
namespace {

class ElectricityMapsFeed final : public IntensityFeed {
 public:
  ElectricityMapsFeed(HttpGet tmpl, std::string token) : tmpl_(std::move(tmpl)) {
    tmpl_.headers.emplace_back("auth-token", std::move(token));
  }

  core::Task<FeedResult<ParsedReading>> fetch(std::string id) override {
    HttpGet req = tmpl_;
    req.target = "/v3/carbon-intensity/latest?zone=" + query_escape(id);
    auto r = co_await http_get(std::move(req));
    if (!r) co_return r.error();
    auto body = body_of(std::move(*r), "Electricity Maps");
    if (!body) co_return body.error();
    auto parsed = parse_electricity_maps_latest(*body);
    if (!parsed) co_return malformed(parsed.error());
    co_return *parsed;
  }

 private:
  HttpGet tmpl_;
};

}  // namespace

std::unique_ptr<IntensityFeed> make_electricity_maps(HttpGet tmpl, std::string token) {
  return std::make_unique<ElectricityMapsFeed>(std::move(tmpl), std::move(token));
}

}  // namespace aegis::carbon::feeds
