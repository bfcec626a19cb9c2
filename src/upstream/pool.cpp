#include "upstream/pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace aegis::upstream {

namespace {
constexpr auto kPeekAfter = std::chrono::milliseconds(200);

// An idle HTTP/1.1 connection must have nothing to read: EOF means the peer
// closed it, bytes mean it sent something unsolicited (over TLS: a
// close_notify or a post-handshake message). Either way, drop it.
bool still_idle(Stream& s) {
  auto& sock = s.socket();
  if (!sock.is_open()) return false;
  char byte;
  const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

std::optional<Stream> ConnectionPool::take_idle(bool check_liveness) {
  const auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    Idle idle = std::move(idle_.back());
    idle_.pop_back();
    if (now - idle.since > idle_timeout_) {
      // Older entries are further to the front: all of them are stale too.
      closed_one();
      clear();
      return std::nullopt;
    }
    // A connection used moments ago is almost surely alive; peeking costs a
    // syscall per request, so only older ones are checked unless asked. A
    // dead one that slips through is retried by the session on a fresh
    // connection when the request has no body.
    if ((!check_liveness && now - idle.since < kPeekAfter) || still_idle(idle.stream))
      return std::move(idle.stream);
    closed_one();
  }
  return std::nullopt;
}

void ConnectionPool::put_idle(Stream stream) {
  if (!stream.is_open()) return;
  if (max_idle_ == 0) {
    closed_one();
    return;
  }
  if (idle_.size() >= max_idle_) drop_front();
  idle_.push_back(Idle{std::move(stream), std::chrono::steady_clock::now()});
}

void ConnectionPool::set_limits(std::size_t max_idle, std::chrono::milliseconds idle_timeout) {
  max_idle_ = max_idle;
  idle_timeout_ = idle_timeout;
  while (idle_.size() > max_idle_) drop_front();
}

void ConnectionPool::drop_front() {
  idle_.pop_front();
  closed_one();
}

void ConnectionPool::closed_one() {
  if (open_) open_->sub();
  if (breakers_) breakers_->release(CircuitBreakers::Resource::kConnections);
}

void ConnectionPool::clear() {
  while (!idle_.empty()) drop_front();
}

}  // namespace aegis::upstream
