#include "attest/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>

namespace aegis::attest {
FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) static_cast<void>(::close(fd_));
}

FileBytes read_whole_file(const std::filesystem::path& path, std::size_t max_bytes) {
  FileBytes out;
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    out.error = errno;
    return out;
  }
  std::uint8_t buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      out.error = errno;
      return out;
    }
    if (n == 0) return out;
    if (out.bytes.size() + static_cast<std::size_t>(n) > max_bytes) {
      out.error = EFBIG;
      return out;
    }
    const std::span<const std::uint8_t> got(buf, static_cast<std::size_t>(n));
    out.bytes.insert(out.bytes.end(), got.begin(), got.end());
  }
}

core::Result<std::string> read_text_file(const std::filesystem::path& path) {
  const auto f = read_whole_file(path, kMaxEvidenceBytes);
  if (!f.ok()) return core::Error{"cannot read " + path.string() + ": " + std::strerror(f.error)};
  return std::string(f.bytes.begin(), f.bytes.end());
}

int write_whole_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  const FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return errno;
  ssize_t n;
  do {
    n = ::write(fd.get(), bytes.data(), bytes.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  return static_cast<std::size_t>(n) == bytes.size() ? 0 : EIO;
}

}  // namespace aegis::attest
