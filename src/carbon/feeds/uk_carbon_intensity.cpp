// UK Carbon Intensity: GET {base}/intensity (zone id "national") or
// GET {base}/regional/regionid/{id} (ids 1-17). No account.
#include <fmt/format.h>

#include "carbon/feeds/common.h"

namespace aegis::carbon::feeds {
namespace {

class UkCarbonIntensityFeed final : public IntensityFeed {
 public:
  explicit UkCarbonIntensityFeed(HttpGet tmpl) : tmpl_(std::move(tmpl)) {}

  core::Task<FeedResult<ParsedReading>> fetch(std::string id) override {
    HttpGet req = tmpl_;
    if (id == "national") {
      req.target = "/intensity";
    } else if (!id.empty() && id.size() <= 3 && id.find_first_not_of("0123456789") == std::string::npos) {
      req.target = "/regional/regionid/" + id;
    } else {
      co_return FeedError{FeedErrorKind::kSetup,
                          fmt::format("UK Carbon Intensity: zone id '{}' is neither 'national' nor a region id", id)};
    }
    auto r = co_await http_get(std::move(req));
    if (!r) co_return r.error();
    auto body = body_of(std::move(*r), "UK Carbon Intensity");
    if (!body) co_return body.error();
    auto parsed = parse_uk_intensity(*body);
    if (!parsed) co_return malformed(parsed.error());
    co_return *parsed;
  }

 private:
  HttpGet tmpl_;
};

}  // namespace

std::unique_ptr<IntensityFeed> make_uk_carbon_intensity(HttpGet tmpl) {
  return std::make_unique<UkCarbonIntensityFeed>(std::move(tmpl));
}

}  // namespace aegis::carbon::feeds
