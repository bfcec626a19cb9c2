// The attack suite's shared raw-socket tools (attacks_*_test.cpp): a
// blocking TCP connection that sends bytes as slowly or as oddly as an
// attack needs and reads with bounded waits, what the test upstream saw
// (GET /seen), a bystander check on a fresh connection, and condition
// polling (no timing-sensitive asserts: every wait is generous and bounded).
#pragma once

#include "harness.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aegis::itest::attack {

// Polls `pred` every 50 ms until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& pred, Millis timeout);

// One raw TCP connection to 127.0.0.1:port.
class RawConn {
 public:
  // rcvbuf > 0: SO_RCVBUF set before connecting (a client that reads nothing
  // then closes its receive window quickly: the zero-window slow read).
  explicit RawConn(std::uint16_t port, int rcvbuf = 0);
  ~RawConn();
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool ok() const { return fd_ >= 0; }
  // False once a write failed (the peer closed or reset).
  bool send(std::string_view bytes);
  // Reads whatever arrives within `timeout`, stopping early at close.
  void pump(Millis timeout);
  // Reads until `pred(received())` holds, the peer closes, or timeout.
  bool read_until(const std::function<bool(const std::string&)>& pred, Millis timeout);
  // Reads (and keeps) everything until EOF or reset; false on timeout.
  bool wait_closed(Millis timeout);
  bool closed() const { return closed_; }
  const std::string& received() const { return in_; }
  // Status of the first response received, 0 if none.
  int status() const;
  // Number of responses ("HTTP/1.1 " at a line start) received.
  int responses() const;
  int fd() const { return fd_; }

 private:
  bool read_once(Millis timeout);
  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

// A request as the test upstream parsed it (GET /seen).
struct SeenRequest {
  std::uint64_t conn = 0;
  std::string method, target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // first 64 KiB
  std::uint64_t body_bytes = 0;
  // Fields called `name` (case-insensitive).
  std::vector<std::string> values(std::string_view name) const;
  std::string describe() const;
};
std::vector<SeenRequest> upstream_seen(std::uint16_t upstream_port);
// Whether any request the upstream saw has `needle` in its target, a
// field name or value, or its body: a smuggled request would show up.
bool upstream_saw(const std::vector<SeenRequest>& seen, std::string_view needle);
std::string describe(const std::vector<SeenRequest>& seen);

// A fresh connection gets `GET path` answered with 200 (Connection: close).
bool bystander_served(std::uint16_t port, const std::string& path = "/status/200");

// The proxy's VmRSS now (KiB), 0 if unreadable.
std::uint64_t rss_kib(pid_t pid);

}  // namespace aegis::itest::attack
