// YAML → validated Config. Never throws: every problem in a file is reported,
// each as "FILE:LINE:COL: message", so a user can fix them all in one pass.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/types.h"
#include "config/values.h"
#include "core/result.h"

namespace aegis::config {

struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  std::string message;
  std::string str() const;  // FILE:LINE:COL: message
};

struct LoadResult {
  std::optional<Config> config;  // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return config.has_value(); }
};

struct LoadOptions {
  // Turns endpoint DNS names into IP literals; getaddrinfo unless set (tests
  // inject a fake so they never depend on the network).
  HostResolver resolve;
  // Relative file paths in the config (TLS certificates) are resolved against
  // this directory; load_from_file sets it to the file's directory, else the
  // working directory applies.
  std::string base_dir;
};

// Files larger than this are refused (a config is kilobytes, not megabytes).
inline constexpr std::size_t kMaxConfigFileBytes = std::size_t{16} * 1024 * 1024;

// Parses and validates YAML text; `source` names it in diagnostics.
LoadResult load_from_string(std::string_view yaml, const std::string& source);
LoadResult load_from_string(std::string_view yaml, const std::string& source, const LoadOptions& options);
// Reads a file and calls load_from_string.
LoadResult load_from_file(const std::string& path);
LoadResult load_from_file(const std::string& path, const LoadOptions& options);

struct PolicyLoadResult {
  std::optional<AttestationPolicy> policy;  // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;
};
// A file holding one attestation policy (the mapping a tls block's
// `attestation:` takes), for `aegis-flow attest verify --policy`.
PolicyLoadResult load_attestation_policy(const std::string& path);

// Serialises a config as JSON for /config_dump (no secrets exist yet; later
// secret fields are redacted here).
std::string to_json(const Config& config, int indent = 2);

}  // namespace aegis::config
