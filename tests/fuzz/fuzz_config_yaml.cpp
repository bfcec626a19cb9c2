// The YAML configuration on arbitrary text: config::load_from_string, the
// whole path `aegis-flow validate` and a reload take (yaml-cpp, the typed
// section parsers, validation across sections), with a DNS resolver that
// never touches the network and a base directory that does not exist (TLS
// file paths resolve to nothing).
//
// Invariants: a result is either a config with no diagnostics or
// diagnostics without a config, every diagnostic names the file and has a
// message, and a config that loaded serialises for /config_dump.
#include <string>
#include <string_view>

#include "config/loader.h"
#include "fuzz_check.h"

namespace {

using namespace aegis;

core::Result<std::string> fake_resolve(const std::string& host) {
  if (host == "backend.test") return std::string("10.0.0.7");
  if (host == "v6.test") return std::string("fd00::1");
  return core::Error{"Name or service not known"};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const config::LoadOptions options{&fake_resolve, "/nonexistent-fuzz-base"};
  const auto r = config::load_from_string(yaml, "fuzz.yaml", options);
  FUZZ_CHECK(r.ok() == r.diagnostics.empty());
  for (const auto& d : r.diagnostics) {
    FUZZ_CHECK(d.file == "fuzz.yaml");
    FUZZ_CHECK(!d.message.empty());
    FUZZ_CHECK(d.line >= 0 && d.column >= 0);
    (void)d.str();
  }
  if (r.ok()) FUZZ_CHECK(!config::to_json(*r.config).empty());
  return 0;
}
