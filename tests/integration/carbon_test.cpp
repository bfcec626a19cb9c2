// aegis-flow with a carbon: section against the local provider server
// (carbon/provider_server.py), which speaks the Electricity Maps, WattTime
// and UK Carbon Intensity wire formats and serves rows of the real traces in
// ../shared/testdata/carbon; plus a `file` provider replaying a real trace.
// /stats/prometheus must show exactly the intensities served; provider
// errors are counted and the last reading stays; /config_dump shows
// credential references, never the credentials.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include "carbon_server.h"
#include "harness.h"

namespace aegis::itest {
namespace {

// Served and read within a few ulps: Boost 1.81's JSON number parsing may be
// 1 ulp off (its precise mode came in 1.83).
bool near(double a, double b) { return std::fabs(a - b) <= 4 * std::numeric_limits<double>::epsilon() * std::fabs(b); }
bool contains(const std::vector<double>& v, double x) {
  return std::any_of(v.begin(), v.end(), [&](double s) { return near(s, x); });
}

TEST(Carbon, MetricsShowTheIntensitiesOfTheTraces) {
  if (!fs::exists(carbon_testdata_dir() / "de_2020_ci.csv"))
    GTEST_SKIP() << "test data not found under " << carbon_testdata_dir() << " (AEGIS_TESTDATA)";
  TempDir dir("carbon-proxy");
  ProviderServer::Options popts;
  popts.traces = {{"DE", "de_2020_ci.csv"},
                  {"national", "gb_2020_ci.csv"},
                  {"1", "gb_2020_ci.csv"},
                  {"CAISO_NORTH", "watttime_caiso_north_2023-06_moer.csv"}};
  popts.em_token = "em-itest-token-42";
  popts.wt_user = "carbon-itest";
  popts.wt_password = "wt-itest-password-42";
  ProviderServer server(dir.path(), popts);
  write_file(dir / "em.token", "em-itest-token-42\n");
  write_file(dir / "wt.password", "wt-itest-password-42\n");
  const std::uint16_t admin = free_port();
  const std::string base = server.base_url();
  const std::string yaml = "admin: {address: 127.0.0.1, port: " + std::to_string(admin) + R"(}
carbon:
  providers:
    - type: electricity_maps
      base_url: )" + base + R"(
      zones: {de: DE}
      token_file: em.token
      poll_interval: 200ms
      initial_backoff: 100ms
      max_backoff: 400ms
      timeout: 2s
    - type: watttime
      base_url: )" + base + R"(
      zones: {us-west: CAISO_NORTH}
      username: carbon-itest
      password_file: wt.password
      poll_interval: 200ms
      timeout: 2s
    - name: uk
      type: uk_carbon_intensity
      base_url: )" + base + R"(
      zones: {gb: national}
      poll_interval: 200ms
      timeout: 2s
    - type: file
      zones: {fr: )" + (carbon_testdata_dir() / "fr_2020_ci.csv").string() + R"(}
      poll_interval: 200ms
)";
  Proxy proxy(dir.path(), yaml, admin, {});
  std::string why;
  ASSERT_TRUE(proxy.wait_ready(20s, &why)) << why;
  const std::string intensity = "aegis_grid_intensity_gco2_per_kwh";
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_polls_total", {{"provider", "electricity_maps"}, {"result", "ok"}}, 3, 20s))
      << proxy.metrics() << proxy.process().stderr_tail();
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_polls_total", {{"provider", "watttime"}, {"result", "ok"}}, 2, 20s))
      << proxy.metrics() << proxy.process().stderr_tail();
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_polls_total", {{"provider", "uk"}, {"result", "ok"}}, 2, 20s));

  const auto de = proxy.metric(intensity, {{"zone", "de"}, {"provider", "electricity_maps"}});
  ASSERT_TRUE(de.has_value()) << proxy.metrics();
  EXPECT_TRUE(contains(server.served("DE"), *de)) << *de;
  const auto us = proxy.metric(intensity, {{"zone", "us-west"}, {"provider", "watttime"}});
  ASSERT_TRUE(us.has_value());
  EXPECT_TRUE(contains(server.served("CAISO_NORTH"), *us)) << *us;  // lbs/MWh × 0.4536
  const auto gb = proxy.metric(intensity, {{"zone", "gb"}, {"provider", "uk"}});
  ASSERT_TRUE(gb.has_value());
  EXPECT_TRUE(contains(server.served("national"), *gb)) << *gb;
  // The replay started at the trace's first row (30-minute rows, speed 1).
  EXPECT_EQ(proxy.metric(intensity, {{"zone", "fr"}, {"provider", "file"}}), 42.34123797146737) << proxy.metrics();
  // The served values are the traces' rows from the first on, in order.
  const auto served_de = server.served("DE");
  ASSERT_GE(served_de.size(), 3u);
  EXPECT_EQ(served_de[0], 218.29003068829462);
  EXPECT_EQ(served_de[1], 217.8834341330206);
  EXPECT_EQ(server.served("CAISO_NORTH")[0], 425.01605069 * 0.4536);
  EXPECT_EQ(server.stats()["logins"], 1);  // one WattTime token for all polls
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_grid_reading_age_seconds", {{"zone", "fr"}}, 0, 5s));

  // The carbon families pass promtool's checks (fractional gauges included).
  if (const std::string promtool = find_tool("promtool"); !promtool.empty()) {
    const fs::path file = dir / "metrics.txt";
    write_file(file, proxy.metrics());
    const auto r = run_command("promtool", {"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool,
                                            file.string()},
                               dir.path(), 30s);
    EXPECT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.out << r.err;
    EXPECT_EQ(r.out + r.err, "") << "promtool lint findings";
  }

  // The provider fails: errors counted per kind, the last reading stays.
  server.set_mode("500");
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_errors_total",
                                         {{"provider", "electricity_maps"}, {"kind", "http_status"}}, 2, 20s))
      << proxy.metrics();
  const auto kept = proxy.metric(intensity, {{"zone", "de"}, {"provider", "electricity_maps"}});
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(near(*kept, server.served("DE").back())) << *kept;
  server.set_mode("malformed");
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_errors_total",
                                         {{"provider", "uk"}, {"kind", "malformed"}}, 1, 20s));
  EXPECT_TRUE(near(*proxy.metric(intensity, {{"zone", "de"}, {"provider", "electricity_maps"}}), server.served("DE").back()));
  server.set_mode("ok");
  const double polls = *proxy.metric("aegis_carbon_feed_polls_total", {{"provider", "electricity_maps"}, {"result", "ok"}});
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_carbon_feed_polls_total",
                                         {{"provider", "electricity_maps"}, {"result", "ok"}}, polls + 2, 20s));
  EXPECT_TRUE(proxy.alive());

  // /carbon: every zone with its provider, value, age and freshness.
  const auto [cstatus, carbon_body] = simple_get(admin, "/carbon");
  ASSERT_EQ(cstatus, 200);
  const auto doc = nlohmann::json::parse(carbon_body);
  std::map<std::string, nlohmann::json> zones;
  for (const auto& z : doc.at("zones")) zones[z.at("zone").get<std::string>()] = z;
  ASSERT_EQ(zones.size(), 4u) << carbon_body;
  EXPECT_EQ(zones.at("de").at("provider"), "electricity_maps");
  EXPECT_EQ(zones.at("us-west").at("provider"), "watttime");
  EXPECT_EQ(zones.at("gb").at("provider"), "uk");
  EXPECT_EQ(zones.at("fr").at("provider"), "file");
  EXPECT_EQ(zones.at("fr").at("gco2_per_kwh").get<double>(), 42.34123797146737);
  EXPECT_TRUE(contains(server.served("DE"), zones.at("de").at("gco2_per_kwh").get<double>()));
  for (const auto& [name, z] : zones) {
    EXPECT_FALSE(z.at("stale").get<bool>()) << name;  // max_age 2h; providers stamp the current hour or half-hour
    EXPECT_EQ(z.at("max_age_seconds").get<double>(), 7200) << name;
  }
  EXPECT_TRUE(zones.at("us-west").at("estimated").get<bool>());

  // Credentials: referenced in the dump, never shown; never in the log.
  const auto [status, dump] = simple_get(admin, "/config_dump");
  ASSERT_EQ(status, 200);
  EXPECT_NE(dump.find("\"token_file\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"password_file\""), std::string::npos);
  EXPECT_EQ(dump.find("itest-token-42"), std::string::npos);
  EXPECT_EQ(dump.find("password-42"), std::string::npos);
  const std::string log = proxy.process().stdout_text() + proxy.process().stderr_text();
  EXPECT_EQ(log.find("itest-token-42"), std::string::npos) << log;
  EXPECT_EQ(log.find("password-42"), std::string::npos) << log;

  // A reload that changes the carbon section restarts the feeds with it.
  std::string changed = yaml;
  const std::string uk_zones = "zones: {gb: national}";
  changed.replace(changed.find(uk_zones), uk_zones.size(), "zones: {gb: national, gb-north: \"1\"}");
  proxy.rewrite_config(changed);
  ASSERT_TRUE(proxy.wait_metric_at_least("aegis_config_reloads_total", {{"result", "success"}}, 1, 20s));
  ASSERT_TRUE(proxy.wait_metric_at_least(intensity, {{"zone", "gb-north"}, {"provider", "uk"}}, 0, 20s))
      << proxy.metrics();
  EXPECT_TRUE(contains(server.served("1"), *proxy.metric(intensity, {{"zone", "gb-north"}, {"provider", "uk"}})));
  EXPECT_EQ(server.stats()["logins"], 2);  // the restarted WattTime feed logged in afresh
}

}  // namespace
}  // namespace aegis::itest
