#include "stats/stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string_view>
#include <variant>

#include "stats/prometheus.h"

namespace aegis::stats {

std::size_t this_thread_shard() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return shard;
}

std::uint64_t Counter::value() const {
  std::uint64_t total = 0;
  for (const auto& s : shards_) total += s.v.load(std::memory_order_relaxed);
  return total;
}

namespace {

std::vector<double> checked_bounds(std::vector<double> bounds) {
  // A trailing +Inf is implicit in every histogram; accept it but store it once.
  if (!bounds.empty() && std::isinf(bounds.back()) && bounds.back() > 0) bounds.pop_back();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::logic_error("stats: histogram bucket bounds must be finite");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw std::logic_error("stats: histogram bucket bounds must be strictly increasing");
    }
  }
  return bounds;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(checked_bounds(std::move(bounds))) {
  for (auto& s : shards_)
    s.buckets = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double value) {
  // Buckets are "less than or equal"; NaN lands in +Inf (as the Go client does).
  const std::size_t bucket =
      std::isnan(value)
          ? bounds_.size()
          : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                     bounds_.begin());
  // NOLINTNEXTLINE(cppcoreguidelines-pro-bounds-constant-array-index): this_thread_shard() < kShards by construction; hot path
  auto& shard = shards_[this_thread_shard()];
  shard.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  shard.sum.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.bounds = bounds_;
  snap.cumulative.assign(bounds_.size() + 1, 0);
  for (const auto& s : shards_) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      snap.cumulative[i] += s.buckets[i].load(std::memory_order_relaxed);
    }
    snap.sum += s.sum.load(std::memory_order_relaxed);
  }
  for (std::size_t i = 1; i < snap.cumulative.size(); ++i)
    snap.cumulative[i] += snap.cumulative[i - 1];
  // Count is derived from the buckets, so _count always equals the +Inf bucket.
  snap.count = snap.cumulative.back();
  return snap;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
  return kBuckets;
}

// ---------------------------------------------------------------------------
// Store

namespace {

enum class Kind { counter, gauge, histogram };

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::counter:
      return "counter";
    case Kind::gauge:
      return "gauge";
    case Kind::histogram:
      return "histogram";
  }
  return "untyped";
}

[[noreturn]] void misuse(const std::string& name, const std::string& what) {
  throw std::logic_error("stats: metric '" + name + "': " + what);
}

void check_name(const std::string& name, Kind kind, const std::string& help) {
  if (!prometheus::valid_metric_name(name)) {
    misuse(name, "invalid name; use [a-zA-Z_][a-zA-Z0-9_]* (snake_case)");
  }
  if (help.empty() || !prometheus::valid_utf8(help)) {
    misuse(name, "help text must be non-empty UTF-8");
  }
  const bool ends_total = name.ends_with("_total");
  if (kind == Kind::counter && !ends_total) misuse(name, "counter names must end in _total");
  if (kind != Kind::counter && ends_total) misuse(name, "only counters may end in _total");
  // Histograms expose <name>_bucket/_sum/_count; keep those names free for them.
  for (std::string_view reserved : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(reserved)) {
      misuse(name, "names must not end in " + std::string(reserved) + " (reserved for histograms)");
    }
  }
}

Labels checked_labels(const std::string& name, Labels labels) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& [label, value] = labels[i];
    if (!prometheus::valid_label_name(label)) {
      misuse(name, "invalid label name '" + label + "'; use [a-zA-Z_][a-zA-Z0-9_]*, no leading __");
    }
    if (label == "le" || label == "quantile") {
      misuse(name, "label name '" + label + "' is reserved");
    }
    if (i > 0 && labels[i - 1].first == label) misuse(name, "duplicate label '" + label + "'");
    if (!prometheus::valid_utf8(value)) misuse(name, "label '" + label + "' value is not UTF-8");
  }
  return labels;
}

}  // namespace

struct Store::Impl {
  using Metric =
      std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>,
                   std::unique_ptr<FloatGauge>, std::unique_ptr<FloatCounter>>;
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, Metric> series;  // rendered labels -> metric, sorted for output
  };

  std::mutex mu;
  std::map<std::string, Family> families;  // sorted by name, as the exposition wants

  // Finds or creates the series; `make` builds a new metric (never called if it exists).
  template <typename T, typename Make>
  T& series(const std::string& name, Kind kind, const std::string& help, Labels labels, Make make) {
    check_name(name, kind, help);
    const std::string key = prometheus::render_labels(checked_labels(name, std::move(labels)));
    std::lock_guard lock(mu);
    auto [fam, inserted] = families.try_emplace(name, Family{kind, help, {}});
    if (!inserted && fam->second.kind != kind) {
      misuse(name, "already registered as a " + std::string(kind_name(fam->second.kind)) +
                       ", not a " + std::string(kind_name(kind)));
    }
    if (!inserted && fam->second.help != help) {
      misuse(name, "already registered with help \"" + fam->second.help + "\"");
    }
    auto it = fam->second.series.find(key);
    if (it == fam->second.series.end()) {
      it = fam->second.series.emplace(key, Metric{make()}).first;
    }
    auto* typed = std::get_if<std::unique_ptr<T>>(&it->second);
    if (typed == nullptr) misuse(name, "already registered with the same labels as another value type (integer vs fractional)");
    return **typed;
  }
};

Store::Store() : impl_(std::make_unique<Impl>()) {}
Store::~Store() = default;

Counter& Store::counter(const std::string& name, const std::string& help, Labels labels) {
  return impl_->series<Counter>(name, Kind::counter, help, std::move(labels),
                                [] { return std::make_unique<Counter>(); });
}

Gauge& Store::gauge(const std::string& name, const std::string& help, Labels labels) {
  return impl_->series<Gauge>(name, Kind::gauge, help, std::move(labels),
                              [] { return std::make_unique<Gauge>(); });
}

FloatGauge& Store::float_gauge(const std::string& name, const std::string& help, Labels labels) {
  return impl_->series<FloatGauge>(name, Kind::gauge, help, std::move(labels),
                                   [] { return std::make_unique<FloatGauge>(); });
}

FloatCounter& Store::float_counter(const std::string& name, const std::string& help, Labels labels) {
  return impl_->series<FloatCounter>(name, Kind::counter, help, std::move(labels),
                                     [] { return std::make_unique<FloatCounter>(); });
}

Histogram& Store::histogram(const std::string& name, const std::string& help, Labels labels,
                            const std::vector<double>& bounds) {
  auto fresh = std::make_unique<Histogram>(bounds);  // validates bounds before locking
  const auto wanted = fresh->snapshot().bounds;
  Histogram& h = impl_->series<Histogram>(name, Kind::histogram, help, std::move(labels),
                                          [&] { return std::move(fresh); });
  if (h.snapshot().bounds != wanted) {
    misuse(name, "already registered with different bucket bounds");
  }
  return h;
}

std::string Store::prometheus_text() const {
  std::string out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [name, family] : impl_->families) {
    prometheus::append_family_header(out, name, family.help, kind_name(family.kind));
    for (const auto& [labels, metric] : family.series) {
      if (const auto* c = std::get_if<std::unique_ptr<Counter>>(&metric)) {
        prometheus::append_sample(out, name, labels, std::to_string((*c)->value()));
      } else if (const auto* g = std::get_if<std::unique_ptr<Gauge>>(&metric)) {
        prometheus::append_sample(out, name, labels, std::to_string((*g)->value()));
      } else if (const auto* fg = std::get_if<std::unique_ptr<FloatGauge>>(&metric)) {
        std::string v;
        prometheus::append_double(v, (*fg)->value());
        prometheus::append_sample(out, name, labels, v);
      } else if (const auto* fc = std::get_if<std::unique_ptr<FloatCounter>>(&metric)) {
        std::string v;
        prometheus::append_double(v, (*fc)->value());
        prometheus::append_sample(out, name, labels, v);
      } else {
        const auto& h = std::get<std::unique_ptr<Histogram>>(metric);
        prometheus::append_histogram(out, name, labels, h->snapshot());
      }
    }
  }
  return out;
}

Store& global() {
  static Store store;
  return store;
}

}  // namespace aegis::stats
