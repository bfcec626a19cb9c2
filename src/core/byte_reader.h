// Bounds-checked reading of untrusted bytes. Every read checks the remaining
// length first; a short read returns nullopt and leaves the reader unchanged.
// This is the only way the project reads binary data that came off the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace aegis::core {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

  std::size_t remaining() const { return data_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  std::optional<std::uint8_t> u8();
  std::optional<std::uint16_t> u16_be();
  std::optional<std::uint32_t> u32_be();
  std::optional<std::uint16_t> u16_le();
  std::optional<std::uint32_t> u32_le();
  std::optional<std::uint64_t> u64_le();
  // A view of the next n bytes, or nullopt if fewer remain.
  std::optional<std::span<const std::uint8_t>> bytes(std::size_t n);
  bool skip(std::size_t n);
  // A reader over the next n bytes (for length-prefixed sub-structures).
  std::optional<ByteReader> sub(std::size_t n);

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace aegis::core
