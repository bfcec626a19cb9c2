// A small, fast, seedable PRNG for load-balancing decisions (xoshiro256**,
// seeded through splitmix64). Not for anything security-related.
#pragma once

#include <cstdint>

namespace aegis::upstream::lb {

class LbRandom {
 public:
  explicit LbRandom(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform-enough in [0, bound) for bound <= 2^32 (Lemire's multiply-shift on
  // the high 32 bits; the bias is below 2^-32 * bound, irrelevant here).
  std::uint32_t below(std::uint32_t bound) {
    return static_cast<std::uint32_t>(((next() >> 32) * bound) >> 32);
  }
  // In [0, bound) for any bound > 0 (modulo bias below bound / 2^64).
  std::uint64_t below64(std::uint64_t bound) { return next() % bound; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t s_[4];
};

}  // namespace aegis::upstream::lb
