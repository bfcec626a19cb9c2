#include "carbon/accounting.h"

#include <utility>

namespace aegis::carbon {

std::string locality_label(const config::LocalityEndpoints& l) {
  if (!l.region.empty()) return l.zone.empty() ? l.region : l.region + "/" + l.zone;
  return l.zone.empty() ? l.grid_zone : l.zone;
}

Accountant::Accountant(std::string cluster, const config::CarbonAccountingConfig& model,
                       std::vector<Locality> localities, const IntensityBoard& board)
    : cluster_(std::move(cluster)), model_(model), localities_(std::move(localities)), board_(board) {
  auto& s = stats::global();
  for (const auto& l : localities_) {
    const stats::Labels labels{{"cluster", cluster_}, {"locality", l.label}};
    series_.push_back(
        {&s.float_counter("aegis_carbon_emitted_grams_total",
                          "Grams of CO2(eq) emitted by upstream responses: the cluster's carbon_accounting energy "
                          "model x the serving locality's grid intensity at serving time",
                          labels),
         &s.counter("aegis_carbon_requests_total", "Upstream responses priced by carbon accounting, by locality",
                    labels)});
  }
  avoided_ = &s.float_counter("aegis_carbon_avoided_grams_total",
                              "Grams of CO2(eq) below what uniform routing over the cluster's endpoints would have "
                              "emitted at the same moments (net saving = avoided - excess)",
                              {{"cluster", cluster_}});
  excess_ = &s.float_counter("aegis_carbon_excess_grams_total",
                             "Grams of CO2(eq) above what uniform routing over the cluster's endpoints would have "
                             "emitted at the same moments",
                             {{"cluster", cluster_}});
  unaccounted_ = &s.counter("aegis_carbon_unaccounted_requests_total",
                            "Upstream responses not priced: their locality's grid zone had no intensity reading yet",
                            {{"cluster", cluster_}});
}

double Accountant::joules(std::chrono::nanoseconds upstream_time) const {
  return model_.joules_per_request +
         model_.joules_per_upstream_second * std::chrono::duration<double>(upstream_time).count();
}

void Accountant::record(std::size_t locality, std::chrono::nanoseconds upstream_time) const {
  if (locality >= localities_.size()) return;
  const auto board = board_.snapshot();
  auto intensity = [&](const std::string& zone) -> const Reading* {
    auto it = board->find(zone);
    return it == board->end() ? nullptr : &it->second;
  };
  const Reading* served = intensity(localities_[locality].grid_zone);
  if (served == nullptr) {
    unaccounted_->inc();
    return;
  }
  // Uniform over endpoints: each locality weighs as many endpoints as it has.
  double weighted = 0;
  double weight = 0;
  for (const auto& l : localities_) {
    if (const Reading* r = intensity(l.grid_zone)) {
      weighted += static_cast<double>(l.endpoints) * r->gco2_per_kwh;
      weight += static_cast<double>(l.endpoints);
    }
  }
  const double j = joules(upstream_time);
  const double emitted = grams_for(j, served->gco2_per_kwh);
  series_[locality].emitted->add(emitted);
  series_[locality].requests->inc();
  const double baseline = weight > 0 ? grams_for(j, weighted / weight) : emitted;
  if (baseline > emitted) avoided_->add(baseline - emitted);
  if (emitted > baseline) excess_->add(emitted - baseline);
}

Accountant::Report Accountant::report() const {
  Report r;
  r.cluster = cluster_;
  for (std::size_t i = 0; i < localities_.size(); ++i) {
    r.localities.push_back(
        {localities_[i].label, localities_[i].grid_zone, series_[i].requests->value(), series_[i].emitted->value()});
  }
  r.avoided_grams = avoided_->value();
  r.excess_grams = excess_->value();
  r.unaccounted_requests = unaccounted_->value();
  return r;
}

}  // namespace aegis::carbon
