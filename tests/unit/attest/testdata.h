// The real attestation vectors in ../shared/testdata/attestation
// (AEGIS_TESTDATA; its README lists the expected values).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace aegis::attest::test {

inline std::string vectors_dir() {
  const char* env = std::getenv("AEGIS_TESTDATA");
  return env ? std::string(env) + "/attestation" : std::string(AEGIS_SOURCE_DIR) + "/../shared/testdata/attestation";
}

// A file's bytes, or empty if it is missing.
inline std::vector<std::uint8_t> read_vector_at(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A vector's bytes, by its name under vectors_dir().
inline std::vector<std::uint8_t> read_vector(const std::string& name) {
  return read_vector_at(vectors_dir() + "/" + name);
}

}  // namespace aegis::attest::test

// Without the test data directory the test is skipped with a message (the
// data is not part of the repository); with it, a missing file fails.
#define AEGIS_NEED_VECTORS()                                                \
  if (!std::filesystem::is_directory(::aegis::attest::test::vectors_dir())) \
  GTEST_SKIP() << "test data not found under " << ::aegis::attest::test::vectors_dir() << " (AEGIS_TESTDATA)"
#define AEGIS_READ_VECTOR(var, name)                                              \
  AEGIS_NEED_VECTORS();                                                           \
  const std::vector<std::uint8_t> var = ::aegis::attest::test::read_vector(name); \
  ASSERT_FALSE(var.empty()) << "test vector " << name << " not found under " << ::aegis::attest::test::vectors_dir()
