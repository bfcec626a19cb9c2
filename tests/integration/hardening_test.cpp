// Runtime hardening of the running proxy (config `process:`, docs/security.md),
// seen from outside through /proc: the proxy binds a privileged port as
// root, then runs as `nobody` with the seccomp-bpf allow-list installed on
// every thread, and still serves HTTP/1.1, h2c, the admin endpoints, a
// SIGHUP reload and a drain under it. PR_SET_DUMPABLE is seen through the
// owner of /proc/PID (root when not dumpable, the process's user when it
// is). The tests need root (CI runs as root); they skip otherwise.
#include "harness.h"

#include <gtest/gtest.h>

#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

// A free port below 1024 on 127.0.0.1 (only root may bind it).
std::uint16_t privileged_port() {
  std::mt19937 rng(std::random_device{}());
  for (int i = 0; i < 200; ++i) {
    const auto port = static_cast<std::uint16_t>(700 + rng() % 300);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return port;
  }
  return 0;
}

// "Uid:" / "Gid:" / "Seccomp:" line of /proc/PID/status, after the name.
std::string status_field(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + ":", 0) == 0) {
      auto v = line.substr(name.size() + 1);
      for (auto& c : v)
        if (c == '\t') c = ' ';
      const auto b = v.find_first_not_of(' '), e = v.find_last_not_of(' ');
      return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    }
  return {};
}

uid_t proc_owner(pid_t pid) {
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid) + "/status").c_str(), &st) != 0) return static_cast<uid_t>(-1);
  return st.st_uid;
}

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the proxy binds a privileged port and drops to nobody";
    const passwd* pw = ::getpwnam("nobody");
    ASSERT_NE(pw, nullptr);
    nobody_ = pw->pw_uid;
    const group* gr = ::getgrnam("nogroup");
    ASSERT_NE(gr, nullptr);
    nogroup_ = gr->gr_gid;
    // nobody reads the config again on reload.
    fs::permissions(dir_.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                     fs::perms::others_read | fs::perms::others_exec);
  }
  TempDir dir_{"hardening"};
  uid_t nobody_ = 0;
  gid_t nogroup_ = 0;
};

TEST_F(Hardening, BindsAPrivilegedPortThenServesAsNobodyUnderSeccomp) {
#ifdef AEGIS_ITEST_SANITIZED
  GTEST_SKIP() << "sanitizer build: LeakSanitizer's exit-time check needs ptrace, which the seccomp allow-list "
                  "forbids (the release lane runs this test)";
#endif
  Upstream up(dir_.path());
  auto cfg = config_for({up.endpoint()});
  cfg.listener_port = privileged_port();
  ASSERT_NE(cfg.listener_port, 0);
  cfg.top_yaml = "process:\n  user: nobody\n  group: nogroup\n  seccomp: true\n";
  Proxy proxy(dir_.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  const pid_t pid = proxy.process().pid();

  const auto uid = std::to_string(nobody_), gid = std::to_string(nogroup_);
  EXPECT_EQ(status_field(pid, "Uid"), uid + " " + uid + " " + uid + " " + uid);
  EXPECT_EQ(status_field(pid, "Gid"), gid + " " + gid + " " + gid + " " + gid);
  EXPECT_EQ(status_field(pid, "Groups"), gid);
  EXPECT_EQ(status_field(pid, "Seccomp"), "2");  // SECCOMP_MODE_FILTER
  // Every thread, the workers included (started after the filter; TSYNC for any before).
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(task.path() / "status");
    std::stringstream s;
    s << in.rdbuf();
    EXPECT_NE(s.str().find("Seccomp:\t2"), std::string::npos) << task.path();
  }
  EXPECT_EQ(proc_owner(pid), 0u) << "not dumpable: /proc/PID belongs to root, not to nobody";
  EXPECT_NE(proxy.process().stderr_text().find("seccomp-bpf allow-list"), std::string::npos);

  // HTTP/1.1, h2c and the admin listener under the filter.
  auto h1 = curl(dir_.path(), {url(cfg.listener_port, "/headers")});
  EXPECT_EQ(h1.status, 200) << h1.stderr_text;
  auto h2 = curl(dir_.path(), {"--http2-prior-knowledge", "-d", "hello", url(cfg.listener_port, "/echo")});
  EXPECT_EQ(h2.status, 200) << h2.stderr_text;
  EXPECT_EQ(h2.body, "hello");
  ASSERT_TRUE(proxy.metric("aegis_config_version").has_value());

  // A reload (reads the file as nobody, builds a new snapshot) under the filter.
  cfg.route_timeout = "20s";
  proxy.rewrite_config(http_proxy_config(cfg));
  proxy.process().signal(SIGHUP);
  EXPECT_TRUE(proxy.wait_metric_at_least("aegis_config_reloads_total", {{"result", "success"}}, 1, 10s))
      << proxy.process().stderr_tail();
  auto after = curl(dir_.path(), {url(cfg.listener_port, "/headers")});
  EXPECT_EQ(after.status, 200);

  // Drain and exit: 0, not SIGSYS.
  proxy.process().signal(SIGTERM);
  const auto st = proxy.process().wait_for(15s);
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->ok()) << st->describe() << "\n" << proxy.process().stderr_tail();
}

TEST_F(Hardening, DumpableTrueLeavesProcToTheUser) {
  Upstream up(dir_.path());
  auto cfg = config_for({up.endpoint()});
  cfg.top_yaml = "process:\n  user: nobody\n  dumpable: true\n";
  Proxy proxy(dir_.path(), http_proxy_config(cfg), cfg.admin_port, {cfg.listener_port});
  AEGIS_ASSERT_READY(proxy);
  EXPECT_EQ(proc_owner(proxy.process().pid()), nobody_);
  EXPECT_EQ(status_field(proxy.process().pid(), "Seccomp"), "0");
}

TEST_F(Hardening, AnUnknownUserStopsTheStart) {
  auto cfg = config_for({"127.0.0.1:9"});
  cfg.top_yaml = "process:\n  user: no-such-user-aegis\n";
  write_file(dir_ / "bad.yaml", http_proxy_config(cfg));
  const auto r = run_command("aegis-flow", {proxy_binary(), "run", "-c", (dir_ / "bad.yaml").string()}, dir_.path(),
                             20s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.status.code, 1);
  EXPECT_NE((r.out + r.err).find("process.user: no user 'no-such-user-aegis'"), std::string::npos) << r.out << r.err;
  EXPECT_FALSE(port_accepts(cfg.listener_port)) << "the listener must not serve when hardening failed";
}

}  // namespace
}  // namespace aegis::itest
