// What the upstream receives: hop-by-hop headers removed (including those
// named in Connection), x-forwarded-for/-proto added, x-request-id kept or
// generated. And the access log line for a request, checked field by field.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

using Json = nlohmann::json;

class Headers : public ProxyTest<> {
 protected:
  Headers() : ProxyTest("headers") {}
  void SetUp() override {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.access_log = (dir_ / "access.log").string();
    start_proxy(std::move(cfg));
  }
  // Headers the upstream received, as lower-case name -> values.
  std::multimap<std::string, std::string> seen(const std::vector<std::string>& curl_args) {
    std::vector<std::string> args = curl_args;
    args.push_back(url(cfg_.listener_port, "/headers"));
    const auto r = curl(dir_.path(), args);
    EXPECT_EQ(r.status, 200) << r.stderr_text;
    std::multimap<std::string, std::string> out;
    if (r.status != 200) return out;
    const Json body = Json::parse(r.body);
    for (const auto& h : body.at("headers")) {
      std::string name = h.at(0).get<std::string>();
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      out.emplace(name, h.at(1).get<std::string>());
    }
    return out;
  }

};

TEST_F(Headers, HopByHopRemovedAndForwardingHeadersAdded) {
  const auto h = seen({"-H", "Connection: keep-alive, x-hop-secret", "-H", "x-hop-secret: do-not-forward", "-H",
                       "Keep-Alive: timeout=5", "-H", "Proxy-Connection: keep-alive", "-H",
                       "x-end-to-end: kept"});
  EXPECT_EQ(h.count("x-hop-secret"), 0U) << "header named in Connection was forwarded";
  EXPECT_EQ(h.count("keep-alive"), 0U);
  for (auto [it, end] = h.equal_range("connection"); it != end; ++it) {
    EXPECT_EQ(it->second.find("x-hop-secret"), std::string::npos) << "downstream Connection header forwarded";
  }
  ASSERT_EQ(h.count("x-end-to-end"), 1U);
  EXPECT_EQ(h.find("x-end-to-end")->second, "kept");
  ASSERT_EQ(h.count("x-forwarded-for"), 1U);
  EXPECT_EQ(h.find("x-forwarded-for")->second, "127.0.0.1");
  ASSERT_EQ(h.count("x-forwarded-proto"), 1U);
  EXPECT_EQ(h.find("x-forwarded-proto")->second, "http");
  ASSERT_EQ(h.count("host"), 1U);
  EXPECT_EQ(h.find("host")->second, "127.0.0.1:" + std::to_string(cfg_.listener_port));
}

TEST_F(Headers, RequestIdGeneratedWhenAbsentAndKeptWhenPresent) {
  const auto first = seen({});
  const auto second = seen({});
  ASSERT_EQ(first.count("x-request-id"), 1U);
  ASSERT_EQ(second.count("x-request-id"), 1U);
  const std::string id1 = first.find("x-request-id")->second;
  EXPECT_GE(id1.size(), 8U) << id1;
  EXPECT_NE(id1, second.find("x-request-id")->second) << "generated request ids must differ";

  const auto given = seen({"-H", "x-request-id: itest-given-id"});
  ASSERT_EQ(given.count("x-request-id"), 1U);
  EXPECT_EQ(given.find("x-request-id")->second, "itest-given-id");
}

TEST_F(Headers, UntrustedXForwardedForIsNotBelieved) {
  // xff_trust_downstream defaults to false: the client's claim must not be
  // passed off as the client address.
  const auto h = seen({"-H", "x-forwarded-for: 203.0.113.9"});
  ASSERT_GE(h.count("x-forwarded-for"), 1U);
  std::string all;
  for (auto [it, end] = h.equal_range("x-forwarded-for"); it != end; ++it) all += it->second + ";";
  EXPECT_NE(all.find("127.0.0.1"), std::string::npos) << all;
}

TEST_F(Headers, AccessLogLineHasEveryField) {
  const auto r = curl(dir_.path(), {"-H", "x-request-id: itest-access-log-42",
                                    url(cfg_.listener_port, "/status/201?q=1")});
  ASSERT_EQ(r.status, 201);
  const fs::path log = dir_ / "access.log";
  Json entry;
  for (int attempt = 0; attempt < 100 && entry.is_null(); ++attempt) {
    std::istringstream lines(read_file(log));
    for (std::string line; std::getline(lines, line);) {
      if (line.find("itest-access-log-42") == std::string::npos) continue;
      ASSERT_TRUE(Json::accept(line)) << "access log line is not JSON: " << line;
      entry = Json::parse(line);
    }
    if (entry.is_null()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(entry.is_null()) << "no access log line for the request in " << log << ":\n" << read_file(log);
  for (const char* key : {"time", "listener", "method", "authority", "path", "status", "bytes_in", "bytes_out",
                          "duration_ms", "upstream", "request_id", "protocol"}) {
    EXPECT_TRUE(entry.contains(key)) << "missing key " << key << " in " << entry.dump();
  }
  EXPECT_EQ(entry.value("listener", ""), cfg_.listener_name);
  EXPECT_EQ(entry.value("method", ""), "GET");
  EXPECT_EQ(entry.value("authority", ""), "127.0.0.1:" + std::to_string(cfg_.listener_port));
  EXPECT_EQ(entry.value("path", "").rfind("/status/201", 0), 0U) << entry.dump();
  EXPECT_EQ(entry.value("status", 0), 201);
  EXPECT_GT(entry.value("bytes_out", 0), 0);
  EXPECT_GE(entry.value("duration_ms", -1.0), 0.0);
  EXPECT_EQ(entry.value("upstream", ""), upstream_->endpoint());
  EXPECT_EQ(entry.value("request_id", ""), "itest-access-log-42");
  EXPECT_NE(entry.value("protocol", "").find("1.1"), std::string::npos) << entry.dump();
  EXPECT_FALSE(entry.value("time", "").empty());
}

}  // namespace
}  // namespace aegis::itest
