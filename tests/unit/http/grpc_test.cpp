// gRPC pieces: grpc-timeout parsing, the HTTP → gRPC status mapping, and the
// trailers-only error reply.
#include <gtest/gtest.h>

#include "http/grpc.h"

namespace aegis::http::grpc {
namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

TEST(GrpcTimeout, EachUnit) {
  EXPECT_EQ(parse_timeout("2H"), nanoseconds(2h));
  EXPECT_EQ(parse_timeout("3M"), nanoseconds(3min));
  EXPECT_EQ(parse_timeout("5S"), nanoseconds(5s));
  EXPECT_EQ(parse_timeout("200m"), nanoseconds(200ms));
  EXPECT_EQ(parse_timeout("7u"), nanoseconds(7us));
  EXPECT_EQ(parse_timeout("9n"), nanoseconds(9));
  EXPECT_EQ(parse_timeout("0m"), nanoseconds(0));
  EXPECT_EQ(parse_timeout("00000001S"), nanoseconds(1s));  // leading zeros are digits too
}

TEST(GrpcTimeout, EightDigitsAtMost) {
  EXPECT_EQ(parse_timeout("99999999n"), nanoseconds(99'999'999));
  EXPECT_FALSE(parse_timeout("123456789n"));  // nine digits
  EXPECT_FALSE(parse_timeout("100000000m"));
}

TEST(GrpcTimeout, Malformed) {
  for (std::string_view bad : {"", "m", "10", "10x", "10 m", " 10m", "-1m", "+1m", "1.5S", "10mm", "1h", "1s", "0x1S"}) {
    EXPECT_FALSE(parse_timeout(bad)) << "'" << bad << "'";
  }
}

TEST(GrpcTimeout, OverflowSaturates) {
  // 99999999 hours does not fit in int64 nanoseconds.
  EXPECT_EQ(parse_timeout("99999999H"), nanoseconds::max());
  EXPECT_EQ(parse_timeout("99999999M"), nanoseconds(99'999'999LL * 60'000'000'000LL));  // fits
}

TEST(GrpcContentType, Forms) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc;charset=utf-8"));
  EXPECT_TRUE(is_grpc_content_type("Application/GRPC"));
  EXPECT_FALSE(is_grpc_content_type("application/grpc-web"));
  EXPECT_FALSE(is_grpc_content_type("application/grpcx"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type(""));
}

TEST(GrpcStatus, HttpMappingPerSpec) {
  EXPECT_EQ(status_from_http(400), Status::kInternal);
  EXPECT_EQ(status_from_http(401), Status::kUnauthenticated);
  EXPECT_EQ(status_from_http(403), Status::kPermissionDenied);
  EXPECT_EQ(status_from_http(404), Status::kUnimplemented);
  EXPECT_EQ(status_from_http(429), Status::kUnavailable);
  EXPECT_EQ(status_from_http(502), Status::kUnavailable);
  EXPECT_EQ(status_from_http(503), Status::kUnavailable);
  EXPECT_EQ(status_from_http(504), Status::kUnavailable);
  EXPECT_EQ(status_from_http(500), Status::kUnknown);
  EXPECT_EQ(status_from_http(413), Status::kUnknown);
  EXPECT_EQ(status_from_http(200), Status::kUnknown);
}

TEST(GrpcStatus, Parse) {
  EXPECT_EQ(parse_status("0"), 0);
  EXPECT_EQ(parse_status("14"), 14);
  EXPECT_FALSE(parse_status(""));
  EXPECT_FALSE(parse_status("x"));
  EXPECT_FALSE(parse_status("-1"));
  EXPECT_FALSE(parse_status("1234567890"));
}

TEST(GrpcReply, TrailersOnlyShape) {
  const auto r = trailers_only(Status::kUnavailable, "no healthy upstream: 100%\n\xc3\xa9");
  EXPECT_EQ(r.http_status, 200u);
  ASSERT_EQ(r.fields.size(), 3u);
  EXPECT_EQ(r.fields[0].name, "content-type");
  EXPECT_EQ(r.fields[0].value, "application/grpc");
  EXPECT_EQ(r.fields[1].name, "grpc-status");
  EXPECT_EQ(r.fields[1].value, "14");
  EXPECT_EQ(r.fields[2].name, "grpc-message");
  EXPECT_EQ(r.fields[2].value, "no healthy upstream: 100%25%0A%C3%A9");
  EXPECT_EQ(trailers_only(Status::kDeadlineExceeded, "").fields.size(), 2u);
}

}  // namespace
}  // namespace aegis::http::grpc
