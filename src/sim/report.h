// The simulator's outputs: the --json object (key names are a contract other
// tools depend on), a text table, and the --svg chart (intensity per region
// and traffic share per policy over time; self-contained SVG).
#pragma once

#include <string>

#include "sim/simulator.h"

namespace aegis::sim {

std::string to_json(const SimOptions& options, const SimResult& result);
std::string to_table(const SimOptions& options, const SimResult& result);
std::string to_svg(const SimResult& result);

}  // namespace aegis::sim
