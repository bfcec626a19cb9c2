// HTTP/1.1 Upgrade (WebSocket and others) through the proxy: the upgrade
// fields reach the upstream only when the client really asked (Connection:
// upgrade), a 101 turns the connection into a byte tunnel in both directions
// (bytes sent right behind the request head included, half-close honoured),
// and a 101 nobody asked for is refused.
#include "harness.h"

#include <gtest/gtest.h>

#include <cctype>

namespace aegis::itest {
namespace {

class Upgrade : public ProxyTest<> {
 protected:
  Upgrade() : ProxyTest("upgrade") {}
  void SetUp() override { start_with_upstream(); }
  std::uint16_t port() const { return cfg_.listener_port; }
};

TEST_F(Upgrade, WebSocketUpgradeBecomesATunnel) {
  std::string payload;
  for (int i = 0; i < 20000; ++i) payload += static_cast<char>('a' + i % 26);
  const std::string request =
      "GET /upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" + payload;
  // The client sends the head and the payload at once, then half-closes: the
  // upstream echoes the payload and closes after the client's EOF.
  const auto r = raw_exchange(port(), request, 10s, /*half_close=*/true);
  ASSERT_EQ(r.status, 101) << r.data.substr(0, 400);
  const auto head_end = r.data.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  std::string head = r.data.substr(0, head_end + 2);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_NE(head.find("\r\nupgrade: websocket\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nconnection: upgrade\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\nx-upgraded-by: test-upstream\r\n"), std::string::npos) << head;
  EXPECT_EQ(r.data.substr(head_end + 4), payload) << "the tunnel must carry the bytes unchanged";
  EXPECT_TRUE(r.peer_closed);
  // The proxy still serves ordinary requests.
  const auto ok = curl(dir_.path(), {u("/status/200")});
  EXPECT_EQ(ok.status, 200);
}

TEST_F(Upgrade, UpgradeWithoutConnectionTokenIsNotForwarded) {
  // Upgrade alone is a hop-by-hop field without effect: it is removed, so the
  // upstream (which answers 426 without Upgrade) never sees a half request.
  const auto r = raw_exchange(
      port(), "GET /upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n", 5s);
  EXPECT_EQ(r.status, 426) << r.data;
}

TEST_F(Upgrade, RequestWithBodyIsNotUpgraded) {
  const auto r = raw_exchange(port(),
                              "POST /upgrade HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\n"
                              "Upgrade: websocket\r\nContent-Length: 2\r\n\r\nhi",
                              5s);
  EXPECT_NE(r.status, 101) << r.data;
  EXPECT_NE(r.status, 0) << r.data;
}

}  // namespace
}  // namespace aegis::itest
