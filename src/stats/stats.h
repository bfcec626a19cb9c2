// Counters, gauges and histograms for the whole process. Hot-path updates are
// lock-free: each metric keeps per-thread shards (relaxed atomics on separate
// cache lines) that are summed only when scraped. Registration (config time)
// takes a lock and returns a reference that stays valid for the process life;
// registering the same name+labels again returns the same metric.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace aegis::stats {

using Labels = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::size_t kShards = 16;
// The calling thread's shard (assigned round-robin on first use).
std::size_t this_thread_shard();

class Counter {
 public:
  void inc(std::uint64_t n = 1) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): this_thread_shard() < kShards by construction; hot path
    shards_[this_thread_shard()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const;

 private:
  struct alignas(64) Shard { std::atomic<std::uint64_t> v{0}; };
  std::array<Shard, kShards> shards_{};
};

class Gauge {
 public:
  void add(std::int64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) { v_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// A gauge with a fractional value (grid intensity in g/kWh, reading ages in
// seconds). Set off the request path; a plain atomic, no shards.
class FloatGauge {
 public:
  void set(double v) { v_.store(v, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// A counter with fractional increments (grams of CO2). add() is a CAS loop on
// one atomic: fine for per-request accounting at the rates a sidecar sees,
// not a replacement for Counter.
class FloatCounter {
 public:
  void add(double n) {
    if (!(n > 0)) return;  // counters only go up; NaN is ignored
    v_.fetch_add(n, std::memory_order_relaxed);
  }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Durations in seconds by default; bucket upper bounds are fixed at creation.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets;  // bounds.size() + 1
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, kShards> shards_;
};

// Default latency buckets, in seconds: 0.5 ms .. 60 s.
const std::vector<double>& latency_buckets();

// Registration rules (checked at config time; breaking one throws std::logic_error):
// names are [a-zA-Z_][a-zA-Z0-9_]*, counters and only counters end in _total, no name
// ends in _bucket/_sum/_count; help is non-empty; label names are valid, unique, not
// "le"/"quantile" and not "__"-prefixed; label values are UTF-8. A name keeps one type
// and one help text; a histogram series keeps its bounds. Label order does not matter.
class Store {
 public:
  Counter& counter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, Labels labels = {});
  // Same families and rules as gauge()/counter(), with fractional values.
  FloatGauge& float_gauge(const std::string& name, const std::string& help, Labels labels = {});
  FloatCounter& float_counter(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, Labels labels = {},
                       const std::vector<double>& bounds = latency_buckets());

  // Prometheus text exposition format 0.0.4 (passes `promtool check metrics`).
  std::string prometheus_text() const;

  Store();
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The process-wide store used by every module.
Store& global();

}  // namespace aegis::stats
