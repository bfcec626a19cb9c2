// Deterministic byte pattern shared by the test upstream (GET /bytes/N) and
// the tests, so a test can check a proxied body without trusting anything the
// proxy forwarded (not even the upstream's x-sha256 header).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace aegis::itest {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

// Fills out with bytes [offset, offset + out.size()) of the infinite pattern.
inline void fill_pattern(std::uint64_t offset, std::span<std::uint8_t> out) {
  std::uint64_t word_index = offset >> 3U;
  std::uint64_t word = splitmix64(word_index);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint64_t pos = offset + i;
    if ((pos >> 3U) != word_index) {
      word_index = pos >> 3U;
      word = splitmix64(word_index);
    }
    out[i] = static_cast<std::uint8_t>(word >> ((pos & 7U) * 8U));
  }
}

}  // namespace aegis::itest
