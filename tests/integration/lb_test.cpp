// Load-balancing policies end to end: real aegis-test-upstream processes
// behind one aegis-flow, requests counted at each upstream (its /stats).
// One worker (--concurrency 1) so every request meets the same policy
// instance; each test's bounds follow from the policy, never from timing.
#include "harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

class Lb : public ::testing::Test {
 protected:
  Lb() : dir_("lb") {}

  Upstream& add_upstream(std::vector<std::string> args = {}) {
    ups_.push_back(std::make_unique<Upstream>(dir_.path(), "upstream" + std::to_string(ups_.size()), false,
                                              std::move(args)));
    return *ups_.back();
  }
  std::string ep(std::size_t i) const { return ups_.at(i)->endpoint(); }
  // `{address: 127.0.0.1, port: P, weight: W}` of upstream i.
  std::string lb_endpoint(std::size_t i, std::uint32_t weight = 1) const {
    return "{address: 127.0.0.1, port: " + std::to_string(ups_.at(i)->port()) + ", weight: " +
           std::to_string(weight) + "}";
  }

  void start(const std::string& cluster_yaml, const std::string& route_extra = "", const std::string& top = "") {
    cfg_ = config_for({});
    cfg_.access_log = "";
    cfg_.cluster_yaml = cluster_yaml;
    cfg_.route_extra_yaml = route_extra;
    cfg_.top_yaml = top;
    proxy_ = std::make_unique<Proxy>(dir_.path(), http_proxy_config(cfg_), cfg_.admin_port,
                                     std::vector<std::uint16_t>{cfg_.listener_port}, "aegis-flow",
                                     std::vector<std::string>{"--concurrency", "1"});
    AEGIS_ASSERT_READY(*proxy_);
  }
  void TearDown() override {
    if (proxy_) {
      EXPECT_TRUE(proxy_->alive()) << proxy_->process().stderr_tail();
    }
  }

  // Requests each upstream has served so far (its /stats probe excluded).
  std::vector<std::int64_t> served() {
    std::vector<std::int64_t> out;
    for (auto& u : ups_) out.push_back(static_cast<std::int64_t>(u->stat("requests")) - ++probes_[u.get()]);
    return out;
  }
  // `after - before`, per upstream.
  static std::vector<std::int64_t> delta(const std::vector<std::int64_t>& before,
                                         const std::vector<std::int64_t>& after) {
    std::vector<std::int64_t> d;
    for (std::size_t i = 0; i < before.size(); ++i) d.push_back(after[i] - before[i]);
    return d;
  }

  // GET `path` once per entry of `header_values` on one curl run (keep-alive,
  // so on one worker connection), with `header: value` unless the value is
  // empty; returns how many answered 200.
  int get_many(const std::string& path, const std::string& header, const std::vector<std::string>& header_values) {
    std::vector<std::string> argv{"curl"};
    for (std::size_t i = 0; i < header_values.size(); ++i) {
      if (i > 0) argv.push_back("--next");
      for (const char* a : {"-sS", "--noproxy", "*", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}\\n"})
        argv.emplace_back(a);
      if (!header_values[i].empty()) {
        argv.push_back("-H");
        argv.push_back(header + ": " + header_values[i]);
      }
      argv.push_back(url(cfg_.listener_port, path));
    }
    const auto r = run_command("curl-many", argv, dir_.path(), 50s);
    EXPECT_TRUE(r.status.ok()) << r.err;
    int ok = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) ok += line == "200";
    return ok;
  }
  int get_n(const std::string& path, int n) { return get_many(path, "", std::vector<std::string>(n, "")); }

  // A request of `ms` milliseconds through the proxy, in the background, once
  // upstream `i` is serving it (with max_connections: 1 that endpoint can
  // take nothing else meanwhile).
  std::unique_ptr<Process> occupy(std::size_t i, int ms) {
    auto slow = std::make_unique<Process>(
        "curl-slow",
        std::vector<std::string>{"curl", "-sS", "--noproxy", "*", "--max-time", "20",
                                 url(cfg_.listener_port, "/slow?ms=" + std::to_string(ms))},
        dir_.path());
    for (int tries = 0; tries < 200; ++tries) {
      const bool busy = ups_.at(i)->stat("inflight") == 1;
      ++probes_[ups_.at(i).get()];
      if (busy) return slow;
      std::this_thread::sleep_for(20ms);
    }
    ADD_FAILURE() << "the slow request never reached upstream " << i;
    return nullptr;
  }

  TempDir dir_;
  std::vector<std::unique_ptr<Upstream>> ups_;
  std::map<Upstream*, std::int64_t> probes_;
  HttpProxyConfig cfg_;
  std::unique_ptr<Proxy> proxy_;
};

TEST_F(Lb, WeightedRoundRobinSplitsExactlyByWeight) {
  for (int i = 0; i < 3; ++i) add_upstream();
  start("    lb_policy: round_robin\n"
        "    load_assignment:\n"
        "      endpoints:\n"
        "        - lb_endpoints: [" + lb_endpoint(0, 1) + ", " + lb_endpoint(1, 2) + ", " + lb_endpoint(2, 3) + "]\n");
  const auto before = served();
  ASSERT_EQ(get_n("/conn", 60), 60);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{10, 20, 30}));
}

TEST_F(Lb, RingHashByHeaderKeepsAKeyOnOneUpstreamAndSpreadsKeys) {
  for (int i = 0; i < 3; ++i) add_upstream();
  start("    lb_policy: ring_hash\n"
        "    endpoints: [\"" + ep(0) + "\", \"" + ep(1) + "\", \"" + ep(2) + "\"]\n",
        "              hash_policy:\n"
        "                - header: {name: x-user}\n");
  // One key: every request on the same upstream.
  auto before = served();
  ASSERT_EQ(get_many("/conn", "x-user", std::vector<std::string>(30, "alice")), 30);
  auto d = delta(before, served());
  std::sort(d.begin(), d.end());
  EXPECT_EQ(d, (std::vector<std::int64_t>{0, 0, 30}));

  // 90 keys, twice each: all three upstreams get a fair share (expected 60
  // each; a 1024-node ring keeps shares within a few percent), and the second
  // round lands exactly where the first did.
  std::vector<std::string> keys;
  for (int i = 0; i < 90; ++i) keys.push_back("user-" + std::to_string(i));
  before = served();
  ASSERT_EQ(get_many("/conn", "x-user", keys), 90);
  const auto first = delta(before, served());
  for (auto n : first) EXPECT_GE(n, 12) << "a third of 90 keys is 30";
  before = served();
  ASSERT_EQ(get_many("/conn", "x-user", keys), 90);
  EXPECT_EQ(delta(before, served()), first);
}

TEST_F(Lb, RingHashWithoutAKeyPicksAtRandom) {
  for (int i = 0; i < 2; ++i) add_upstream();
  start("    lb_policy: ring_hash\n"
        "    endpoints: [\"" + ep(0) + "\", \"" + ep(1) + "\"]\n",
        "              hash_policy:\n"
        "                - header: {name: x-user}\n");
  const auto before = served();
  ASSERT_EQ(get_n("/conn", 60), 60);
  for (auto n : delta(before, served())) EXPECT_GE(n, 10) << "p = 1/2 over 60 requests";
}

TEST_F(Lb, PeakEwmaSendsMostRequestsToTheFastUpstream) {
  add_upstream();                          // answers at once
  add_upstream({"--delay-ms", "100"});     // 100 ms on every request
  start("    lb_policy: peak_ewma\n"
        "    peak_ewma: {decay_time: 10s, default_rtt: 30ms}\n"
        "    endpoints: [\"" + ep(0) + "\", \"" + ep(1) + "\"]\n");
  const auto before = served();
  ASSERT_EQ(get_n("/conn", 100), 100);
  const auto d = delta(before, served());
  EXPECT_GE(d[0], 80) << "fast " << d[0] << ", slow " << d[1];
  EXPECT_EQ(d[0] + d[1], 100);
}


TEST_F(Lb, LocalityAwarePrefersTheNodesZoneThenRegion) {
  for (int i = 0; i < 3; ++i) add_upstream();
  start("    lb_policy: round_robin\n"
        "    max_connections: 1\n"
        "    locality_aware: {overprovisioning_factor: 1.4, min_local_healthy_percent: 50}\n"
        "    load_assignment:\n"
        "      endpoints:\n"
        "        - locality: {region: eu, zone: eu-a}\n"
        "          lb_endpoints: [" + lb_endpoint(0) + "]\n"
        "        - locality: {region: eu, zone: eu-b}\n"
        "          lb_endpoints: [" + lb_endpoint(1) + "]\n"
        "        - locality: {region: us, zone: us-a}\n"
        "          lb_endpoints: [" + lb_endpoint(2) + "]\n",
        "", "node: {region: eu, zone: eu-a}\n");
  auto before = served();
  ASSERT_EQ(get_n("/conn", 20), 20);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{20, 0, 0}));

  // Fill the zone's only endpoint (max_connections: 1) with a slow request:
  // the zone has no capacity left, the region (1 of 2 = 70% ≥ 50%) takes over.
  const auto slow = occupy(0, 4000);
  ASSERT_NE(slow, nullptr);
  before = served();
  ASSERT_EQ(get_n("/conn", 10), 10);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{0, 10, 0}));
  EXPECT_TRUE(slow->wait_for(20s).has_value());
}

TEST_F(Lb, LocalityAwareFailsOverByPriority) {
  for (int i = 0; i < 2; ++i) add_upstream();
  start("    lb_policy: least_request\n"
        "    max_connections: 1\n"
        "    locality_aware: {}\n"
        "    load_assignment:\n"
        "      endpoints:\n"
        "        - priority: 0\n"
        "          lb_endpoints: [" + lb_endpoint(0) + "]\n"
        "        - priority: 1\n"
        "          lb_endpoints: [" + lb_endpoint(1) + "]\n");
  auto before = served();
  ASSERT_EQ(get_n("/conn", 10), 10);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{10, 0}));
  const auto slow = occupy(0, 3000);
  ASSERT_NE(slow, nullptr);
  before = served();
  ASSERT_EQ(get_n("/conn", 10), 10);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{0, 10}));
  ASSERT_TRUE(slow->wait_for(20s).has_value());
  before = served();
  ASSERT_EQ(get_n("/conn", 10), 10);
  EXPECT_EQ(delta(before, served()), (std::vector<std::int64_t>{10, 0})) << "priority 0 is back";
}

}  // namespace
}  // namespace aegis::itest
