// The admin HTTP/1.1 server: readiness/health probes, config and cluster
// dumps, and Prometheus metrics. It runs on the main thread's io_context, off
// the request path, and only reads what app/ hands it through AdminHandlers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace aegis::admin {

struct AdminHandlers {  // supplied by app/; all called on the admin io_context thread
  std::function<std::string()> config_dump;  // JSON text
  std::function<std::string()> clusters;     // JSON text: endpoints with state and counters
  std::function<bool()> ready;               // false while starting or draining
  std::function<std::string()> carbon;       // JSON text: grid-intensity readings per zone, carbon accounting
  std::function<std::string()> carbon_html;  // the same as a self-contained HTML page
};

// Every limit is named and has a safe default; refusals are counted in stats.
struct AdminLimits {
  std::size_t header_limit = std::size_t{8} * 1024;            // request line + headers; larger gets 431
  std::size_t body_limit = std::size_t{64} * 1024;             // admin requests carry no body; larger gets 413
  std::chrono::milliseconds read_timeout{10'000};  // per request, including keep-alive idle
  std::chrono::milliseconds write_timeout{10'000};
  std::size_t max_connections = 64;  // beyond this, new connections are closed at once
};

// `ioc` must outlive the AdminServer. The io_context may be run by one or more
// threads: the server serialises its own work on a strand.
class AdminServer {
 public:
  AdminServer(boost::asio::io_context& ioc, AdminHandlers handlers, AdminLimits limits = {});
  ~AdminServer();  // stops; in-flight coroutines keep their own state alive until they end
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and starts accepting; returns an error message (address in use etc.) on failure.
  // `address` is an IP literal ("127.0.0.1", "::1", "0.0.0.0"); port 0 picks a free port.
  core::Result<void> start(const std::string& address, std::uint16_t port);
  // Closes the acceptor and open admin connections. Callable from any thread: the
  // closing runs on the server's strand (inline if already there).
  void stop();
  std::uint16_t port() const;  // actual bound port (for port 0 in tests); 0 before start()

  struct State;  // shared with the accept loop and connection coroutines

 private:
  std::shared_ptr<State> state_;
  std::uint16_t port_ = 0;
  bool started_ = false;  // start()/stop() are called by the owner, not the io thread
  bool stopped_ = false;
};

}  // namespace aegis::admin
