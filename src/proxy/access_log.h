// One JSON line per request (HTTP) or connection (TCP). Each line is written
// with a single write(2) on an O_APPEND descriptor, so workers share the sink
// without a lock and lines never interleave.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace aegis::proxy {

struct AccessLogEntry {
  std::chrono::system_clock::time_point start;
  std::string_view listener;
  std::string_view protocol;  // "HTTP/1.1", "HTTP/1.0", "tcp"
  std::string_view method;
  std::string_view authority;
  std::string_view path;
  unsigned status = 0;        // 0 for tcp
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double duration_ms = 0;
  std::string_view upstream;  // endpoint "host:port" or "" if none
  std::string_view request_id;
  std::string_view client;    // "ip:port"
  std::string_view flags;     // short reason when the proxy answered itself, e.g. "no_route"
  const struct DownstreamTls* tls = nullptr;  // set when the downstream connection is TLS
  std::uint32_t retries = 0;  // retry_policy retries made for this request
};

// What a downstream TLS handshake agreed on, for the access log.
struct DownstreamTls {
  std::string group;          // "X25519MLKEM768", "MLKEM1024", "x25519" ...
  std::string cipher;         // "TLS_AES_256_GCM_SHA384"
  std::string sigalg;         // our CertificateVerify signature, e.g. "mldsa65"
  std::string peer_identity;  // the client's verified SPIFFE ID, or ""
};

class AccessLog {
 public:
  // path: "stdout", "stderr" or a file (created, appended).
  static core::Result<std::shared_ptr<AccessLog>> open(const std::string& path);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  const std::string& path() const { return path_; }
  void write(const AccessLogEntry& e) const;

 private:
  AccessLog(std::string path, int fd, bool owned) : path_(std::move(path)), fd_(fd), owned_(owned) {}
  std::string path_;
  int fd_;
  bool owned_;
};

}  // namespace aegis::proxy
