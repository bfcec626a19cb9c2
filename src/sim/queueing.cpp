#include "sim/queueing.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace aegis::sim {
namespace {

constexpr std::size_t kGrid = 4000;

// Erlang C for c servers at offered load a = c·u (Erlang B by its stable
// recursion, then C = B / (1 - u (1 - B))).
double erlang_c(std::size_t c, double u) {
  if (u <= 0) return 0;
  if (u >= 1) return 1;
  const double a = u * static_cast<double>(c);
  double b = 1;
  for (std::size_t k = 1; k <= c; ++k) b = a * b / (static_cast<double>(k) + a * b);
  return b / (1 - u * (1 - b));
}

}  // namespace

RegionQueue::RegionQueue(double capacity, double service_ms, double rtt_ms)
    : capacity_(capacity), service_ms_(service_ms), rtt_ms_(rtt_ms) {
  // c servers of service rate capacity / c each, c ≈ capacity × service time.
  servers_ = static_cast<std::size_t>(std::max(1.0, std::round(capacity * service_ms / 1000.0)));
  erlang_c_.resize(kGrid + 1);
  for (std::size_t i = 0; i <= kGrid; ++i) erlang_c_[i] = erlang_c(servers_, static_cast<double>(i) / kGrid);
}

double RegionQueue::wait_probability(double u) const {
  if (u <= 0) return 0;
  if (u >= 1) return 1;
  const double x = u * kGrid;
  const auto i = static_cast<std::size_t>(x);
  const double f = x - static_cast<double>(i);
  return erlang_c_[i] + f * (erlang_c_[std::min(i + 1, kGrid)] - erlang_c_[i]);
}

double RegionQueue::mean_ms(double rate) const {
  if (rate >= capacity_) return std::numeric_limits<double>::infinity();
  if (rate <= 0) return base_ms();
  return base_ms() + wait_probability(rate / capacity_) / wait_rate_per_ms(rate);
}

double RegionQueue::exceed_probability(double rate, double x_ms) const {
  if (rate >= capacity_) return 1;
  if (x_ms < base_ms()) return 1;
  if (rate <= 0) return 0;
  return wait_probability(rate / capacity_) * std::exp(-wait_rate_per_ms(rate) * (x_ms - base_ms()));
}

double RegionQueue::max_rate_within(double x_ms, double quantile) const {
  if (x_ms < base_ms()) return 0;
  double lo = 0, hi = capacity_;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (exceed_probability(mid, x_ms) <= 1 - quantile ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace aegis::sim
