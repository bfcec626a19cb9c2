// The intensity feeds (carbon/feeds) in-process, against the local provider
// (carbon/provider_server.py) speaking each API's wire format and serving the
// real traces in ../shared/testdata/carbon: values arrive unchanged (units
// converted), WattTime logs in, renews before expiry and logs in again after
// a 401, and every error kind is classified, counted and survived with the
// last reading kept.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

#include "carbon/feed.h"
#include "carbon/feed_runner.h"
#include "carbon/parsers.h"
#include "carbon_server.h"
#include "harness.h"
#include "stats/stats.h"

namespace aegis::itest {
namespace {

namespace asio = boost::asio;
using carbon::Clock;
using carbon::FeedErrorKind;
using carbon::FeedResult;
using carbon::ParsedReading;

std::vector<carbon::TracePoint> trace(const std::string& file) {
  std::ifstream in(carbon_testdata_dir() / file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  auto t = carbon::parse_intensity_csv(s.str());
  if (!t) throw std::runtime_error(file + ": " + t.error().message);
  return t->points;
}

#define SKIP_WITHOUT_TESTDATA()                                                                             \
  if (!fs::exists(carbon_testdata_dir() / "de_2020_ci.csv"))                                                \
  GTEST_SKIP() << "test data not found under " << carbon_testdata_dir() << " (AEGIS_TESTDATA)"

// A fetch, run to completion on the test's own io_context.
FeedResult<ParsedReading> fetch(asio::io_context& ioc, carbon::IntensityFeed& feed, const std::string& id) {
  std::optional<FeedResult<ParsedReading>> out;
  asio::co_spawn(
      ioc,
      [](carbon::IntensityFeed* f, std::string z, std::optional<FeedResult<ParsedReading>>* o) -> core::Task<void> {
        auto r = co_await f->fetch(std::move(z));
        o->emplace(std::move(r));
      }(&feed, id, &out),
      asio::detached);
  ioc.restart();
  ioc.run_for(30s);
  if (!out) throw std::runtime_error("fetch did not finish");
  return std::move(*out);
}

// Runs the io_context until `done` holds (checked every 20 ms); false after 20 s.
bool run_until(asio::io_context& ioc, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    ioc.restart();
    ioc.run_for(20ms);
  }
  return done();
}

// A metric of this process's store, as /stats/prometheus would show it.
std::uint64_t counter(const std::string& name, const Labels& labels) {
  return static_cast<std::uint64_t>(metric_value(stats::global().prometheus_text(), name, labels).value_or(0));
}

config::CarbonProvider provider(config::CarbonProviderType type, const std::string& name, const std::string& base,
                                std::map<std::string, std::string> zones) {
  config::CarbonProvider p;
  p.type = type;
  p.name = name;
  p.base_url = base;
  p.zones = std::move(zones);
  p.timeout = Millis(2000);
  return p;
}

std::unique_ptr<carbon::IntensityFeed> make(const config::CarbonProvider& p, carbon::NowFn now = [] { return Clock::now(); }) {
  auto f = carbon::make_feed(p, std::move(now));
  if (!f) throw std::runtime_error(f.error().message);
  return std::move(*f);
}

TEST(CarbonFeeds, ElectricityMapsServesTheTraceRowsInOrder) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-em");
  ProviderServer::Options popts;
  popts.traces = {{"DE", "de_2020_ci.csv"}};
  popts.em_token = "em-secret-1";
  ProviderServer server(dir.path(), popts);
  ::setenv("AEGIS_ITEST_EM_TOKEN", "em-secret-1", 1);
  auto p = provider(config::CarbonProviderType::kElectricityMaps, "em", server.base_url(), {{"DE", "DE"}});
  p.token_env = "AEGIS_ITEST_EM_TOKEN";
  auto feed = make(p);
  asio::io_context ioc;
  const auto rows = trace("de_2020_ci.csv");
  for (std::size_t i = 0; i < 3; ++i) {
    auto r = fetch(ioc, *feed, "DE");
    ASSERT_TRUE(r.ok()) << r.error().message;
    // Boost 1.81's JSON number parsing may be 1 ulp off (its precise mode came in 1.83).
    EXPECT_DOUBLE_EQ(r->gco2_per_kwh, rows[i].gco2_per_kwh) << "row " << i;
    EXPECT_FALSE(r->estimated);
    EXPECT_LE(Clock::now() - r->at, std::chrono::hours(1) + std::chrono::minutes(1));  // the hour it stands for
  }
  EXPECT_EQ(server.served("DE").size(), 3u);

  ::setenv("AEGIS_ITEST_EM_TOKEN_BAD", "wrong", 1);
  p.token_env = "AEGIS_ITEST_EM_TOKEN_BAD";
  auto bad = make(p);
  auto r = fetch(ioc, *bad, "DE");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, FeedErrorKind::kAuth);
  EXPECT_EQ(r.error().message.find("wrong"), std::string::npos) << "the token must not appear in errors";
  auto unknown = fetch(ioc, *feed, "XX");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, FeedErrorKind::kHttpStatus);
  EXPECT_NE(unknown.error().message.find("404"), std::string::npos);
}

TEST(CarbonFeeds, WattTimeLogsInRenewsBeforeExpiryAndAfterA401) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-wt");
  ProviderServer::Options popts;
  popts.traces = {{"CAISO_NORTH", "watttime_caiso_north_2023-06_moer.csv"}};
  popts.wt_user = "alice";
  popts.wt_password = "wt-pass-1";
  ProviderServer server(dir.path(), popts);
  const fs::path pw = dir / "wt-password";
  write_file(pw, "wt-pass-1\n");
  auto p = provider(config::CarbonProviderType::kWattTime, "wt-itest", server.base_url(), {{"caiso", "CAISO_NORTH"}});
  p.username = "alice";
  p.password_file = pw.string();
  Clock::time_point fake_now = Clock::now();
  auto feed = make(p, [&] { return fake_now; });
  asio::io_context ioc;
  const auto rows = trace("watttime_caiso_north_2023-06_moer.csv");  // g/kWh already (×0.4536)

  auto r = fetch(ioc, *feed, "CAISO_NORTH");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, rows[0].gco2_per_kwh);
  EXPECT_TRUE(r->estimated);
  EXPECT_EQ(server.stats()["logins"], 1);
  EXPECT_EQ(counter("aegis_carbon_feed_logins_total", {{"provider", "wt-itest"}, {"reason", "initial"}}), 1u);

  // Within the token's life: no new login.
  fake_now += std::chrono::minutes(20);
  ASSERT_TRUE(fetch(ioc, *feed, "CAISO_NORTH").ok());
  EXPECT_EQ(server.stats()["logins"], 1);

  // The provider revokes the token: one 401, a new login, the fetch succeeds.
  server.expire_tokens();
  r = fetch(ioc, *feed, "CAISO_NORTH");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, rows[2].gco2_per_kwh);
  EXPECT_EQ(server.stats()["logins"], 2);
  EXPECT_EQ(server.stats()["rejected_auth"], 1);
  EXPECT_EQ(counter("aegis_carbon_feed_logins_total", {{"provider", "wt-itest"}, {"reason", "rejected"}}), 1u);

  // 26 minutes after that login (token valid 30): renewed before it expires, no 401.
  fake_now += std::chrono::minutes(26);
  ASSERT_TRUE(fetch(ioc, *feed, "CAISO_NORTH").ok());
  EXPECT_EQ(server.stats()["logins"], 3);
  EXPECT_EQ(server.stats()["rejected_auth"], 1);
  EXPECT_EQ(counter("aegis_carbon_feed_logins_total", {{"provider", "wt-itest"}, {"reason", "renew"}}), 1u);

  // Wrong password: the login's 403 is an auth error.
  write_file(pw, "nope\n");
  auto wrong = make(p, [&] { return fake_now; });
  auto w = fetch(ioc, *wrong, "CAISO_NORTH");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind, FeedErrorKind::kAuth);
}

TEST(CarbonFeeds, UkCarbonIntensityNationalActualRegionalForecast) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-uk");
  ProviderServer::Options popts;
  popts.traces = {{"national", "gb_2020_ci.csv"}, {"13", "gb_2020_ci.csv"}};
  ProviderServer server(dir.path(), popts);
  auto feed = make(provider(config::CarbonProviderType::kUkCarbonIntensity, "uk", server.base_url(), {}));
  asio::io_context ioc;
  const auto rows = trace("gb_2020_ci.csv");
  auto n = fetch(ioc, *feed, "national");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_DOUBLE_EQ(n->gco2_per_kwh, rows[0].gco2_per_kwh);  // actual, not the forecast (actual + 7)
  EXPECT_FALSE(n->estimated);
  auto reg = fetch(ioc, *feed, "13");
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  EXPECT_DOUBLE_EQ(reg->gco2_per_kwh, rows[0].gco2_per_kwh);
  EXPECT_TRUE(reg->estimated);  // regional: forecast only
  auto bad = fetch(ioc, *feed, "north");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, FeedErrorKind::kSetup);
}

TEST(CarbonFeeds, CarbonAwareSdkByLocation) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-sdk");
  ProviderServer::Options popts;
  popts.traces = {{"eastus", "fr_2020_ci.csv"}};
  ProviderServer server(dir.path(), popts);
  auto feed = make(provider(config::CarbonProviderType::kCarbonAwareSdk, "sdk", server.base_url(), {}));
  asio::io_context ioc;
  auto r = fetch(ioc, *feed, "eastus");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, trace("fr_2020_ci.csv")[0].gco2_per_kwh);
}

TEST(CarbonFeeds, HttpsVerifiesTheServerAgainstCaFile) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-tls");
  ASSERT_TRUE(certs_init_ca(dir.path(), dir / "ca", "carbon.test", "ecdsa-p256").status.ok());
  ASSERT_TRUE(certs_issue(dir.path(), dir / "ca", dir / "leaf", "spiffe://carbon.test/provider", "ecdsa-p256", 30,
                          "localhost")
                  .status.ok());
  ProviderServer::Options popts;
  popts.traces = {{"DE", "de_2020_ci.csv"}};
  popts.cert = dir / "leaf" / "cert.pem";
  popts.key = dir / "leaf" / "key.pem";
  ProviderServer server(dir.path(), popts);
  ::setenv("AEGIS_ITEST_EM_TOKEN_TLS", "t", 1);
  auto p = provider(config::CarbonProviderType::kElectricityMaps, "em-tls",
                    "https://localhost:" + std::to_string(server.port()), {});
  p.token_env = "AEGIS_ITEST_EM_TOKEN_TLS";
  p.ca_file = (dir / "ca" / "ca.crt").string();
  auto feed = make(p);
  asio::io_context ioc;
  auto r = fetch(ioc, *feed, "DE");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_DOUBLE_EQ(r->gco2_per_kwh, trace("de_2020_ci.csv")[0].gco2_per_kwh);

  p.ca_file.clear();  // the system bundle does not know the test CA
  auto untrusted = make(p);
  auto u = fetch(ioc, *untrusted, "DE");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().kind, FeedErrorKind::kTls) << u.error().message;
}

// The runner: readings on the board; each error kind counted; the last
// reading kept through errors; readings again after recovery.
TEST(CarbonFeeds, RunnerKeepsTheLastReadingThroughErrors) {
  SKIP_WITHOUT_TESTDATA();
  TempDir dir("carbon-runner");
  ProviderServer::Options popts;
  popts.traces = {{"DE", "de_2020_ci.csv"}};
  ProviderServer server(dir.path(), popts);
  ::setenv("AEGIS_ITEST_EM_TOKEN_RUN", "t", 1);
  auto p = provider(config::CarbonProviderType::kElectricityMaps, "em-runner", server.base_url(), {{"de", "DE"}});
  p.token_env = "AEGIS_ITEST_EM_TOKEN_RUN";
  p.poll_interval = Millis(50);
  p.initial_backoff = Millis(20);
  p.max_backoff = Millis(100);
  p.timeout = Millis(1500);  // generous for a loaded machine; "hang" outlasts it
  asio::io_context ioc;
  carbon::IntensityBoard board;
  carbon::FeedRunner runner(ioc, board);
  config::CarbonConfig cfg;
  cfg.providers.push_back(p);
  runner.start(cfg);
  ASSERT_TRUE(run_until(ioc, [&] { return server.served("DE").size() >= 2 && board.latest("de"); }));
  EXPECT_EQ(runner.zones().at("de").provider, "em-runner");

  const auto errors = [&](const char* kind) {
    return counter("aegis_carbon_feed_errors_total", {{"provider", "em-runner"}, {"kind", kind}});
  };
  for (const auto& mode_kind : std::vector<std::pair<std::string, std::string>>{
           {"500", "http_status"}, {"malformed", "malformed"}, {"hang", "timeout"}, {"401", "auth"}, {"html", "malformed"}}) {
    const std::string& mode = mode_kind.first;  // not a structured binding: clang 14 cannot capture those
    const std::string& kind = mode_kind.second;
    const auto before = errors(kind.c_str());
    server.set_mode(mode);
    ASSERT_TRUE(run_until(ioc, [&] { return errors(kind.c_str()) >= before + 2; })) << mode;
    // Every request now fails: the board holds the last value served.
    const auto served = server.served("DE");
    const auto kept = board.latest("de");
    ASSERT_TRUE(kept.has_value());
    EXPECT_DOUBLE_EQ(kept->gco2_per_kwh, served.back()) << mode;
    EXPECT_EQ(kept->provider, "em-runner");
    server.set_mode("ok");
    const std::size_t n = served.size();
    ASSERT_TRUE(run_until(ioc, [&] { return server.served("DE").size() >= n + 2; })) << "recovery after " << mode;
  }
  runner.stop();
  ioc.restart();
  ioc.run_for(100ms);
  const auto served = server.served("DE");
  // A fetch in flight when the runner stopped is answered but not published.
  ASSERT_GE(served.size(), 2u);
  const double last = board.latest("de")->gco2_per_kwh;
  EXPECT_TRUE(std::fabs(last - served.back()) < 1e-9 || std::fabs(last - served[served.size() - 2]) < 1e-9) << last;
  const auto rows = trace("de_2020_ci.csv");
  for (std::size_t i = 0; i < served.size(); ++i) ASSERT_EQ(served[i], rows[i].gco2_per_kwh) << i;
  EXPECT_GE(counter("aegis_carbon_feed_polls_total", {{"provider", "em-runner"}, {"result", "ok"}}), served.size() - 1);
}

}  // namespace
}  // namespace aegis::itest
