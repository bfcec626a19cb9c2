// Large bodies streamed through the proxy in both directions, checked by
// SHA-256 against the deterministic pattern (never against what the proxy
// says about itself).
#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

constexpr std::uint64_t k64MiB = 64ULL << 20U;

class Bodies : public ProxyTest<::testing::Test> {
 protected:
  Bodies() : ProxyTest("bodies") {}
  void SetUp() override { start_with_upstream(); }

};

TEST_F(Bodies, Get64MiBArrivesIntact) {
  const fs::path out = dir_ / "get.bin";
  const auto r = curl(dir_.path(), {u("/bytes/" + std::to_string(k64MiB))}, 50s, out);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fs::file_size(out), k64MiB);
  const std::string expected = pattern_sha256(k64MiB);
  EXPECT_EQ(sha256_file(out), expected);
  EXPECT_EQ(r.header("x-sha256").value_or("<missing>"), expected);
}

TEST_F(Bodies, Post64MiBWithContentLengthArrivesIntact) {
  const fs::path in = dir_ / "in.bin";
  write_pattern_file(in, k64MiB);
  const auto r = curl(dir_.path(), {"-X", "POST", "-T", in.string(), u("/sha256")}, 50s);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, pattern_sha256(k64MiB) + " " + std::to_string(k64MiB) + "\n");
}

TEST_F(Bodies, Post64MiBChunkedArrivesIntact) {
  const fs::path in = dir_ / "in.bin";
  write_pattern_file(in, k64MiB);
  const auto r = curl(dir_.path(), {"-X", "POST", "-H", "Transfer-Encoding: chunked", "-T", in.string(),
                                    u("/sha256")}, 50s);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, pattern_sha256(k64MiB) + " " + std::to_string(k64MiB) + "\n");
}

// The upstream answers while it still reads the request body: the proxy must
// stream both directions at once (a half-duplex proxy deadlocks here once the
// socket buffers fill).
TEST_F(Bodies, Echo64MiBStreamsBothWaysAtOnce) {
  const fs::path in = dir_ / "in.bin";
  const fs::path out = dir_ / "echo.bin";
  write_pattern_file(in, k64MiB);
  const auto r = curl(dir_.path(), {"-X", "POST", "-T", in.string(), u("/echo")}, 50s, out);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(fs::file_size(out), k64MiB);
  EXPECT_EQ(sha256_file(out), pattern_sha256(k64MiB));
}

TEST_F(Bodies, ChunkedEcho16MiBStreamsBothWays) {
  constexpr std::uint64_t n = 16ULL << 20U;
  const fs::path in = dir_ / "in.bin";
  const fs::path out = dir_ / "echo.bin";
  write_pattern_file(in, n);
  const auto r = curl(dir_.path(), {"-X", "POST", "-H", "Transfer-Encoding: chunked", "-T", in.string(),
                                    u("/echo")}, 50s, out);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(sha256_file(out), pattern_sha256(n));
}

// curl waits for "100 Continue" up to --expect100-timeout before sending the
// body: with 20 s, a proxy that neither forwards the upstream's 100 nor sends
// its own would make this take 20 s.
TEST_F(Bodies, ExpectContinueIsHonoured) {
  constexpr std::uint64_t n = 2ULL << 20U;
  const fs::path in = dir_ / "in.bin";
  write_pattern_file(in, n);
  const auto r = curl(dir_.path(), {"-X", "POST", "-H", "Expect: 100-continue", "--expect100-timeout", "20",
                                    "-w", "%{time_total}", "-T", in.string(), u("/sha256")}, 40s);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, pattern_sha256(n) + " " + std::to_string(n) + "\n");
  EXPECT_LT(std::stod(r.stdout_text), 10.0) << "no 100 Continue reached the client";
}

TEST_F(Bodies, EmptyAndSmallBodies) {
  auto r = curl(dir_.path(), {"-X", "POST", "--data-binary", "", u("/sha256")});
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(r.body, sha256_hex("") + " 0\n");
  r = curl(dir_.path(), {"-X", "POST", "--data-binary", "hello", u("/sha256")});
  EXPECT_EQ(r.body, sha256_hex("hello") + " 5\n");
  r = curl(dir_.path(), {u("/bytes/0")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  r = curl(dir_.path(), {"-I", u("/status/204")});
  EXPECT_EQ(r.status, 204);
}

}  // namespace
}  // namespace aegis::itest
