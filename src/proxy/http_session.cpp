// HTTP/1.1 reverse proxy session, one per downstream connection. The request
// path reads top to bottom as named phases (Pingora-style):
//   read_head → check_head → route → connect_upstream → send_request (streams
//   the body) → read_response_head → send_response (streams the body) → log.
// Bodies are relayed through fixed 16 KiB buffers: each read waits for the
// previous write, which is the back-pressure; a whole body is never buffered.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>
#include <tuple>
#include <chrono>

#include "http/grpc.h"
#include "http/h1_io.h"
#include "http/h1_rules.h"
#include "http/h1_writer.h"
#include "http/h2_translate.h"
#include "net/stream.h"
#include "net/tcp_splice.h"
#include "proxy/access_log.h"
#include "proxy/h2_session.h"
#include "proxy/h2_upstream.h"
#include "proxy/request_path.h"
#include "proxy/upstream_connect.h"
#include "proxy/retry.h"
#include "proxy/sessions.h"
#include "proxy/tls_steps.h"
#include "proxy/worker.h"
#include "route/hash_key.h"
#include "route/path_normalize.h"

namespace aegis::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = core::kAwait;
using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: && on awaitables
constexpr std::size_t kRelayBuffer = std::size_t{16} * 1024;

// A body relay buffer, allocated (not zeroed) when an exchange first relays
// a body and released when the connection goes idle, so that an idle
// keep-alive connection holds none (docs/benchmark-methods.md, "Memory").
class RelayBuffer {
 public:
  char* data() {
    if (!buf_) buf_ = std::make_unique_for_overwrite<std::array<char, kRelayBuffer>>();
    return buf_->data();
  }
  static constexpr std::size_t size() { return kRelayBuffer; }
  void release() { buf_.reset(); }

 private:
  std::unique_ptr<std::array<char, kRelayBuffer>> buf_;
};

namespace {

// What a request body may leave unparsed in the buffer: an unfinished
// chunk-size line with its extensions, or trailers (bounded like a head).
std::size_t max_unparsed_body(const config::Listener& lc) {
  return std::size_t{lc.limits.max_request_header_bytes} + kRelayBuffer;
}


class HttpSession final : public LiveSession {
 public:
  // `accepted`: the snapshot whose listener accepted the connection (its TLS
  // context made the stream); held until the first request takes the newest.
  HttpSession(Worker& w, std::shared_ptr<const Snapshot> accepted, net::Stream stream, std::string listener)
      : w_(w), down_(std::move(stream)), listener_(std::move(listener)), snap_(std::move(accepted)) {
    boost::system::error_code ec;
    const auto ep = down_.socket().remote_endpoint(ec);
    client_ip_ = ec ? "" : ep.address().to_string();
    client_ = ec ? "" : fmt::format("{}:{}", client_ip_, ep.port());
    w_.add_session(this);
    w_.connection_opened();
  }
  ~HttpSession() {
    w_.remove_session(this);
    w_.connection_closed();
  }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  void on_drain() override {
    drain_ = true;
    if (h2_) {
      h2_->on_drain();
      return;
    }
    // An idle keep-alive connection has nothing in flight: close it now.
    if (idle_) down_.close();
  }

  // Timeouts: each operation arms a deadline for its socket and direction
  // just before it starts and clears it when it ends, so a deadline that
  // passed has an operation pending; cancelling fails it with
  // operation_aborted, and the flag tells the session it was a timeout.
  void on_tick(Clock::time_point now) override {
    if (now >= down_dl_.next()) {
      // A client that stops reading stalls our write (slow read, zero window).
      if (now >= down_dl_.write && lr_timeouts_) lr_timeouts_->inc();
      down_timed_out_ = true;
      down_dl_ = {};
      down_.cancel();
    }
    // The route's idle_timeout ends the exchange: both sides stop.
    if (up_.tick(now)) down_.cancel();
    if (h2_) h2_->on_tick(now);
  }

  core::Task<void> run() {
    // `lr` lives in snap_, which must stay held across the handshake: a
    // reload that lands meanwhile frees the snapshot the worker held.
    const ListenerRuntime* lr = snap_ ? snap_->find_listener(listener_) : nullptr;
    if (lr) {
      lr->connections->inc();
      lr->connections_active->add();
    }
    stats::Gauge* active = lr ? lr->connections_active : nullptr;
    if (lr) lr_timeouts_ = lr->downstream_timeouts("response_write");
    if (lr && lr->tls && !co_await handshake(*lr)) {
      down_.close();
      if (active) active->sub();
      co_return;
    }
    if (lr && co_await speaks_h2(*lr)) {
      std::string preread(static_cast<const char*>(dbuf_.data().data()), dbuf_.size());
      dbuf_.consume(dbuf_.size());
      H2Session h2(w_, Downstream{down_, listener_, client_ip_, client_, tls_, peer_id_}, *lr);
      snap_.reset();  // each stream takes the newest snapshot; H2Session copied what it needs
      h2_ = &h2;
      if (drain_) h2.on_drain();
      co_await h2.run(std::move(preread));
      h2_ = nullptr;
      co_await close_downstream();
      if (active) active->sub();
      co_return;
    }
    while (!drain_) {
      snap_ = w_.snapshot();  // every request sees the newest config
      lr = snap_ ? snap_->find_listener(listener_) : nullptr;
      if (!lr) break;  // listener removed by a reload
      if (!co_await serve_one(*lr)) break;
    }
    co_await close_downstream();
    if (active) active->sub();
  }

 private:
  // FIN (after close_notify), then a bounded lingering close so that a
  // client still sending (a refused upload, an h2 flood answered by GOAWAY)
  // reads our last bytes instead of an RST.
  core::Task<void> close_downstream() {
    down_.shutdown_send();
    co_await down_.linger(std::chrono::seconds(2), 8U << 20);
    down_.close();
  }

  // Downstream TLS handshake, bounded by the listener's handshake_timeout.
  core::Task<bool> handshake(const ListenerRuntime& lr) {
    const auto& rt = *lr.tls;
    const auto start = Clock::now();
    down_dl_.read = after(rt.config().handshake_timeout);
    const auto ec = co_await down_.handshake();
    down_dl_.read = kNever;
    tls_ = finish_downstream_handshake(rt, down_, ec, down_timed_out_, seconds_since(start), client_);
    if (!tls_) co_return false;
    if (!tls_->peer_identity.empty()) peer_id_ = tls_->peer_identity;
    co_return true;
  }

  // Codec selection (listener codec): on TLS, the ALPN protocol the client
  // chose; on plaintext, whether the first bytes are the HTTP/2 preface
  // (h2c prior knowledge). Bytes read to decide stay in dbuf_.
  core::Task<bool> speaks_h2(const ListenerRuntime& lr) {
    const auto codec = lr.config->codec;
    if (lr.config->protocol != config::ListenerProtocol::kHttp || codec == config::HttpCodec::kHttp1) co_return false;
    if (codec == config::HttpCodec::kHttp2) co_return true;
    if (tls_) {
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(down_.ssl(), &proto, &len);
      co_return std::string_view(reinterpret_cast<const char*>(proto), len) == "h2";
    }
    static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for (;;) {
      const std::string_view got(static_cast<const char*>(dbuf_.data().data()), dbuf_.size());
      const auto n = std::min(got.size(), kPreface.size());
      if (got.substr(0, n) != kPreface.substr(0, n)) co_return false;
      if (n == kPreface.size()) co_return true;
      idle_ = true;
      down_dl_.read = after(lr.config->idle_timeout);
      auto [ec, m] = co_await down_.async_read_some(dbuf_.prepare(4096), kTuple);
      down_dl_.read = kNever;
      idle_ = false;
      if (ec) co_return false;  // serve_one sees the same end
      dbuf_.commit(m);
    }
  }

  // Serves one request; returns whether the connection stays open.
  core::Task<bool> serve_one(const ListenerRuntime& lr) {
    const auto& lc = *lr.config;
    Exchange x;
    finished_ = false;
    grpc_ = false;
    match_action_ = nullptr;
    ubuf_.clear();
    bhttp::request_parser<bhttp::buffer_body> req_parser;
    req_parser.header_limit(lc.limits.max_request_header_bytes);
    req_parser.body_limit(lc.limits.max_request_body_bytes);

    // Phase: read_head. Wait for the first byte with the idle timeout, then
    // for the rest of the head with the (shorter) headers timeout.
    idle_ = true;
    if (dbuf_.size() == 0) {
      req_relay_.release();
      res_relay_.release();
      down_dl_.read = after(lc.idle_timeout);
      boost::system::error_code ec;
      if (!down_.is_tls()) {
        // An idle plaintext connection holds no read buffer either: the first
        // bytes of the next request land in the session's small first-read
        // buffer and move to dbuf_ once they arrived. A plain read, not a
        // readiness wait: Asio re-arms epoll (epoll_ctl) for every wait, and
        // a read is queued on the edge-triggered registration for free.
        // (TLS reads directly: OpenSSL may already hold a decrypted record
        // the socket won't signal again.)
        dbuf_.shrink_to_fit();
        std::size_t n = 0;
        std::tie(ec, n) = co_await down_.socket().async_read_some(asio::buffer(first_read_), kTuple);
        if (!ec) {
          asio::buffer_copy(dbuf_.prepare(n), asio::buffer(first_read_, n));
          dbuf_.commit(n);
        }
      } else {
        std::size_t n = 0;
        std::tie(ec, n) = co_await down_.async_read_some(dbuf_.prepare(4096), kTuple);
        if (!ec) dbuf_.commit(n);
      }
      down_dl_.read = kNever;
      if (ec) co_return false;  // closed, reset or idle timeout: nothing to answer
    }
    idle_ = false;
    x.start = Clock::now();
    x.wall_start = std::chrono::system_clock::now();
    down_dl_.read = after(lc.request_headers_timeout);
    auto [head_ec, head_bytes] = http::parse_buffered(dbuf_, req_parser);
    if (head_ec == bhttp::error::need_more) {
      auto [ec, n] = co_await http::read_header(down_, dbuf_, req_parser);
      head_ec = ec;
      head_bytes += n;
    }
    down_dl_.read = kNever;
    if (auto ec = head_ec; ec) {
      if (down_timed_out_) {
        const http::Rejection rej{408, "request_headers_timeout", "request head not received within request_headers_timeout"};
        co_await refuse(lr, x, rej);
        co_return false;
      }
      if (is_disconnect(ec)) co_return false;
      const auto rej = http::rejection_for_parse_error(ec);
      co_await refuse(lr, x, rej);
      co_return false;
    }
    if (head_bytes > lc.limits.max_request_header_bytes) {
      // Beast bounds the head per buffer it parses; this bounds it in total.
      const http::Rejection rej{431, "header_too_large", "request head exceeds max_request_header_bytes"};
      co_await refuse(lr, x, rej);
      co_return false;
    }
    auto& head = req_parser.get();
    x.method = head.method_string();
    x.path = head.target();
    x.authority = http::request_authority(head);
    x.protocol = head.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
    const bool has_body = !req_parser.is_done();
    keep_alive_ = head.keep_alive() && !drain_;
    // Every answer the proxy gives a gRPC request from here on is gRPC-shaped.
    if (auto it = head.find(bhttp::field::content_type); it != head.end())
      grpc_ = http::grpc::is_grpc_content_type(it->value());

    // Phase: check_head. An absolute-form target's authority replaces Host
    // first, so that the Host checks and the router see the same authority.
    if (auto rej = http::adopt_absolute_form_authority(head)) {
      co_await refuse(lr, x, *rej);
      co_return false;
    }
    x.authority = http::request_authority(head);
    if (auto rej = http::check_request_head(head, {lc.limits.max_request_headers, lc.limits.max_request_line_bytes})) {
      co_await refuse(lr, x, *rej);
      co_return false;
    }
    x.request_id = pick_request_id(head, w_, x);

    // Phase: route (with the listener's and the route's admission rules), on
    // the normalized path, which is also what goes upstream.
    auto normalized = route::normalize_target(http::origin_form(head.target()), route::path_normalization(lc));
    if (!normalized) {
      const http::Rejection rej{400, "invalid_path", "request path is malformed or has a forbidden escape"};
      co_await refuse(lr, x, rej);
      co_return false;
    }
    target_buf_ = std::move(*normalized);
    const std::string_view target = target_buf_;
    const auto declared = req_parser.content_length();
    auto admission = admit_request(lr, *snap_, head, x.authority, target,
                                   declared ? std::optional<std::uint64_t>(*declared) : std::nullopt,
                                   Requester{client_, peer_id_});
    if (auto* local = std::get_if<LocalReply>(&admission)) {
      co_await reply(lr, x, local->status, local->flag, local->detail, local->close || has_body, local->extra_name,
                     local->extra_value);
      co_return keep_alive_;
    }
    const auto& admitted = std::get<Admitted>(admission);
    const auto& action = admitted.route->action;
    match_action_ = &action;
    req_parser.body_limit(admitted.body_limit);
    // The hash key for ring_hash / maglev, before the head is rewritten; a
    // retry picks again with the same context.
    upstream::PickContext pick_ctx;
    if (!action.hash_policy.empty()) {
      pick_ctx.hash = route::request_hash(action.hash_policy, header_lookup(head), client_ip_);
    }

    // Upstream request head: the parsed head itself, rewritten in place (no
    // copy of its fields): origin-form target, HTTP/1.1, hop-by-hop fields
    // out, forwarding headers in, the route's header rules. What the access
    // log needs from the original head is kept in per-session buffers first.
    auth_buf_.assign(x.authority);
    x.authority = auth_buf_;
    path_buf_.assign(x.path);
    x.path = path_buf_;
    const bool generated_id = x.request_id.data() == x.rid_buf.data();
    if (!generated_id) {
      rid_str_.assign(x.request_id);
      x.request_id = rid_str_;
    }
    const bool expect_continue = beast::iequals(head[bhttp::field::expect], "100-continue");
    // Upgrade (WebSocket and others): the fields go upstream; a 101 answer
    // turns the connection into a byte tunnel. Only for bodyless requests.
    upgrade_ = has_body ? std::string() : http::upgrade_protocol(head.base());
    const bool chunked = req_parser.chunked();
    const auto content_length = req_parser.content_length();
    if (target != head.target()) {
      const std::string origin(target);  // target views the storage it replaces
      head.target(origin);
    }
    head.version(11);
    te_trailers_ = http::h2::te_trailers(head.base());  // for an HTTP/2 cluster; the rewrite drops TE
    rewrite_upstream_request(head.base(),
                             Forwarding{client_ip_, tls_.has_value(), lc.xff_trust_downstream, peer_id_,
                                        x.request_id, generated_id},
                             action);
    if (!upgrade_.empty()) {
      head.set(bhttp::field::connection, "upgrade");
      head.set(bhttp::field::upgrade, upgrade_);
    }
    // Framing fields were hop-by-hop or are still the client's own
    // Content-Length: re-derived from what the parser decided.
    http::set_upstream_framing(head, chunked,
                               content_length ? std::optional<std::uint64_t>(*content_length) : std::nullopt);
    auto& ureq = head;

    const auto* cluster = snap_->find_cluster(action.cluster);
    std::optional<std::chrono::nanoseconds> grpc_timeout;
    if (auto it = head.find("grpc-timeout"); grpc_ && it != head.end()) {
      grpc_timeout = http::grpc::parse_timeout(it->value());
      if (!grpc_timeout) lr.grpc_timeout_invalid->inc();  // ignored, as the spec's clients do
    }
    const auto deadline = request_deadline(Clock::now(), action.timeout, grpc_timeout);

    // Circuit breaker: requests in flight to the cluster (all workers).
    using Breaker = upstream::CircuitBreakers::Resource;
    auto& breakers = *cluster->breakers;
    const upstream::BreakerSlot request_slot = upstream::acquire(breakers, Breaker::kRequests);
    if (!request_slot.held()) {
      co_await overloaded(lr, x, *cluster, Breaker::kRequests, has_body);
      co_return keep_alive_;
    }
    retry::RetryState retry(action.retry_policy ? &*action.retry_policy : nullptr, *cluster->config, breakers,
                            cluster->retries);
    retry::RequestRetries retries(retry, x.method, has_body, deadline);
    const RetryScope retry_scope(*this, retries, *cluster);
    const IdleScope idle_scope(*this, x, action.idle_timeout);
    if (cluster->config->protocol == config::UpstreamProtocol::kHttp2) {
      co_return co_await forward_h2(lr, x, req_parser, *cluster, action, pick_ctx, has_body, expect_continue,
                                    retries);
    }
    EndpointsTried tried;              // where a retry should not go back to
    bool replay = false;                // the body comes from retries.body() (read by an earlier attempt)

    // Phase: connect_upstream (retried once on a fresh connection when a pooled
    // one turns out dead before any response byte and no body was sent; and
    // as the route's retry_policy says).
    for (int attempt = 0;; ++attempt) {
      x.attempt_start = Clock::now();
      x.attempt = {upstream::AttemptResult::Kind::kReset, 0, {}};
      x.retries = retry.retries();
      auto conn = co_await open_upstream(w_, action.cluster, up_, /*check_liveness=*/has_body, x, pick_ctx, tried.span());
      if (conn.failure) {
        const retry::Attempt failed{upstream::AttemptResult::Kind::kConnectFailure, 0, {}, false};
        if (conn.connect_failed && retry_granted(failed, /*body_buffered=*/false)) {
          tried.add(conn.pick->index);
          co_await back_off();
          continue;
        }
        co_await reply(lr, x, conn.failure->status, conn.failure->flag, conn.failure->detail, has_body,
                       conn.failure->extra_name, conn.failure->extra_value);
        co_return keep_alive_;
      }
      auto& pick = conn.pick;
      auto& up = conn.stream;
      const bool reused = conn.reused;
      const auto& ep = *pick->runtime;
      ActiveRequest active(*pick, ep);
      ep.requests->inc();
      ubuf_.clear();
      attach_upstream(*up, Clock::time_point::max());
      const auto try_deadline = attempt_deadline(deadline);
      auto outcome = co_await exchange(lr, x, req_parser, ureq, *up, ep, try_deadline, has_body,
                                       expect_continue && attempt == 0, replay);
      detach_upstream();
      if (outcome == Outcome::kRetry && reused && attempt == 0 && !has_body) {
        // A pooled connection the upstream had closed: not the endpoint's
        // fault, but if it died, another endpoint is the better bet.
        close_upstream(*up, ep);
        tried.add(pick->index);
        continue;
      }
      if (x.attempt.kind != upstream::AttemptResult::Kind::kResponse)
        x.attempt.latency = Clock::now() - x.attempt_start;
      // An attempt the client ended (it went away, broke a body rule or sent
      // its body too slowly) says nothing about the endpoint: outlier
      // detection and the load balancer must not count it against it.
      if (!client_fault_) w_.report(action.cluster, *pick, x.attempt);
      if (outcome == Outcome::kPool && ubuf_.size() == 0) {
        pick->state->pool.put_idle(std::move(*up));
      } else {
        close_upstream(*up, ep);
      }
      ep.response_time->observe(seconds_since(x.start));
      retry.attempt_done();
      // Nothing of this attempt went downstream: when granted, back off and
      // go again, elsewhere when the cluster has another endpoint.
      bool again = outcome == Outcome::kRetryNext;
      if (again) {
        replay = has_body;  // the exchange read the whole body and kept it
      } else if (outcome == Outcome::kRetry) {
        // The connection failed before the request body was touched (or it
        // is already kept): the body is as replayable as it was.
        const retry::Attempt failed{upstream::AttemptResult::Kind::kReset, 0, {}, false};
        again = retry_granted(failed, /*body_buffered=*/true);
      }
      if (again) {
        tried.add(pick->index);
        co_await back_off();
        continue;
      }
      if (x.attempt.kind == upstream::AttemptResult::Kind::kResponse) retry.finished();
      if (outcome == Outcome::kRetry) {
        ep.errors_reset_before_response->inc();
        co_await reply(lr, x, 502, "upstream_reset_before_response",
                       "upstream connection closed or reset before a response", true);
        co_return false;
      }
      co_return keep_alive_ && outcome != Outcome::kAbort;
    }
  }

  // kRetry: the connection failed before any response (a dead pooled one);
  // kRetryNext: the retry policy grants another attempt.
  enum class Outcome { kPool, kClose, kRetry, kRetryNext, kAbort };

  // The request's retries, for the phases that decide on one (set for the
  // duration of the upstream phase of a request).
  struct RetryScope {
    RetryScope(HttpSession& s, retry::RequestRetries& r, const ClusterRuntime& c) : s_(s) {
      s_.rr_ = &r;
      s_.rr_cluster_ = &c;
    }
    ~RetryScope() {
      s_.rr_ = nullptr;
      s_.rr_cluster_ = nullptr;
    }
    RetryScope(const RetryScope&) = delete;
    RetryScope& operator=(const RetryScope&) = delete;
    HttpSession& s_;
  };
  // The route's idle_timeout, watched by on_tick while the scope lives.
  struct IdleScope {
    IdleScope(HttpSession& s, const Exchange& x, std::chrono::milliseconds limit) : s_(s) {
      s_.up_.idle.arm(x, limit);
    }
    ~IdleScope() { s_.up_.idle = {}; }
    IdleScope(const IdleScope&) = delete;
    IdleScope& operator=(const IdleScope&) = delete;
    HttpSession& s_;
  };

  // The attempt's deadline: the request's, or the per-try timeout if sooner.
  std::optional<Clock::time_point> attempt_deadline(const std::optional<Clock::time_point>& deadline) {
    up_.idle.restart();  // the idle clock starts again with each attempt
    return rr_ ? rr_->attempt_deadline() : deadline;
  }
  bool per_try_armed() const { return rr_ && rr_->per_try_armed(); }

  // Whether a failed (or retriable) attempt goes again; if so back_off() first.
  bool retry_granted(const retry::Attempt& attempt, bool body_buffered) {
    return rr_ && rr_->granted(attempt, body_buffered, w_.random());
  }
  // Is the whole request body kept for a replay?
  bool body_kept(bool pump_done) const { return rr_ && rr_->body_kept(pump_done); }

  core::Task<void> back_off() {
    if (rr_) co_await retry::sleep(down_.get_executor(), rr_->backoff());
  }

  // A circuit breaker is open: 503 + x-aegis-overloaded, counted by breaker.
  core::Task<void> overloaded(const ListenerRuntime& lr, Exchange& x, const ClusterRuntime& c,
                              upstream::CircuitBreakers::Resource r, bool close) {
    c.breaker_overflow.at(static_cast<std::size_t>(r))->inc();
    const std::string detail =
        fmt::format("cluster '{}' is at circuit_breakers.{}", c.config->name, upstream::CircuitBreakers::name(r));
    co_await reply(lr, x, 503, "upstream_overflow", detail, close, "x-aegis-overloaded", "true");
  }

  // Every request body byte passes here on its way upstream: kept (up to
  // retry_buffer_limit) so that a retry can send it again.
  void keep_for_retry(std::string_view data) {
    if (rr_) rr_->keep(data);
  }

  static constexpr auto kNever = Clock::time_point::max();
  Clock::time_point after(std::chrono::milliseconds d) const { return Clock::now() + d; }

  void attach_upstream(upstream::Stream& up, Clock::time_point connect_deadline) { up_.attach(up, connect_deadline); }
  void detach_upstream() { up_.detach(); }

  // Shared by the two halves of one exchange, which run at the same time.
  struct Duplex {
    bool pump_done = false;        // request body fully forwarded (or none)
    bool relay_done = false;       // response finished (or failed)
    bool response_started = false; // response head went downstream
    bool cancelled = false;        // one half stopped the other
    bool awaiting_client = false;  // the request half is waiting for body bytes from the client
    bool client_stalled = false;   // ...and still was when the response half timed out (slow POST)
    std::optional<http::Rejection> refusal;  // the request body broke a rule
  };
  enum class Pump { kDone, kRefused, kDownstreamGone, kUpstreamGone, kCancelled };
  enum class Relay { kComplete, kRetry, kRetryNext, kTimeout, kUpstreamGone, kInvalid, kAbortedMidResponse,
                     kDownstreamGone, kCancelled, kUpgraded };

  // The upstream's 101 goes downstream with the upgrade fields (the only
  // hop-by-hop fields that must cross).
  core::Task<bool> send_upgrade_head(const config::Listener& lc, Exchange& x,
                                     bhttp::response<bhttp::buffer_body>& uhead) {
    std::string protocol = http::upgrade_protocol(uhead.base());
    if (protocol.empty()) protocol = upgrade_;
    uhead.version(11);
    http::remove_hop_by_hop(uhead.base());
    uhead.set("x-request-id", x.request_id);
    apply_header_rules(uhead.base(), match_action_->response_headers_to_remove,
                       match_action_->response_headers_to_add);
    uhead.set(bhttp::field::connection, "upgrade");
    uhead.set(bhttp::field::upgrade, protocol);
    x.status = 101;
    down_wbuf_.clear();
    http::append_head(down_wbuf_, uhead);
    down_dl_.write = after(lc.idle_timeout);
    auto [ec, n] = co_await asio::async_write(down_, asio::buffer(down_wbuf_), kTuple);
    down_dl_.write = kNever;
    down_wbuf_.clear();
    co_return !ec;
  }

  // After a 101: bytes either side already read go across first, then the
  // two connections are spliced (half-close aware, idle timeout) until done.
  core::Task<void> tunnel(const ListenerRuntime& lr, Exchange& x, upstream::Stream& up,
                          const EndpointRuntime& ep) {
    const auto& lc = *lr.config;
    x.flags = "upgraded";
    bool ok = true;
    if (ubuf_.size() != 0) {
      auto [ec, n] = co_await asio::async_write(down_, ubuf_.data(), kTuple);
      x.bytes_out += n;
      ubuf_.consume(ubuf_.size());
      ok = !ec;
    }
    if (ok && dbuf_.size() != 0) {
      auto [ec, n] = co_await asio::async_write(up, dbuf_.data(), kTuple);
      x.bytes_in += n;
      dbuf_.consume(dbuf_.size());
      ok = !ec;
    }
    if (ok) {
      auto r = co_await net::splice(down_, up, lc.idle_timeout);
      x.bytes_in += r.bytes_down_to_up;
      x.bytes_out += r.bytes_up_to_down;
      lr.bytes_received->inc(r.bytes_down_to_up);
      lr.bytes_sent->inc(r.bytes_up_to_down);
      if (r.idle_timeout) x.flags = "upgraded_idle_timeout";
    }
    // splice may have closed the upstream itself: keep the gauge true.
    if (!up.is_open()) connection_closed(ep);
    finish(lr, x);
  }

  // One half stops the other: both sockets' pending operations fail.
  void stop_other_half(Duplex& d, upstream::Stream& up) {
    d.cancelled = true;
    down_.cancel();
    up.cancel();
  }

  // send_request's body: relayed downstream → upstream, chunk by chunk.
  core::Task<Pump> pump_request(const config::Listener& lc, Duplex& d,
                                     bhttp::request_parser<bhttp::buffer_body>& req_parser,
                                     const http::BodyFramer& framer, upstream::Stream& up,
                                     Exchange& x, const ListenerRuntime& lr) {
    auto fail = [&](Pump p) {
      if (!d.relay_done) stop_other_half(d, up);
      return p;
    };
    for (;;) {
      std::string_view data;
      if (!req_parser.is_done()) {
        // The other half may have ended while this one ran without waiting
        // (bytes already buffered): then there is nothing pending to cancel.
        if (d.relay_done) co_return Pump::kCancelled;
        req_parser.get().body().data = req_relay_.data();
        req_parser.get().body().size = req_relay_.size();
        down_dl_.read = after(lc.idle_timeout);
        auto [ec, n] = http::parse_buffered(dbuf_, req_parser);
        if (ec == bhttp::error::need_more) {
          d.awaiting_client = true;
          // Body bytes are consumed as they arrive; only an unfinished
          // chunk-size line, chunk extension or trailer stays buffered, and
          // that is bounded (CVE-2024-22019: unbounded chunk extensions).
          std::tie(ec, n) = co_await http::read_some(down_, dbuf_, req_parser, max_unparsed_body(lc));
          d.awaiting_client = false;
        }
        down_dl_.read = kNever;
        if (ec && ec != bhttp::error::need_buffer) {
          // A body that breaks a rule is the client's fault even when the
          // upstream half failed at the same moment: it decides the answer.
          if (ec == bhttp::error::body_limit || ec == bhttp::error::bad_chunk ||
              ec == bhttp::error::bad_chunk_extension || ec == bhttp::error::buffer_overflow) {
            d.refusal = ec == bhttp::error::buffer_overflow
                            ? http::Rejection{400, "invalid_chunk", "chunk-size line, chunk extension or trailer too long"}
                            : http::rejection_for_parse_error(ec);
            co_return fail(Pump::kRefused);
          }
          if (d.relay_done) co_return Pump::kCancelled;
          co_return fail(Pump::kDownstreamGone);
        }
        const auto got = req_relay_.size() - req_parser.get().body().size;
        x.bytes_in += got;
        lr.bytes_received->inc(got);
        if (got == 0 && !req_parser.is_done()) continue;  // e.g. only a chunk header arrived
        data = std::string_view(req_relay_.data(), got);
        keep_for_retry(data);
      }
      const bool last = req_parser.is_done();
      if (d.relay_done) co_return Pump::kCancelled;
      up_.dl.write = after(lc.idle_timeout);
      // The first piece carries the request head too when it was held back.
      auto ec = co_await http::write_body_piece(up, up_wbuf_, framer, data, last);
      up_.dl.write = kNever;
      if (ec) {
        if (d.relay_done) co_return Pump::kCancelled;
        // The upstream stopped reading; it may still answer (e.g. its own
        // 413), so the response half carries on.
        co_return Pump::kUpstreamGone;
      }
      if (last) break;
    }
    d.pump_done = true;
    co_return Pump::kDone;
  }

  // read_response_head → send_response: relayed upstream → downstream.
  core::Task<Relay> relay_response(const config::Listener& lc, Duplex& d, Exchange& x,
                                        const ListenerRuntime& lr, upstream::Stream& up,
                                        bhttp::verb method,
                                        const std::optional<Clock::time_point>& deadline,
                                        bool has_body, bool& upstream_keep_alive) {
    auto done = [&](Relay r) {
      d.relay_done = true;
      d.client_stalled = r == Relay::kTimeout && !d.pump_done && d.awaiting_client;
      if (!d.pump_done && !d.cancelled) stop_other_half(d, up);
      return r;
    };
    auto up_read_deadline = [&] { return deadline ? *deadline : after(lc.idle_timeout); };

    // 1xx interim responses other than 101 are dropped.
    std::optional<bhttp::response_parser<bhttp::buffer_body>> slot;
    for (;;) {
      auto& p = slot.emplace();
      p.header_limit(lc.limits.max_response_header_bytes);
      p.body_limit(boost::none);
      if (method == bhttp::verb::head) p.skip(true);
      if (d.cancelled) co_return done(Relay::kCancelled);
      up_.dl.read = up_read_deadline();
      auto [ec, n] = http::parse_buffered(ubuf_, p);
      if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await http::read_header(up, ubuf_, p);
      up_.dl.read = kNever;
      if (ec) {
        if (d.cancelled && !up_.timed_out) co_return done(Relay::kCancelled);
        if (up_.timed_out) co_return done(Relay::kTimeout);
        if (is_disconnect(ec) && ubuf_.size() == 0 && !has_body) co_return done(Relay::kRetry);
        co_return done(is_disconnect(ec) ? Relay::kUpstreamGone : Relay::kInvalid);
      }
      if (!http::is_dropped_interim(p.get().result_int())) break;
    }
    auto& res_parser = *slot;
    auto& uhead = res_parser.get();
    x.attempt = {upstream::AttemptResult::Kind::kResponse, uhead.result_int(), Clock::now() - x.attempt_start};
    if (rr_ && rr_->state().policy()) {
      // A retriable answer (by status or grpc-status) is not relayed when
      // another attempt is granted.
      const retry::Attempt answered = retry::answered(uhead);
      if (retry_granted(answered, body_kept(d.pump_done))) co_return done(Relay::kRetryNext);
    }
    if (uhead.result_int() == 101) {
      // Only an upgrade we asked for may be accepted.
      if (upgrade_.empty()) co_return done(Relay::kInvalid);
      const bool sent = co_await send_upgrade_head(lc, x, uhead);
      co_return done(sent ? Relay::kUpgraded : Relay::kDownstreamGone);
    }

    // The parsed response head is rewritten in place and serialized as is.
    const bool upstream_wants_keep_alive = uhead.keep_alive();
    const bool res_has_body = !res_parser.is_done();
    const bool res_sized = res_parser.content_length().has_value();
    uhead.version(x.protocol == "HTTP/1.0" ? 10 : 11);
    http::remove_hop_by_hop(uhead.base());
    uhead.set("x-request-id", x.request_id);
    apply_header_rules(uhead.base(), match_action_->response_headers_to_remove,
                       match_action_->response_headers_to_add);
    const bool res_chunked = http::set_downstream_framing(uhead, res_has_body, res_sized, drain_, keep_alive_);
    x.status = uhead.result_int();
    d.response_started = true;

    const http::BodyFramer framer(res_chunked);
    down_wbuf_.clear();
    http::append_head(down_wbuf_, uhead);
    // Head and first body bytes in one write when the body is already
    // buffered; else the head now (streaming responses must not wait for
    // their first body byte).
    if (d.cancelled) co_return done(Relay::kCancelled);
    if (!res_has_body || ubuf_.size() == 0) {
      down_dl_.write = after(lc.idle_timeout);
      auto [ec, n] = co_await asio::async_write(down_, asio::buffer(down_wbuf_), kTuple);
      down_dl_.write = kNever;
      down_wbuf_.clear();
      if (ec) co_return done(Relay::kDownstreamGone);
    }
    while (res_has_body) {
      std::string_view data;
      if (!res_parser.is_done()) {
        uhead.body().data = res_relay_.data();
        uhead.body().size = res_relay_.size();
        if (d.cancelled) co_return done(Relay::kCancelled);
        up_.dl.read = up_read_deadline();
        auto [ec, n] = http::parse_buffered(ubuf_, res_parser);
        if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await http::read_some(up, ubuf_, res_parser);
        up_.dl.read = kNever;
        if (ec && ec != bhttp::error::need_buffer) {
          if (d.cancelled && !up_.timed_out) co_return done(Relay::kCancelled);
          co_return done(up_.timed_out ? Relay::kTimeout : Relay::kAbortedMidResponse);
        }
        const auto got = res_relay_.size() - uhead.body().size;
        if (got == 0 && !res_parser.is_done()) continue;
        data = std::string_view(res_relay_.data(), got);
        x.bytes_out += got;
        lr.bytes_sent->inc(got);
      }
      const bool last = res_parser.is_done();
      if (d.cancelled) co_return done(Relay::kCancelled);
      down_dl_.write = after(lc.idle_timeout);
      auto ec = co_await http::write_body_piece(down_, down_wbuf_, framer, data, last);
      down_dl_.write = kNever;
      if (ec) {
        if (d.cancelled && !down_timed_out_) co_return done(Relay::kCancelled);
        co_return done(Relay::kDownstreamGone);
      }
      if (last) break;
    }
    upstream_keep_alive = res_parser.is_done() && upstream_wants_keep_alive;
    co_return done(Relay::kComplete);
  }

  // One attempt at one upstream connection: the request head, then the
  // request body and the response at the same time (full duplex: an
  // upstream may answer while it still reads, as gRPC and echo services do).
  core::Task<Outcome> exchange(const ListenerRuntime& lr, Exchange& x,
                                    bhttp::request_parser<bhttp::buffer_body>& req_parser,
                                    bhttp::request<bhttp::buffer_body>& ureq, upstream::Stream& up,
                                    const EndpointRuntime& ep,
                                    const std::optional<Clock::time_point>& deadline, bool has_body,
                                    bool expect_continue, bool replay) {
    const auto& lc = *lr.config;
    client_fault_ = false;
    if (expect_continue && has_body && !co_await send_continue(lr, x)) co_return Outcome::kAbort;
    const http::BodyFramer framer(has_body && req_parser.chunked());
    up_wbuf_.clear();
    http::append_head(up_wbuf_, ureq);
    // A retry sends the body an earlier attempt read (and kept) with the head.
    const bool replay_body = replay && has_body;
    if (replay_body) {
      framer.append(up_wbuf_, rr_->body());
      framer.append_end(up_wbuf_);
    }
    // Head alone now, unless body bytes came with it: then both in one write.
    if (!has_body || replay_body || dbuf_.size() == 0) {
      up_.dl.write = after(lc.idle_timeout);
      auto [ec, n] = co_await asio::async_write(up, asio::buffer(up_wbuf_), kTuple);
      up_.dl.write = kNever;
      up_wbuf_.clear();
      if (ec) co_return Outcome::kRetry;
    }

    Duplex d;
    d.pump_done = !has_body || replay_body;
    bool upstream_keep_alive = false;
    Pump pumped = Pump::kDone;
    Relay relayed;
    if (has_body && !replay_body) {
      std::tie(pumped, relayed) = co_await (
          pump_request(lc, d, req_parser, framer, up, x, lr) &&
          relay_response(lc, d, x, lr, up, ureq.method(), deadline, has_body, upstream_keep_alive));
    } else {
      relayed = co_await relay_response(lc, d, x, lr, up, ureq.method(), deadline, has_body,
                                        upstream_keep_alive);
    }
    // An unread remainder of the request body makes the downstream
    // connection unusable for another request.
    if (pumped != Pump::kDone) keep_alive_ = false;

    if (d.refusal && !d.response_started) {
      client_fault_ = true;
      const auto rej = *d.refusal;
      co_await refuse(lr, x, rej);
      co_return Outcome::kAbort;
    }
    // Slow POST: the route timeout passed while the upstream, not having the
    // whole body yet, waited for the client. The client's fault: 408.
    if (relayed == Relay::kTimeout && !d.response_started && d.client_stalled) {
      client_fault_ = true;
      const http::Rejection rej{408, "request_body_timeout", "request body not received within the route timeout"};
      co_await refuse(lr, x, rej);
      co_return Outcome::kAbort;
    }
    // The client went away (or its half failed) before any response.
    if ((relayed == Relay::kCancelled || relayed == Relay::kDownstreamGone) && !d.response_started)
      client_fault_ = true;
    switch (relayed) {
      case Relay::kComplete:
        finish(lr, x);
        co_return upstream_keep_alive && pumped == Pump::kDone ? Outcome::kPool : Outcome::kClose;
      case Relay::kRetry:
        co_return Outcome::kRetry;
      case Relay::kRetryNext:
        co_return Outcome::kRetryNext;
      case Relay::kTimeout:
        ep.timeouts->inc();
        if (!d.response_started) {
          x.attempt.kind = upstream::AttemptResult::Kind::kTimeout;
          const bool per_try = per_try_armed() && !up_.idle.fired;
          if (per_try) rr_cluster_->per_try_timeouts->inc();
          const retry::Attempt timed_out{upstream::AttemptResult::Kind::kTimeout, 0, {}, per_try};
          if (retry_granted(timed_out, body_kept(d.pump_done))) co_return Outcome::kRetryNext;
        }
        if (d.response_started) {
          x.flags = "upstream_timeout_mid_response";
          finish(lr, x);
          co_return Outcome::kAbort;
        }
        co_await reply(lr, x, 504, "upstream_timeout", "upstream did not respond within the route timeout", !keep_alive_);
        co_return keep_alive_ ? Outcome::kClose : Outcome::kAbort;
      case Relay::kUpstreamGone:
      case Relay::kInvalid: {
        ep.errors_reset_before_response->inc();
        const retry::Attempt reset{upstream::AttemptResult::Kind::kReset, 0, {}, false};
        if (!d.response_started && retry_granted(reset, body_kept(d.pump_done))) co_return Outcome::kRetryNext;
        const bool gone = relayed == Relay::kUpstreamGone;
        const std::string detail = gone ? "upstream connection closed or reset before a response"
                                        : "upstream sent an invalid response head";
        co_await reply(lr, x, 502, gone ? "upstream_reset_before_response" : "upstream_invalid_response",
                       detail, true);
        co_return Outcome::kAbort;
      }
      case Relay::kAbortedMidResponse:
        // The head is already downstream: abort this connection so the
        // client sees a truncated message, never a wrong one.
        ep.errors_reset_mid_response->inc();
        x.flags = "upstream_reset_mid_response";
        finish(lr, x);
        co_return Outcome::kAbort;
      case Relay::kDownstreamGone:
        x.flags = "downstream_disconnect";
        finish(lr, x);
        co_return Outcome::kAbort;
      case Relay::kUpgraded:
        co_await tunnel(lr, x, up, ep);
        co_return Outcome::kAbort;
      case Relay::kCancelled:
        break;
    }
    // The request half stopped the exchange: the client went away.
    x.flags = "downstream_disconnect";
    finish(lr, x);
    co_return Outcome::kAbort;
  }

  // "100 Continue" for a client that waits for it before its body; false
  // (logged) when the client is gone.
  core::Task<bool> send_continue(const ListenerRuntime& lr, Exchange& x) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    down_dl_.write = after(lr.config->idle_timeout);
    auto [ec, n] = co_await asio::async_write(down_, asio::buffer(kContinue), kTuple);
    down_dl_.write = kNever;
    if (!ec) co_return true;
    x.flags = "downstream_disconnect";
    finish(lr, x);
    co_return false;
  }

  // The downstream half of a request forwarded to an HTTP/2 cluster: the
  // body from the HTTP/1.1 parser, the response written as HTTP/1.1
  // (chunked with the trailers when the upstream gave no content-length).
  class H1Half final : public DownstreamHalf {
   public:
    H1Half(HttpSession& s, const ListenerRuntime& lr, bhttp::request_parser<bhttp::buffer_body>& parser)
        : s_(s), lr_(lr), parser_(parser) {}

    core::Task<Piece> read_body() override {
      for (;;) {
        if (parser_.is_done()) {
          body_done = true;
          co_return Piece{{}, true, false};
        }
        parser_.get().body().data = s_.req_relay_.data();
        parser_.get().body().size = s_.req_relay_.size();
        s_.down_dl_.read = s_.after(lr_.config->idle_timeout);
        auto [ec, n] = http::parse_buffered(s_.dbuf_, parser_);
        if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await http::read_some(s_.down_, s_.dbuf_, parser_);
        s_.down_dl_.read = kNever;
        if (ec && ec != bhttp::error::need_buffer) {
          if (ec == bhttp::error::body_limit || ec == bhttp::error::bad_chunk ||
              ec == bhttp::error::bad_chunk_extension) {
            const auto rej = http::rejection_for_parse_error(ec);
            refusal.emplace(rej.status, rej.reason, std::string(rej.detail));
          }
          co_return Piece{{}, false, true};
        }
        const auto got = s_.req_relay_.size() - parser_.get().body().size;
        if (got == 0 && !parser_.is_done()) continue;  // e.g. only a chunk header arrived
        body_done = parser_.is_done();
        co_return Piece{std::string_view(s_.req_relay_.data(), got), body_done, false};
      }
    }

    core::Task<bool> send_head(bhttp::response_header<>& head, bool has_body) override {
      head.version(s_.x_protocol_10_ ? 10 : 11);
      const bool sized = head.find(bhttp::field::content_length) != head.end();
      const auto status = head.result_int();
      const bool bodyless_status = status == 204 || status == 304;
      if (has_body && !sized) {
        if (head.version() == 11) {
          head.set(bhttp::field::transfer_encoding, "chunked");
          chunked_ = true;
        } else {
          s_.keep_alive_ = false;  // HTTP/1.0 client: body delimited by close
        }
      } else if (!has_body && !sized && !bodyless_status && !s_.head_request_) {
        head.set(bhttp::field::content_length, "0");
      }
      if (s_.drain_) s_.keep_alive_ = false;
      if (head.version() == 11 && !s_.keep_alive_)
        head.set(bhttp::field::connection, "close");
      else if (head.version() == 10 && s_.keep_alive_)
        head.set(bhttp::field::connection, "keep-alive");
      s_.down_wbuf_.clear();
      http::append_head(s_.down_wbuf_, head);
      co_return co_await flush();
    }

    core::Task<bool> send_data(std::string_view data) override {
      const http::BodyFramer framer(chunked_);
      s_.down_dl_.write = s_.after(lr_.config->idle_timeout);
      auto ec = co_await http::write_body_piece(s_.down_, s_.down_wbuf_, framer, data, false);
      s_.down_dl_.write = kNever;
      co_return !ec;
    }

    core::Task<bool> send_end(const http::h2::Fields& trailers) override {
      if (!chunked_) co_return true;
      s_.down_wbuf_.assign("0\r\n");
      s_.down_wbuf_.append(http::h2::trailer_section(trailers));
      s_.down_wbuf_.append("\r\n");
      co_return co_await flush();
    }

    void cancel() override { s_.down_.cancel(); }

   private:
    core::Task<bool> flush() {
      s_.down_dl_.write = s_.after(lr_.config->idle_timeout);
      auto [ec, n] = co_await asio::async_write(s_.down_, asio::buffer(s_.down_wbuf_), kTuple);
      s_.down_dl_.write = kNever;
      s_.down_wbuf_.clear();
      co_return !ec;
    }

    HttpSession& s_;
    const ListenerRuntime& lr_;
    bhttp::request_parser<bhttp::buffer_body>& parser_;
    bool chunked_ = false;
  };

  // The request to a cluster with protocol: http2 (proxy/h2_upstream), with
  // the route's retry policy. Returns whether the connection stays open.
  core::Task<bool> forward_h2(const ListenerRuntime& lr, Exchange& x,
                              bhttp::request_parser<bhttp::buffer_body>& req_parser, const ClusterRuntime& cluster,
                              const config::RouteAction& action, const upstream::PickContext& pick_ctx, bool has_body,
                              bool expect_continue, retry::RequestRetries& retries) {
    if (!upgrade_.empty()) {
      co_await reply(lr, x, 501, "upgrade_not_supported",
                     fmt::format("protocol upgrade to '{}' through an HTTP/2 cluster is not supported", upgrade_),
                     true);
      co_return false;
    }
    // The client waits for this before its body: say it now (the upstream
    // HTTP/2 stream has no such step).
    if (expect_continue && has_body && !co_await send_continue(lr, x)) co_return false;
    x_protocol_10_ = x.protocol == "HTTP/1.0";
    head_request_ = req_parser.get().method() == bhttp::verb::head;
    const auto fields = http::h2::request_fields(req_parser.get(), cluster.tls ? "https" : "http", te_trailers_);
    H1Half half(*this, lr, req_parser);
    H2Request r{w_, cluster, action, lr, up_, x, pick_ctx, fields, has_body, retries, half,
                [this] { up_.idle.restart(); }, &up_.idle.fired};
    const auto result = co_await proxy::forward_h2(r);
    // An unread remainder of the request body makes the connection unusable.
    if (has_body && !half.body_done) keep_alive_ = false;
    switch (result.kind) {
      case H2Result::Kind::kComplete:
        finish(lr, x);
        co_return keep_alive_;
      case H2Result::Kind::kReply: {
        const auto& rep = *result.reply;
        if (result.refusal) lr.malformed(rep.flag)->inc();
        co_await reply(lr, x, rep.status, rep.flag, rep.detail, !keep_alive_ || result.refusal, rep.extra_name,
                       rep.extra_value);
        co_return keep_alive_;
      }
      case H2Result::Kind::kAbortedMidResponse:
      case H2Result::Kind::kDownstreamGone:
        // The head may be downstream already: close so the client sees a
        // truncated message, never a wrong one.
        finish(lr, x);
        co_return false;
    }
    co_return false;
  }

  // A response the proxy generates itself.
  // `extra_name`: one more header field to set (with `extra_value`), if not empty.
  core::Task<void> reply(const ListenerRuntime& lr, Exchange& x, unsigned status,
                              std::string_view flag, std::string_view detail, bool close,
                              std::string_view extra_name = {}, std::string_view extra_value = {}) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    if (grpc_) {
      // A gRPC client reads grpc-status, not the HTTP status: trailers-only.
      using http::grpc::Status;
      const Status code = status == 504 ? Status::kDeadlineExceeded : http::grpc::status_from_http(status);
      const auto g = http::grpc::trailers_only(code, detail);
      res.result(g.http_status);
      for (const auto& f : g.fields) res.set(f.name, f.value);
      status = g.http_status;
    } else {
      res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
      res.body() = fmt::format("{}\n", detail);
    }
    if (!extra_name.empty()) res.set(extra_name, extra_value);
    if (!x.request_id.empty()) res.set("x-request-id", x.request_id);
    res.keep_alive(!close && !drain_);
    if (close) keep_alive_ = false;
    res.prepare_payload();
    x.status = status;
    x.flags = flag;
    x.bytes_out += res.body().size();
    down_dl_.write = after(lr.config->idle_timeout);
    co_await bhttp::async_write(down_, res, kTuple);
    down_dl_.write = kNever;
    finish(lr, x);
  }

  core::Task<void> refuse(const ListenerRuntime& lr, Exchange& x, const http::Rejection& rej) {
    lr.malformed(rej.reason)->inc();
    co_await reply(lr, x, rej.status, rej.reason, rej.detail, true);
  }

  static double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  }

  void finish(const ListenerRuntime& lr, Exchange& x) {
    if (finished_) return;
    finished_ = true;
    record_exchange(lr, snap_.get(), x, client_, tls_ ? &*tls_ : nullptr);
  }

  Worker& w_;
  net::Stream down_;
  IoDeadlines down_dl_;
  UpstreamSlot up_;  // the upstream connection of the exchange in flight, and its deadlines
  std::optional<DownstreamTls> tls_;     // set once the downstream TLS handshake finished
  std::optional<std::string> peer_id_;   // the client's verified SPIFFE ID
  bool down_timed_out_ = false;
  stats::Counter* lr_timeouts_ = nullptr;  // aegis_http_downstream_timeouts_total{kind="response_write"}
  std::string listener_;
  std::string client_ip_, client_;
  std::string auth_buf_, path_buf_, rid_str_, target_buf_;  // reused: no allocation per request once warm
  std::shared_ptr<const Snapshot> snap_;
  beast::flat_buffer dbuf_;
  // An idle plaintext connection's read lands here (then moves to dbuf_):
  // most request heads fit, and the connection holds no dbuf_ while idle.
  std::array<char, 512> first_read_;
  beast::flat_buffer ubuf_;
  std::string up_wbuf_, down_wbuf_;  // write scratch, one per direction (both run at once)
  RelayBuffer req_relay_;
  RelayBuffer res_relay_;
  const config::RouteAction* match_action_ = nullptr;
  retry::RequestRetries* rr_ = nullptr;         // the request's retries during its upstream phase
  const ClusterRuntime* rr_cluster_ = nullptr;  // and its cluster
  bool grpc_ = false;  // the request is gRPC: local replies are trailers-only gRPC errors
  bool idle_ = true;
  bool drain_ = false;
  bool keep_alive_ = true;
  bool finished_ = false;
  bool x_protocol_10_ = false;  // forward_h2: the client spoke HTTP/1.0
  bool head_request_ = false;   // forward_h2: a HEAD request (no body, whatever the fields say)
  bool te_trailers_ = false;    // the client's TE said "trailers" (passed on to an HTTP/2 cluster)
  bool client_fault_ = false;  // the attempt in flight was ended by the client (not reported to outlier detection)
  std::string upgrade_;  // protocol the request asked to switch to ("" = none)
  H2Session* h2_ = nullptr;  // set while the connection speaks HTTP/2
};

}  // namespace

core::Task<void> serve_http(Worker& worker, core::Socket socket, std::string listener) {
  auto snap = worker.snapshot();
  const auto* lr = snap ? snap->find_listener(listener) : nullptr;
  net::Stream stream = lr && lr->tls ? net::Stream(std::move(socket), lr->tls->ctx(), /*server=*/true)
                                     : net::Stream(std::move(socket));
  auto session = std::make_unique<HttpSession>(worker, std::move(snap), std::move(stream), std::move(listener));
  co_await session->run();
}

}  // namespace aegis::proxy
