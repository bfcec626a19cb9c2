// The users of the bounds-checked reader (core::ByteReader) and the gRPC
// values read off the wire: a health-check response body (gRPC framing +
// protobuf varints, as the gRPC health check reads it), and the grpc-timeout,
// grpc-status and content-type header values (http/grpc).
//
// Invariants: ByteReader never reads past its span (ASan), and a health
// status is found only in a body whose gRPC length prefix fits in it.
#include <span>
#include <string_view>

#include "core/byte_reader.h"
#include "fuzz_check.h"
#include "http/grpc.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis;
  const std::span<const std::uint8_t> bytes(data, size);
  const auto status = http::grpc::health_check_status(bytes);
  if (status) {
    FUZZ_CHECK(size >= 5);
    const std::size_t declared = (std::size_t{data[1]} << 24) | (std::size_t{data[2]} << 16) |
                                 (std::size_t{data[3]} << 8) | data[4];
    FUZZ_CHECK(declared <= size - 5);
  }
  // The reader itself, driven by the input: each byte picks a read.
  core::ByteReader r(bytes);
  while (!r.empty()) {
    const auto before = r.remaining();
    const auto op = r.u8();
    FUZZ_CHECK(op.has_value());
    switch (*op % 8) {
      case 0: (void)r.u16_be(); break;
      case 1: (void)r.u32_be(); break;
      case 2: (void)r.u16_le(); break;
      case 3: (void)r.u32_le(); break;
      case 4: (void)r.u64_le(); break;
      case 5: if (auto n = r.u8()) (void)r.bytes(*n); break;
      case 6: if (auto n = r.u8()) (void)r.skip(*n); break;
      default:
        if (auto n = r.u8()) {
          if (auto sub = r.sub(*n)) FUZZ_CHECK(sub->remaining() == *n);
        }
        break;
    }
    FUZZ_CHECK(r.remaining() < before);
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = http::grpc::parse_timeout(text)) FUZZ_CHECK(t->count() >= 0);
  (void)http::grpc::parse_status(text);
  (void)http::grpc::is_grpc_content_type(text);
  FUZZ_CHECK(!http::grpc::percent_encode_message(text).empty() || text.empty());
  return 0;
}
