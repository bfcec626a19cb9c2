#include "proxy/worker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>

#include "proxy/h2_upstream.h"
#include "proxy/sessions.h"

namespace aegis::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Worker::ListenerSlot {
  std::string name;
  tcp::acceptor acceptor;
};

Worker::Worker(std::size_t index) : index_(index), rng_(std::random_device{}()) {}

Worker::~Worker() {
  stop();
  listeners_.clear();
  clusters_.clear();
  endpoints_.clear();
  ioc_.reset();  // destroys pending coroutine frames; sessions unregister themselves
}

void Worker::start() {
  start_ticking();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(*ioc_);
    ioc_->run();
  });
}

void Worker::stop() {
  if (!ioc_) return;
  ioc_->stop();
  if (thread_.joinable()) thread_.join();
}

void Worker::publish(std::shared_ptr<const Snapshot> snap) {
  asio::post(*ioc_, [this, snap = std::move(snap)]() mutable { apply(std::move(snap)); });
}

void Worker::apply(std::shared_ptr<const Snapshot> snap) {
  decltype(clusters_) clusters;
  std::unordered_map<std::string, std::shared_ptr<EndpointState>> endpoints;
  for (const auto& c : snap->clusters) {
    ClusterState cs{&c, upstream::make_lb_policy(*c.config, snap->config.node, rng_()), {}, {}};
    for (const auto& e : c.endpoints) {
      auto& st = endpoints[e.key];
      if (!st) {
        auto old = endpoints_.find(e.key);
        st = old != endpoints_.end() ? old->second
                                     : std::make_shared<EndpointState>(EndpointState{
                                           {},
                                           upstream::ConnectionPool(c.config->max_idle_connections,
                                                                    c.config->idle_timeout,
                                                                    e.connections_active, e.breakers),
                                           0,
                                           {},
                                           {}});
        st->pool.set_limits(c.config->max_idle_connections, c.config->idle_timeout);
      }
      cs.endpoints.push_back(st);
    }
    cs.loads.resize(cs.endpoints.size());
    clusters.emplace(c.config->name, std::move(cs));
  }
  // Endpoints no longer configured: drop their idle connections now; busy ones
  // close when their request ends (the request holds the state).
  for (auto& [key, st] : endpoints_)
    if (!endpoints.count(key)) {
      st->pool.clear();
      shutdown_h2_pool(*st);
    }
  endpoints_ = std::move(endpoints);
  clusters_ = std::move(clusters);
  snap_ = std::move(snap);
}

std::shared_ptr<tls::SessionCache> Worker::destination_sessions(const std::string& destination) {
  // Bounded: a sidecar talks to a bounded set of pods, but nothing promises
  // it; past the bound the table starts over (connections in flight keep
  // their cache alive).
  constexpr std::size_t kMaxDestinations = 4096;
  if (destination_sessions_.size() >= kMaxDestinations && !destination_sessions_.count(destination))
    destination_sessions_.clear();
  auto& cache = destination_sessions_[destination];
  if (!cache) cache = std::make_shared<tls::SessionCache>();
  return cache;
}

namespace {
// Marks the `avoid` endpoints unavailable, unless that would leave none.
void avoid_endpoints(std::vector<upstream::EndpointLoad>& loads, std::span<const std::size_t> avoid) {
  auto avoided = [&](std::size_t i) { return std::find(avoid.begin(), avoid.end(), i) != avoid.end(); };
  bool other = false;
  for (std::size_t i = 0; i < loads.size() && !other; ++i)
    other = !avoided(i) && loads[i].available && loads[i].weight > 0;
  if (!other) return;
  for (const auto i : avoid)
    if (i < loads.size()) loads[i].available = false;
}
}  // namespace

std::optional<Pick> Worker::pick(std::string_view cluster, const upstream::PickContext& ctx,
                                 std::span<const std::size_t> avoid, NoPick* why) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return std::nullopt;
  auto& cs = it->second;
  const auto& cfg = *cs.runtime->config;
  const bool checked = !cfg.health_checks.empty();
  // HTTP/1.1: one request per connection, so max_connections bounds the
  // requests in flight per endpoint; HTTP/2 bounds connections (h2_upstream).
  const std::uint32_t max_active =
      cfg.protocol == config::UpstreamProtocol::kHttp2 ? UINT32_MAX : cfg.max_connections;
  // `available`: healthy (active checks), not ejected and under max_connections;
  // in panic (too few healthy) health is set aside and every endpoint is used.
  std::size_t usable = 0;
  for (std::size_t i = 0; i < cs.endpoints.size(); ++i) {
    const auto& ep = cs.runtime->endpoints[i];
    const bool fit = ep.health->usable(checked);
    usable += fit ? 1 : 0;
    const auto active = cs.endpoints[i]->active_requests;
    cs.loads[i] = upstream::EndpointLoad{ep.weight, active, fit && active < max_active};
  }
  const bool panic = upstream::health::in_panic(usable, cs.endpoints.size(), cfg.healthy_panic_threshold);
  if (panic)
    for (auto& load : cs.loads) load.available = load.active_requests < max_active;
  if (!avoid.empty()) avoid_endpoints(cs.loads, avoid);
  auto idx = cs.lb->pick(cs.loads, ctx);
  if (!idx) {
    if (why) *why = usable == 0 && !panic ? NoPick::kNoHealthyUpstream : NoPick::kOverflow;
    return std::nullopt;
  }
  return Pick{cs.endpoints[*idx], &cs.runtime->endpoints[*idx], *idx, snap_};
}

void Worker::report(std::string_view cluster, const Pick& pick, const upstream::AttemptResult& result) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return;
  auto& cs = it->second;
  if (pick.index >= cs.endpoints.size() || cs.endpoints[pick.index] != pick.state) return;
  cs.lb->on_result(pick.index, result);
  if (const auto& carbon = cs.runtime->carbon; carbon && result.kind == upstream::AttemptResult::Kind::kResponse)
    carbon->record(cs.runtime->endpoint_locality[pick.index], result.latency);
  if (const auto& od = cs.runtime->config->outlier_detection) pick.runtime->health->record(result, *od);
}

std::string_view Worker::new_request_id(std::array<char, 36>& out) {
  // UUID version 4 (random), RFC 9562: 8-4-4-4-12 lower-case hex digits.
  static constexpr std::string_view kHex = "0123456789abcdef";
  const std::uint64_t hi = (rng_() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  const std::uint64_t lo = (rng_() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::size_t pos = 0;
  auto put = [&](std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) out.at(pos++) = kHex[(v >> (4 * i)) & 0xf];
  };
  put(hi >> 32, 8);
  out.at(pos++) = '-';
  put(hi >> 16, 4);
  out.at(pos++) = '-';
  put(hi, 4);
  out.at(pos++) = '-';
  put(lo >> 48, 4);
  out.at(pos++) = '-';
  put(lo, 12);
  return {out.data(), out.size()};
}

void Worker::add_session(LiveSession* s) { sessions_.insert(s); }
void Worker::remove_session(LiveSession* s) { sessions_.erase(s); }

void Worker::adopt_listener(const std::string& name, int fd, bool v6) {
  asio::post(*ioc_, [this, name, fd, v6] {
    auto slot = std::make_unique<ListenerSlot>(ListenerSlot{name, tcp::acceptor(*ioc_)});
    boost::system::error_code ec;
    slot->acceptor.assign(v6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) {
      spdlog::error("worker {}: listener '{}': cannot adopt socket: {}", index_, name, ec.message());
      return;
    }
    if (draining_) return;  // slot (and socket) closes here
    auto& ref = *slot;
    listeners_[name] = std::move(slot);
    start_accepting(ref);
  });
}

void Worker::close_listener(const std::string& name) {
  asio::post(*ioc_, [this, name] {
    auto it = listeners_.find(name);
    if (it == listeners_.end()) return;
    boost::system::error_code ec;
    it->second->acceptor.close(ec);
    listeners_.erase(it);
  });
}

void Worker::begin_drain() {
  asio::post(*ioc_, [this] {
    draining_ = true;
    boost::system::error_code ec;
    for (auto& [name, slot] : listeners_) slot->acceptor.close(ec);
    listeners_.clear();
    // on_drain may end a session, which removes itself: iterate over a copy.
    std::vector<LiveSession*> live(sessions_.begin(), sessions_.end());
    for (auto* s : live)
      if (sessions_.count(s)) s->on_drain();
    for (auto& [key, st] : endpoints_) st->pool.clear();
  });
}

void Worker::start_ticking() {
  asio::co_spawn(
      *ioc_,
      [this]() -> asio::awaitable<void> {
        asio::steady_timer timer(*ioc_);
        auto next = std::chrono::steady_clock::now();
        for (;;) {
          next += kTick;
          timer.expires_at(next);
          auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          const auto now = std::chrono::steady_clock::now();
          for (auto* s : sessions_) s->on_tick(now);
        }
      },
      asio::detached);
}

void Worker::start_accepting(ListenerSlot& slot) {
  // The slot may be destroyed (listener closed); the loop only touches it
  // while its acceptor is open, and ends on operation_aborted.
  asio::co_spawn(
      *ioc_,
      [this, &slot]() -> asio::awaitable<void> {
        const std::string name = slot.name;
        for (;;) {
          // Accepted onto this worker's io_context with its concrete executor
          // type (core::Socket): the HTTP path never pays for type erasure.
          auto [ec, sock] = co_await slot.acceptor.async_accept(*ioc_, asio::as_tuple(asio::use_awaitable));
          if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
          if (ec) {
            // EMFILE and friends: back off briefly instead of spinning.
            spdlog::warn("listener '{}': accept failed: {}", name, ec.message());
            asio::steady_timer t(*ioc_, std::chrono::milliseconds(50));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            auto it = listeners_.find(name);
            if (it == listeners_.end() || it->second.get() != &slot) co_return;
            continue;
          }
          const auto* lr = snap_ ? snap_->find_listener(name) : nullptr;
          if (!lr) continue;  // listener removed by a reload in flight: drop
          boost::system::error_code ignored;
          sock.set_option(tcp::no_delay(true), ignored);
          if (lr->config->protocol == config::ListenerProtocol::kHttp) {
            asio::co_spawn(*ioc_, serve_http(*this, std::move(sock), name), asio::detached);
          } else if (lr->config->transparent != config::TransparentMode::kNone) {
            asio::co_spawn(*ioc_, serve_transparent(*this, std::move(sock), name), asio::detached);
          } else {
            asio::co_spawn(*ioc_, serve_tcp(*this, std::move(sock), name), asio::detached);
          }
        }
      },
      asio::detached);
}

}  // namespace aegis::proxy
