// The pure rules of health (upstream/health/verdicts.h) and the gRPC health
// message codec (upstream/health/grpc_probe.h).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream/health/grpc_probe.h"
#include "upstream/health/verdicts.h"

namespace aegis::upstream::health {
namespace {

using std::chrono::milliseconds;

TEST(CheckVerdict, NewEndpointIsUnhealthyUntilItsFirstCheckWhichDecidesAlone) {
  CheckVerdict v;
  EXPECT_TRUE(v.pending());
  EXPECT_FALSE(v.healthy());
  EXPECT_TRUE(v.on_result(true, 3, 2));  // one success is enough the first time (Envoy)
  EXPECT_TRUE(v.healthy());
  EXPECT_FALSE(v.pending());

  CheckVerdict failing;
  EXPECT_FALSE(failing.on_result(false, 3, 2));  // stays unhealthy: no change
  EXPECT_FALSE(failing.healthy());
  EXPECT_FALSE(failing.pending());
}

TEST(CheckVerdict, UnhealthyAfterUnhealthyThresholdConsecutiveFailures) {
  CheckVerdict v;
  v.on_result(true, 2, 3);
  EXPECT_FALSE(v.on_result(false, 2, 3));
  EXPECT_FALSE(v.on_result(false, 2, 3));
  EXPECT_FALSE(v.on_result(true, 2, 3));  // a success in between restarts the count
  EXPECT_FALSE(v.on_result(false, 2, 3));
  EXPECT_FALSE(v.on_result(false, 2, 3));
  EXPECT_TRUE(v.healthy());
  EXPECT_TRUE(v.on_result(false, 2, 3));
  EXPECT_FALSE(v.healthy());
}

TEST(CheckVerdict, HealthyAgainAfterHealthyThresholdConsecutiveSuccesses) {
  CheckVerdict v;
  v.on_result(true, 3, 1);
  EXPECT_TRUE(v.on_result(false, 3, 1));
  EXPECT_FALSE(v.on_result(true, 3, 1));
  EXPECT_FALSE(v.on_result(true, 3, 1));
  EXPECT_FALSE(v.on_result(false, 3, 1));  // restarts the count
  EXPECT_FALSE(v.on_result(true, 3, 1));
  EXPECT_FALSE(v.on_result(true, 3, 1));
  EXPECT_FALSE(v.healthy());
  EXPECT_TRUE(v.on_result(true, 3, 1));
  EXPECT_TRUE(v.healthy());
  v.reset();
  EXPECT_TRUE(v.pending());
  EXPECT_FALSE(v.healthy());
}

TEST(EjectionTime, GrowsWithEachEjectionUpToTheCap) {
  const milliseconds base{30'000};
  const milliseconds max{300'000};
  EXPECT_EQ(ejection_time(base, max, 1), milliseconds{30'000});
  EXPECT_EQ(ejection_time(base, max, 2), milliseconds{60'000});
  EXPECT_EQ(ejection_time(base, max, 9), milliseconds{270'000});
  EXPECT_EQ(ejection_time(base, max, 10), milliseconds{300'000});
  EXPECT_EQ(ejection_time(base, max, 11), milliseconds{300'000});
  EXPECT_EQ(ejection_time(base, max, 4'000'000'000u), milliseconds{300'000});  // no overflow
  EXPECT_EQ(ejection_time(milliseconds{400'000}, max, 1), milliseconds{400'000});  // cap never below base
}

TEST(MayEject, HonoursMaxEjectionPercent) {
  EXPECT_FALSE(may_eject(0, 3, 10, false));  // one of three is 33% > 10%
  EXPECT_TRUE(may_eject(0, 3, 10, true));    // always_eject_one_host
  EXPECT_FALSE(may_eject(1, 3, 10, true));
  EXPECT_TRUE(may_eject(0, 3, 34, false));
  EXPECT_FALSE(may_eject(1, 3, 34, false));  // two of three would be 66%
  EXPECT_TRUE(may_eject(1, 3, 67, false));
  EXPECT_TRUE(may_eject(0, 10, 10, false));
  EXPECT_FALSE(may_eject(1, 10, 10, false));
  EXPECT_TRUE(may_eject(2, 3, 100, false));
  EXPECT_FALSE(may_eject(3, 3, 100, false));  // nothing left to eject
  EXPECT_FALSE(may_eject(0, 0, 100, true));
}

TEST(SuccessRate, FlagsEndpointsBelowMeanMinusFactorTimesStdev) {
  // Five endpoints at 100% and one at 50%: mean 91.67, stdev 18.63,
  // threshold 91.67 - 1.9 × 18.63 = 56.27 → only the 50% one.
  std::vector<RequestTally> t(6, RequestTally{100, 100});
  t[3] = {100, 50};
  const auto out = success_rate_outliers(t, 5, 100, 1900);
  EXPECT_EQ(out, (std::vector<bool>{false, false, false, true, false, false}));
}

TEST(SuccessRate, StdevFactorDecides) {
  // Rates 100, 100, 100, 100, 90: mean 98, stdev 4, 1.9σ → 90.4 (90 is out),
  // 2.5σ → 88 (90 stays in).
  std::vector<RequestTally> t(5, RequestTally{200, 200});
  t[4] = {200, 180};
  EXPECT_TRUE(success_rate_outliers(t, 5, 100, 1900)[4]);
  EXPECT_FALSE(success_rate_outliers(t, 5, 100, 2500)[4]);
}

TEST(SuccessRate, NeedsMinimumHostsWithEnoughVolume) {
  // Five endpoints qualify (100, 100, 100, 0, 100: mean 80, stdev 40, 1.9σ
  // → 4); two more have too few requests to count.
  std::vector<RequestTally> t(7, RequestTally{100, 100});
  t[3] = {100, 0};
  t[5] = {99, 0};
  t[6] = {99, 99};
  EXPECT_EQ(success_rate_outliers(t, 6, 100, 1900), std::vector<bool>(7, false));
  EXPECT_EQ(success_rate_outliers(t, 5, 100, 1900),
            (std::vector<bool>{false, false, false, true, false, false, false}));
  t[3] = {50, 0};  // now too few requests to be judged, and only four qualify
  EXPECT_EQ(success_rate_outliers(t, 1, 100, 1900), std::vector<bool>(7, false));
}

TEST(Panic, BelowThresholdPercentOfUsableEndpoints) {
  EXPECT_FALSE(in_panic(2, 3, 50));  // 66%
  EXPECT_TRUE(in_panic(1, 3, 50));   // 33%
  EXPECT_FALSE(in_panic(1, 2, 50));  // exactly 50% is not below
  EXPECT_TRUE(in_panic(0, 3, 50));
  EXPECT_FALSE(in_panic(0, 3, 0));   // 0 turns panic off
  EXPECT_TRUE(in_panic(9, 10, 100));
  EXPECT_FALSE(in_panic(10, 10, 100));
  EXPECT_FALSE(in_panic(0, 0, 50));
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(GrpcHealth, RequestIsOneLengthPrefixedMessage) {
  EXPECT_EQ(grpc_health_request(""), std::string("\0\0\0\0\0", 5));
  EXPECT_EQ(grpc_health_request("svc"), std::string("\0\0\0\0\x05\x0a\x03svc", 10));
}

TEST(GrpcHealth, ServingStatusIsField1) {
  using namespace std::string_view_literals;
  EXPECT_EQ(grpc_serving_status(bytes("\0\0\0\0\x02\x08\x01"sv)), 1u);
  EXPECT_EQ(grpc_serving_status(bytes("\0\0\0\0\x02\x08\x02"sv)), 2u);
  EXPECT_EQ(grpc_serving_status(bytes("\0\0\0\0\0"sv)), 0u);  // absent: UNKNOWN
  // Unknown fields of every wire type are skipped.
  EXPECT_EQ(grpc_serving_status(bytes("\0\0\0\0\x12\x10\x96\x01\x1a\x02hi\x21\x01\x02\x03\x04\x05\x06\x07\x08\x08\x01"sv)), 1u);
}

TEST(GrpcHealth, MalformedBodiesAreRefused) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(grpc_serving_status(bytes(""sv)));
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0"sv)));
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0\0\x05\x08\x01"sv)));  // shorter than its length
  EXPECT_FALSE(grpc_serving_status(bytes("\x01\0\0\0\x02\x08\x01"sv)));  // compressed
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0\0\x01\x08"sv)));  // varint cut
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0\0\x03\x1a\x05h"sv)));  // length past the end
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0\0\x02\x0f\x01"sv)));  // wire type 7
  EXPECT_FALSE(grpc_serving_status(bytes("\0\0\0\0\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"sv)));  // varint > 10 bytes
}

}  // namespace
}  // namespace aegis::upstream::health
