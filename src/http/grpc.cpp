#include "http/grpc.h"

#include <cctype>
#include <cstdint>
#include <limits>

#include "core/byte_reader.h"

namespace aegis::http::grpc {

namespace {

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

bool is_grpc_content_type(std::string_view ct) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (!iequals_prefix(ct, kGrpc)) return false;
  if (ct.size() == kGrpc.size()) return true;
  const char next = ct[kGrpc.size()];
  return next == '+' || next == ';';
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) {
  constexpr std::size_t kMaxDigits = 8;
  if (value.size() < 2 || value.size() > kMaxDigits + 1) return std::nullopt;
  std::int64_t amount = 0;
  for (const char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');  // ≤ 99'999'999: no overflow
  }
  std::int64_t ns_per_unit = 0;
  switch (value.back()) {
    case 'H': ns_per_unit = 3'600'000'000'000; break;
    case 'M': ns_per_unit = 60'000'000'000; break;
    case 'S': ns_per_unit = 1'000'000'000; break;
    case 'm': ns_per_unit = 1'000'000; break;
    case 'u': ns_per_unit = 1'000; break;
    case 'n': ns_per_unit = 1; break;
    default: return std::nullopt;
  }
  if (amount > std::numeric_limits<std::int64_t>::max() / ns_per_unit) return std::chrono::nanoseconds::max();
  return std::chrono::nanoseconds(amount * ns_per_unit);
}

std::optional<int> parse_status(std::string_view value) {
  if (value.empty() || value.size() > 9) return std::nullopt;
  int v = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Status status_from_http(unsigned http_status) {
  switch (http_status) {
    case 400: return Status::kInternal;
    case 401: return Status::kUnauthenticated;
    case 403: return Status::kPermissionDenied;
    case 404: return Status::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return Status::kUnavailable;
    default: return Status::kUnknown;
  }
}

std::string percent_encode_message(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      // c is a byte: both indices are below 16, kHex's size.
      out.push_back(kHex[c >> 4]);   // NOLINT(cppcoreguidelines-pro-bounds-constant-array-index)
      out.push_back(kHex[c & 0xf]);  // NOLINT(cppcoreguidelines-pro-bounds-constant-array-index)
    }
  }
  return out;
}

TrailersOnlyReply trailers_only(Status status, std::string_view message) {
  TrailersOnlyReply r;
  r.fields.push_back({"content-type", "application/grpc"});
  r.fields.push_back({"grpc-status", std::to_string(static_cast<int>(status))});
  if (!message.empty()) r.fields.push_back({"grpc-message", percent_encode_message(message)});
  return r;
}

namespace {

std::optional<std::uint64_t> read_varint(core::ByteReader& r) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const auto b = r.u8();
    if (!b) return std::nullopt;
    v |= std::uint64_t{*b & 0x7fu} << shift;
    if ((*b & 0x80u) == 0) return v;
  }
  return std::nullopt;  // longer than 10 bytes
}

}  // namespace

std::optional<std::uint64_t> health_check_status(std::span<const std::uint8_t> body) {
  core::ByteReader r(body);
  const auto compressed = r.u8();
  const auto length = r.u32_be();
  if (!compressed || !length || *compressed != 0) return std::nullopt;
  auto message = r.sub(*length);
  if (!message) return std::nullopt;
  std::uint64_t status = 0;
  while (!message->empty()) {
    const auto key = read_varint(*message);
    if (!key) return std::nullopt;
    const auto field = *key >> 3;
    switch (*key & 7) {
      case 0: {  // varint
        const auto v = read_varint(*message);
        if (!v) return std::nullopt;
        if (field == 1) status = *v;
        break;
      }
      case 1:  // 64-bit
        if (!message->skip(8)) return std::nullopt;
        break;
      case 2: {  // length-delimited
        const auto len = read_varint(*message);
        if (!len || !message->skip(*len)) return std::nullopt;
        break;
      }
      case 5:  // 32-bit
        if (!message->skip(4)) return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  }
  return status;
}

}  // namespace aegis::http::grpc
