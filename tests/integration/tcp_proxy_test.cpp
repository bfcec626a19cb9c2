// L4 listener: bytes relayed both ways, half-close propagated (the upstream
// answers only after it sees the client's EOF, and the answer still arrives).
#include "harness.h"
#include "pattern.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

std::string tcp_config(std::uint16_t admin, std::uint16_t port, const std::string& endpoint) {
  std::ostringstream y;
  y << "admin:\n  address: 127.0.0.1\n  port: " << admin << "\n"
    << "access_log:\n  path: stdout\n"
    << "drain_timeout: 5s\n"
    << "listeners:\n"
    << "  - name: tcp-in\n"
    << "    address: 127.0.0.1\n"
    << "    port: " << port << "\n"
    << "    protocol: tcp\n"
    << "    cluster: tcp-backend\n"
    << "clusters:\n"
    << "  - name: tcp-backend\n"
    << "    lb_policy: round_robin\n"
    << "    connect_timeout: 1s\n"
    << "    endpoints: [\"" << endpoint << "\"]\n";
  return y.str();
}

std::string pattern_string(std::uint64_t n) {
  std::vector<std::uint8_t> bytes(n);
  fill_pattern(0, bytes);
  return {bytes.begin(), bytes.end()};
}

TEST(TcpProxy, RelaysBothWaysWithHalfClose) {
  TempDir dir("tcp");
  Upstream up(dir.path(), "tcp-upstream", /*tcp_mode=*/true);
  const std::uint16_t admin = free_port();
  const std::uint16_t port = free_port();
  Proxy proxy(dir.path(), tcp_config(admin, port, up.endpoint()), admin, {port});
  AEGIS_ASSERT_READY(proxy);

  constexpr std::uint64_t n = 8ULL << 20U;
  const std::string payload = pattern_string(n);
  const RawResult r = raw_exchange(port, payload, 20s, /*half_close=*/true);
  EXPECT_TRUE(r.peer_closed);
  EXPECT_FALSE(r.reset) << "connection reset instead of a clean close";
  // "HELLO <serial>\n" (upstream → client before the client's EOF) then the
  // digest of everything the upstream received up to our half-close.
  ASSERT_EQ(r.data.rfind("HELLO ", 0), 0U) << r.data;
  const auto nl = r.data.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(r.data.substr(nl + 1), sha256_hex(payload) + " " + std::to_string(n) + "\n");
}

TEST(TcpProxy, ParallelConnectionsAreIndependent) {
  TempDir dir("tcp");
  Upstream up(dir.path(), "tcp-upstream", /*tcp_mode=*/true);
  const std::uint16_t admin = free_port();
  const std::uint16_t port = free_port();
  Proxy proxy(dir.path(), tcp_config(admin, port, up.endpoint()), admin, {port});
  AEGIS_ASSERT_READY(proxy);

  std::vector<RawResult> results(8);
  std::vector<std::string> payloads;
  for (int i = 0; i < 8; ++i) payloads.push_back(pattern_string(100000 + 7919 * static_cast<unsigned>(i)));
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { results[i] = raw_exchange(port, payloads[i], 20s, true); });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> hellos;
  for (int i = 0; i < 8; ++i) {
    const auto nl = results[i].data.find('\n');
    ASSERT_NE(nl, std::string::npos) << results[i].data;
    hellos.insert(results[i].data.substr(0, nl));
    EXPECT_EQ(results[i].data.substr(nl + 1),
              sha256_hex(payloads[i]) + " " + std::to_string(payloads[i].size()) + "\n");
  }
  EXPECT_EQ(hellos.size(), 8U) << "each client connection needs its own upstream connection";
}

TEST(TcpProxy, UpstreamDownClosesClientConnection) {
  TempDir dir("tcp");
  const std::uint16_t admin = free_port();
  const std::uint16_t port = free_port();
  const std::uint16_t dead = free_port();
  Proxy proxy(dir.path(), tcp_config(admin, port, "127.0.0.1:" + std::to_string(dead)), admin, {port});
  AEGIS_ASSERT_READY(proxy);
  const RawResult r = raw_exchange(port, "hello", 5s);
  EXPECT_TRUE(r.peer_closed) << "client left hanging when the upstream is unreachable";
  EXPECT_EQ(r.data, "");
  EXPECT_TRUE(proxy.process().running());
}

}  // namespace
}  // namespace aegis::itest
