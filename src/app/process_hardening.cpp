#include "app/process_hardening.h"

#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace aegis::app {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// What the proxy calls once serving, found with `strace -f -c` over the
// integration tests (HTTP/1.1, HTTP/2, TLS, TCP proxy, reload, drain, admin,
// health checks) and kept generous within that: what an attacker who took
// over a worker wants most — execve, ptrace, process_vm_*, mount, bpf,
// kexec, module loading, personality, keyctl, userfaultfd, io_uring — is not here.
constexpr std::array kAllowed = {
    // I/O on sockets and files
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "lseek",
    "socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
    "getsockopt", "setsockopt", "getsockname", "getpeername",
    "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg",
    "ioctl", "fcntl", "dup", "dup2", "dup3", "pipe", "pipe2",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
    "poll", "ppoll", "select", "pselect6", "eventfd", "eventfd2",
    "timerfd_create", "timerfd_settime", "timerfd_gettime",
    // files: config and certificate reloads, access log, /proc and /sys reads
    "open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "fsync", "fdatasync",
    "ftruncate", "rename", "renameat", "renameat2", "unlink", "unlinkat", "statfs", "fstatfs", "umask",
    // attestation.identity: its state directory, configfs-tsm report entries
    "mkdir", "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat",
    // memory
    "mmap", "munmap", "mprotect", "madvise", "brk", "mremap", "membarrier",
    // threads, signals, time
    "clone", "clone3", "futex", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "sched_yield", "sched_getaffinity", "getcpu", "gettid", "getpid", "getppid", "tgkill", "tkill",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack", "restart_syscall",
    "exit", "exit_group", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
    "time",
    // identity, limits, randomness
    "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
    "getrlimit", "prlimit64", "getrusage", "uname", "sysinfo", "getrandom", "prctl", "arch_prctl",
};

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};

}  // namespace

core::Result<void> set_dumpable(bool dumpable) {
  if (::prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) != 0)
    return core::Error{"process.dumpable: prctl(PR_SET_DUMPABLE): " + errno_text(errno)};
  if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != (dumpable ? 1 : 0))
    return core::Error{"process.dumpable: PR_GET_DUMPABLE does not report what was set"};
  return {};
}

core::Result<std::optional<Credentials>> resolve_credentials(const config::ProcessConfig& p) {
  if (p.user.empty()) return std::optional<Credentials>{};
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (const int rc = ::getpwnam_r(p.user.c_str(), &pw, buf.data(), buf.size(), &found); rc != 0 || !found)
    return core::Error{fmt::format("process.user: no user '{}'{}", p.user, rc ? ": " + errno_text(rc) : "")};
  Credentials c{p.user, pw.pw_uid, pw.pw_gid};
  if (!p.group.empty()) {
    group gr{};
    group* g = nullptr;
    if (const int rc = ::getgrnam_r(p.group.c_str(), &gr, buf.data(), buf.size(), &g); rc != 0 || !g)
      return core::Error{fmt::format("process.group: no group '{}'{}", p.group, rc ? ": " + errno_text(rc) : "")};
    c.gid = gr.gr_gid;
  }
  if (c.uid == 0) return core::Error{fmt::format("process.user: '{}' is root; name an unprivileged user", p.user)};
  return std::optional<Credentials>{c};
}

core::Result<void> drop_privileges(const Credentials& c) {
  // Order matters: supplementary groups and the gid need privileges the uid
  // change takes away. glibc applies each to every thread of the process.
  if (::setgroups(1, &c.gid) != 0)
    return core::Error{fmt::format("process.user: setgroups({}): {} (dropping privileges needs root)", c.gid,
                                   errno_text(errno))};
  if (::setresgid(c.gid, c.gid, c.gid) != 0)
    return core::Error{fmt::format("process.group: setresgid({}): {}", c.gid, errno_text(errno))};
  if (::setresuid(c.uid, c.uid, c.uid) != 0)
    return core::Error{fmt::format("process.user: setresuid({}): {}", c.uid, errno_text(errno))};
  // No way back: a process that could become root again has not dropped anything.
  if (::setuid(0) == 0 || ::geteuid() != c.uid || ::getegid() != c.gid)
    return core::Error{fmt::format("process.user: still able to regain root after dropping to '{}'", c.user)};
  return {};
}

core::Result<void> install_seccomp_filter() {
  std::unique_ptr<void, FilterDeleter> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) return core::Error{"process.seccomp: seccomp_init failed"};
  auto* f = static_cast<scmp_filter_ctx>(ctx.get());
  if (const int rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1); rc != 0)
    return core::Error{"process.seccomp: cannot apply the filter to every thread (TSYNC): " + errno_text(-rc)};
  for (const std::string_view name : kAllowed) {
    const int nr = seccomp_syscall_resolve_name(name.data());
    if (nr == __NR_SCMP_ERROR) continue;  // not a syscall on this architecture
    if (const int rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0); rc != 0)
      return core::Error{fmt::format("process.seccomp: allowing {}: {}", name, errno_text(-rc))};
  }
  if (const int rc = seccomp_load(f); rc != 0)
    return core::Error{"process.seccomp: seccomp_load: " + errno_text(-rc)};
  return {};
}

core::Result<void> harden_process(const config::ProcessConfig& p) {
  auto creds = resolve_credentials(p);
  if (!creds) return creds.error();
  if (*creds) {
    if (auto r = drop_privileges(**creds); !r) return r;
    spdlog::info("process: running as user {} (uid {}), group id {}", (*creds)->user, (*creds)->uid, (*creds)->gid);
  }
  if (auto r = set_dumpable(p.dumpable); !r) return r;
  if (p.seccomp) {
    if (auto r = install_seccomp_filter(); !r) return r;
    spdlog::info("process: seccomp-bpf allow-list of {} syscalls installed", kAllowed.size());
  }
  return {};
}

}  // namespace aegis::app
