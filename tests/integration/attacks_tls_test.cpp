// Attack suite, TLS: handshake floods that never finish. Connections that
// send part of a ClientHello (or drip it) and then nothing hold a socket and
// an SSL object each; the listener's handshake_timeout ends them, counted as
// aegis_tls_handshake_failures_total{reason="timeout"}, while a real client
// completes its handshake and gets served, and the proxy's RSS stays bounded.
// (tls_test.cpp's NoClientHelloIsCountedAndSurvived covers connect-and-close
// and plain HTTP on a TLS port.)
#include "attack_tools.h"
#include "harness.h"
#include "tls_helpers.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

using attack::RawConn;
using attack::wait_until;

class TlsAttacks : public ProxyTest<> {
 protected:
  TlsAttacks() : ProxyTest("attacks_tls") {}
  void SetUp() override {
    auto ca = certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test");
    ASSERT_TRUE(ca.status.ok()) << ca.err;
    auto leaf = certs_issue(dir_.path(), dir_ / "ca", dir_ / "server", "spiffe://aegis.test/ns/demo/sa/server");
    ASSERT_TRUE(leaf.status.ok()) << leaf.err;
    upstream_ = std::make_unique<Upstream>(dir_.path());
    auto cfg = config_for({upstream_->endpoint()});
    cfg.listener_extra_yaml =
        "    tls:\n"
        "      cert_file: server/cert.pem\n"
        "      key_file: server/key.pem\n"
        "      pq_policy: hybrid\n"
        "      handshake_timeout: 3s\n";
    start_proxy(cfg);
  }
  double failures(const std::string& reason) {
    return proxy_->metric("aegis_tls_handshake_failures_total", {{"listener", cfg_.listener_name}, {"reason", reason}})
        .value_or(0);
  }
  // A full TLS 1.3 handshake (X25519MLKEM768) and one request.
  bool bystander() {
    tlsh::TlsConn::Options o;
    o.ca_file = (dir_ / "ca" / "ca.crt").string();
    o.timeout = 20s;
    tlsh::TlsConn c(cfg_.listener_port, o);
    return c.ok() && c.get("/status/200") == 200;
  }
};

// The start of a ClientHello: a handshake record header announcing 512
// bytes, the handshake header, the legacy version and part of the random.
std::string partial_client_hello() {
  std::string s = "\x16\x03\x01\x02\x00" "\x01\x00\x01\xfc" "\x03\x03";
  s += std::string(20, '\x42');
  return s;
}

// Partial-ClientHello flood (the TLS form of slowloris, CVE-2007-6750
// class; no renegotiation in TLS 1.3, so this is what is left of
// CVE-2011-1473's handshake-cost DoS): 50 connections that stop mid-hello.
TEST_F(TlsAttacks, PartialClientHellosAreTimedOutAndCounted) {
  const auto rss_before = attack::rss_kib(proxy_->process().pid());
  const double before = failures("timeout");
  std::vector<std::unique_ptr<RawConn>> evil;
  for (int i = 0; i < 50; ++i) {
    evil.push_back(std::make_unique<RawConn>(cfg_.listener_port));
    ASSERT_TRUE(evil.back()->ok());
    evil.back()->send(partial_client_hello());
  }
  EXPECT_TRUE(bystander()) << "a real client was not served during the flood";
  EXPECT_TRUE(wait_until([&] {
    for (auto& c : evil)
      if (!c->closed()) c->pump(10ms);
    for (auto& c : evil)
      if (!c->closed()) return false;
    return true;
  }, 40s)) << "partial handshakes were left open";
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_tls_handshake_failures_total",
                                           {{"listener", cfg_.listener_name}, {"reason", "timeout"}}, before + 50, 20s))
      << failures("timeout");
  EXPECT_LT(attack::rss_kib(proxy_->process().pid()), rss_before + 32 * 1024);
  EXPECT_TRUE(bystander());
}

// The same hello dripped a byte at a time: each byte is progress to a naive
// per-read timeout, but handshake_timeout bounds the whole handshake.
TEST_F(TlsAttacks, DrippedClientHelloIsTimedOut) {
  const double before = failures("timeout");
  RawConn evil(cfg_.listener_port);
  ASSERT_TRUE(evil.ok());
  const std::string hello = partial_client_hello() + std::string(400, '\x01');
  std::size_t i = 0;
  EXPECT_TRUE(wait_until([&] {
    if (i < hello.size()) evil.send(hello.substr(i++, 1));
    evil.pump(100ms);
    return evil.closed();
  }, 40s)) << "a dripped handshake was kept open (" << i << " bytes sent)";
  EXPECT_LT(i, hello.size()) << "the whole dripped hello was read before the timeout";
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_tls_handshake_failures_total",
                                           {{"listener", cfg_.listener_name}, {"reason", "timeout"}}, before + 1, 20s));
  EXPECT_TRUE(bystander());
}

// A record header announcing more than TLS allows (2^14 + 256 for TLS 1.3
// plaintext): refused at once, not buffered up to 64 KiB.
TEST_F(TlsAttacks, OversizedRecordIsRefused) {
  RawConn evil(cfg_.listener_port);
  ASSERT_TRUE(evil.ok());
  evil.send(std::string("\x16\x03\x01\xff\xff", 5) + std::string(1000, '\x00'));
  EXPECT_TRUE(evil.wait_closed(20s));
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_tls_handshake_failures_total", {{"listener", cfg_.listener_name}},
                                           2, 20s));  // + the readiness probe
  EXPECT_TRUE(bystander());
}

}  // namespace
}  // namespace aegis::itest
