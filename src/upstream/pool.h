// Keep-alive connections to one upstream endpoint, owned by one worker (no
// locks). Idle connections are reused warmest-first; a connection that the
// peer closed while idle, or that sat idle past idle_timeout, is dropped on
// checkout rather than handed to a request.
#pragma once

#include "net/stream.h"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

#include "stats/stats.h"
#include "upstream/circuit_breaker.h"

namespace aegis::upstream {

using Stream = net::Stream;  // plain TCP or TLS

class ConnectionPool {
 public:
  // `open_connections` (optional) is decremented, and a connection given back
  // to `breakers` (optional), for every connection the pool closes, so the
  // gauge and the cluster's max_connections count stay true.
  ConnectionPool(std::size_t max_idle, std::chrono::milliseconds idle_timeout,
                 stats::Gauge* open_connections = nullptr, CircuitBreakers* breakers = nullptr)
      : max_idle_(max_idle), idle_timeout_(idle_timeout), open_(open_connections), breakers_(breakers) {}
  ~ConnectionPool() { clear(); }
  ConnectionPool(ConnectionPool&&) = default;
  ConnectionPool& operator=(ConnectionPool&&) = delete;

  // An idle connection that still looks open, or nullopt. A connection used
  // moments ago is handed out without a liveness check (a syscall) unless
  // `check_liveness`: callers that cannot retry (a request body is already
  // being read) ask for it.
  std::optional<Stream> take_idle(bool check_liveness = false);
  // Returns a connection after a complete response; dropped if the pool is full.
  void put_idle(Stream stream);
  void set_limits(std::size_t max_idle, std::chrono::milliseconds idle_timeout);
  std::size_t idle_count() const { return idle_.size(); }
  void clear();

 private:
  struct Idle {
    Stream stream;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<Idle> idle_;
  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  stats::Gauge* open_;
  CircuitBreakers* breakers_;  // non-owning: breakers live for the process

  void drop_front();
  void closed_one();
};

}  // namespace aegis::upstream
