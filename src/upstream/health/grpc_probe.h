// The gRPC health check: one grpc.health.v1.Health/Check call over HTTP/2
// (h2c with prior knowledge on plain clusters, ALPN h2 over TLS), with a
// small nghttp2 client of its own. Healthy iff the call ends with
// grpc-status 0 and HealthCheckResponse.status == SERVING.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/io.h"
#include "http/grpc.h"
#include "upstream/health/probe.h"
#include "upstream/health/probe_connection.h"

namespace aegis::upstream::health {

core::Task<ProbeResult> grpc_probe(ProbeConnection& conn, const ProbeTarget& target);

// The request body: one gRPC message (uncompressed) holding
// HealthCheckRequest{service = 1}.
std::string grpc_health_request(const std::string& service);

// HealthCheckResponse.status (field 1) out of a response body of one gRPC
// message; nullopt when the body is malformed, compressed or truncated.
// Absent field: 0 (UNKNOWN), as protobuf says.
// (The parser lives in http/grpc.h, next to the other gRPC wire pieces.)
inline std::optional<std::uint64_t> grpc_serving_status(std::span<const std::uint8_t> body) {
  return http::grpc::health_check_status(body);
}

inline constexpr std::uint64_t kGrpcServing = 1;

}  // namespace aegis::upstream::health
