// Carbon accounting: what each upstream response cost the climate. A
// cluster's energy model (config `carbon_accounting`: joules per response,
// plus joules per second of upstream response time) is priced at the grid
// intensity of the serving locality's zone at serving time:
//
//   grams = joules / 3.6e6 (kWh) × gCO2/kWh
//
// and compared with what uniform routing (kube-proxy's default: every
// endpoint equally likely) would have emitted at the same moment: the
// endpoint-weighted mean intensity over the cluster's localities. Metrics
// (all counters, so rate() works):
//   aegis_carbon_emitted_grams_total{cluster,locality}
//   aegis_carbon_requests_total{cluster,locality}       responses accounted
//   aegis_carbon_avoided_grams_total{cluster}           below the uniform baseline
//   aegis_carbon_excess_grams_total{cluster}            above it (net avoided = avoided − excess)
//   aegis_carbon_unaccounted_requests_total{cluster}    serving zone without any reading yet
// A zone's latest reading is used even when stale (the best estimate there
// is; /carbon shows its age); localities without a reading are left out of
// the baseline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "carbon/intensity.h"
#include "config/types.h"
#include "stats/stats.h"

namespace aegis::carbon {

inline constexpr double kJoulesPerKwh = 3.6e6;
constexpr double grams_for(double joules, double gco2_per_kwh) { return joules / kJoulesPerKwh * gco2_per_kwh; }

class Accountant {
 public:
  struct Locality {
    std::string label;      // metric label: "region/zone", "region", or the grid zone
    std::string grid_zone;  // as the feeds publish it
    std::size_t endpoints = 0;
  };
  // Registers (or finds, across reloads) the cluster's metric series.
  Accountant(std::string cluster, const config::CarbonAccountingConfig& model, std::vector<Locality> localities,
             const IntensityBoard& board);

  // One upstream response served by `locality` (index into the constructor's
  // list) after `upstream_time`. Thread-safe (atomic counters only).
  void record(std::size_t locality, std::chrono::nanoseconds upstream_time) const;

  double joules(std::chrono::nanoseconds upstream_time) const;

  // The counters as they stand (for admin /carbon).
  struct Report {
    struct Row {
      std::string locality, grid_zone;
      std::uint64_t requests = 0;
      double emitted_grams = 0;
    };
    std::string cluster;
    std::vector<Row> localities;
    double avoided_grams = 0, excess_grams = 0;
    std::uint64_t unaccounted_requests = 0;
  };
  Report report() const;
  const std::vector<Locality>& localities() const { return localities_; }
  const std::string& cluster() const { return cluster_; }

 private:
  struct Series {
    stats::FloatCounter* emitted;
    stats::Counter* requests;
  };
  std::string cluster_;
  config::CarbonAccountingConfig model_;
  std::vector<Locality> localities_;
  std::vector<Series> series_;  // parallel to localities_
  const IntensityBoard& board_;
  stats::FloatCounter* avoided_;
  stats::FloatCounter* excess_;
  stats::Counter* unaccounted_;
};

// The metric label of a locality: "region/zone", "region", else the grid zone.
std::string locality_label(const config::LocalityEndpoints& l);

}  // namespace aegis::carbon
