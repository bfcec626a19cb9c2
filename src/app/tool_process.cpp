#include "app/tool_process.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn hands it on

namespace aegis::app {

namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

bool make_pipe(Pipe& p) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return false;
  p.read = Fd(fds[0]);
  p.write = Fd(fds[1]);
  return true;
}

core::Error errno_error(std::string_view what, const std::string& tool) {
  return core::Error{fmt::format("{} {}: {}", what, tool, std::strerror(errno))};
}

// Spawn file actions and attributes, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

core::Result<ToolOutput> run_tool(const std::vector<std::string>& argv, std::string_view input) {
  if (argv.empty()) return core::Error{"run_tool: empty argv"};
  const std::string& tool = argv.front();
  Pipe in, out, err;
  if (!make_pipe(in) || !make_pipe(out) || !make_pipe(err)) return errno_error("cannot make pipes for", tool);

  SpawnSetup setup;
  posix_spawn_file_actions_adddup2(&setup.actions, in.read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), STDERR_FILENO);
  // The tool starts with default dispositions (SIGPIPE may be ignored here) and no blocked signals.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: posix_spawn's signature
  args.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, tool.c_str(), &setup.actions, &setup.attr, args.data(), environ);
  if (rc != 0) {
    errno = rc;
    return errno_error("cannot start", tool);
  }
  in.read.reset();
  out.write.reset();
  err.write.reset();
  if (input.empty()) {
    in.write.reset();
  } else {
    // A partial write, not a blocked one, when the pipe is full: the tool may be waiting for us to read.
    ::fcntl(in.write.get(), F_SETFL, ::fcntl(in.write.get(), F_GETFL) | O_NONBLOCK);
  }

  ToolOutput result;
  std::array<char, 4096> buf{};
  bool io_failed = false;
  while (in.write.get() >= 0 || out.read.get() >= 0 || err.read.get() >= 0) {
    std::array<pollfd, 3> fds = {pollfd{in.write.get(), POLLOUT, 0}, pollfd{out.read.get(), POLLIN, 0},
                                 pollfd{err.read.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      io_failed = true;
      break;
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::write(in.write.get(), input.data(), input.size());
      if (n < 0 && errno != EINTR && errno != EAGAIN) {
        in.write.reset();  // the tool stopped reading (EPIPE); its exit status tells why
      } else if (n > 0) {
        input.remove_prefix(static_cast<std::size_t>(n));
        if (input.empty()) {
          in.write.reset();
        } else {
          // A partial write, not a blocked one, when the pipe is full: the tool may be waiting for us to read.
          ::fcntl(in.write.get(), F_SETFL, ::fcntl(in.write.get(), F_GETFL) | O_NONBLOCK);
        }
      }
    }
    auto drain = [&buf](const pollfd& p, Fd& fd, std::string& sink) {
      if (p.revents == 0) return;
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n > 0) {
        sink.append(buf.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.reset();
      }
    };
    drain(fds[1], out.read, result.out);
    drain(fds[2], err.read, result.err);
  }

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno_error("cannot wait for", tool);
  }
  if (io_failed) return core::Error{fmt::format("lost the pipes to {}", tool)};
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

std::string find_sbin_tool(std::string_view name) {
  for (const std::string_view dir : {"/usr/sbin/", "/sbin/"}) {
    std::string path = fmt::format("{}{}", dir, name);
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return {};
}

}  // namespace aegis::app
