// Rules for the carbon: section (grid-intensity providers).
#include <gtest/gtest.h>

#include <cstdlib>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::load;
using testing::LoadsCleanly;

class CarbonRules : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("AEGIS_TEST_EM_TOKEN", "s3cr3t-em-token", 1);
    ::setenv("AEGIS_TEST_WT_PASSWORD", "s3cr3t-wt-password", 1);
    ::unsetenv("AEGIS_TEST_UNSET_VAR");
  }
};

TEST_F(CarbonRules, EveryProviderTypeParses) {
  const auto r = load(R"(
carbon:
  providers:
    - type: electricity_maps
      zones: {DE: DE, FR: FR}
      token_env: AEGIS_TEST_EM_TOKEN
      poll_interval: 10m
      max_age: 90m
    - type: watttime
      base_url: http://127.0.0.1:8081/
      zones: {caiso: CAISO_NORTH}
      username: alice
      password_env: AEGIS_TEST_WT_PASSWORD
      timeout: 2s
      initial_backoff: 1s
      max_backoff: 1m
    - name: uk
      type: uk_carbon_intensity
      zones: {GB: national, north-scotland: "1"}
    - type: carbon_aware_sdk
      base_url: https://sdk.internal:8443/api
      zones: [eastus, westus]
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& ps = r.config->carbon.providers;
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0].name, "electricity_maps");
  EXPECT_EQ(ps[0].base_url, "https://api.electricitymap.org");
  EXPECT_EQ(ps[0].zones.at("FR"), "FR");
  EXPECT_EQ(ps[0].poll_interval, Millis(600'000));
  EXPECT_EQ(ps[0].max_age, Millis(5'400'000));
  EXPECT_EQ(ps[1].type, CarbonProviderType::kWattTime);
  EXPECT_EQ(ps[1].zones.at("caiso"), "CAISO_NORTH");
  EXPECT_EQ(ps[1].username, "alice");
  EXPECT_EQ(ps[1].max_backoff, Millis(60'000));
  EXPECT_EQ(ps[2].name, "uk");
  EXPECT_EQ(ps[2].base_url, "https://api.carbonintensity.org.uk");
  EXPECT_EQ(ps[2].zones.at("north-scotland"), "1");
  EXPECT_EQ(ps[3].zones.at("westus"), "westus");
  auto u = parse_base_url(ps[3].base_url);
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "sdk.internal");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->prefix, "/api");
}

TEST_F(CarbonRules, DumpShowsReferencesNeverSecrets) {
  const auto r = load(R"(
carbon:
  providers:
    - type: electricity_maps
      zones: [DE]
      token_env: AEGIS_TEST_EM_TOKEN
    - type: watttime
      zones: [CAISO_NORTH]
      username: alice
      password_env: AEGIS_TEST_WT_PASSWORD
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const std::string dump = to_json(*r.config);
  EXPECT_NE(dump.find("\"token_env\": \"AEGIS_TEST_EM_TOKEN\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"password_env\": \"AEGIS_TEST_WT_PASSWORD\""), std::string::npos);
  EXPECT_EQ(dump.find("s3cr3t"), std::string::npos) << dump;
}

TEST_F(CarbonRules, FileProviderReadsTraceOptions) {
  const std::string trace = std::string(AEGIS_SOURCE_DIR) + "/README.md";  // any readable file
  const auto r = load(R"(
carbon:
  providers:
    - type: file
      zones: {DE: )" + trace + R"(}
      emission_factor: lifecycle
      time_offset: 24h
      speed: 60
      loop: false
)");
  ASSERT_TRUE(LoadsCleanly(r));
  const auto& p = r.config->carbon.providers.at(0);
  EXPECT_EQ(p.type, CarbonProviderType::kFile);
  EXPECT_TRUE(p.lifecycle);
  EXPECT_EQ(p.time_offset, Millis(86'400'000));
  EXPECT_EQ(p.speed, 60);
  EXPECT_FALSE(p.loop);
  EXPECT_EQ(p.poll_interval, Millis(10'000));
}

TEST_F(CarbonRules, ErrorsPointAtTheField) {
  const auto r = load(R"(
carbon:
  providers:
    - type: electricity_mapz
      zones: [DE]
    - type: electricity_maps
      zones: [DE]
    - type: electricity_maps
      name: em2
      zones: {"bad zone": X}
      token_env: AEGIS_TEST_UNSET_VAR
    - type: watttime
      zones: [R]
      password_env: AEGIS_TEST_WT_PASSWORD
      token_env: AEGIS_TEST_EM_TOKEN
    - type: uk_carbon_intensity
      base_url: ftp://example.org
      zones: []
      speed: 2
    - type: carbon_aware_sdk
      zones: [eastus]
    - type: file
      zones: {DE: /nonexistent/trace.csv}
      base_url: http://127.0.0.1:1
      poll_interval: 0
)");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 3, 13, "type: expected one of"));
  EXPECT_TRUE(HasError(r, 5, 7, "provider needs its token"));
  EXPECT_TRUE(HasError(r, 9, 15, "zone name 'bad zone'"));
  EXPECT_TRUE(HasError(r, 10, 18, "'AEGIS_TEST_UNSET_VAR' is not set"));
  EXPECT_TRUE(HasError(r, 11, 7, "missing required field 'username'"));
  EXPECT_TRUE(HasError(r, 14, 18, "token_env: not used by provider type watttime"));
  EXPECT_TRUE(HasError(r, 16, 17, "the scheme must be http or https"));
  EXPECT_TRUE(HasError(r, 17, 14, "list at least one zone"));
  EXPECT_TRUE(HasError(r, 18, 14, "speed: not used by provider type uk_carbon_intensity"));
  EXPECT_TRUE(HasError(r, 19, 7, "set base_url to your Carbon Aware WebAPI"));
  EXPECT_TRUE(HasError(r, 22, 15, "cannot read the trace file '/nonexistent/trace.csv'"));
  EXPECT_TRUE(HasError(r, 23, 17, "base_url: not used by provider type file"));
  EXPECT_TRUE(HasError(r, 24, 22, "poll_interval: must be greater than 0"));
}

TEST_F(CarbonRules, OneSourcePerZoneAndUniqueNames) {
  const auto r = load(R"(
carbon:
  providers:
    - type: uk_carbon_intensity
      zones: {GB: national}
    - type: uk_carbon_intensity
      zones: {GB: "13"}
)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(testing::all_diagnostics(r).find("duplicate carbon provider name 'uk_carbon_intensity'"), std::string::npos);
  EXPECT_NE(testing::all_diagnostics(r).find("zone 'GB' is already fed by provider"), std::string::npos);
}

TEST(CarbonBaseUrl, Forms) {
  auto a = parse_base_url("http://127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->port, 8080);
  EXPECT_EQ(a->prefix, "");
  auto b = parse_base_url("https://[::1]/v1/");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 443);
  EXPECT_EQ(b->prefix, "/v1");
  for (const char* bad : {"api.example.org", "https://", "https://user:pw@host", "https://host:0", "https://host:99999",
                          "https://host/a?b=c", "https://ho st", "https://[::1", "https://host:"})
    EXPECT_FALSE(parse_base_url(bad).ok()) << bad;
}

}  // namespace
}  // namespace aegis::config
