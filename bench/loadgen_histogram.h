// A latency histogram for aegis-bench-loadgen: HdrHistogram's bucketing with
// 2 significant digits (every value within 1/128 of the value recorded) over
// 1 µs .. 60 s, in a fixed array of counters. One per worker thread, merged at
// the end, so recording is a couple of shifts and an increment.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace aegis::bench {

class LatencyHistogram {
 public:
  static constexpr uint64_t kMaxValueUs = 60'000'000;  // larger values are clamped to this

  void record(uint64_t value_us) {
    const uint64_t v = std::min(value_us, kMaxValueUs);
    ++counts_.at(index_of(v));
    ++total_;
    max_ = std::max(max_, v);
  }

  void merge(const LatencyHistogram& other) {
    for (std::size_t i = 0; i < kCounts; ++i) counts_.at(i) += other.counts_.at(i);
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }

  // The value at percentile `p` (0..100): the highest value equivalent to the
  // bucket that holds the ceil(p% of count)-th smallest recording, never above
  // the largest value recorded. 0 when empty.
  uint64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const double wanted = std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(total_));
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kCounts; ++i) {
      seen += counts_.at(i);
      if (seen >= rank) return std::min(highest_equivalent(i), max_);
    }
    return max_;
  }

 private:
  // 2 significant digits need 2 * 10^2 = 200 distinct steps per power of two: 256.
  static constexpr unsigned kSubBucketBits = 8;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr uint64_t kHalf = kSubBuckets / 2;
  static constexpr unsigned kBuckets = std::bit_width(kMaxValueUs) - kSubBucketBits + 1;
  static constexpr std::size_t kCounts = (kBuckets + 1) * kHalf;

  // Bucket b covers [2^(b+7), 2^(b+8)) in steps of 2^b (bucket 0: 0..255 exactly).
  static std::size_t index_of(uint64_t v) {
    const unsigned bucket = std::bit_width(v | (kSubBuckets - 1)) - kSubBucketBits;
    const uint64_t sub = v >> bucket;
    return static_cast<std::size_t>(((bucket + 1) * kHalf) + sub - kHalf);
  }
  static uint64_t lowest_equivalent(std::size_t index) {
    const uint64_t i = index;
    if (i < kSubBuckets) return i;
    const uint64_t bucket = (i / kHalf) - 1;
    const uint64_t sub = (i % kHalf) + kHalf;
    return sub << bucket;
  }
  static uint64_t highest_equivalent(std::size_t index) {
    const uint64_t i = index;
    if (i < kSubBuckets) return i;
    const uint64_t bucket = (i / kHalf) - 1;
    return lowest_equivalent(index) + (uint64_t{1} << bucket) - 1;
  }

  std::array<uint64_t, kCounts> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace aegis::bench
