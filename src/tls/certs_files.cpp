#include "tls/certs_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/core.h>

namespace aegis::tls {

namespace {

CertError errno_failure(std::string_view what, const std::filesystem::path& file) {
  return failure(fmt::format("{} {}: {}", what, file.string(), std::strerror(errno)));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { if (fd_ >= 0) ::close(fd_); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

CertResult<void> check_may_write(const std::filesystem::path& file, bool force) {
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(file, ec);
  if (!std::filesystem::exists(st)) return {};
  if (!std::filesystem::is_regular_file(st))
    return invalid_input(fmt::format("{} exists and is not a regular file; remove it or choose another --out",
                                     file.string()));
  if (!force)
    return invalid_input(fmt::format("{} already exists; pass --force to overwrite it", file.string()));
  return {};
}

CertResult<void> ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  if (std::filesystem::exists(dir, ec))
    return invalid_input(fmt::format("{} exists and is not a directory; choose another --out", dir.string()));
  if (!std::filesystem::create_directories(dir, ec) && ec)
    return failure(fmt::format("creating the directory {}: {}", dir.string(), ec.message()));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) return failure(fmt::format("setting the mode of {}: {}", dir.string(), ec.message()));
  return {};
}

CertResult<void> write_file(const std::filesystem::path& file, std::string_view data, mode_t mode, bool force) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL);
  Fd fd(::open(file.c_str(), flags, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST)
      return invalid_input(fmt::format("{} already exists; pass --force to overwrite it", file.string()));
    return errno_failure("opening", file);
  }
  // The umask may have narrowed `mode`, and --force reuses an existing file
  // with whatever mode it had: set it before any key byte is written.
  if (::fchmod(fd.get(), mode) != 0) return errno_failure("setting the mode of", file);
  while (!data.empty()) {
    const ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_failure("writing", file);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd.get()) != 0) return errno_failure("syncing", file);
  if (::close(fd.release()) != 0) return errno_failure("closing", file);
  return {};
}

CertResult<std::string> read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return invalid_input(fmt::format("{} does not exist", file.string()));
  std::ifstream in(file, std::ios::binary);
  if (!in) return errno_failure("opening", file);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return errno_failure("reading", file);
  return out.str();
}

}  // namespace aegis::tls
