// The admin /carbon document and its page /carbon.html: every zone the feeds
// serve (and any other zone on the board), with its latest reading, age and
// freshness; and every cluster with carbon_accounting, with its requests and
// grams per locality and the grams avoided against uniform routing.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "carbon/accounting.h"
#include "carbon/feed_runner.h"
#include "carbon/intensity.h"

namespace aegis::carbon {

// {"zones": [{"zone", "provider", "gco2_per_kwh", "at", "fetched", "age_seconds",
//             "max_age_seconds", "stale", "estimated"}, ...],
//  "clusters": [{"cluster", "localities": [{"locality", "grid_zone", "requests",
//                "share", "emitted_grams"}], "requests", "emitted_grams",
//                "avoided_grams", "excess_grams", "net_avoided_grams",
//                "unaccounted_requests"}, ...]}
// A configured zone without a reading yet has "gco2_per_kwh": null and
// "stale": true; "share" is the locality's part of the cluster's accounted
// requests (0 before any).
boost::json::object carbon_document(const IntensityBoard& board,
                                    const std::map<std::string, FeedRunner::ZoneSource>& zones,
                                    const std::vector<Accountant::Report>& clusters, Clock::time_point now);
std::string board_json(const boost::json::object& doc);

// A self-contained HTML page (inline CSS and SVG; no script, no external
// asset) drawn from carbon_document(): intensity per zone as bars, traffic
// share per locality, grams emitted and avoided per cluster.
std::string carbon_html(const boost::json::object& doc);

}  // namespace aegis::carbon
