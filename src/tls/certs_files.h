// The tooling's files on disk: outputs are created and never replaced unless
// the user passed --force; private keys are 0600 from their first byte.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "tls/certs_result.h"

namespace aegis::tls {

inline constexpr mode_t kPrivateKeyMode = 0600;
inline constexpr mode_t kCertificateMode = 0644;

// Refuses, naming the file and --force, when `file` exists and !force.
CertResult<void> check_may_write(const std::filesystem::path& file, bool force);

// Creates `dir` (0700 when new) if it does not exist.
CertResult<void> ensure_directory(const std::filesystem::path& dir);

// Writes `data` to `file` with exactly `mode`. Without `force` the file must
// not exist (O_EXCL, so a file that appeared since check_may_write is not
// clobbered either); symlinks are never followed.
CertResult<void> write_file(const std::filesystem::path& file, std::string_view data, mode_t mode, bool force);

// The whole file; invalid_input when it does not exist.
CertResult<std::string> read_file(const std::filesystem::path& file);

}  // namespace aegis::tls
