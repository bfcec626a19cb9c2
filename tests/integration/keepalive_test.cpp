// Keep-alive on both sides: many requests, few upstream connections; the
// upstream's own connection serials and aegis_upstream_connections_total
// must agree.
#include "harness.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace aegis::itest {
namespace {

const Labels kCluster = {{"cluster", "backend"}};

// Connections the upstream accepted from anyone but our /stats probes.
std::uint64_t upstream_connections(Upstream& up) { return up.stat("connections"); }

TEST(KeepAlive, HundredRequestsOnOneClientConnectionReuseUpstreamConnections) {
  TempDir dir("keepalive");
  Upstream up(dir.path());
  const auto cfg = config_for({up.endpoint()});
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  const double metric_before = proxy.metric("aegis_upstream_connections_total", kCluster).value_or(0);
  const std::uint64_t conns_before = upstream_connections(up);

  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*", "--max-time", "40",
                                   "-w", "|%{http_code} %{num_connects}\n"};
  for (int i = 0; i < 100; ++i) argv.push_back(url(cfg.listener_port, "/conn"));
  const auto c = run_command("curl-100", argv, dir.path(), 45s);
  ASSERT_TRUE(c.status.ok()) << c.err;

  std::istringstream lines(c.out);
  std::set<std::string> serials;
  int responses = 0;
  int ok = 0;
  int client_connects = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind('|', 0) == 0) {
      ++responses;
      ok += line.substr(1, 3) == "200" ? 1 : 0;
      client_connects += std::stoi(line.substr(5));
    } else {
      serials.insert(line);
    }
  }
  EXPECT_EQ(responses, 100);
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(client_connects, 1) << "the client connection was not kept alive";
  EXPECT_GE(serials.size(), 1U);
  EXPECT_LE(serials.size(), 2U) << "upstream saw " << serials.size() << " connections for 100 requests";

  // +1: the /stats probe itself.
  const std::uint64_t opened = upstream_connections(up) - conns_before - 1;
  EXPECT_EQ(opened, serials.size());
  ASSERT_TRUE(proxy.metric("aegis_upstream_connections_total", kCluster).has_value())
      << "aegis_upstream_connections_total{cluster=\"backend\"} missing";
  const double metric_delta = *proxy.metric("aegis_upstream_connections_total", kCluster) - metric_before;
  EXPECT_EQ(metric_delta, static_cast<double>(opened))
      << "aegis_upstream_connections_total disagrees with the connections the upstream accepted";
  EXPECT_EQ(proxy.metric("aegis_upstream_connections_total",
                         {{"cluster", "backend"}, {"endpoint", up.endpoint()}}).value_or(-1),
            metric_before + static_cast<double>(opened));
}

// Separate client connections (one curl each) still share the per-worker
// upstream pools: at most one upstream connection per worker when sequential.
TEST(KeepAlive, SequentialClientsShareThePool) {
  TempDir dir("keepalive");
  Upstream up(dir.path());
  const auto cfg = config_for({up.endpoint()});
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  const std::uint64_t conns_before = upstream_connections(up);
  std::set<std::string> serials;
  for (int i = 0; i < 30; ++i) {
    const auto r = curl(dir.path(), {url(cfg.listener_port, "/conn")}, 10s);
    ASSERT_EQ(r.status, 200) << r.stderr_text;
    serials.insert(r.body);
  }
  const std::uint64_t opened = upstream_connections(up) - conns_before - 1;
  EXPECT_LE(opened, 2U) << "30 sequential requests (2 workers) opened " << opened
                        << " upstream connections";
  EXPECT_EQ(serials.size(), opened);
}

}  // namespace
}  // namespace aegis::itest
