// Deterministic YAML emission for `aegis-flow inject` (app/inject.cpp): keeps
// what yaml-cpp's loader remembers of the input (key order, flow or block
// style, whether a scalar was quoted) so that a string stays a string
// (`"8080"` is not turned into the number 8080) and emitting emitted text again
// gives the same bytes.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace aegis::app {

// One document as YAML text ending in a newline.
std::string emit_yaml_document(const YAML::Node& document);

// A string scalar that the emitter quotes when plain text would read back as
// something else (a number, a bool, null): "1", "true", "".
YAML::Node yaml_string(std::string_view value);

}  // namespace aegis::app
