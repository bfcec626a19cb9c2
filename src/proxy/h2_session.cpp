#include "proxy/h2_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <tuple>

#include "config/values.h"
#include "http/grpc.h"
#include "http/h1_io.h"
#include "http/h1_rules.h"
#include "http/h1_writer.h"
#include "http/h2_translate.h"
#include "proxy/h2_upstream.h"
#include "proxy/request_path.h"
#include "proxy/retry.h"
#include "proxy/upstream_connect.h"
#include "proxy/worker.h"
#include "route/hash_key.h"
#include "route/path_normalize.h"

// GCC 12 reports a false -Wmismatched-new-delete on this file's coroutine
// frames (as in tcp_session.cpp). Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::proxy {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using http::h2::Fields;
using http::h2::H2Stream;
using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: && on awaitables

namespace {

constexpr std::size_t kRelayBuffer = std::size_t{16} * 1024;
constexpr auto kNever = Clock::time_point::max();


// Response fields for HTTP/2: lower-case names (RFC 9113 §8.2.2), after the
// hop-by-hop fields are gone.
void append_fields(Fields& out, const bhttp::fields& in) {
  for (const auto& f : in) out.push_back({config::to_lower(f.name_string()), std::string(f.value())});
}

std::optional<std::uint64_t> parse_length(std::string_view v) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || v.empty()) return std::nullopt;
  return n;
}

}  // namespace

http::h2::Settings h2_settings(const config::Http2Options& o) {
  http::h2::Settings s;
  s.max_concurrent_streams = o.max_concurrent_streams;
  s.initial_stream_window_size = o.initial_stream_window_size;
  s.initial_connection_window_size = o.initial_connection_window_size;
  s.max_header_list_size = o.max_header_list_size;
  s.max_frame_size = o.max_frame_size;
  s.max_continuation_frames = o.max_continuation_frames;
  s.flood_window = o.flood_window;
  s.max_resets_per_window = o.max_resets_per_window;
  s.max_pings_per_window = o.max_pings_per_window;
  s.max_settings_per_window = o.max_settings_per_window;
  s.max_consecutive_empty_frames = o.max_consecutive_empty_frames;
  s.max_outbound_control_frames = o.max_outbound_control_frames;
  s.max_window_updates_per_data_frame_sent = o.max_window_updates_per_data_frame_sent;
  s.max_priority_frames_per_stream = o.max_priority_frames_per_stream;
  return s;
}

// One request stream: everything serve_stream's phases share.
struct H2Session::StreamTask {
  StreamTask(H2Session& session, std::shared_ptr<H2Stream> st)
      : self(session), s(std::move(st)), snap(session.w_.snapshot()) {
    self.slots_.insert(&up);
  }
  ~StreamTask() {
    self.slots_.erase(&up);
    if (--self.tasks_ == 0) self.tasks_done_.notify();
  }
  StreamTask(const StreamTask&) = delete;
  StreamTask& operator=(const StreamTask&) = delete;

  H2Session& self;
  std::shared_ptr<H2Stream> s;
  std::shared_ptr<const Snapshot> snap;  // the whole stream runs on the config it started with
  const ListenerRuntime* lr = nullptr;
  UpstreamSlot up;
  Exchange x;
  bhttp::request<bhttp::empty_body> head;
  bool finished = false;
  bool grpc = false;  // local replies are gRPC-shaped

  retry::RequestRetries* retries = nullptr;  // the route's retry policy, during the upstream phase

  // Duplex state: the request body and the response run at the same time.
  bool pump_done = false, relay_done = false, response_started = false, cancelled = false;
  bool awaiting_client = false;  // the request half waits for body bytes from the client
  bool client_stalled = false;   // ...and still did when the response half timed out (slow POST)
  std::optional<LocalReply> refusal;  // the request body broke a rule

  void finish() {
    if (finished) return;
    finished = true;
    record_exchange(*lr, snap.get(), x, self.d_.client, self.d_.tls ? &*self.d_.tls : nullptr);
  }

  // A response the proxy gives itself: status and a text body, or for a
  // gRPC request a trailers-only gRPC error (a gRPC client reads grpc-status).
  core::Task<void> reply(const LocalReply& r) {
    s->discard_body();  // what the client still sends is not wanted
    std::string body;
    Fields f;
    unsigned status = r.status;
    if (grpc) {
      using http::grpc::Status;
      const Status code = r.status == 504 ? Status::kDeadlineExceeded : http::grpc::status_from_http(r.status);
      const auto g = http::grpc::trailers_only(code, r.detail);
      status = g.http_status;
      f.push_back({":status", std::to_string(status)});
      for (const auto& field : g.fields) f.push_back({field.name, field.value});
    } else {
      body = r.detail + "\n";
      f = {{":status", std::to_string(status)},
           {"content-type", "text/plain; charset=utf-8"},
           {"content-length", std::to_string(body.size())}};
    }
    if (!r.extra_name.empty()) f.push_back({std::string(r.extra_name), r.extra_value});
    if (!x.request_id.empty()) f.push_back({"x-request-id", std::string(x.request_id)});
    x.status = status;
    x.flags = r.flag;
    x.bytes_out += body.size();
    if (body.empty()) {
      s->respond(f, true);
    } else if (s->respond(f, false) && co_await s->write(body)) {
      s->finish();
    }
    finish();
  }

  core::Task<void> refuse(const http::Rejection& rej) {
    lr->malformed(rej.reason)->inc();
    const LocalReply r{rej.status, rej.reason, rej.detail};
    co_await reply(r);
  }

  void stop_other_half(upstream::Stream& sock) {
    cancelled = true;
    sock.cancel();
    s->discard_body();
  }

  enum class Pump { kDone, kRefused, kDownstreamGone, kUpstreamGone, kCancelled };
  // The request body, downstream stream → upstream HTTP/1.1, piece by piece;
  // a piece is acknowledged to the client (consume) once written upstream.
  core::Task<Pump> pump(upstream::Stream& sock, const http::BodyFramer& framer, std::uint64_t limit,
                        std::string& wbuf) {
    auto fail = [&](Pump p) {
      if (!relay_done) stop_other_half(sock);
      return p;
    };
    for (;;) {
      awaiting_client = true;
      auto piece = co_await s->read();
      awaiting_client = false;
      if (relay_done || cancelled) co_return Pump::kCancelled;
      if (piece.reset) co_return fail(Pump::kDownstreamGone);
      x.bytes_in += piece.data.size();
      lr->bytes_received->inc(piece.data.size());
      if (x.bytes_in > limit) {
        lr->malformed("body_too_large")->inc();
        refusal.emplace(413, "body_too_large", "request body exceeds max_request_body_bytes");
        co_return fail(Pump::kRefused);
      }
      if (retries) retries->keep(piece.data);
      up.dl.write = Clock::now() + lr->config->idle_timeout;
      auto ec = co_await http::write_body_piece(sock, wbuf, framer, piece.data, piece.end);
      up.dl.write = kNever;
      if (ec) co_return relay_done ? Pump::kCancelled : Pump::kUpstreamGone;
      s->consume(piece.data.size());
      if (piece.end) break;
    }
    pump_done = true;
    co_return Pump::kDone;
  }

  enum class Relay { kComplete, kRetry, kRetryNext, kTimeout, kUpstreamGone, kInvalid, kAbortedMidResponse,
                     kDownstreamGone, kCancelled };
  // The response, upstream HTTP/1.1 → downstream stream.
  core::Task<Relay> relay(upstream::Stream& sock, boost::beast::flat_buffer& ubuf, const config::RouteAction& action,
                          std::optional<Clock::time_point> deadline, bool has_body, bool& upstream_keep_alive) {
    auto done = [&](Relay r) {
      relay_done = true;
      client_stalled = r == Relay::kTimeout && !pump_done && awaiting_client;
      if (!pump_done && !cancelled) stop_other_half(sock);
      return r;
    };
    auto read_deadline = [&] { return deadline ? *deadline : Clock::now() + lr->config->idle_timeout; };
    const auto& lc = *lr->config;
    std::optional<bhttp::response_parser<bhttp::buffer_body>> slot;
    for (;;) {  // 1xx interim responses are dropped
      auto& p = slot.emplace();
      p.header_limit(lc.limits.max_response_header_bytes);
      p.body_limit(boost::none);
      if (head.method() == bhttp::verb::head) p.skip(true);
      if (cancelled) co_return done(Relay::kCancelled);
      up.dl.read = read_deadline();
      auto [ec, n] = http::parse_buffered(ubuf, p);
      if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await http::read_header(sock, ubuf, p);
      up.dl.read = kNever;
      if (ec) {
        if (up.timed_out) co_return done(Relay::kTimeout);
        if (cancelled) co_return done(Relay::kCancelled);
        if (is_disconnect(ec) && ubuf.size() == 0 && !has_body) co_return done(Relay::kRetry);
        co_return done(is_disconnect(ec) ? Relay::kUpstreamGone : Relay::kInvalid);
      }
      const auto code = p.get().result_int();
      if (code < 100 || code >= 200) break;
      if (code == 101) co_return done(Relay::kInvalid);  // nobody asked to switch protocols
    }
    auto& parser = *slot;
    auto& uhead = parser.get();
    x.attempt = {upstream::AttemptResult::Kind::kResponse, uhead.result_int(), Clock::now() - x.attempt_start};
    if (retries && retries->state().policy()) {
      // A retriable answer (by status or grpc-status) is not relayed when
      // another attempt is granted.
      const retry::Attempt answered = retry::answered(uhead);
      if (retries->granted(answered, retries->body_kept(pump_done), self.w_.random())) co_return done(Relay::kRetryNext);
    }
    upstream_keep_alive = uhead.keep_alive();
    const bool res_has_body = !parser.is_done();
    http::remove_hop_by_hop(uhead.base());
    uhead.set("x-request-id", x.request_id);
    apply_header_rules(uhead.base(), action.response_headers_to_remove, action.response_headers_to_add);
    const std::string status = std::to_string(uhead.result_int());
    Fields fields{{":status", status}};
    append_fields(fields, uhead.base());
    x.status = uhead.result_int();
    response_started = true;
    if (cancelled) co_return done(Relay::kCancelled);
    if (!s->respond(fields, !res_has_body)) co_return done(Relay::kDownstreamGone);
    std::array<char, kRelayBuffer> buf;
    while (res_has_body) {
      uhead.body().data = buf.data();
      uhead.body().size = buf.size();
      if (cancelled) co_return done(Relay::kCancelled);
      up.dl.read = read_deadline();
      auto [ec, n] = http::parse_buffered(ubuf, parser);
      if (ec == bhttp::error::need_more) std::tie(ec, n) = co_await http::read_some(sock, ubuf, parser);
      up.dl.read = kNever;
      if (ec && ec != bhttp::error::need_buffer) {
        if (cancelled && !up.timed_out) co_return done(Relay::kCancelled);
        co_return done(up.timed_out ? Relay::kTimeout : Relay::kAbortedMidResponse);
      }
      const auto got = buf.size() - uhead.body().size;
      if (got > 0) {
        x.bytes_out += got;
        lr->bytes_sent->inc(got);
        // Waits while the client's windows are closed: the upstream is read
        // no faster than the client takes the bytes.
        if (!co_await s->write(std::string_view(buf.data(), got))) co_return done(Relay::kDownstreamGone);
      }
      if (parser.is_done()) break;
    }
    if (res_has_body) s->finish();
    upstream_keep_alive = upstream_keep_alive && parser.is_done();
    co_return done(Relay::kComplete);
  }
};

// The downstream half of a stream forwarded to an HTTP/2 cluster (h2 → h2):
// body pieces and trailers pass through as they come, each acknowledged to
// the client once it is with the upstream stream.
class H2Session::H2Half final : public DownstreamHalf {
 public:
  H2Half(StreamTask& t, std::uint64_t body_limit) : t_(t), limit_(body_limit) {}

  core::Task<Piece> read_body() override {
    auto piece = co_await t_.s->read();
    if (piece.reset) co_return Piece{{}, false, true};
    received_ += piece.data.size();
    if (received_ > limit_) {
      refusal.emplace(413, "body_too_large", "request body exceeds max_request_body_bytes");
      co_return Piece{{}, false, true};
    }
    buf_ = std::move(piece.data);
    body_done = piece.end;
    co_return Piece{buf_, piece.end, false};
  }
  void forwarded(std::size_t n) override { t_.s->consume(n); }
  Fields request_trailers() override { return t_.s->trailers(); }
  core::Task<bool> send_head(bhttp::response_header<>& head, bool has_body) override {
    has_body_ = has_body;
    Fields f{{":status", std::to_string(head.result_int())}};
    append_fields(f, head);
    co_return t_.s->respond(f, !has_body);
  }
  core::Task<bool> send_data(std::string_view data) override { co_return co_await t_.s->write(data); }
  core::Task<bool> send_end(const Fields& trailers) override {
    if (has_body_) t_.s->finish(trailers);
    co_return !t_.s->closed() || t_.s->error_code() == NGHTTP2_NO_ERROR;
  }
  void cancel() override { t_.s->discard_body(); }

 private:
  StreamTask& t_;
  std::uint64_t limit_;
  std::uint64_t received_ = 0;
  std::string buf_;
  bool has_body_ = false;
};

core::Task<void> H2Session::forward_h2(StreamTask& t, const ClusterRuntime& cluster, const config::RouteAction& action,
                                       std::uint64_t body_limit, const upstream::PickContext& pick_ctx,
                                       retry::RequestRetries& retries, bool has_body, const Fields& fields) {
  H2Half half(t, body_limit);
  H2Request r{w_, cluster, action, *t.lr, t.up, t.x, pick_ctx, fields, has_body, retries, half,
              [&t] { t.up.idle.restart(); }, &t.up.idle.fired};
  const auto result = co_await proxy::forward_h2(r);
  switch (result.kind) {
    case H2Result::Kind::kComplete:
      t.finish();
      co_return;
    case H2Result::Kind::kReply:
      if (result.refusal) t.lr->malformed(result.reply->flag)->inc();
      co_await t.reply(*result.reply);
      co_return;
    case H2Result::Kind::kAbortedMidResponse:
      // Only this stream: the client sees a truncated response, never a wrong one.
      t.s->reset(NGHTTP2_INTERNAL_ERROR);
      t.finish();
      co_return;
    case H2Result::Kind::kDownstreamGone:
      t.s->reset(NGHTTP2_CANCEL);
      t.finish();
      co_return;
  }
}

H2Session::H2Session(Worker& w, Downstream d, const ListenerRuntime& lr)
    : w_(w),
      d_(d),
      idle_timeout_(lr.config->idle_timeout),
      resets_received_(lr.h2_resets_received),
      resets_sent_(lr.h2_resets_sent),
      goaways_sent_(lr.h2_goaways_sent),
      floods_(lr.h2_floods),
      write_timeouts_(lr.downstream_timeouts("response_write")),
      stream_errors_{lr.malformed("h2_invalid_header"), lr.malformed("h2_invalid_message"),
                     lr.malformed("h2_protocol_error")},
      conn_(d.stream, http::h2::Role::kServer, h2_settings(lr.config->http2),
            http::h2::Connection::Callbacks{
                [this](std::shared_ptr<H2Stream> s) {
                  ++tasks_;  // counted now: run() must not end before this task does
                  asio::co_spawn(w_.io().get_executor(), serve_stream(std::move(s)), asio::detached);
                },
                [this](http::h2::FloodKind kind) {
                  floods_.at(static_cast<std::size_t>(kind))->inc();
                  spdlog::warn("listener '{}': HTTP/2 {} flood from {}: GOAWAY", d_.listener,
                               http::h2::flood_kind_name(kind), d_.client);
                },
                [this](std::string_view reason) {
                  spdlog::debug("listener '{}': HTTP/2 protocol error from {}: {}", d_.listener, d_.client, reason);
                  const std::size_t i = reason == "h2_invalid_header" ? 0 : reason == "h2_invalid_message" ? 1 : 2;
                  stream_errors_.at(i)->inc();
                },
                [this](http::h2::Connection::Callbacks::Event e) {
                  using E = http::h2::Connection::Callbacks::Event;
                  if (e == E::kResetReceived) resets_received_->inc();
                  if (e == E::kResetSent) resets_sent_->inc();
                  if (e == E::kGoawaySent) goaways_sent_->inc();
                }}),
      tasks_done_(d.stream.get_executor()) {
  lr.h2_connections->inc();
}

H2Session::~H2Session() = default;

core::Task<void> H2Session::run(std::string preread) {
  co_await conn_.run(std::move(preread));
  // The connection is gone: every stream is closed; stop their upstreams.
  for (auto* slot : slots_)
    if (slot->sock) slot->sock->cancel();
  while (tasks_ > 0) co_await tasks_done_.wait();
}

void H2Session::on_drain() { conn_.shutdown(); }

void H2Session::on_tick(Clock::time_point now) {
  if (conn_.open_streams() == 0 && tasks_ == 0 && now - conn_.last_activity() >= idle_timeout_) conn_.shutdown();
  // A client that stops reading stalls our writes: as HTTP/1.1, idle_timeout bounds it.
  if (conn_.write_started() != kNever && now - conn_.write_started() >= idle_timeout_) {
    if (!write_timed_out_) write_timeouts_->inc();
    write_timed_out_ = true;
    conn_.abort();
  }
  for (auto* slot : slots_) slot->tick(now);
}

core::Task<void> H2Session::serve_stream(std::shared_ptr<H2Stream> stream) {
  StreamTask t(*this, std::move(stream));
  auto& s = *t.s;
  t.lr = t.snap ? t.snap->find_listener(d_.listener) : nullptr;
  if (!t.lr) {
    s.reset(NGHTTP2_REFUSED_STREAM);  // the listener went away in a reload
    co_return;
  }
  const auto& lr = *t.lr;
  const auto& lc = *lr.config;
  lr.h2_streams->inc();
  lr.h2_streams_active->add();
  struct ActiveStream {
    stats::Gauge* g;
    ~ActiveStream() { g->sub(); }
  } active{lr.h2_streams_active};
  auto& x = t.x;
  x.protocol = "HTTP/2";

  // Phase: the request head, as HTTP/1.1 fields (one head type for both codecs).
  auto& head = t.head;
  std::string_view method, path, authority;
  for (const auto& f : s.head()) {
    if (f.name == ":method") method = f.value;
    else if (f.name == ":path") path = f.value;
    else if (f.name == ":authority") authority = f.value;
    else if (f.name.front() != ':') head.insert(f.name, f.value);
  }
  head.method_string(method);
  head.target(path);
  head.version(11);
  // :authority wins over Host (RFC 9113 §8.3.1).
  if (!authority.empty()) head.set(bhttp::field::host, authority);
  if (auto it = head.find(bhttp::field::content_type); it != head.end())
    t.grpc = http::grpc::is_grpc_content_type(it->value());
  x.method = head.method_string();
  x.path = head.target();
  x.authority = http::request_authority(head);

  // Phase: check_head.
  if (s.head_too_large()) {
    const http::Rejection rej{431, "header_too_large", "request head exceeds http2.max_header_list_size"};
    co_await t.refuse(rej);
    co_return;
  }
  if (head.method() == bhttp::verb::connect) {
    const http::Rejection rej{501, "connect_not_supported", "CONNECT is not supported"};
    co_await t.refuse(rej);
    co_return;
  }
  if (auto rej = http::check_request_head(head, {lc.limits.max_request_headers, lc.limits.max_request_line_bytes})) {
    co_await t.refuse(*rej);
    co_return;
  }
  x.request_id = pick_request_id(head, w_, x);
  const bool generated_id = x.request_id.data() == x.rid_buf.data();
  std::string rid_copy;
  if (!generated_id) {
    rid_copy.assign(x.request_id);  // the field it views is rewritten below
    x.request_id = rid_copy;
  }
  std::optional<std::uint64_t> content_length;
  if (auto it = head.find(bhttp::field::content_length); it != head.end()) content_length = parse_length(it->value());
  const bool has_body = s.has_body();

  // Phase: route (with the listener's and the route's admission rules), on
  // the normalized path, which is also what goes upstream.
  auto normalized = route::normalize_target(path, route::path_normalization(lc));
  if (!normalized) {
    const http::Rejection rej{400, "invalid_path", "request path is malformed or has a forbidden escape"};
    co_await t.refuse(rej);
    co_return;
  }
  const std::string target = std::move(*normalized);  // x.path views the head, which is rewritten below
  const std::string auth(x.authority);
  x.path = target;
  x.authority = auth;
  auto admission = admit_request(lr, *t.snap, head, auth, target.substr(0, target.find('?')), content_length,
                                 Requester{d_.client, d_.peer_id});
  if (auto* local = std::get_if<LocalReply>(&admission)) {
    co_await t.reply(*local);
    co_return;
  }
  const auto& admitted = std::get<Admitted>(admission);
  const auto& action = admitted.route->action;

  // The hash key for ring_hash / maglev (route hash_policy), from the client's head.
  upstream::PickContext pick_ctx;
  if (!action.hash_policy.empty()) {
    pick_ctx.hash = route::request_hash(action.hash_policy, header_lookup(head), d_.client_ip);
  }

  // The HTTP/1.1 request head that goes upstream.
  const bool te_trailers = http::h2::te_trailers(head.base());  // for an HTTP/2 cluster; the rewrite drops TE
  rewrite_upstream_request(head.base(),
                           Forwarding{d_.client_ip, d_.tls.has_value(), lc.xff_trust_downstream, d_.peer_id,
                                      x.request_id, generated_id},
                           action);
  head.target(target);
  const bool chunked = has_body && !content_length;
  if (chunked) head.set(bhttp::field::transfer_encoding, "chunked");
  if (content_length) head.set(bhttp::field::content_length, std::to_string(*content_length));
  // grpc-timeout is the deadline when it is sooner than the route's.
  std::optional<std::chrono::nanoseconds> grpc_timeout;
  if (auto it = head.find("grpc-timeout"); it != head.end()) {
    grpc_timeout = http::grpc::parse_timeout(it->value());
    if (!grpc_timeout) lr.grpc_timeout_invalid->inc();
  }
  const auto deadline = request_deadline(Clock::now(), action.timeout, grpc_timeout);
  // Circuit breaker: requests in flight to the cluster (all workers).
  const auto* cluster = t.snap->find_cluster(action.cluster);
  const upstream::BreakerSlot request_slot =
      cluster ? upstream::acquire(*cluster->breakers, upstream::CircuitBreakers::Resource::kRequests)
              : upstream::BreakerSlot();
  if (!request_slot.held()) {
    if (cluster) cluster->breaker_overflow[static_cast<std::size_t>(upstream::CircuitBreakers::Resource::kRequests)]->inc();
    const LocalReply r{503, "upstream_overflow",
                       fmt::format("cluster '{}' is at circuit_breakers.{}", action.cluster,
                                   upstream::CircuitBreakers::name(upstream::CircuitBreakers::Resource::kRequests)),
                       false, "x-aegis-overloaded", "true"};
    co_await t.reply(r);
    co_return;
  }

  // The route's retry policy and idle_timeout, for every attempt below.
  retry::RetryState retry(action.retry_policy ? &*action.retry_policy : nullptr, *cluster->config,
                          *cluster->breakers, cluster->retries);
  retry::RequestRetries retries(retry, x.method, has_body, deadline);
  t.retries = &retries;
  t.up.idle.arm(x, action.idle_timeout);
  if (cluster->config->protocol == config::UpstreamProtocol::kHttp2) {
    const auto fields = http::h2::request_fields(head, cluster->tls ? "https" : "http", te_trailers);
    co_await forward_h2(t, *cluster, action, admitted.body_limit, pick_ctx, retries, has_body, fields);
    co_return;
  }
  std::string head_bytes;  // HTTP/1.1 clusters only: serialized once, written by every attempt
  http::append_head(head_bytes, head);

  // Phase: connect_upstream, then the exchange: retried once, like HTTP/1.1,
  // when a pooled connection turns out dead before any response byte, and as
  // the route's retry_policy says (a retry sends the body the first attempt
  // kept).
  using Kind = upstream::AttemptResult::Kind;
  EndpointsTried tried;
  bool replay = false;
  for (int attempt = 0;; ++attempt) {
    x.attempt_start = Clock::now();
    x.attempt = {Kind::kReset, 0, {}};
    x.retries = retry.retries();
    auto conn = co_await open_upstream(w_, action.cluster, t.up, /*check_liveness=*/has_body && !replay, x, pick_ctx,
                                       tried.span());
    if (conn.failure) {
      const retry::Attempt failed{Kind::kConnectFailure, 0, {}, false};
      if (conn.connect_failed && retries.granted(failed, !has_body || replay, w_.random())) {
        tried.add(conn.pick->index);
        co_await retry::sleep(w_.io().get_executor(), retries.backoff());
        continue;
      }
      co_await t.reply(*conn.failure);
      co_return;
    }
    auto& pick = *conn.pick;
    auto& sock = *conn.stream;
    const auto& ep = *pick.runtime;
    ActiveRequest busy(pick, ep);
    ep.requests->inc();
    t.up.attach(sock, kNever);
    t.up.idle.restart();
    const auto try_deadline = retries.attempt_deadline();
    boost::beast::flat_buffer ubuf;
    std::string wbuf = head_bytes;
    const http::BodyFramer framer(chunked);
    if (replay) {
      framer.append(wbuf, retries.body());
      framer.append_end(wbuf);
    }
    t.pump_done = !has_body || replay;
    t.relay_done = t.cancelled = t.response_started = t.client_stalled = false;
    bool upstream_keep_alive = false;
    using Pump = StreamTask::Pump;
    using Relay = StreamTask::Relay;
    Pump pumped = Pump::kDone;
    Relay relayed = Relay::kCancelled;
    t.up.dl.write = Clock::now() + lc.idle_timeout;
    auto [wec, wn] = co_await asio::async_write(sock, asio::buffer(wbuf), core::kAwait);
    t.up.dl.write = kNever;
    wbuf.clear();
    if (wec) {
      relayed = Relay::kRetry;
    } else if (!t.pump_done) {
      std::tie(pumped, relayed) = co_await (t.pump(sock, framer, admitted.body_limit, wbuf) &&
                                            t.relay(sock, ubuf, action, try_deadline, has_body, upstream_keep_alive));
    } else {
      relayed = co_await t.relay(sock, ubuf, action, try_deadline, has_body, upstream_keep_alive);
    }
    t.up.detach();
    if (relayed == Relay::kRetry && conn.reused && attempt == 0 && !has_body) {
      close_upstream(sock, ep);  // a pooled connection the upstream had closed
      tried.add(pick.index);
      continue;
    }
    if (relayed == Relay::kTimeout && !t.response_started) x.attempt.kind = Kind::kTimeout;
    if (x.attempt.kind != Kind::kResponse) x.attempt.latency = Clock::now() - x.attempt_start;
    // Slow POST: the route timeout passed while the upstream, not having the
    // whole body yet, waited for the client: the client's fault (408).
    const bool slow_body = relayed == Relay::kTimeout && !t.response_started && t.client_stalled;
    if (slow_body) t.refusal.emplace(408, "request_body_timeout", "request body not received within the route timeout");
    // An attempt the client ended (reset, body rule, slow body) says nothing
    // about the endpoint: outlier detection must not count it against it.
    const bool client_fault = !t.response_started && (t.refusal || relayed == Relay::kDownstreamGone ||
                                                      relayed == Relay::kCancelled);
    if (!client_fault) w_.report(action.cluster, pick, x.attempt);
    if (relayed == Relay::kComplete && pumped == Pump::kDone && upstream_keep_alive && ubuf.size() == 0)
      pick.state->pool.put_idle(std::move(sock));
    else
      close_upstream(sock, ep);
    ep.response_time->observe(std::chrono::duration<double>(Clock::now() - x.start).count());
    retry.attempt_done();

    if (t.refusal && !t.response_started) {
      if (slow_body) lr.malformed("request_body_timeout")->inc();
      co_await t.reply(*t.refusal);
      co_return;
    }
    // Before anything went downstream, a failed attempt may go again.
    const bool replayable = !has_body || replay || retries.body_kept(t.pump_done);
    bool again = relayed == Relay::kRetryNext;
    if (!again && !t.response_started && replayable) {
      if (relayed == Relay::kTimeout) {
        const bool per_try = retries.per_try_armed() && !t.up.idle.fired;
        if (per_try) cluster->per_try_timeouts->inc();
        again = retries.granted({Kind::kTimeout, 0, {}, per_try}, true, w_.random());
      } else if (relayed == Relay::kRetry || relayed == Relay::kUpstreamGone || relayed == Relay::kInvalid) {
        again = retries.granted({Kind::kReset, 0, {}, false}, true, w_.random());
      }
      if (again && relayed == Relay::kTimeout) ep.timeouts->inc();
      if (again && relayed != Relay::kTimeout) ep.errors_reset_before_response->inc();
    }
    if (again) {
      tried.add(pick.index);
      replay = has_body;
      co_await retry::sleep(w_.io().get_executor(), retries.backoff());
      continue;
    }
    switch (relayed) {
      case Relay::kComplete:
        if (x.attempt.kind == Kind::kResponse) retry.finished();
        t.finish();
        co_return;
      case Relay::kRetryNext:
        break;  // handled above
      case Relay::kTimeout:
        ep.timeouts->inc();
        if (t.response_started) {
          x.flags = "upstream_timeout_mid_response";
          s.reset(NGHTTP2_INTERNAL_ERROR);
          t.finish();
          co_return;
        }
        {
          const LocalReply r{504, "upstream_timeout", "upstream did not respond within the route timeout"};
          co_await t.reply(r);
        }
        co_return;
      case Relay::kRetry:
      case Relay::kUpstreamGone:
      case Relay::kInvalid: {
        ep.errors_reset_before_response->inc();
        const bool invalid = relayed == Relay::kInvalid;
        const LocalReply r{502, invalid ? "upstream_invalid_response" : "upstream_reset_before_response",
                           invalid ? "upstream sent an invalid response head"
                                   : "upstream connection closed or reset before a response"};
        co_await t.reply(r);
        co_return;
      }
      case Relay::kAbortedMidResponse:
        // The head is already downstream: only this stream is reset, so the
        // client sees a truncated response, never a wrong one.
        ep.errors_reset_mid_response->inc();
        x.flags = "upstream_reset_mid_response";
        s.reset(NGHTTP2_INTERNAL_ERROR);
        t.finish();
        co_return;
      case Relay::kDownstreamGone:
      case Relay::kCancelled:
        break;
    }
    x.flags = "downstream_disconnect";
    s.reset(NGHTTP2_CANCEL);
    t.finish();
    co_return;
  }
}

}  // namespace aegis::proxy
