// Runtime hardening of the `run` process (config `process:`, docs/security.md):
// no core dumps or ptrace (PR_SET_DUMPABLE 0), dropping root for a
// configured user/group once every listening socket is bound, and an
// optional seccomp-bpf allow-list of the syscalls the proxy makes. Applied
// by app/server.cpp at start-up, in that order; each step reports a clear
// error and the server refuses to start rather than run less hardened than
// configured.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "config/types.h"
#include "core/result.h"

namespace aegis::app {

// prctl(PR_SET_DUMPABLE): false keeps key material out of core dumps and
// stops same-user ptrace and /proc/PID/mem reads.
core::Result<void> set_dumpable(bool dumpable);

struct Credentials {
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};
// Looks the user (and group, default: the user's primary group) up before
// anything is dropped; nullopt when no user is configured.
core::Result<std::optional<Credentials>> resolve_credentials(const config::ProcessConfig& p);

// setgroups({gid}), setgid, setuid — for every thread — then checks that
// root cannot be regained. Needs root (or CAP_SETUID/CAP_SETGID).
core::Result<void> drop_privileges(const Credentials& c);

// Installs the allow-list on every thread of the process (TSYNC) and on
// those created later; any other syscall kills the process (SIGSYS).
core::Result<void> install_seccomp_filter();

// The whole sequence, after the listeners are bound: drop, dumpable (the
// kernel resets it on a uid change), seccomp.
core::Result<void> harden_process(const config::ProcessConfig& p);

}  // namespace aegis::app
