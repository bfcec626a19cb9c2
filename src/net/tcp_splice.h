// Bidirectional byte relay between two connected streams (TCP or TLS): the data
// phase of the L4 (TCP) proxy, after the listener accepted `a` and the pool
// connected `b`.
// Half-close aware, bounded memory (one fixed buffer per direction; the next
// read waits for the previous write), with an optional idle timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "net/stream.h"

namespace aegis::net {

struct SpliceResult {
  std::uint64_t bytes_down_to_up = 0;  // a → b, bytes written to b
  std::uint64_t bytes_up_to_down = 0;  // b → a, bytes written to a
  bool idle_timeout = false;
  std::string error;  // empty on a clean finish or an idle timeout
};

// Relays bytes between `a` (downstream) and `b` (upstream) until:
//  - both directions reached EOF: a FIN (or TLS close_notify) read from one
//    side is passed on as a half-close of the other (close_notify, then FIN,
//    when that side is TLS), and the other direction keeps flowing. The
//    sockets are left open (both shut down for sending) for the caller to drop;
//  - a read or write fails (e.g. a reset): both sockets are aborted with a reset
//    (SO_LINGER 0), so the failure propagates, and `error` names the side;
//  - no byte moved either way for `idle_timeout`: both sockets are closed
//    (FIN) and `idle_timeout` is set. A zero `idle_timeout` disables this.
// Both sockets and the awaiting coroutine must run on one single-threaded
// executor (a worker's io_context or a strand). Never throws for I/O errors.
core::Task<SpliceResult> splice(Stream& a, Stream& b, std::chrono::milliseconds idle_timeout);

}  // namespace aegis::net
