#include "carbon/board_json.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "carbon/parsers.h"
#include "carbon/xml_escape.h"

namespace aegis::carbon {

namespace json = boost::json;

boost::json::object carbon_document(const IntensityBoard& board,
                                    const std::map<std::string, FeedRunner::ZoneSource>& zones,
                                    const std::vector<Accountant::Report>& clusters, Clock::time_point now) {
  const auto readings = board.snapshot();
  std::map<std::string, std::pair<const Reading*, const FeedRunner::ZoneSource*>> all;
  for (const auto& [zone, r] : *readings) all[zone].first = &r;
  for (const auto& [zone, src] : zones) all[zone].second = &src;
  json::array out;
  for (const auto& [zone, pair] : all) {
    const auto [r, src] = pair;
    json::object z;
    z["zone"] = zone;
    z["provider"] = r ? r->provider : src->provider;
    if (src) z["max_age_seconds"] = std::chrono::duration<double>(src->max_age).count();
    if (r == nullptr) {
      z["gco2_per_kwh"] = nullptr;
      z["stale"] = true;
    } else {
      const double age = std::chrono::duration<double>(now - r->at).count();
      z["gco2_per_kwh"] = r->gco2_per_kwh;
      z["at"] = format_timestamp(r->at);
      z["fetched"] = format_timestamp(r->fetched);
      z["age_seconds"] = age;
      z["estimated"] = r->estimated;
      z["stale"] = src == nullptr || age > std::chrono::duration<double>(src->max_age).count();
    }
    out.push_back(std::move(z));
  }
  json::array accounted;
  for (const auto& c : clusters) {
    std::uint64_t requests = 0;
    double emitted = 0;
    for (const auto& l : c.localities) {
      requests += l.requests;
      emitted += l.emitted_grams;
    }
    json::array locs;
    for (const auto& l : c.localities) {
      locs.push_back(json::object{{"locality", l.locality},
                                  {"grid_zone", l.grid_zone},
                                  {"requests", l.requests},
                                  {"share", requests > 0 ? static_cast<double>(l.requests) / static_cast<double>(requests) : 0.0},
                                  {"emitted_grams", l.emitted_grams}});
    }
    accounted.push_back(json::object{{"cluster", c.cluster},
                                     {"localities", std::move(locs)},
                                     {"requests", requests},
                                     {"emitted_grams", emitted},
                                     {"avoided_grams", c.avoided_grams},
                                     {"excess_grams", c.excess_grams},
                                     {"net_avoided_grams", c.avoided_grams - c.excess_grams},
                                     {"unaccounted_requests", c.unaccounted_requests}});
  }
  json::object doc;
  doc["zones"] = std::move(out);
  doc["clusters"] = std::move(accounted);
  return doc;
}

std::string board_json(const boost::json::object& doc) { return json::serialize(doc) + "\n"; }

namespace {

std::string esc(std::string_view s) { return xml_escape(s); }

std::string str(const json::value& v) { return v.is_string() ? std::string(v.get_string()) : std::string(); }
double num(const json::value& v) { return v.is_number() ? v.to_number<double>() : 0.0; }

// Horizontal bars: one row per (label, value, caption), scaled to the largest value.
struct Bar {
  std::string label;
  double value;
  std::string caption;
  std::string css;  // bar class
};
std::string bars_svg(const std::vector<Bar>& bars, std::string_view title) {
  constexpr int kRow = 28, kLabel = 170, kWidth = 360, kCaption = 190;
  double top = 0;
  for (const auto& b : bars) top = std::max(top, b.value);
  const int height = kRow * static_cast<int>(std::max<std::size_t>(bars.size(), 1)) + 8;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{}\" height=\"{}\">\n",
      esc(title), kLabel + kWidth + kCaption, height);
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const int y = 4 + kRow * static_cast<int>(i);
    const double w = top > 0 ? b.value / top * kWidth : 0;
    svg += fmt::format("  <text x=\"0\" y=\"{}\" class=\"lbl\">{}</text>\n", y + 15, esc(b.label));
    svg += fmt::format("  <rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"20\" class=\"{}\"/>\n", kLabel, y, w,
                       b.css);
    svg += fmt::format("  <text x=\"{:.1f}\" y=\"{}\" class=\"val\">{}</text>\n", kLabel + w + 6, y + 15,
                       esc(b.caption));
  }
  if (bars.empty()) svg += "  <text x=\"0\" y=\"20\" class=\"lbl\">none</text>\n";
  svg += "</svg>\n";
  return svg;
}

}  // namespace

std::string carbon_html(const boost::json::object& doc) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"5\">\n<title>aegis-flow: carbon</title>\n<style>\n"
      "body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}\n"
      "table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:right}\n"
      "td:first-child,th:first-child{text-align:left}.lbl{font-size:13px}.val{font-size:12px;fill:#444}\n"
      ".fresh{fill:#2e7d32}.stale{fill:#9e9e9e}.share{fill:#1565c0}.note{color:#666;font-size:.9em}\n"
      "</style></head><body>\n<h1>aegis-flow: grid carbon intensity and carbon-aware traffic</h1>\n"
      "<p class=\"note\">From <a href=\"/carbon\">/carbon</a>; this page reloads every 5 s.</p>\n";

  std::vector<Bar> zone_bars;
  const auto* zones = doc.if_contains("zones");
  if (zones && zones->is_array()) {
    for (const auto& z : zones->get_array()) {
      const auto& o = z.as_object();
      const bool known = o.at("gco2_per_kwh").is_number();
      const bool stale = o.at("stale").as_bool();
      std::string caption = known ? fmt::format("{:.0f} gCO2/kWh", num(o.at("gco2_per_kwh"))) : "no reading";
      if (known && stale) caption += " (stale)";
      caption += " · " + str(o.at("provider"));
      zone_bars.push_back({str(o.at("zone")), known ? num(o.at("gco2_per_kwh")) : 0.0, caption,
                           stale ? "stale" : "fresh"});
    }
  }
  h += "<h2>Grid intensity per zone</h2>\n<div id=\"zones\">\n" + bars_svg(zone_bars, "grid intensity per zone") +
       "</div>\n";

  const auto* clusters = doc.if_contains("clusters");
  if (!clusters || !clusters->is_array() || clusters->get_array().empty()) {
    h += "<h2>Carbon accounting</h2>\n<p class=\"note\">No cluster sets <code>carbon_accounting</code>.</p>\n";
  } else {
    for (const auto& cv : clusters->get_array()) {
      const auto& c = cv.as_object();
      const std::string name = str(c.at("cluster"));
      std::vector<Bar> shares;
      for (const auto& lv : c.at("localities").as_array()) {
        const auto& l = lv.as_object();
        const double share = num(l.at("share"));
        shares.push_back({str(l.at("locality")) + " (" + str(l.at("grid_zone")) + ")", share,
                          fmt::format("{:.1f}% · {} requests · {:.3f} g", 100 * share, l.at("requests").to_number<std::uint64_t>(),
                                      num(l.at("emitted_grams"))),
                          "share"});
      }
      h += fmt::format("<h2>Cluster {}</h2>\n<div class=\"cluster\" data-cluster=\"{}\">\n", esc(name), esc(name));
      h += "<p>Traffic share per locality (responses since start)</p>\n" +
           bars_svg(shares, "traffic share per locality of " + name);
      h += fmt::format(
          "<table>\n<tr><th>requests</th><th>emitted (g CO2)</th><th>avoided vs uniform (g)</th>"
          "<th>excess vs uniform (g)</th><th>net avoided (g)</th><th>unaccounted requests</th></tr>\n"
          "<tr><td class=\"requests\">{}</td><td class=\"emitted\">{:.3f}</td><td class=\"avoided\">{:.3f}</td>"
          "<td class=\"excess\">{:.3f}</td><td class=\"net-avoided\">{:.3f}</td><td class=\"unaccounted\">{}</td>"
          "</tr>\n</table>\n</div>\n",
          c.at("requests").to_number<std::uint64_t>(), num(c.at("emitted_grams")), num(c.at("avoided_grams")),
          num(c.at("excess_grams")), num(c.at("net_avoided_grams")),
          c.at("unaccounted_requests").to_number<std::uint64_t>());
    }
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace aegis::carbon
