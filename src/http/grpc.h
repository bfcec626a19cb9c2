// gRPC pieces every codec shares (HTTP/1.1 today, HTTP/2 next): the
// grpc-timeout header, the HTTP → gRPC status mapping, and the trailers-only
// error response a proxy sends for a gRPC request it answers itself. Pure
// functions over strings; no HTTP/1.1 or HTTP/2 types, so both paths use them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aegis::http::grpc {

// google.rpc.Code, as carried in grpc-status.
enum class Status : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// application/grpc, or application/grpc+<subtype> / application/grpc;<params>
// (case-insensitive, as media types are).
bool is_grpc_content_type(std::string_view content_type);

// grpc-timeout per the gRPC HTTP/2 spec: 1-8 ASCII digits then one unit of
// H M S m u n. nullopt when malformed (the caller ignores it and counts).
// 99999999H does not fit in nanoseconds: the result saturates at
// nanoseconds::max() (callers treat that as "no deadline of its own").
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value);

// grpc-status header value ("0".."16" as the spec writes them; other
// numbers are kept as they are); nullopt when it is not a number.
std::optional<int> parse_status(std::string_view value);

// doc/http-grpc-status-mapping.md: the gRPC status a client derives from an
// HTTP status when the response carries none.
Status status_from_http(unsigned http_status);

// grpc-message value: UTF-8 bytes outside 0x20-0x7E, and '%', percent-encoded.
std::string percent_encode_message(std::string_view message);

struct HeaderField {
  std::string name;  // lower-case
  std::string value;
};

// A trailers-only response: the whole gRPC answer is one header block.
struct TrailersOnlyReply {
  unsigned http_status = 200;       // always 200: a gRPC client reads grpc-status
  std::vector<HeaderField> fields;  // content-type, grpc-status, grpc-message
};
TrailersOnlyReply trailers_only(Status status, std::string_view message);

// grpc.health.v1.HealthCheckResponse.status (field 1) out of a response
// body of one gRPC message, read with core::ByteReader; nullopt when the
// body is malformed, compressed or truncated. Absent field: 0 (UNKNOWN).
std::optional<std::uint64_t> health_check_status(std::span<const std::uint8_t> body);

}  // namespace aegis::http::grpc
