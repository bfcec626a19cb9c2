// Carbon accounting: grams = joules / 3.6e6 × g/kWh of the serving zone,
// against the endpoint-weighted uniform baseline at the same moment; and the
// /carbon document and page drawn from it.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <chrono>

#include "carbon/accounting.h"
#include "carbon/board_json.h"

namespace aegis::carbon {
namespace {

using namespace std::chrono_literals;

Reading at(double g) {
  Reading r;
  r.gco2_per_kwh = g;
  r.at = r.fetched = Clock::now();
  r.provider = "file";
  return r;
}

TEST(CarbonAccounting, GramsFollowEnergyTimesIntensity) {
  EXPECT_DOUBLE_EQ(grams_for(3.6e6, 100), 100);  // 1 kWh at 100 g/kWh
  EXPECT_DOUBLE_EQ(grams_for(36, 250), 0.0025);
  config::CarbonAccountingConfig m;
  m.joules_per_request = 2;
  m.joules_per_upstream_second = 100;
  IntensityBoard board;
  const Accountant a("acct-energy", m, {{"eu", "DE", 1}}, board);
  EXPECT_DOUBLE_EQ(a.joules(250ms), 2 + 25);
  EXPECT_DOUBLE_EQ(a.joules(0ns), 2);
}

TEST(CarbonAccounting, EmittedAvoidedAndExcessAgainstUniformRouting) {
  config::CarbonAccountingConfig m;
  m.joules_per_request = 3.6e3;  // 1 Wh: grams = intensity / 1000
  IntensityBoard board;
  board.publish("DE", at(400));
  board.publish("FR", at(100));
  // DE has three endpoints, FR one: uniform over endpoints is (3×400 + 100) / 4 = 325 g/kWh.
  const Accountant a("acct-uniform", m, {{"eu-central", "DE", 3}, {"eu-west", "FR", 1}}, board);
  a.record(1, 10ms);  // FR: 0.1 g, uniform 0.325 g → 0.225 avoided
  a.record(1, 10ms);
  a.record(0, 10ms);  // DE: 0.4 g → 0.075 excess
  const auto r = a.report();
  ASSERT_EQ(r.localities.size(), 2u);
  EXPECT_EQ(r.localities[0].locality, "eu-central");
  EXPECT_EQ(r.localities[0].requests, 1u);
  EXPECT_NEAR(r.localities[0].emitted_grams, 0.4, 1e-12);
  EXPECT_EQ(r.localities[1].requests, 2u);
  EXPECT_NEAR(r.localities[1].emitted_grams, 0.2, 1e-12);
  EXPECT_NEAR(r.avoided_grams, 0.45, 1e-12);
  EXPECT_NEAR(r.excess_grams, 0.075, 1e-12);
  EXPECT_EQ(r.unaccounted_requests, 0u);
}

TEST(CarbonAccounting, ZoneWithoutReadingIsUnaccountedAndLeftOutOfTheBaseline) {
  config::CarbonAccountingConfig m;
  m.joules_per_request = 3.6e3;
  IntensityBoard board;
  board.publish("FR", at(100));
  const Accountant a("acct-missing", m, {{"eu-central", "DE", 1}, {"eu-west", "FR", 1}}, board);
  a.record(0, 1ms);  // DE: no reading
  a.record(1, 1ms);  // FR: baseline is FR alone → nothing avoided
  const auto r = a.report();
  EXPECT_EQ(r.unaccounted_requests, 1u);
  EXPECT_EQ(r.localities[0].requests, 0u);
  EXPECT_EQ(r.localities[1].requests, 1u);
  EXPECT_EQ(r.avoided_grams, 0);
  EXPECT_EQ(r.excess_grams, 0);
  a.record(7, 1ms);  // out of range: ignored
  EXPECT_EQ(a.report().localities[1].requests, 1u);
}

TEST(CarbonAccounting, LocalityLabels) {
  config::LocalityEndpoints l;
  l.grid_zone = "DE";
  EXPECT_EQ(locality_label(l), "DE");
  l.region = "eu-central";
  EXPECT_EQ(locality_label(l), "eu-central");
  l.zone = "a";
  EXPECT_EQ(locality_label(l), "eu-central/a");
}

TEST(CarbonPage, DocumentAndPageShowZonesSharesAndGrams) {
  config::CarbonAccountingConfig m;
  m.joules_per_request = 3.6e3;
  IntensityBoard board;
  board.publish("DE", at(400));
  board.publish("FR", at(100));
  const Accountant a("acct-page", m, {{"eu-central", "DE", 1}, {"eu-west", "FR", 1}}, board);
  for (int i = 0; i < 3; ++i) a.record(1, 1ms);
  a.record(0, 1ms);
  std::map<std::string, FeedRunner::ZoneSource> zones;
  zones["DE"] = {"file", 2h};
  zones["FR"] = {"file", 2h};
  zones["PL"] = {"electricity_maps", 2h};  // configured, no reading yet
  const auto doc = carbon_document(board, zones, {a.report()}, Clock::now());
  const auto& c = doc.at("clusters").as_array().at(0).as_object();
  EXPECT_EQ(c.at("cluster").as_string(), "acct-page");
  EXPECT_EQ(c.at("requests").to_number<int>(), 4);
  EXPECT_DOUBLE_EQ(c.at("localities").as_array().at(1).as_object().at("share").to_number<double>(), 0.75);
  EXPECT_NEAR(c.at("emitted_grams").to_number<double>(), 0.7, 1e-12);
  // Uniform: 0.25 g each → 3 × 0.15 avoided, 0.15 excess.
  EXPECT_NEAR(c.at("net_avoided_grams").to_number<double>(), 0.3, 1e-12);
  EXPECT_EQ(doc.at("zones").as_array().size(), 3u);

  const std::string html = carbon_html(doc);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no external asset
  EXPECT_NE(html.find(">DE<"), std::string::npos);
  EXPECT_NE(html.find("400 gCO2/kWh"), std::string::npos);
  EXPECT_NE(html.find("no reading"), std::string::npos);  // PL
  EXPECT_NE(html.find("75.0% · 3 requests"), std::string::npos) << html;
  EXPECT_NE(html.find("<td class=\"net-avoided\">0.300</td>"), std::string::npos) << html;
}

TEST(CarbonPage, NamesAreEscaped) {
  IntensityBoard board;
  board.publish("<script>x</script>", at(1));
  const auto html = carbon_html(carbon_document(board, {}, {}, Clock::now()));
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("No cluster sets"), std::string::npos);
}

}  // namespace
}  // namespace aegis::carbon
