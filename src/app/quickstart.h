// `aegis-flow quickstart`: the proxy with an embedded config (client traffic
// on 127.0.0.1:10000, admin on 127.0.0.1:9901, Envoy's convention) in front of
// a demo upstream on 127.0.0.1:18080 that echoes what it received.
#pragma once

#include <cstddef>

namespace aegis::app {

extern const char* const kQuickstartConfig;

int run_quickstart(std::size_t concurrency);

}  // namespace aegis::app
