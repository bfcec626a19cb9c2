// Helpers shared by the config tests: load YAML written inline (a leading
// newline is dropped so the first text line is line 1), with a fake DNS.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/loader.h"

namespace aegis::config::testing {

inline core::Result<std::string> fake_resolve(const std::string& host) {
  if (host == "backend.test") return std::string("10.0.0.7");
  if (host == "v6.test") return std::string("fd00::1");
  return core::Error{"Name or service not known"};
}

inline LoadResult load(std::string_view yaml) {
  if (!yaml.empty() && yaml.front() == '\n') yaml.remove_prefix(1);
  return load_from_string(yaml, "test.yaml", LoadOptions{&fake_resolve, {}});
}

inline std::string all_diagnostics(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.diagnostics) out += d.str() + "\n";
  return out;
}

// True when some diagnostic sits at line:col and contains `text`.
inline ::testing::AssertionResult HasError(const LoadResult& r, int line, int col, std::string_view text) {
  for (const auto& d : r.diagnostics) {
    if (d.line == line && d.column == col && d.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no diagnostic at " << line << ":" << col << " containing '" << text
                                       << "'; got:\n"
                                       << all_diagnostics(r);
}

inline ::testing::AssertionResult LoadsCleanly(const LoadResult& r) {
  if (r.ok() && r.diagnostics.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected no diagnostics; got:\n" << all_diagnostics(r);
}

// A valid http listener → route config → cluster chain to build tests on.
inline constexpr std::string_view kMinimal = R"(
listeners:
  - name: ingress
    port: 10000
    route_config: local
route_configs:
  - name: local
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /}
            route: {cluster: demo}
clusters:
  - name: demo
    endpoints: ["127.0.0.1:8080"]
)";

}  // namespace aegis::config::testing
