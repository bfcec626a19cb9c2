// nginx as a real, independent upstream: static files proxied through
// aegis-flow, checked by SHA-256; nginx's own access log shows the
// keep-alive reuse from its side.
#include "harness.h"
#include "nginx_server.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

TEST(NginxUpstream, StaticFilesThroughTheProxy) {
  TempDir dir("nginx");
  NginxServer nginx(dir, free_port());
  constexpr std::uint64_t n = 16ULL << 20U;
  nginx.put_pattern("blob.bin", n);
  nginx.put("small.txt", "hello from nginx\n");

  const auto cfg = config_for({nginx.endpoint()});
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  const fs::path out = dir / "blob.out";
  auto r = curl(dir.path(), {url(cfg.listener_port, "/blob.bin")}, 40s, out);
  ASSERT_EQ(r.curl_exit, 0) << r.stderr_text;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fs::file_size(out), n);
  EXPECT_EQ(sha256_file(out), pattern_sha256(n));

  r = curl(dir.path(), {url(cfg.listener_port, "/small.txt")});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello from nginx\n");

  r = curl(dir.path(), {url(cfg.listener_port, "/missing.txt")});
  EXPECT_EQ(r.status, 404) << "nginx's 404 should pass through";

  // Range requests are end-to-end: nginx answers 206 with the exact slice.
  r = curl(dir.path(), {"-r", "1000-1999", url(cfg.listener_port, "/blob.bin")});
  EXPECT_EQ(r.status, 206);
  ASSERT_EQ(r.body.size(), 1000U);
}

TEST(NginxUpstream, KeepAliveSeenFromNginx) {
  TempDir dir("nginx");
  NginxServer nginx(dir, free_port());
  nginx.put("small.txt", "hello from nginx\n");
  const auto cfg = config_for({nginx.endpoint()});
  Proxy proxy(dir.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);

  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*", "--max-time", "30", "-o", "/dev/null",
                                   "-w", "%{http_code}\n"};
  for (int i = 0; i < 50; ++i) argv.push_back(url(cfg.listener_port, "/small.txt"));
  const auto c = run_command("curl-50", argv, dir.path(), 35s);
  ASSERT_TRUE(c.status.ok()) << c.err;
  std::istringstream codes(c.out);
  int ok = 0;
  for (std::string line; std::getline(codes, line);) ok += line == "200" ? 1 : 0;
  EXPECT_EQ(ok, 50);

  // nginx writes its access log line after the response: give it a moment.
  std::set<std::string> connections;
  int lines = 0;
  for (int attempt = 0; attempt < 50 && lines < 50; ++attempt) {
    std::this_thread::sleep_for(50ms);
    connections.clear();
    lines = 0;
    std::istringstream log(nginx.access_log());
    for (std::string line; std::getline(log, line); ++lines) connections.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_EQ(lines, 50);
  EXPECT_LE(connections.size(), 2U) << "nginx saw " << connections.size() << " connections for 50 requests";
}

}  // namespace
}  // namespace aegis::itest
