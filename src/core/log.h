// Process-wide logging (spdlog). Operational logs go to stderr; the access
// log has its own sink (see http/access_log.h).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace aegis::core {

// level: trace, debug, info, warn, error, critical, off. Returns false if unknown.
bool init_logging(std::string_view level);

}  // namespace aegis::core
