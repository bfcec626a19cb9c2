// What every intensity feed promises (one implementation per provider in
// carbon/feeds/): given a zone's provider id, one reading or a classified
// error. Feeds run on the main thread's io_context (carbon/feed_runner polls
// them), never on a worker. They keep no reading of their own: the runner
// publishes to the IntensityBoard, so a failed poll leaves the last reading
// in place (and it ages into staleness).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "carbon/parsers.h"
#include "config/carbon.h"
#include "core/io.h"
#include "core/result.h"

namespace aegis::carbon {

// Bounded label values of aegis_carbon_feed_errors_total{kind}.
enum class FeedErrorKind { kConnect, kTimeout, kTls, kHttpStatus, kAuth, kMalformed, kSetup };
std::string_view to_string(FeedErrorKind k);

struct FeedError {
  FeedErrorKind kind = FeedErrorKind::kConnect;
  std::string message;  // never holds a credential
};

template <class T>
using FeedResult = core::Result<T, FeedError>;

// The wall clock a feed reads (tests pass their own).
using NowFn = std::function<Clock::time_point()>;

class IntensityFeed {
 public:
  virtual ~IntensityFeed() = default;
  // One poll of one zone; `id` is what the provider calls the zone.
  virtual core::Task<FeedResult<ParsedReading>> fetch(std::string id) = 0;
};

// Builds the feed for a provider config (credentials read now, from their
// variable or file; the trace files of a `file` provider parsed now).
FeedResult<std::unique_ptr<IntensityFeed>> make_feed(const config::CarbonProvider& provider, NowFn now);

}  // namespace aegis::carbon
