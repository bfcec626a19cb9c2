// Whole-file reads and single-write writes for sysfs/configfs attributes and
// evidence files: a read is capped (a file larger than the cap is an error,
// not a truncation) and a write is one write(2), as configfs expects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace aegis::attest {

constexpr std::size_t kMaxEvidenceBytes = 1 << 20;  // quotes are ~5 KiB, certificate tables ~10 KiB

// Owns one file descriptor (closed on destruction; -1 = none).
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const { return fd_; }

 private:
  int fd_;
};

struct FileBytes {
  std::vector<std::uint8_t> bytes;
  int error = 0;  // errno; EFBIG when the file exceeds the cap
  bool ok() const { return error == 0; }
};

FileBytes read_whole_file(const std::filesystem::path& path, std::size_t max_bytes);
// A file's bytes as text (up to kMaxEvidenceBytes), or "cannot read PATH: why".
core::Result<std::string> read_text_file(const std::filesystem::path& path);
// 0 or errno; a short write is EIO.
int write_whole_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);

}  // namespace aegis::attest
