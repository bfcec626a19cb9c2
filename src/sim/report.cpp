#include "sim/report.h"

#include "carbon/xml_escape.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace aegis::sim {
namespace {

using Json = nlohmann::ordered_json;

std::string iso(Clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

constexpr std::array<const char*, 16> kColors = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
                                   "#8c6d31", "#843c39", "#7b4173", "#3182bd"};

const char* color(std::size_t i) { return kColors.at(i % kColors.size()); }

std::string escape(const std::string& s) { return carbon::xml_escape(s); }

}  // namespace

std::string to_json(const SimOptions& o, const SimResult& r) {
  Json policies = Json::object();
  for (const auto& p : r.policies) {
    Json shares = Json::object();
    for (std::size_t i = 0; i < r.regions.size(); ++i) shares[r.regions[i]] = p.mean_share[i];
    policies[to_string(p.kind)] = Json{{"requests", p.requests},
                                       {"grams_total", p.grams},
                                       {"grams_per_request", p.grams_per_request},
                                       {"reduction_vs_random", optional_number(p.reduction_vs_random)},
                                       {"share_of_oracle", optional_number(p.share_of_oracle)},
                                       {"p50_ms", p.p50_ms},
                                       {"p99_ms", p.p99_ms},
                                       {"slo_violation_minutes", p.slo_violation_minutes},
                                       {"capacity_violation_minutes", p.capacity_violation_minutes},
                                       {"over_max_utilization_minutes", p.over_max_utilization_minutes},
                                       {"mean_share", std::move(shares)}};
  }
  Json regions = Json::array();
  for (std::size_t i = 0; i < o.regions.size(); ++i) {
    double mean = 0;
    for (const auto& row : r.intensity_bins) mean += row[i];
    regions.push_back(Json{{"name", o.regions[i].name},
                           {"capacity", o.regions[i].capacity},
                           {"rtt_ms", o.regions[i].rtt_ms},
                           {"mean_intensity", r.intensity_bins.empty() ? 0.0 : mean / static_cast<double>(r.intensity_bins.size())}});
  }
  const Json j{{"policies", std::move(policies)},
               {"regions", std::move(regions)},
               {"start", iso(r.start)},
               {"end", iso(r.end)},
               {"steps", r.steps},
               {"step_seconds", o.step.count()},
               {"data_delay_minutes", o.data_delay.count()},
               {"peak_utilization", o.peak_utilization},
               {"slo_p99_ms", o.slo_p99_ms},
               {"service_ms", o.service_ms},
               {"joules_per_request", o.joules_per_request},
               {"max_utilization", o.carbon_aware.max_utilization}};
  return j.dump(2) + "\n";
}

std::string to_table(const SimOptions& o, const SimResult& r) {
  std::string out = fmt::format("{} .. {}, {} steps of {} s, data delay {} min, peak utilization {}\n", iso(r.start),
                                iso(r.end), r.steps, o.step.count(), o.data_delay.count(), o.peak_utilization);
  out += fmt::format("{:<14} {:>14} {:>12} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9}\n", "policy", "requests",
                     "gCO2/req", "vs random", "of oracle", "p50 ms", "p99 ms", "SLO min", "cap min");
  auto pct = [](const std::optional<double>& v) { return v ? fmt::format("{:.1f}%", *v * 100) : std::string("-"); };
  for (const auto& p : r.policies) {
    out += fmt::format("{:<14} {:>14.4g} {:>12.4e} {:>9} {:>9} {:>8.1f} {:>8.1f} {:>9.0f} {:>9.0f}\n",
                       to_string(p.kind), p.requests, p.grams_per_request, pct(p.reduction_vs_random),
                       pct(p.share_of_oracle), p.p50_ms, p.p99_ms, p.slo_violation_minutes,
                       p.capacity_violation_minutes);
  }
  return out;
}

std::string to_svg(const SimResult& r) {
  constexpr double kWidth = 900, kLeft = 60, kRight = 20, kPanel = 110, kGap = 34;
  const double plot_w = kWidth - kLeft - kRight;
  const std::size_t bins = r.intensity_bins.size();
  const std::size_t panels = 1 + r.policies.size();
  const double height = kGap + static_cast<double>(panels) * (kPanel + kGap) + 10;
  auto x_at = [&](std::size_t b) { return kLeft + plot_w * (bins > 1 ? double(b) / double(bins - 1) : 0.0); };

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      kWidth, height);
  // Legend.
  for (std::size_t i = 0; i < r.regions.size(); ++i) {
    s += fmt::format("<rect x=\"{}\" y=\"6\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"15\">{}</text>\n",
                     kLeft + 90 * static_cast<double>(i), color(i), kLeft + 90 * static_cast<double>(i) + 14,
                     escape(r.regions[i]));
  }
  s += fmt::format("<text x=\"{}\" y=\"15\" text-anchor=\"end\">{} .. {}</text>\n", kWidth - kRight,
                   iso(r.start).substr(0, 10), iso(r.end).substr(0, 10));

  // Panel 1: intensity per region.
  double top = kGap;
  double max_i = 1;
  for (const auto& row : r.intensity_bins) for (double v : row) max_i = std::max(max_i, v);
  s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">grid intensity, gCO2/kWh (mean per bin)</text>\n",
                   kLeft, top - 6);
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, top,
                   plot_w, kPanel);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0f}</text><text x=\"{}\" y=\"{}\" "
                   "text-anchor=\"end\">0</text>\n",
                   kLeft - 4, top + 10, max_i, kLeft - 4, top + kPanel);
  for (std::size_t i = 0; i < r.regions.size(); ++i) {
    s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\" points=\"", color(i));
    for (std::size_t b = 0; b < bins; ++b)
      s += fmt::format("{:.1f},{:.1f} ", x_at(b), top + kPanel * (1 - r.intensity_bins[b][i] / max_i));
    s += "\"/>\n";
  }
  // One panel per policy: traffic share per region, stacked.
  for (const auto& p : r.policies) {
    top += kPanel + kGap;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}: traffic share ({:.3g} gCO2/request{})</text>\n",
                     kLeft, top - 6, to_string(p.kind), p.grams_per_request,
                     p.reduction_vs_random ? fmt::format(", {:+.1f}% vs random", -*p.reduction_vs_random * 100) : "");
    std::vector<double> below(bins, 0.0);
    for (std::size_t i = 0; i < r.regions.size(); ++i) {
      std::string upper, lower;
      for (std::size_t b = 0; b < bins; ++b) {
        const double y0 = below[b], y1 = below[b] + p.share_bins[b][i];
        upper += fmt::format("{:.1f},{:.1f} ", x_at(b), top + kPanel * (1 - y1));
        lower.insert(0, fmt::format("{:.1f},{:.1f} ", x_at(b), top + kPanel * (1 - y0)));
        below[b] = y1;
      }
      s += fmt::format("<polygon fill=\"{}\" fill-opacity=\"0.8\" points=\"{}{}\"/>\n", color(i), upper, lower);
    }
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft,
                     top, plot_w, kPanel);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">100%</text><text x=\"{}\" y=\"{}\" "
                     "text-anchor=\"end\">0%</text>\n",
                     kLeft - 4, top + 10, kLeft - 4, top + kPanel);
  }
  s += "</svg>\n";
  return s;
}

}  // namespace aegis::sim
