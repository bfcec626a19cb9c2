// Process hardening steps, each in a forked child (they cannot be undone in
// the test process): PR_SET_DUMPABLE, dropping root to `nobody` for good,
// and the seccomp allow-list killing a syscall it does not list while the
// listed ones keep working. The tests run as root here (CI and dev boxes);
// the privilege tests say so and skip otherwise.
#include "app/process_hardening.h"

#include <gtest/gtest.h>

#include <pwd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <functional>

namespace aegis::app {
namespace {

// Runs `child` in a fork; returns its wait status. The child exits with
// what `child` returns (0 = every check held).
int in_child(const std::function<int()>& child) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(child());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

bool exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

TEST(ProcessHardening, DumpableOffAndOn) {
  const int off = in_child([] {
    if (!set_dumpable(false)) return 1;
    return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : 2;
  });
  EXPECT_TRUE(exited_zero(off)) << "exit " << WEXITSTATUS(off);
  const int on = in_child([] {
    if (!set_dumpable(true)) return 1;
    return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 ? 0 : 2;
  });
  EXPECT_TRUE(exited_zero(on)) << "exit " << WEXITSTATUS(on);
}

TEST(ProcessHardening, UnknownUserAndRootAreRefused) {
  auto missing = resolve_credentials({false, "no-such-user-aegis", "", false});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no user 'no-such-user-aegis'"), std::string::npos);
  auto bad_group = resolve_credentials({false, "nobody", "no-such-group-aegis", false});
  ASSERT_FALSE(bad_group.ok());
  EXPECT_NE(bad_group.error().message.find("no group"), std::string::npos);
  auto root = resolve_credentials({false, "root", "", false});
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message.find("is root"), std::string::npos);
  auto none = resolve_credentials({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(ProcessHardening, DropsRootForGood) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (the tests run as root in CI)";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  const uid_t want_uid = nobody->pw_uid;
  const int status = in_child([want_uid] {
    auto creds = resolve_credentials({false, "nobody", "nogroup", false});
    if (!creds || !*creds) return 1;
    if (!drop_privileges(**creds)) return 2;
    uid_t r, e, s;
    ::getresuid(&r, &e, &s);
    if (r != want_uid || e != want_uid || s != want_uid) return 3;
    if (::setuid(0) == 0 || ::seteuid(0) == 0) return 4;  // no way back
    gid_t groups[8];
    if (::getgroups(8, groups) != 1 || groups[0] != (*creds)->gid) return 5;  // root's groups are gone
    return 0;
  });
  EXPECT_TRUE(exited_zero(status)) << "exit " << WEXITSTATUS(status);
}

TEST(ProcessHardening, HardenProcessDropsThenLeavesItUndumpable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  // A uid change resets dumpable in the kernel; harden_process sets it after.
  const int status = in_child([] {
    if (!harden_process({true, "nobody", "", false})) return 1;
    return ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1 && ::geteuid() != 0 ? 0 : 2;
  });
  EXPECT_TRUE(exited_zero(status)) << "exit " << WEXITSTATUS(status);
}

TEST(ProcessHardening, SeccompKillsAnUnlistedSyscallAndAllowsListedOnes) {
  // Listed: sockets, threads' futexes, files. The child proves they work,
  // then calls ptrace, which the list leaves out: SIGSYS kills it.
  const int status = in_child([] {
    if (!install_seccomp_filter()) return 1;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 2;
    if (::write(sv[0], "x", 1) != 1) return 3;
    char c = 0;
    if (::read(sv[1], &c, 1) != 1 || c != 'x') return 4;
    ::syscall(SYS_ptrace, PTRACE_TRACEME, 0, nullptr, nullptr);
    return 5;  // not reached: the filter kills the process
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(ProcessHardening, SeccompForbidsExec) {
  const int status = in_child([] {
    if (!install_seccomp_filter()) return 1;
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execv("/bin/true", argv);
    return 6;
  });
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

}  // namespace
}  // namespace aegis::app
