// The real traces in ../shared/testdata/carbon (AEGIS_TESTDATA): a test that
// needs them skips with a clear message when the directory is absent.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace aegis::carbon::test {

inline std::string testdata_dir() {
  const char* env = std::getenv("AEGIS_TESTDATA");
  return env ? std::string(env) + "/carbon" : std::string(AEGIS_SOURCE_DIR) + "/../shared/testdata/carbon";
}

// The file's text, or "" (and the test is skipped by the caller's GTEST_SKIP).
inline std::string read_trace(const std::string& name) {
  std::ifstream in(testdata_dir() + "/" + name, std::ios::binary);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace aegis::carbon::test

#define AEGIS_READ_TRACE(var, name)                                                       \
  const std::string var = ::aegis::carbon::test::read_trace(name);                        \
  if (var.empty()) GTEST_SKIP() << "test data " << name << " not found under "           \
                                << ::aegis::carbon::test::testdata_dir() << " (AEGIS_TESTDATA)"
