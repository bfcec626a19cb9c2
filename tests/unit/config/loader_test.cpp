// load_from_string / load_from_file: defaults, the shipped example, YAML
// syntax errors, positions, and that every error in a file is reported.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::kMinimal;
using testing::load;
using testing::LoadsCleanly;

TEST(Loader, EmptyFileIsValidWithDefaults) {
  for (std::string_view text : {"", "\n", "# nothing here\n", "---\n", "admin:\n"}) {
    const auto r = load(text);
    ASSERT_TRUE(LoadsCleanly(r)) << "'" << text << "'";
    EXPECT_TRUE(r.config->listeners.empty());
    EXPECT_EQ(r.config->admin.address.str(), "127.0.0.1:9901");
    EXPECT_EQ(r.config->drain_timeout, Millis{30'000});
    EXPECT_EQ(r.config->source, "test.yaml");
  }
}

TEST(Loader, AdminOnly) {
  const auto r = load("admin:\n  address: \"::1\"\n  port: 9000\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_EQ(r.config->admin.address.str(), "[::1]:9000");
}

TEST(Loader, MinimalChainGetsTypesDefaults) {
  const auto r = load(kMinimal);
  ASSERT_TRUE(LoadsCleanly(r));
  const Config& c = *r.config;
  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_EQ(l.address.str(), "127.0.0.1:10000");
  EXPECT_EQ(l.protocol, ListenerProtocol::kHttp);
  EXPECT_EQ(l.idle_timeout, Millis{300'000});
  EXPECT_EQ(l.request_headers_timeout, Millis{10'000});
  EXPECT_EQ(l.limits.max_request_headers, 100u);
  EXPECT_EQ(l.limits.max_request_body_bytes, 1ull << 30);
  EXPECT_FALSE(l.xff_trust_downstream);
  const Route& route = c.route_configs.at(0).virtual_hosts.at(0).routes.at(0);
  EXPECT_EQ(route.match.prefix, "/");
  EXPECT_FALSE(route.match.path);
  EXPECT_EQ(route.action.timeout, Millis{15'000});
  EXPECT_FALSE(route.action.max_request_body_bytes);
  const Cluster* demo = c.find_cluster("demo");
  ASSERT_NE(demo, nullptr);
  EXPECT_EQ(demo->lb_policy, LbPolicy::kRoundRobin);
  EXPECT_EQ(demo->connect_timeout, Millis{1000});
  EXPECT_EQ(demo->max_connections, 1024u);
  EXPECT_EQ(demo->max_idle_connections, 64u);
  EXPECT_EQ(demo->idle_timeout, Millis{60'000});
  ASSERT_EQ(demo->load_assignment.localities.size(), 1u);
  EXPECT_EQ(demo->load_assignment.localities[0].endpoints.at(0).str(), "127.0.0.1:8080");
  EXPECT_EQ(demo->load_assignment.localities[0].endpoints.at(0).weight, 1u);
  EXPECT_EQ(c.find_cluster("nope"), nullptr);
  EXPECT_NE(c.find_route_config("local"), nullptr);
  EXPECT_EQ(c.find_route_config("nope"), nullptr);
}

TEST(Loader, ShippedExampleLoads) {
  const auto r = load_from_file(std::string(AEGIS_SOURCE_DIR) + "/examples/aegis-flow.yaml",
                                LoadOptions{&testing::fake_resolve, {}});
  ASSERT_TRUE(LoadsCleanly(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[1].protocol, ListenerProtocol::kTcp);
  EXPECT_EQ(c.listeners[1].cluster, "db");
  EXPECT_EQ(c.route_configs.at(0).virtual_hosts.size(), 2u);
  const Cluster* canary = c.find_cluster("demo-canary");
  ASSERT_NE(canary, nullptr);
  EXPECT_EQ(canary->lb_policy, LbPolicy::kLeastRequest);
  ASSERT_EQ(canary->load_assignment.localities.size(), 2u);
  EXPECT_EQ(canary->load_assignment.localities[0].region, "eu-west-1");
  EXPECT_EQ(canary->load_assignment.localities[0].endpoints.at(0).weight, 2u);
  EXPECT_EQ(canary->load_assignment.localities[0].endpoints.at(1).str(), "[::1]:8083");
  EXPECT_EQ(canary->load_assignment.localities[1].priority, 1u);
  EXPECT_EQ(canary->load_assignment.localities[1].endpoints.at(0).host, "127.0.0.1");
  EXPECT_EQ(c.find_cluster("db")->load_assignment.localities[0].endpoints.at(0).str(), "[::1]:5432");
}

TEST(Loader, ExampleLoadsWithTheRealResolverToo) {
  // Only IP literals and localhost in the example: no DNS needed.
  const auto r = load_from_file(std::string(AEGIS_SOURCE_DIR) + "/examples/aegis-flow.yaml");
  EXPECT_TRUE(LoadsCleanly(r));
}

TEST(Loader, YamlSyntaxErrorHasPosition) {
  const auto r = load("listeners: [\n  {name: a\n");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_GT(r.diagnostics[0].line, 0);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos);
  const auto r2 = load("admin: a: b\n");
  EXPECT_TRUE(HasError(r2, 1, 9, "invalid YAML"));
}

TEST(Loader, DiagnosticFormat) {
  const auto r = load("listeners:\n  - name: x\n    port: abc\n    route_config: r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  bool found = false;
  for (const auto& d : r.diagnostics) {
    if (d.str() == "test.yaml:3:11: port: expected an integer 1-65535, got 'abc'") found = true;
  }
  EXPECT_TRUE(found) << testing::all_diagnostics(r);
  EXPECT_EQ((Diagnostic{"f.yaml", 0, 0, "boom"}.str()), "f.yaml: boom");
}

TEST(Loader, TopLevelMustBeAMapping) {
  EXPECT_TRUE(HasError(load("- a\n- b\n"), 1, 1, "expected a mapping of fields, got a list"));
  EXPECT_TRUE(HasError(load("hello\n"), 1, 1, "got 'hello'"));
}

TEST(Loader, UnknownTopLevelFieldListsTheKnownOnes) {
  EXPECT_TRUE(HasError(load("admin: {}\nlistner: []\n"), 2, 1,
                       "unknown field 'listner' in config file; expected one of: node, admin, access_log, "
                       "drain_timeout, process, listeners, route_configs, clusters"));
}

TEST(Loader, OneDocumentPerFile) {
  EXPECT_TRUE(HasError(load("admin: {}\n---\nadmin: {}\n"), 3, 1, "one YAML document"));
}

TEST(Loader, DuplicateKeyIsAnError) {
  EXPECT_TRUE(HasError(load("admin:\n  port: 1\n  port: 2\n"), 3, 3, "duplicate field 'port' in admin"));
}

TEST(Loader, AllErrorsAreReportedInFileOrder) {
  const auto r = load(R"(
listeners:
  - name: a
    prot: http
    port: 0
    route_config: nowhere
  - port: 10001
    route_config: local
route_configs:
  - name: local
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - match: {prefix: /, path: /x}
            route: {cluster: ghost, timeout: 5}
clusters:
  - name: demo
    lb_policy: hashed
    endpoints: ["127.0.0.1"]
)");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r, 3, 5, "unknown field 'prot' in listener; expected one of: name, address, port,"));
  EXPECT_TRUE(HasError(r, 4, 11, "port: expected an integer 1-65535, got '0'"));
  EXPECT_TRUE(HasError(r, 5, 19, "route_config 'nowhere', which does not exist (defined: local)"));
  EXPECT_TRUE(HasError(r, 6, 5, "missing required field 'name' in listener"));
  EXPECT_TRUE(HasError(r, 14, 38, "match sets both 'prefix' and 'path'"));
  EXPECT_TRUE(HasError(r, 15, 46, "timeout: expected a duration"));
  EXPECT_TRUE(HasError(r, 15, 30, "cluster 'ghost', which does not exist (defined: demo)"));
  EXPECT_TRUE(HasError(r, 18, 16, "lb_policy: expected one of: round_robin, random, least_request, peak_ewma, ring_hash, maglev, carbon_aware; got 'hashed'"));
  EXPECT_TRUE(HasError(r, 19, 17, "missing port"));
  EXPECT_EQ(r.diagnostics.size(), 9u) << testing::all_diagnostics(r);
  for (std::size_t i = 1; i < r.diagnostics.size(); ++i) {
    EXPECT_LE(r.diagnostics[i - 1].line, r.diagnostics[i].line);
  }
}

TEST(Loader, AliasesAreFollowedButExpansionIsBounded) {
  const auto ok = load(R"(
clusters:
  - &c
    name: a
    endpoints: ["127.0.0.1:1"]
)");
  EXPECT_TRUE(LoadsCleanly(ok));
  // 110 clusters sharing one 1000-endpoint list: 110k items from a small file.
  std::string bomb = "clusters:\n";
  bomb += "  - name: c\n    endpoints: &e [";
  for (int i = 0; i < 1000; ++i) bomb += std::string(i ? "," : "") + "\"127.0.0.1:1\"";
  bomb += "]\n";
  for (int i = 0; i < 110; ++i) bomb += "  - {name: c" + std::to_string(i) + ", endpoints: *e}\n";
  const auto r = load(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(testing::all_diagnostics(r).find("more than 100000 list items"), std::string::npos);
}

class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    path_ = (std::filesystem::temp_directory_path() / ("aegis-config-test-" + std::to_string(::getpid()) + ".yaml"))
                .string();
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadFromFile, NamesTheFileInDiagnostics) {
  TempFile f("listeners:\n  - name: x\n    port: 99999\n    route_config: r\n");
  const auto r = load_from_file(f.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.at(0).file, f.path());
  EXPECT_EQ(r.diagnostics.at(0).str().rfind(f.path() + ":3:11: port:", 0), 0u) << r.diagnostics.at(0).str();
}

TEST(LoadFromFile, MissingFileAndDirectory) {
  const auto r = load_from_file("/nonexistent/aegis.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].str(), "/nonexistent/aegis.yaml: cannot open config file: No such file or directory");
  const auto d = load_from_file(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.diagnostics[0].line, 0);
}

}  // namespace
}  // namespace aegis::config

namespace aegis::config {
namespace {

// yaml-cpp 0.7's LoadAll looped forever on these (allocating as it went);
// found by the config_yaml fuzz target (tests/fuzz/regressions/config_yaml/).
TEST(LoaderYamlCppLoop, StrayCommaIsAnErrorNotAHang) {
  for (const std::string_view text : {",a: b\n", ",\n", ",listeoers: !!str 5\ntrust_bundlenode: !custom {region: x}\n"}) {
    const auto r = testing::load(text);
    ASSERT_FALSE(r.ok()) << text;
    ASSERT_EQ(r.diagnostics.size(), 1u) << testing::all_diagnostics(r);
    EXPECT_EQ(r.diagnostics[0].line, 1);
    EXPECT_EQ(r.diagnostics[0].column, 1);
    EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos) << r.diagnostics[0].message;
  }
}

TEST(LoaderYamlCppLoop, ASecondDocumentIsStillNamed) {
  const auto r = testing::load("node: {}\n---\nnode: {}\n");
  EXPECT_TRUE(testing::HasError(r, 3, 1, "found another after '---'"));
}

}  // namespace
}  // namespace aegis::config
