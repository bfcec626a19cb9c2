#include "upstream/lb/peak_ewma.h"

#include <algorithm>
#include <cmath>

namespace aegis::upstream::lb {

PeakEwmaPolicy::PeakEwmaPolicy(std::size_t endpoint_count, const config::PeakEwmaConfig& config,
                               std::uint64_t seed, Now now)
    : decay_ns_(static_cast<double>(std::chrono::nanoseconds(config.decay_time).count())),
      now_(std::move(now)),
      rtt_(endpoint_count,
           Rtt{static_cast<double>(std::chrono::nanoseconds(config.default_rtt).count()), now_()}),
      p2c_(seed, 2) {}

// A sample above the estimate replaces it (the peak); otherwise the estimate
// moves towards the sample by 1 - e^(-elapsed/decay_time).
void PeakEwmaPolicy::observe(Rtt& rtt, double sample_ns, Clock::time_point now) const {
  if (sample_ns > rtt.ns) {
    rtt.ns = sample_ns;
  } else {
    const auto elapsed = std::chrono::duration<double, std::nano>(std::max(now - rtt.at, Clock::duration::zero()));
    const double keep = std::exp(-elapsed.count() / decay_ns_);
    rtt.ns = rtt.ns * keep + sample_ns * (1.0 - keep);
  }
  rtt.at = std::max(rtt.at, now);
}

double PeakEwmaPolicy::rtt_estimate(std::size_t index) {
  if (index >= rtt_.size()) return 0;
  observe(rtt_[index], 0.0, now_());  // decays towards 0 with time unobserved
  return rtt_[index].ns;
}

std::optional<std::size_t> PeakEwmaPolicy::pick(std::span<const EndpointLoad> endpoints, const PickContext&) {
  if (endpoints.size() != rtt_.size()) return std::nullopt;  // not the endpoint set it was made for
  // Weight only biases which two are drawn: dividing the cost by it would make
  // the heavier of two idle endpoints win every time.
  auto cost = [&](std::size_t i) { return rtt_estimate(i) * (endpoints[i].active_requests + 1.0); };
  return p2c_.pick(endpoints, [&](std::size_t a, std::size_t b) { return cost(a) < cost(b); });
}

void PeakEwmaPolicy::on_result(std::size_t index, const AttemptResult& result) {
  if (index >= rtt_.size()) return;
  auto sample = result.latency;
  if (result.kind != AttemptResult::Kind::kResponse) sample = std::max(sample, kFailurePenalty);
  observe(rtt_[index], static_cast<double>(std::max(sample, std::chrono::nanoseconds(0)).count()), now_());
}

}  // namespace aegis::upstream::lb
