// A worker: one thread, one io_context, its own accept loops (SO_REUSEPORT
// sockets handed over by the main thread), its own upstream pools and
// load-balancer state. Nothing here is shared with other workers except the
// immutable Snapshot; the request path takes no locks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "proxy/snapshot.h"
#include "tls/session_cache.h"
#include "upstream/lb_policy.h"
#include "upstream/pool.h"

namespace aegis::proxy {

class H2UpstreamConn;
struct H2Connecting;

// Per-worker state of one upstream endpoint; shared_ptr so that a request in
// flight keeps it alive across a reload that removes the endpoint.
struct EndpointState {
  // Cluster TLS: the ticket to resume with. Declared before the pool so that
  // it outlives the pooled connections, whose SSLs point to it.
  tls::SessionCache tls_sessions;
  upstream::ConnectionPool pool;
  std::uint32_t active_requests = 0;
  // protocol: http2 clusters: the endpoint's multiplexed connections (each
  // owned by its own coroutine, which also holds this state).
  std::vector<std::weak_ptr<H2UpstreamConn>> h2;
  std::shared_ptr<H2Connecting> h2_connecting;  // a connection being opened, which requests may wait for
};

struct Pick {
  std::shared_ptr<EndpointState> state;
  const EndpointRuntime* runtime;  // in `snap`
  std::size_t index = 0;           // position in the cluster's endpoints
  // The worker's snapshot when it picked, which may be newer than the one the
  // caller holds: kept so that `runtime` outlives any reload during the
  // exchange (the worker frees the snapshots it replaces).
  std::shared_ptr<const Snapshot> snap;
};

// A live downstream connection, as the worker sees it: told when the worker
// drains, and ticked every kTick to enforce its timeouts. One coarse per-worker
// tick replaces a timer per I/O operation (which cost a timerfd update per
// request); timeouts are therefore precise to about kTick.
class LiveSession {
 public:
  virtual void on_drain() = 0;
  // Must not add or remove sessions (it may shut sockets down).
  virtual void on_tick(std::chrono::steady_clock::time_point now) = 0;

 protected:
  ~LiveSession() = default;
};

inline constexpr std::chrono::milliseconds kTick{50};

class Worker {
 public:
  explicit Worker(std::size_t index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void stop();  // stops the loop and joins the thread

  // Thread-safe: the worker switches to `snap` on its own thread.
  void publish(std::shared_ptr<const Snapshot> snap);
  // Thread-safe: serve `fd` (a bound, listening socket) as listener `name`.
  void adopt_listener(const std::string& name, int fd, bool v6);
  // Thread-safe: stop accepting on `name` (its socket closes).
  void close_listener(const std::string& name);
  // Thread-safe: close every listener; live sessions finish their current
  // request and close; idle keep-alive connections close now.
  void begin_drain();

  std::size_t active_connections() const { return active_connections_.load(std::memory_order_relaxed); }
  std::size_t index() const { return index_; }
  boost::asio::io_context& io() { return *ioc_; }

  // --- worker thread only ---
  const std::shared_ptr<const Snapshot>& snapshot() const { return snap_; }
  bool draining() const { return draining_; }
  // `ctx` carries the request's hash key (route hash_policy) for ring_hash and
  // maglev; a retry passes the same context again. `avoid`: endpoint indexes
  // (Pick::index) not to pick again while another endpoint is available (a
  // retry's previous-hosts predicate). On nullopt, `why` says whether every
  // endpoint was at max_connections (overflow) or none was healthy while the
  // cluster's panic threshold is 0.
  enum class NoPick { kOverflow, kNoHealthyUpstream };
  std::optional<Pick> pick(std::string_view cluster, const upstream::PickContext& ctx = {},
                           std::span<const std::size_t> avoid = {}, NoPick* why = nullptr);
  // How an attempt at `pick` (from pick(cluster)) went. Ignored when a reload
  // has since changed the cluster's endpoints.
  void report(std::string_view cluster, const Pick& pick, const upstream::AttemptResult& result);
  // Writes a random (version 4) UUID into `out` and returns a view of it.
  std::string_view new_request_id(std::array<char, 36>& out);
  // The TLS session cache (resumption ticket) for an original_dst
  // destination "ip:port", shared by this worker's connections to it.
  std::shared_ptr<tls::SessionCache> destination_sessions(const std::string& destination);
  std::uint64_t random() { return rng_(); }
  void add_session(LiveSession* s);
  void remove_session(LiveSession* s);
  void connection_opened() { active_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { active_connections_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  struct ClusterState {
    const ClusterRuntime* runtime;
    std::unique_ptr<upstream::LbPolicy> lb;
    std::vector<std::shared_ptr<EndpointState>> endpoints;  // parallel to runtime->endpoints
    std::vector<upstream::EndpointLoad> loads;              // scratch
  };
  struct ListenerSlot;

  void apply(std::shared_ptr<const Snapshot> snap);
  void start_accepting(ListenerSlot& slot);
  void start_ticking();

  std::size_t index_;
  // A pointer so that ~Worker can destroy it (and the coroutine frames it
  // holds) while the state those frames touch is still alive.
  // Only this worker's thread touches its sockets, so the reactor needs no
  // per-socket locks; posting from other threads stays safe.
  std::unique_ptr<boost::asio::io_context> ioc_ =
      std::make_unique<boost::asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO);
  std::thread thread_;
  std::atomic<std::size_t> active_connections_{0};

  std::shared_ptr<const Snapshot> snap_;
  std::map<std::string, std::unique_ptr<ListenerSlot>, std::less<>> listeners_;
  std::unordered_map<std::string, std::shared_ptr<EndpointState>> endpoints_;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, ClusterState, NameHash, std::equal_to<>> clusters_;
  std::unordered_map<std::string, std::shared_ptr<tls::SessionCache>> destination_sessions_;
  std::unordered_set<LiveSession*> sessions_;  // non-owning: sessions remove themselves
  bool draining_ = false;
  std::mt19937_64 rng_;
};

}  // namespace aegis::proxy
