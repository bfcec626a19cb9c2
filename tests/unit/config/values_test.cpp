#include "config/values.h"

#include <gtest/gtest.h>

namespace aegis::config {
namespace {

TEST(ParseDuration, AcceptsDocumentedForms) {
  EXPECT_EQ(parse_duration("250ms")->count(), 250);
  EXPECT_EQ(parse_duration("1s")->count(), 1000);
  EXPECT_EQ(parse_duration("1.5s")->count(), 1500);
  EXPECT_EQ(parse_duration("0.25s")->count(), 250);
  EXPECT_EQ(parse_duration("2m")->count(), 120'000);
  EXPECT_EQ(parse_duration("1.5m")->count(), 90'000);
  EXPECT_EQ(parse_duration("1h")->count(), 3'600'000);
  EXPECT_EQ(parse_duration("0")->count(), 0);
  EXPECT_EQ(parse_duration("0s")->count(), 0);
  EXPECT_EQ(parse_duration("0ms")->count(), 0);
}

TEST(ParseDuration, RejectsEverythingElseNamingTheForms) {
  for (const char* bad : {"", "10", "1.5", "-1s", "1 s", "1S", "1sec", "1d", "1.5ms", "0.0001s", ".5s", "1.s",
                          "s", "1e3ms", "+1s", "1000000000s", "abc"}) {
    const auto r = parse_duration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("250ms, 1s, 1.5s, 2m, 1h or 0"), std::string::npos) << r.error().message;
  }
  EXPECT_NE(parse_duration("10").error().message.find("missing unit"), std::string::npos);
}

TEST(FormatDuration, IsParseableAndEnvoyStyle) {
  EXPECT_EQ(format_duration(Millis{0}), "0s");
  EXPECT_EQ(format_duration(Millis{250}), "250ms");
  EXPECT_EQ(format_duration(Millis{1000}), "1s");
  EXPECT_EQ(format_duration(Millis{1500}), "1.5s");
  EXPECT_EQ(format_duration(Millis{1250}), "1.25s");
  EXPECT_EQ(format_duration(Millis{1001}), "1.001s");
  EXPECT_EQ(format_duration(Millis{300'000}), "300s");
  for (long ms : {0L, 1L, 999L, 1000L, 1001L, 1010L, 61'500L, 3'600'000L}) {
    EXPECT_EQ(parse_duration(format_duration(Millis{ms}))->count(), ms);
  }
}

TEST(ParseUint, PlainDecimalInRangeOnly) {
  EXPECT_EQ(parse_uint("0", 0, 10), 0u);
  EXPECT_EQ(parse_uint("10", 0, 10), 10u);
  EXPECT_FALSE(parse_uint("11", 0, 10));
  EXPECT_FALSE(parse_uint("0", 1, 10));
  for (const char* bad : {"", "-1", "+1", "0x10", "1e3", "1.0", " 1", "abc", "99999999999999999999999"}) {
    EXPECT_FALSE(parse_uint(bad, 0, UINT64_MAX)) << bad;
  }
  EXPECT_EQ(parse_uint("18446744073709551615", 0, UINT64_MAX), UINT64_MAX);
}

TEST(CanonicalIp, LiteralsAndLocalhost) {
  EXPECT_EQ(canonical_ip("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(canonical_ip("localhost"), "127.0.0.1");
  EXPECT_EQ(canonical_ip("::1"), "::1");
  EXPECT_EQ(canonical_ip("[::1]"), "::1");
  EXPECT_EQ(canonical_ip("0:0::0001"), "::1");
  EXPECT_EQ(canonical_ip("::"), "::");
  EXPECT_EQ(canonical_ip("0.0.0.0"), "0.0.0.0");
  for (const char* bad : {"", "1.2.3", "256.0.0.1", "example.com", "[127.0.0.1]", "::1]", "1.2.3.4:80"}) {
    EXPECT_FALSE(canonical_ip(bad)) << bad;
  }
}

TEST(ParseHostPort, Ipv4NameAndBracketedIpv6) {
  auto a = parse_host_port("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = parse_host_port("[::1]:443");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 443);
  auto c = parse_host_port("backend.test:65535");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "backend.test");
}

TEST(ParseHostPort, RejectsWithAHint) {
  EXPECT_NE(parse_host_port("::1:80").error().message.find("brackets"), std::string::npos);
  EXPECT_NE(parse_host_port("127.0.0.1").error().message.find("missing port"), std::string::npos);
  EXPECT_NE(parse_host_port("127.0.0.1:0").error().message.find("1-65535"), std::string::npos);
  EXPECT_NE(parse_host_port("127.0.0.1:65536").error().message.find("1-65535"), std::string::npos);
  EXPECT_FALSE(parse_host_port("[::1]").ok());
  EXPECT_FALSE(parse_host_port("[::1:80").ok());
  EXPECT_FALSE(parse_host_port("[nothost]:80").ok());
  EXPECT_FALSE(parse_host_port(":80").ok());
}

TEST(HostNames, DnsSyntax) {
  EXPECT_TRUE(is_dns_name("backend.test"));
  EXPECT_TRUE(is_dns_name("a-b.c.example."));
  EXPECT_FALSE(is_dns_name("-a.example"));
  EXPECT_FALSE(is_dns_name("a..b"));
  EXPECT_FALSE(is_dns_name("under_score.example"));
  EXPECT_FALSE(is_dns_name("sp ace"));
  EXPECT_FALSE(is_dns_name(std::string(64, 'a') + ".com"));
}

TEST(HeaderNames, TokensAndSafeValues) {
  EXPECT_TRUE(is_header_token("x-canary"));
  EXPECT_TRUE(is_header_token("X_Weird!#$%&'*+-.^`|~1"));
  EXPECT_FALSE(is_header_token(""));
  EXPECT_FALSE(is_header_token("x canary"));
  EXPECT_FALSE(is_header_token("x:y"));
  EXPECT_FALSE(is_header_token(":authority"));
  EXPECT_FALSE(is_header_token("x\xc3\xa9"));
  EXPECT_TRUE(is_safe_header_value("aegis flow/1.0"));
  EXPECT_FALSE(is_safe_header_value("a\r\nx-evil: 1"));
  EXPECT_FALSE(is_safe_header_value(std::string_view("a\0b", 3)));
  EXPECT_EQ(to_lower("X-Canary"), "x-canary");
}

TEST(SocketAddress, BracketsIpv6) {
  EXPECT_EQ((SocketAddress{"127.0.0.1", 10000}.str()), "127.0.0.1:10000");
  EXPECT_EQ((SocketAddress{"::1", 10000}.str()), "[::1]:10000");
  Endpoint e;
  e.host = "fd00::1";
  e.port = 80;
  EXPECT_EQ(e.str(), "[fd00::1]:80");
  e.host = "10.0.0.1";
  EXPECT_EQ(e.str(), "10.0.0.1:80");
}

}  // namespace
}  // namespace aegis::config
