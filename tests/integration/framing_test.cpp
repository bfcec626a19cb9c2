// Ambiguous request framing (request-smuggling vectors) over a raw socket:
// each must get exactly one 400, the connection closed, and nothing smuggled
// to the upstream.
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

// A second request hidden where a lenient parser would find it.
const std::string kSmuggled = "GET /status/299 HTTP/1.1\r\nHost: x\r\n\r\n";

struct FramingCase {
  const char* name;
  std::string request;
  bool rejected_at_head;  // detectable before any body byte: nothing may reach the upstream
};

// Test listings show the case name, not the bytes of the struct.
void PrintTo(const FramingCase& c, std::ostream* os) { *os << c.name; }

std::vector<FramingCase> framing_cases() {
  const std::string post = "POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  return {
      {"ContentLengthAndChunked",
       post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled, true},
      {"ChunkedAndContentLength",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\n" + kSmuggled, true},
      {"DuplicateDifferingContentLength",
       post + "Content-Length: 5\r\nContent-Length: 42\r\n\r\nhello" + kSmuggled, true},
      {"ContentLengthListDiffering", post + "Content-Length: 5, 42\r\n\r\nhello" + kSmuggled, true},
      {"NonNumericContentLength", post + "Content-Length: 5x\r\n\r\nhello" + kSmuggled, true},
      {"NegativeContentLength", post + "Content-Length: -5\r\n\r\nhello" + kSmuggled, true},
      {"ChunkedNotLastTransferCoding",
       post + "Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + kSmuggled, true},
      {"InvalidChunkSizeNonHex",
       post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + kSmuggled, false},
      {"InvalidChunkSizeOverflow",
       post + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nhello\r\n0\r\n\r\n" + kSmuggled, false},
      {"InvalidChunkSizeEmpty", post + "Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n" + kSmuggled,
       false},
  };
}

class Framing : public ProxyTest<::testing::TestWithParam<FramingCase>> {
 protected:
  Framing() : ProxyTest("framing") {}
  void SetUp() override { start_with_upstream(); }
};

TEST_P(Framing, Gets400AndConnectionClose) {
  const FramingCase& c = GetParam();
  const Labels listener = {{"listener", cfg_.listener_name}};
  const double malformed_before = proxy_->metric("aegis_http_malformed_requests_total", listener).value_or(0);
  const std::uint64_t upstream_requests_before = upstream_->stat("requests");

  const RawResult r = raw_exchange(cfg_.listener_port, c.request, 5s);
  EXPECT_EQ(r.status, 400) << "response:\n" << r.data;
  EXPECT_TRUE(r.peer_closed) << "the proxy kept the connection open after an ambiguous request";
  EXPECT_EQ(r.response_count(), 1) << "more than one response (smuggled request served?):\n" << r.data;
  EXPECT_EQ(r.data.find("299"), std::string::npos) << r.data;

  // +1: the /stats probe itself.
  const std::uint64_t reached = upstream_->stat("requests") - upstream_requests_before - 1;
  if (c.rejected_at_head) {
    EXPECT_EQ(reached, 0U) << "the ambiguous request was forwarded upstream";
  } else {
    EXPECT_LE(reached, 1U) << "a smuggled request reached the upstream";
  }
  EXPECT_TRUE(proxy_->wait_metric_at_least("aegis_http_malformed_requests_total", listener,
                                           malformed_before + 1, 3s))
      << "aegis_http_malformed_requests_total{listener=\"" << cfg_.listener_name << "\"} did not count it";
  EXPECT_TRUE(proxy_->process().running());
}

INSTANTIATE_TEST_SUITE_P(Ambiguous, Framing, ::testing::ValuesIn(framing_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// Control: the same raw-socket path with well-formed framing is served and
// the connection stays open (so the 400s above are not an artefact).
class FramingControl : public Framing {};

TEST_F(FramingControl, WellFormedChunkedRequestIsServedAndKeptAlive) {
  const std::string req =
      "POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const RawResult r = raw_exchange(cfg_.listener_port, req, 1500ms);
  EXPECT_EQ(r.status, 200) << r.data;
  EXPECT_NE(r.data.find(sha256_hex("hello world") + " 11"), std::string::npos) << r.data;
  EXPECT_FALSE(r.peer_closed);
}

TEST_F(FramingControl, IdenticalDuplicateContentLengthIsNotSmuggled) {
  // RFC 9112 6.3 allows accepting identical duplicates; either way at most one
  // response and no smuggled request.
  const std::string req = "POST /sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n"
                          "Content-Length: 5\r\nConnection: close\r\n\r\nhello";
  const RawResult r = raw_exchange(cfg_.listener_port, req, 3s);
  EXPECT_TRUE(r.status == 200 || r.status == 400) << r.data;
  EXPECT_EQ(r.response_count(), 1) << r.data;
}

}  // namespace
}  // namespace aegis::itest
