// A stable, fast, non-cryptographic hash (XXH3-64 from Debian's libxxhash):
// the same bytes give the same value on every build, machine and run, which
// consistent hashing (ring_hash, maglev) and request hash keys rely on.
// Not for anything an attacker must not be able to predict or collide.
#pragma once

#include <cstdint>
#include <string_view>

namespace aegis::core {

std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed = 0);
// Hash of a 64-bit value (re-mixing a key for a second probe).
std::uint64_t stable_hash(std::uint64_t value, std::uint64_t seed);

}  // namespace aegis::core
