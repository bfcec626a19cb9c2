// EndpointHealth: how attempt outcomes trip the consecutive detectors and
// fill the success-rate tally, and what makes an endpoint usable.
#include <gtest/gtest.h>

#include "upstream/health/endpoint_health.h"

namespace aegis::upstream::health {
namespace {

using Kind = AttemptResult::Kind;

AttemptResult response(unsigned status) { return {Kind::kResponse, status, {}}; }
AttemptResult failure(Kind kind) { return {kind, 0, {}}; }

config::OutlierDetection od(std::uint32_t c5xx, std::uint32_t gateway) {
  config::OutlierDetection o;
  o.consecutive_5xx = c5xx;
  o.consecutive_gateway_failure = gateway;
  return o;
}

TEST(EndpointHealthRecord, Consecutive5xxTripsAtTheThresholdAndSuccessRestartsTheCount) {
  EndpointHealth h("c", "10.0.0.1:1");
  const auto o = od(3, 0);
  EjectReason reason{};
  h.record(response(500), o);
  h.record(response(500), o);
  h.record(response(404), o);  // not a 5xx: the run is broken
  h.record(response(500), o);
  h.record(response(500), o);
  EXPECT_FALSE(h.take_trip(reason));
  h.record(response(501), o);
  ASSERT_TRUE(h.take_trip(reason));
  EXPECT_EQ(reason, EjectReason::kConsecutive5xx);
  EXPECT_FALSE(h.take_trip(reason));  // taken, and the counter restarted
  h.record(response(500), o);
  h.record(response(500), o);
  EXPECT_FALSE(h.take_trip(reason));
}

TEST(EndpointHealthRecord, GatewayFailuresAreLocalFailuresAnd502To504) {
  EndpointHealth h("c", "10.0.0.1:2");
  const auto o = od(0, 4);
  EjectReason reason{};
  h.record(failure(Kind::kConnectFailure), o);
  h.record(failure(Kind::kReset), o);
  h.record(failure(Kind::kTimeout), o);
  h.record(response(500), o);  // a 5xx that is not a gateway failure breaks the run
  h.record(response(502), o);
  h.record(response(503), o);
  h.record(response(504), o);
  EXPECT_FALSE(h.take_trip(reason));
  h.record(failure(Kind::kConnectFailure), o);
  ASSERT_TRUE(h.take_trip(reason));
  EXPECT_EQ(reason, EjectReason::kConsecutiveGatewayFailure);
}

TEST(EndpointHealthRecord, LocalFailuresCountAs5xxAndZeroTurnsADetectorOff) {
  EndpointHealth h("c", "10.0.0.1:3");
  EjectReason reason{};
  for (int i = 0; i < 10; ++i) h.record(failure(Kind::kReset), od(0, 0));
  EXPECT_FALSE(h.take_trip(reason));
  h.record(failure(Kind::kReset), od(2, 0));
  h.record(failure(Kind::kTimeout), od(2, 0));
  ASSERT_TRUE(h.take_trip(reason));
  EXPECT_EQ(reason, EjectReason::kConsecutive5xx);
}

TEST(EndpointHealthRecord, TallyCountsRequestsAndNon5xxSuccesses) {
  EndpointHealth h("c", "10.0.0.1:4");
  const auto o = od(0, 0);
  for (unsigned s : {200u, 404u, 500u, 503u, 301u}) h.record(response(s), o);
  h.record(failure(Kind::kConnectFailure), o);
  const auto t = h.take_tally();
  EXPECT_EQ(t.requests, 6u);
  EXPECT_EQ(t.successes, 3u);
  const auto again = h.take_tally();
  EXPECT_EQ(again.requests, 0u);
}

TEST(EndpointHealthUsable, HealthMattersOnlyWhenCheckedEjectionAlways) {
  EndpointHealth h("c", "10.0.0.1:5");
  EXPECT_FALSE(h.usable(true));  // not checked yet
  EXPECT_TRUE(h.usable(false));
  h.set_healthy(true);
  EXPECT_TRUE(h.usable(true));
  h.eject(EjectReason::kSuccessRate, std::chrono::steady_clock::now());
  EXPECT_FALSE(h.usable(true));
  EXPECT_FALSE(h.usable(false));
  EXPECT_EQ(h.times_ejected, 1u);
  h.uneject(std::chrono::steady_clock::now());
  EXPECT_TRUE(h.usable(true));
}

TEST(EndpointHealthRegistry, SameObjectWhileHeldFreshAfterwards) {
  auto a = acquire_endpoint_health("c|10.0.0.9:1", "c", "10.0.0.9:1");
  auto b = acquire_endpoint_health("c|10.0.0.9:1", "c", "10.0.0.9:1");
  EXPECT_EQ(a.get(), b.get());
  a->set_healthy(true);
  a.reset();
  b.reset();
  auto c = acquire_endpoint_health("c|10.0.0.9:1", "c", "10.0.0.9:1");
  EXPECT_FALSE(c->healthy());  // a new endpoint starts unhealthy until checked
}

}  // namespace
}  // namespace aegis::upstream::health
