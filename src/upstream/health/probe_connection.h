// The connection a probe runs on: TCP connect, then the cluster's TLS (with
// an optional ALPN offer), all under one deadline. When the deadline passes
// the connection is closed, which ends whatever operation is pending and
// makes every later one fail at once.
#pragma once

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/io.h"
#include "net/stream.h"
#include "tls/runtime.h"

namespace aegis::upstream::health {

class ProbeConnection {
 public:
  ProbeConnection(const core::Executor& ex, std::chrono::milliseconds timeout);
  ~ProbeConnection();
  ProbeConnection(const ProbeConnection&) = delete;
  ProbeConnection& operator=(const ProbeConnection&) = delete;

  // Empty string on success, else why it failed.
  core::Task<std::string> open(const boost::asio::ip::tcp::endpoint& address, const tls::TlsRuntime* tls,
                               std::string_view alpn, std::string_view endpoint_name);
  net::Stream& stream() { return state_->stream; }
  bool timed_out() const { return state_->timed_out; }

 private:
  struct State {
    net::Stream stream;
    bool timed_out = false;
  };
  using Timer = boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                                  boost::asio::wait_traits<std::chrono::steady_clock>, core::Executor>;
  std::shared_ptr<State> state_;  // shared with the deadline's handler
  Timer deadline_;
};

}  // namespace aegis::upstream::health
