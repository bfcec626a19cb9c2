// The `file` feed's clock: where in a CSV trace the replay is at a given
// wall-clock time. Pure, so it is tested without waiting.
//   trace time = first row + time_offset + (now - started) × speed
// wrapping around the trace's span when looping (the span includes the last
// row's own interval, taken to be as long as the one before it).
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "carbon/parsers.h"

namespace aegis::carbon {

struct ReplayClock {
  Clock::time_point started;
  std::chrono::milliseconds time_offset{0};
  double speed = 1.0;
  bool loop = true;
};

struct ReplayPosition {
  std::size_t index = 0;       // the row in force
  Clock::time_point row_wall;  // when, on the wall clock, that row's interval began
};

// Without loop, past the end: the last row, whose row_wall stays in the past
// (its reading ages and turns stale). `points` must be non-empty and sorted.
ReplayPosition replay_position(const std::vector<TracePoint>& points, const ReplayClock& clock, Clock::time_point now);

}  // namespace aegis::carbon
