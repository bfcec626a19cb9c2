#include "proxy/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace aegis::proxy {

core::Result<std::shared_ptr<AccessLog>> AccessLog::open(const std::string& path) {
  if (path == "stdout") return std::shared_ptr<AccessLog>(new AccessLog(path, STDOUT_FILENO, false));  // NOLINT: private ctor
  if (path == "stderr") return std::shared_ptr<AccessLog>(new AccessLog(path, STDERR_FILENO, false));  // NOLINT
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return core::Error{fmt::format("access_log: cannot open '{}': {}", path, std::strerror(errno))};
  return std::shared_ptr<AccessLog>(new AccessLog(path, fd, true));  // NOLINT
}

AccessLog::~AccessLog() {
  if (owned_) ::close(fd_);
}

void AccessLog::write(const AccessLogEntry& e) const {
  nlohmann::json j;
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(e.start);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.start - secs).count();
  j["time"] = fmt::format("{:%FT%T}.{:03}Z", secs, ms);
  j["listener"] = e.listener;
  j["protocol"] = e.protocol;
  if (e.protocol != "tcp") {
    j["method"] = e.method;
    j["authority"] = e.authority;
    j["path"] = e.path;
    j["status"] = e.status;
    j["request_id"] = e.request_id;
  }
  j["bytes_in"] = e.bytes_in;
  j["bytes_out"] = e.bytes_out;
  j["duration_ms"] = std::round(e.duration_ms * 1000) / 1000;
  j["upstream"] = e.upstream;
  j["client"] = e.client;
  if (e.tls) {
    j["tls_group"] = e.tls->group;
    j["tls_cipher"] = e.tls->cipher;
    j["tls_sigalg"] = e.tls->sigalg;
    j["peer_identity"] = e.tls->peer_identity;
  }
  if (!e.flags.empty()) j["flags"] = e.flags;
  if (e.retries != 0) j["retries"] = e.retries;
  // Bytes from the wire may be invalid UTF-8: replace rather than throw.
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  // One write per line; a short write on a full disk is dropped, never retried
  // from the middle (that would interleave with other workers' lines).
  [[maybe_unused]] auto n = ::write(fd_, line.data(), line.size());
}

}  // namespace aegis::proxy
