#include "carbon/board_json.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "carbon/parsers.h"

namespace aegis::carbon {

std::string board_json(const IntensityBoard& board, const std::map<std::string, FeedRunner::ZoneSource>& zones,
                       Clock::time_point now) {
  namespace json = boost::json;
  const auto readings = board.snapshot();
  std::map<std::string, std::pair<const Reading*, const FeedRunner::ZoneSource*>> all;
  for (const auto& [zone, r] : *readings) all[zone].first = &r;
  for (const auto& [zone, src] : zones) all[zone].second = &src;
  json::array out;
  for (const auto& [zone, pair] : all) {
    const auto [r, src] = pair;
    json::object z;
    z["zone"] = zone;
    z["provider"] = r ? r->provider : src->provider;
    if (src) z["max_age_seconds"] = std::chrono::duration<double>(src->max_age).count();
    if (r == nullptr) {
      z["gco2_per_kwh"] = nullptr;
      z["stale"] = true;
    } else {
      const double age = std::chrono::duration<double>(now - r->at).count();
      z["gco2_per_kwh"] = r->gco2_per_kwh;
      z["at"] = format_timestamp(r->at);
      z["fetched"] = format_timestamp(r->fetched);
      z["age_seconds"] = age;
      z["estimated"] = r->estimated;
      z["stale"] = src == nullptr || age > std::chrono::duration<double>(src->max_age).count();
    }
    out.push_back(std::move(z));
  }
  json::object doc;
  doc["zones"] = std::move(out);
  return json::serialize(doc) + "\n";
}

}  // namespace aegis::carbon
