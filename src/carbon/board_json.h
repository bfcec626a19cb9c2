// The admin /carbon document: every zone the feeds serve (and any other zone
// on the board), with its latest reading, age and freshness.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "carbon/feed_runner.h"
#include "carbon/intensity.h"

namespace aegis::carbon {

// {"zones": [{"zone", "provider", "gco2_per_kwh", "at", "fetched", "age_seconds",
//             "max_age_seconds", "stale", "estimated"}, ...]}; a configured zone
// without a reading yet has "gco2_per_kwh": null and "stale": true.
std::string board_json(const IntensityBoard& board, const std::map<std::string, FeedRunner::ZoneSource>& zones,
                       Clock::time_point now);

}  // namespace aegis::carbon
