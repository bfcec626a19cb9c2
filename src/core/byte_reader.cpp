#include "core/byte_reader.h"

namespace aegis::core {

namespace {
template <typename T, bool BigEndian>
std::optional<T> read_int(ByteReader& r) {
  auto b = r.bytes(sizeof(T));
  if (!b) return std::nullopt;
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    const std::size_t idx = BigEndian ? i : sizeof(T) - 1 - i;
    v = static_cast<T>((v << 8) | (*b)[idx]);
  }
  return v;
}
}  // namespace

std::optional<std::uint8_t> ByteReader::u8() { return read_int<std::uint8_t, true>(*this); }
std::optional<std::uint16_t> ByteReader::u16_be() { return read_int<std::uint16_t, true>(*this); }
std::optional<std::uint32_t> ByteReader::u32_be() { return read_int<std::uint32_t, true>(*this); }
std::optional<std::uint16_t> ByteReader::u16_le() { return read_int<std::uint16_t, false>(*this); }
std::optional<std::uint32_t> ByteReader::u32_le() { return read_int<std::uint32_t, false>(*this); }
std::optional<std::uint64_t> ByteReader::u64_le() { return read_int<std::uint64_t, false>(*this); }

std::optional<std::span<const std::uint8_t>> ByteReader::bytes(std::size_t n) {
  if (n > remaining()) return std::nullopt;
  auto out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

bool ByteReader::skip(std::size_t n) { return bytes(n).has_value(); }

std::optional<ByteReader> ByteReader::sub(std::size_t n) {
  auto b = bytes(n);
  if (!b) return std::nullopt;
  return ByteReader(*b);
}

}  // namespace aegis::core
