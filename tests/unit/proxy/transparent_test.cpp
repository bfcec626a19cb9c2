// The pure parts of transparent listeners: protocol detection on the first
// bytes, and the service table's address/port matching.
#include <gtest/gtest.h>

#include <string_view>

#include "config/loader.h"
#include "proxy/protocol_sniff.h"
#include "proxy/snapshot.h"

namespace aegis::proxy {
namespace {

Sniffed sniff(std::string_view s) {
  return sniff_protocol(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

TEST(ProtocolSniff, TellsHttpH2AndTlsApart) {
  EXPECT_EQ(sniff("GET / HTTP/1.1\r\n"), Sniffed::kHttp1);
  EXPECT_EQ(sniff("POST /x HTTP/1.1\r\n"), Sniffed::kHttp1);
  EXPECT_EQ(sniff("OPTIONS * HTTP/1.1\r\n"), Sniffed::kHttp1);
  EXPECT_EQ(sniff("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Sniffed::kHttp2);
  // A TLS 1.2-framed ClientHello record header (what TLS 1.3 clients send).
  const std::string_view hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  EXPECT_EQ(sniff(hello), Sniffed::kTls);
  EXPECT_EQ(sniff(std::string_view("\x16\x03\x03\x00\x10\x02", 6)), Sniffed::kOther);  // ServerHello: not a client
  EXPECT_EQ(sniff(std::string_view("\x16\x02\x01", 3)), Sniffed::kOther);
  EXPECT_EQ(sniff(std::string_view("\x16\x03\x09\x00\x10\x01", 6)), Sniffed::kOther);
  EXPECT_EQ(sniff("SSH-2.0-OpenSSH_9.2\r\n"), Sniffed::kOther);
  EXPECT_EQ(sniff("get / HTTP/1.1\r\n"), Sniffed::kOther);  // methods are case-sensitive
  EXPECT_EQ(sniff("GETX / HTTP/1.1"), Sniffed::kOther);
}

TEST(ProtocolSniff, PrefixesWaitForMore) {
  for (std::string_view prefix : {"", "G", "GE", "GET", "P", "PR", "PRI * HTTP/2.0\r\n", "OPTIO"})
    EXPECT_EQ(sniff(prefix), Sniffed::kNeedMore) << prefix;
  EXPECT_EQ(sniff(std::string_view("\x16", 1)), Sniffed::kNeedMore);
  EXPECT_EQ(sniff(std::string_view("\x16\x03\x01\x02", 4)), Sniffed::kNeedMore);
  EXPECT_EQ(sniff("PRI * HTTP/1.1"), Sniffed::kOther);
  EXPECT_EQ(sniffed_name(Sniffed::kHttp1), "http1");
  EXPECT_EQ(sniffed_name(Sniffed::kHttp2), "http2");
  EXPECT_EQ(sniffed_name(Sniffed::kTls), "tls");
  EXPECT_EQ(sniffed_name(Sniffed::kOther), "tcp");
}

std::shared_ptr<const Snapshot> snapshot_of(std::string_view yaml) {
  auto loaded = config::load_from_string(yaml, "test.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].str());
  auto snap = build_snapshot(std::move(*loaded.config), 1, nullptr);
  EXPECT_TRUE(snap) << snap.error().message;
  return *snap;
}

boost::asio::ip::tcp::endpoint ep(const char* ip, std::uint16_t port) {
  return {boost::asio::ip::make_address(ip), port};
}

TEST(ServiceTable, FirstMatchByNetworkAndPort) {
  const auto snap = snapshot_of(R"(listeners:
  - {name: out, port: 25001, protocol: tcp, transparent: outbound}
clusters:
  - {name: mesh, type: original_dst}
services:
  - {name: one, addresses: ["10.1.2.3"], ports: [8080], cluster: mesh}
  - {name: net, addresses: ["10.96.0.0/12", "fd00:1::/32"], cluster: mesh}
  - {name: odd, addresses: ["192.168.1.128/25"], ports: [443, 80], cluster: mesh}
  - {name: all, addresses: ["0.0.0.0/0"], ports: [5432], cluster: mesh}
)");
  auto name = [&](const char* ip, std::uint16_t port) -> std::string {
    const auto* s = snap->match_service(ep(ip, port));
    return s ? s->config->name : "-";
  };
  EXPECT_EQ(name("10.1.2.3", 8080), "one");
  EXPECT_EQ(name("10.1.2.3", 8081), "-");
  EXPECT_EQ(name("10.96.0.1", 1), "net");
  EXPECT_EQ(name("10.111.255.255", 65535), "net");
  EXPECT_EQ(name("10.112.0.0", 80), "-");
  EXPECT_EQ(name("fd00:1:ffff::1", 80), "net");
  EXPECT_EQ(name("fd00:2::1", 80), "-");
  EXPECT_EQ(name("::ffff:10.96.0.9", 80), "net");  // v4-mapped matches as IPv4
  EXPECT_EQ(name("192.168.1.200", 443), "odd");
  EXPECT_EQ(name("192.168.1.127", 443), "-");
  EXPECT_EQ(name("192.168.1.200", 8443), "-");
  EXPECT_EQ(name("8.8.8.8", 5432), "all");
  EXPECT_EQ(name("8.8.8.8", 5433), "-");
  EXPECT_EQ(name("::1", 5432), "-");  // 0.0.0.0/0 is IPv4 only
}

}  // namespace
}  // namespace aegis::proxy
