// `aegis-flow validate -c FILE`: exit 0 for a valid file; exit 2 and every
// error as FILE:LINE:COL: message otherwise.
#include "harness.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace aegis::itest {
namespace {

struct Diagnostic {
  int line = 0;
  int col = 0;
  std::string message;
};

std::vector<Diagnostic> diagnostics(const std::string& output, const fs::path& file) {
  std::vector<Diagnostic> out;
  const std::regex re("^" + std::regex_replace(file.string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                      R"(:(\d+):(\d+): (.+)$)");
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, re)) out.push_back({std::stoi(m[1]), std::stoi(m[2]), m[3]});
  }
  return out;
}

CommandResult validate(const TempDir& dir, const fs::path& file) {
  return run_command("validate", {proxy_binary(), "validate", "-c", file.string()}, dir.path(), 20s);
}

TEST(Validate, ValidConfigExitsZero) {
  TempDir dir("validate");
  const fs::path file = dir / "good.yaml";
  write_file(file, http_proxy_config(config_for({"127.0.0.1:8080"})));
  const auto r = validate(dir, file);
  EXPECT_TRUE(r.status.ok()) << r.status.describe() << "\n" << r.out << r.err;
}

TEST(Validate, EveryErrorIsReportedWithFileLineColumn) {
  TempDir dir("validate");
  const fs::path file = dir / "bad.yaml";
  write_file(file,
             "admin:\n"                          // 1
             "  address: 127.0.0.1\n"            // 2
             "  port: 9901\n"                    // 3
             "  bogus_key: 1\n"                  // 4  unknown key at col 3
             "listeners:\n"                      // 5
             "  - name: ingress\n"               // 6
             "    address: 127.0.0.1\n"          // 7
             "    port: not-a-number\n"          // 8  wrong type (key col 5, value col 11)
             "    protocol: http\n"              // 9
             "    route_config: main\n"          // 10
             "route_configs:\n"                  // 11
             "  - name: main\n"                  // 12
             "    virtual_hosts:\n"              // 13
             "      - name: all\n"               // 14
             "        domains: [\"*\"]\n"        // 15
             "        routes:\n"                 // 16
             "          - name: r\n"             // 17
             "            match:\n"              // 18
             "              prefix: /\n"         // 19
             "            route:\n"              // 20
             "              cluster: nowhere\n"  // 21 unknown cluster (key col 15, value col 24)
             "clusters:\n"                       // 22
             "  - name: backend\n"               // 23
             "    lb_policy: round_robin\n"      // 24
             "    endpoints: [\"127.0.0.1:8080\"]\n");  // 25
  const auto r = validate(dir, file);
  ASSERT_FALSE(r.timed_out);
  EXPECT_TRUE(r.status.exited);
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  const auto diags = diagnostics(r.out + r.err, file);
  ASSERT_FALSE(diags.empty()) << "no FILE:LINE:COL: message lines in:\n" << r.out << r.err;
  auto find = [&](int line) -> const Diagnostic* {
    for (const auto& d : diags) {
      if (d.line == line) return &d;
    }
    return nullptr;
  };
  const Diagnostic* unknown = find(4);
  ASSERT_NE(unknown, nullptr) << "unknown key on line 4 not reported:\n" << r.out << r.err;
  EXPECT_EQ(unknown->col, 3) << "columns are 1-based: bogus_key starts at column 3";
  EXPECT_NE(unknown->message.find("bogus_key"), std::string::npos) << unknown->message;
  const Diagnostic* type = find(8);
  ASSERT_NE(type, nullptr) << "wrong type on line 8 not reported (every error, not just the first):\n"
                           << r.out << r.err;
  EXPECT_TRUE(type->col == 5 || type->col == 11) << type->col;
  const Diagnostic* cluster = find(21);
  EXPECT_NE(cluster, nullptr) << "reference to unknown cluster on line 21 not reported:\n" << r.out << r.err;
  if (cluster != nullptr) {
    EXPECT_NE(cluster->message.find("nowhere"), std::string::npos) << cluster->message;
  }
}

TEST(Validate, YamlSyntaxErrorHasPosition) {
  TempDir dir("validate");
  const fs::path file = dir / "syntax.yaml";
  write_file(file, "admin:\n  address: 127.0.0.1\n  port: [9901\nlisteners: []\n");
  const auto r = validate(dir, file);
  EXPECT_EQ(r.status.code, 2) << r.status.describe() << "\n" << r.out << r.err;
  EXPECT_FALSE(diagnostics(r.out + r.err, file).empty()) << r.out << r.err;
}

TEST(Validate, RunRefusesAnInvalidFile) {
  TempDir dir("validate");
  const fs::path file = dir / "bad.yaml";
  auto cfg = config_for({"127.0.0.1:8080"});
  write_file(file, http_proxy_config(cfg) + "no_such_section: {}\n");
  const auto r = run_command("run", {proxy_binary(), "run", "-c", file.string()}, dir.path(), 10s);
  EXPECT_FALSE(r.timed_out) << "run kept going with an invalid config";
  EXPECT_NE(r.status.code, 0);
  EXPECT_FALSE(port_accepts(cfg.listener_port));
}

}  // namespace
}  // namespace aegis::itest
