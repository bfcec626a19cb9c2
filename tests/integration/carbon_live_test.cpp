// carbon_aware and carbon accounting live: three upstream "regions" on
// 127.0.0.1 (eu-central on the German grid, eu-north on the British, eu-west
// on the French), the local Electricity-Maps-format server replaying the real
// 2020 traces of ../shared/testdata/carbon together on an accelerated clock
// (one hour of history every 2.5 s, from 2020-04-24 03:00 UTC, when Britain's
// grid was cleaner than Germany's until 07:45, and Germany's after), and
// h2load sending a steady 100 requests/s through one proxy worker.
//
// Capacities 50 (DE), 50 (GB), 60 (FR) requests/s with max_utilization 0.8:
// France, always the cleanest, is filled to 48/s; the next cleanest gets 40/s
// and the dirtiest the remaining 12/s. The test samples /carbon every 250 ms
// (the proxy's readings and its accounting in one document) and checks:
//   - traffic shares follow the intensities: Britain's share above Germany's
//     while its grid is cleaner, Germany's share rising above Britain's once
//     Germany's grid becomes the cleaner one; France's share the largest;
//   - no locality above its capacity (requests/s over every 2 s window);
//   - the metrics add up: between samples where no reading changed, the grams
//     emitted per locality equal requests × energy × the intensity the proxy
//     held (within 1%), and so do the grams avoided against uniform routing;
//   - /carbon.html, loaded in headless Chromium, shows the zones, the traffic
//     shares and the grams.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <map>
#include <regex>
#include <thread>

#include "carbon_server.h"
#include "harness.h"

namespace aegis::itest {
namespace {

using Json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr double kJoulesPerRequest = 3600;  // 1 Wh: grams = gCO2/kWh / 1000
constexpr int kLoadSeconds = 20;

struct Region {
  std::string locality, zone;
  double capacity;
};
const std::vector<Region> kRegions = {{"eu-central", "DE", 50}, {"eu-north", "GB", 50}, {"eu-west", "FR", 60}};

struct Sample {
  SteadyClock::time_point at;
  std::map<std::string, double> intensity;  // zone → g/kWh the proxy holds
  std::map<std::string, double> requests;   // locality → accounted responses
  std::map<std::string, double> emitted;    // locality → grams
  double net_avoided = 0;
};

std::optional<Sample> take_sample(std::uint16_t admin) {
  auto [status, body] = simple_get(admin, "/carbon");
  if (status != 200 || !Json::accept(body)) return std::nullopt;
  const Json doc = Json::parse(body);
  Sample s;
  s.at = SteadyClock::now();
  for (const auto& z : doc.at("zones"))
    if (z.at("gco2_per_kwh").is_number()) s.intensity[z.at("zone").get<std::string>()] = z.at("gco2_per_kwh").get<double>();
  if (doc.at("clusters").empty()) return std::nullopt;
  const auto& c = doc.at("clusters").at(0);
  for (const auto& l : c.at("localities")) {
    s.requests[l.at("locality").get<std::string>()] = l.at("requests").get<double>();
    s.emitted[l.at("locality").get<std::string>()] = l.at("emitted_grams").get<double>();
  }
  s.net_avoided = c.at("net_avoided_grams").get<double>();
  return s;
}

TEST(CarbonLive, SharesFollowTheGridCapacitiesHoldAndTheGramsAddUp) {
  if (!fs::exists(carbon_testdata_dir() / "de_2020_ci.csv"))
    GTEST_SKIP() << "test data not found under " << carbon_testdata_dir() << " (AEGIS_TESTDATA)";
  const std::string h2load = find_tool("h2load");
  ASSERT_FALSE(h2load.empty()) << "h2load (Debian package nghttp2-client) is not installed";
  TempDir dir("carbon-live");
  ProviderServer::Options popts;
  popts.traces = {{"DE", "de_2020_ci.csv"}, {"GB", "gb_2020_ci.csv"}, {"FR", "fr_2020_ci.csv"}};
  popts.em_token = "em-live-token";
  popts.replay_start = "2020-04-24T03:00:00+00:00";
  popts.replay_speed = 1440;  // one hour of history per 2.5 s
  ProviderServer server(dir.path(), popts);
  write_file(dir / "em.token", "em-live-token\n");

  std::vector<std::unique_ptr<Upstream>> ups;
  std::string localities;
  for (const auto& r : kRegions) {
    ups.push_back(std::make_unique<Upstream>(dir.path(), "upstream-" + r.locality));
    localities += "        - {locality: {region: " + r.locality + "}, grid_zone: " + r.zone +
                  ", capacity: " + std::to_string(static_cast<int>(r.capacity)) +
                  ", lb_endpoints: [{address: 127.0.0.1, port: " + std::to_string(ups.back()->port()) + "}]}\n";
  }
  auto cfg = config_for({});
  cfg.access_log = "";
  cfg.cluster_yaml = "    lb_policy: carbon_aware\n"
                     "    carbon_aware: {max_utilization: 0.8, rebalance_interval: 250ms, max_step: 0.25}\n"
                     "    carbon_accounting: {joules_per_request: 3600}\n"
                     "    load_assignment:\n"
                     "      endpoints:\n" +
                     localities;
  cfg.top_yaml = "carbon:\n"
                 "  providers:\n"
                 "    - type: electricity_maps\n"
                 "      base_url: " + server.base_url() + "\n"
                 "      zones: {DE: DE, GB: GB, FR: FR}\n"
                 "      token_file: em.token\n"
                 "      poll_interval: 100ms\n"
                 "      timeout: 2s\n";
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port}, "aegis-flow",
              {"--concurrency", "1"});
  AEGIS_ASSERT_READY(proxy);
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_polls_total",
                                         {{"provider", "electricity_maps"}, {"result", "ok"}}, 6, 20s))
      << proxy.metrics();

  // Load and history start together.
  server.restart_clock();
  std::atomic<bool> load_done{false};
  CommandResult load;
  std::thread loader([&] {
    load = run_command("h2load",
                       {h2load, "--h1", "-t", "1", "-c", "4", "--rps", "25", "-D", std::to_string(kLoadSeconds),
                        url(cfg.listener_port, "/")},
                       dir.path(), std::chrono::seconds(kLoadSeconds + 60));
    load_done = true;
  });
  std::vector<Sample> samples;
  while (!load_done) {
    if (auto s = take_sample(cfg.admin_port)) samples.push_back(std::move(*s));
    std::this_thread::sleep_for(250ms);
  }
  loader.join();
  if (auto s = take_sample(cfg.admin_port)) samples.push_back(std::move(*s));
  ASSERT_TRUE(load.status.ok()) << load.status.describe() << "\n" << load.out << load.err;
  ASSERT_NE(load.out.find("0 failed, 0 errored"), std::string::npos) << load.out;
  ASSERT_GE(samples.size(), 40u);

  double total = 0;
  for (const auto& [l, n] : samples.back().requests) total += n;
  EXPECT_GE(total, 0.8 * 100 * kLoadSeconds) << "h2load sent far fewer requests than 100/s:\n" << load.out;

  // Shares per phase: by which of DE and GB the proxy held cleaner, leaving
  // out the first 2 s of load and 1.5 s after each change of order
  // (max_step 0.25 per 250 ms rebalance moves the shares within about 1 s).
  std::map<std::string, std::map<std::string, double>> phase;  // "gb-cleaner"/"de-cleaner" → locality → requests
  double expected_grams = 0, got_grams = 0, expected_avoided = 0, got_avoided = 0, stable_requests = 0;
  std::optional<SteadyClock::time_point> last_flip;
  std::optional<bool> gb_was_cleaner;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const auto& a = samples[i - 1];
    const auto& b = samples[i];
    if (b.intensity.size() != 3 || a.intensity.size() != 3) continue;
    const bool gb_cleaner = b.intensity.at("GB") < b.intensity.at("DE");
    if (gb_was_cleaner && *gb_was_cleaner != gb_cleaner) last_flip = b.at;
    gb_was_cleaner = gb_cleaner;
    const bool settled = b.at - samples.front().at > 2s && (!last_flip || a.at - *last_flip > 1500ms);
    // No reading changed between a and b: every response between them was
    // priced at these intensities.
    const bool stable = a.intensity == b.intensity;
    double mean = 0;
    for (const auto& [zone, g] : b.intensity) mean += g / 3;
    for (const auto& r : kRegions) {
      const double dn = b.requests.at(r.locality) - a.requests.at(r.locality);
      if (settled && (a.intensity.at("GB") < a.intensity.at("DE")) == gb_cleaner)
        phase[gb_cleaner ? "gb-cleaner" : "de-cleaner"][r.locality] += dn;
      if (!stable) continue;
      const double g = b.intensity.at(r.zone);
      expected_grams += dn * kJoulesPerRequest / 3.6e6 * g;
      expected_avoided += dn * kJoulesPerRequest / 3.6e6 * (mean - g);
      got_grams += b.emitted.at(r.locality) - a.emitted.at(r.locality);
      stable_requests += dn;
    }
    if (stable) got_avoided += b.net_avoided - a.net_avoided;
  }
  auto share = [&](const std::string& p, const std::string& locality) {
    double sum = 0;
    for (const auto& [l, n] : phase[p]) sum += n;
    return sum > 0 ? phase[p][locality] / sum : 0.0;
  };
  std::string shares;
  for (const auto& p : {"gb-cleaner", "de-cleaner"})
    for (const auto& r : kRegions)
      shares += std::string(p) + " " + r.locality + ": " + std::to_string(share(p, r.locality)) + " (" +
                std::to_string(static_cast<int>(phase[p][r.locality])) + " requests)\n";
  std::printf("%s", shares.c_str());  // the run's numbers, kept in the test log
  ASSERT_GT(phase["gb-cleaner"]["eu-west"], 200) << "too little load while GB was cleaner\n" << shares;
  ASSERT_GT(phase["de-cleaner"]["eu-west"], 150) << "too little load after DE became cleaner\n" << shares;
  // Planned: FR 48/s, the cleaner of GB and DE 40/s, the other 12/s.
  EXPECT_GT(share("gb-cleaner", "eu-north"), share("gb-cleaner", "eu-central") + 0.15) << shares;
  EXPECT_GT(share("de-cleaner", "eu-central"), share("de-cleaner", "eu-north") + 0.15) << shares;
  EXPECT_GT(share("de-cleaner", "eu-central"), share("gb-cleaner", "eu-central") + 0.15) << shares;
  for (const auto& p : {"gb-cleaner", "de-cleaner"}) {
    EXPECT_GE(share(p, "eu-west"), share(p, "eu-north") - 0.02) << shares;
    EXPECT_GE(share(p, "eu-west"), share(p, "eu-central") - 0.02) << shares;
  }

  // Capacity: requests/s per locality over every 2 s window stay within it.
  for (std::size_t i = 0, j = 0; i < samples.size(); ++i) {
    while (j < samples.size() && samples[j].at - samples[i].at < 2s) ++j;
    if (j == samples.size()) break;
    const double secs = std::chrono::duration<double>(samples[j].at - samples[i].at).count();
    for (const auto& r : kRegions) {
      const double rate = (samples[j].requests.at(r.locality) - samples[i].requests.at(r.locality)) / secs;
      EXPECT_LE(rate, r.capacity) << r.locality << " over " << secs << " s from sample " << i;
    }
  }

  // The metrics add up.
  std::printf("grams emitted %.6f (expected %.6f), net avoided %.6f (expected %.6f), over %.0f of %.0f requests\n",
              got_grams, expected_grams, got_avoided, expected_avoided, stable_requests, total);
  ASSERT_GT(stable_requests, 0.5 * total) << "readings changed between most samples";
  EXPECT_NEAR(got_grams, expected_grams, 0.01 * expected_grams);
  EXPECT_GT(expected_avoided, 0);
  EXPECT_NEAR(got_avoided, expected_avoided, 0.01 * std::fabs(expected_avoided));
  const std::string metrics = proxy.metrics();
  for (const auto& r : kRegions) {
    const auto grams = metric_value(metrics, "aegis_carbon_emitted_grams_total",
                                    {{"cluster", cfg.cluster_name}, {"locality", r.locality}});
    ASSERT_TRUE(grams.has_value()) << metrics;
    EXPECT_NEAR(*grams, samples.back().emitted.at(r.locality), 1e-6 * *grams + 1e-9);
  }
  EXPECT_EQ(metric_value(metrics, "aegis_carbon_unaccounted_requests_total", {{"cluster", cfg.cluster_name}}), 0);

  // The page, as a browser shows it.
  const std::string chromium = find_tool("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package `chromium`; scripts/bootstrap.sh)";
  const auto [cstatus, carbon_body] = simple_get(cfg.admin_port, "/carbon");
  ASSERT_EQ(cstatus, 200);
  const Json doc = Json::parse(carbon_body);
  const auto r = run_command("chromium",
                             {chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update",
                              "--disable-extensions", "--user-data-dir=" + (dir / "chromium-profile").string(),
                              "--dump-dom", url(cfg.admin_port, "/carbon.html")},
                             dir.path(), 60s);
  ASSERT_FALSE(r.timed_out) << r.err;
  const std::string& dom = r.out;
  ASSERT_NE(dom.find("grid carbon intensity and carbon-aware traffic"), std::string::npos) << dom << r.err;
  for (const auto& reg : kRegions) {
    // Each zone's bar with its value in g/kWh, each locality's traffic share.
    EXPECT_TRUE(std::regex_search(dom, std::regex(">" + reg.zone + "</text>[\\s\\S]*?>[0-9]+ gCO2/kWh · electricity_maps<")))
        << reg.zone << "\n" << dom;
    const auto& locs = doc.at("clusters").at(0).at("localities");
    for (const auto& l : locs) {
      if (l.at("locality") != reg.locality) continue;
      char expect[96];
      std::snprintf(expect, sizeof expect, "%.1f%% · %d requests", 100 * l.at("share").get<double>(),
                    l.at("requests").get<int>());
      EXPECT_NE(dom.find(expect), std::string::npos) << expect << "\n" << dom;
    }
  }
  char net[64];
  std::snprintf(net, sizeof net, "<td class=\"net-avoided\">%.3f</td>",
                doc.at("clusters").at(0).at("net_avoided_grams").get<double>());
  EXPECT_NE(dom.find(net), std::string::npos) << net << "\n" << dom;
  EXPECT_NE(dom.find("<svg"), std::string::npos);
}

}  // namespace
}  // namespace aegis::itest
