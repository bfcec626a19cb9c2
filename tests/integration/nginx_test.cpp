// nginx as a real, independent upstream: static files proxied through
// aegis-flow, checked by SHA-256; nginx's own access log shows the
// keep-alive reuse from its side.
#include "harness.h"

#include <gtest/gtest.h>

#include <csignal>
#include <set>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

class Nginx {
 public:
  Nginx(const TempDir& dir, std::uint16_t port) : port_(port) {
    const std::string nginx = find_tool("nginx");
    if (nginx.empty()) throw std::runtime_error("nginx is required (Debian package nginx)");
    const fs::path root = dir / "nginx";
    fs::create_directories(root / "www");
    fs::create_directories(root / "tmp");
    // nginx workers drop to `nobody` when started as root: let them read.
    for (const fs::path& p : {dir.path(), root, root / "www", root / "tmp"}) {
      fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
    }
    www_ = root / "www";
    std::ostringstream conf;
    conf << "worker_processes 1;\n"
         << "pid " << (root / "nginx.pid").string() << ";\n"
         << "error_log " << (root / "error.log").string() << " warn;\n"
         << "events { worker_connections 512; }\n"
         << "http {\n"
         << "  default_type application/octet-stream;\n"
         << "  log_format conns '$connection $request $status';\n"
         << "  access_log " << (root / "access.log").string() << " conns;\n"
         << "  client_body_temp_path " << (root / "tmp/body").string() << ";\n"
         << "  proxy_temp_path " << (root / "tmp/proxy").string() << ";\n"
         << "  fastcgi_temp_path " << (root / "tmp/fastcgi").string() << ";\n"
         << "  uwsgi_temp_path " << (root / "tmp/uwsgi").string() << ";\n"
         << "  scgi_temp_path " << (root / "tmp/scgi").string() << ";\n"
         << "  keepalive_requests 10000;\n"
         << "  server {\n"
         << "    listen 127.0.0.1:" << port << ";\n"
         << "    root " << www_.string() << ";\n"
         << "  }\n"
         << "}\n";
    write_file(root / "nginx.conf", conf.str());
    access_log_ = root / "access.log";
    process_ = std::make_unique<Process>(
        "nginx",
        std::vector<std::string>{nginx, "-e", (root / "error.log").string(), "-p", root.string(), "-c",
                                 (root / "nginx.conf").string(), "-g", "daemon off;"},
        dir.path());
    if (!wait_for_port(port, 10s)) {
      throw std::runtime_error("nginx did not start\n" + process_->stderr_tail() + "\n" +
                               read_file(root / "error.log"));
    }
  }
  ~Nginx() {
    if (process_->running()) {
      process_->signal(SIGQUIT);  // graceful: master stops its workers
      if (!process_->wait_for(5s)) process_->kill();
    }
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  const fs::path& www() const { return www_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string access_log() const { return read_file(access_log_); }

 private:
  std::uint16_t port_;
  fs::path www_;
  fs::path access_log_;
  std::unique_ptr<Process> process_;
};

TEST(NginxUpstream, StaticFilesThroughTheProxy) {
  TempDir dir("nginx");
  Nginx nginx(dir, free_port());
  constexpr std::uint64_t n = 16ULL << 20U;
  write_pattern_file(nginx.www() / "blob.bin", n);
  write_file(nginx.www() / "small.txt", "hello from nginx\n");
  fs::permissions(nginx.www() / "blob.bin", fs::perms::owner_read | fs::perms::owner_write |
                                                fs::perms::group_read | fs::perms::others_read);
  fs::permissions(nginx.www() / "small.txt", fs::perms::owner_read | fs::perms::owner_write |
                                                 fs::perms::group_read | fs::perms::others_read);

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
  Nginx nginx(dir, free_port());
  write_file(nginx.www() / "small.txt", "hello from nginx\n");
  fs::permissions(nginx.www() / "small.txt", fs::perms::owner_read | fs::perms::owner_write |
                                                 fs::perms::group_read | fs::perms::others_read);
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
