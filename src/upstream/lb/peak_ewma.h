// Peak EWMA (Finagle, linkerd2-proxy): each endpoint's cost is a moving
// average of its round-trip time times (active requests + 1), and the pick is
// the cheaper of two random draws (drawn in proportion to weight). The average jumps at once to a
// sample above it (a slow endpoint is avoided immediately) and decays towards
// lower samples, and towards 0 while the endpoint goes unpicked, with time
// constant decay_time (so an endpoint that was slow is probed again later).
#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "config/types.h"
#include "upstream/lb/p2c.h"
#include "upstream/lb_policy.h"

namespace aegis::upstream::lb {

class PeakEwmaPolicy final : public LbPolicy {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;
  // A failed attempt counts as an RTT sample of at least this much.
  static constexpr std::chrono::nanoseconds kFailurePenalty = std::chrono::seconds(1);

  PeakEwmaPolicy(std::size_t endpoint_count, const config::PeakEwmaConfig& config, std::uint64_t seed,
                 Now now = &Clock::now);
  std::optional<std::size_t> pick(std::span<const EndpointLoad> endpoints, const PickContext& ctx) override;
  void on_result(std::size_t index, const AttemptResult& result) override;
  // The RTT estimate of endpoint `index` now, in nanoseconds (decayed).
  double rtt_estimate(std::size_t index);

 private:
  struct Rtt {
    double ns;
    Clock::time_point at;
  };
  void observe(Rtt& rtt, double sample_ns, Clock::time_point now) const;

  double decay_ns_;
  Now now_;
  std::vector<Rtt> rtt_;
  P2cSampler p2c_;
};

}  // namespace aegis::upstream::lb
