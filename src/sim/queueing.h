// The latency model of one simulated region: an M/M/c queue (c servers, the
// region's endpoints) behind a network round trip. A request's latency is
// rtt + service time + its wait in the queue; the wait is 0 with probability
// 1 - P(wait) (Erlang C) and otherwise exponential with rate c·mu - lambda.
// Service time is taken as its mean (only the queueing delay is random).
#pragma once

#include <vector>

namespace aegis::sim {

class RegionQueue {
 public:
  // capacity: requests/s at utilization 1; service_ms: mean service time.
  RegionQueue(double capacity, double service_ms, double rtt_ms);

  double capacity() const { return capacity_; }
  double base_ms() const { return rtt_ms_ + service_ms_; }  // latency without queueing
  std::size_t servers() const { return servers_; }
  // Erlang C: probability that a request waits, at utilization u in [0, 1).
  double wait_probability(double utilization) const;
  // Rate of the exponential wait (per ms) at `rate` requests/s (> 0 below capacity).
  double wait_rate_per_ms(double rate) const { return (capacity_ - rate) / 1000.0; }
  // Mean latency at `rate` requests/s; +inf at or above capacity.
  double mean_ms(double rate) const;
  // P(latency > x_ms) at `rate` requests/s.
  double exceed_probability(double rate, double x_ms) const;
  // The highest request rate whose p-quantile latency stays within x_ms (0 if
  // even an idle region is slower).
  double max_rate_within(double x_ms, double quantile) const;

 private:
  double capacity_, service_ms_, rtt_ms_;
  std::size_t servers_;
  std::vector<double> erlang_c_;  // on a grid of utilization, kGrid + 1 points
};

}  // namespace aegis::sim
