#include "http/h2_connection.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace aegis::http::h2 {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: && on awaitables

namespace {

constexpr std::size_t kWriteBatch = std::size_t{64} * 1024;  // mem_send output gathered into one write
constexpr std::size_t kReadBuffer = std::size_t{16} * 1024;

std::vector<nghttp2_nv> to_nv(const Fields& fields) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(fields.size());
  for (const auto& f : fields) {
    // nghttp2 copies names and values when the frame is submitted.
    nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.name.data())),
                   reinterpret_cast<std::uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(),
                   f.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return nva;
}

bool is_interim(const Fields& head) {
  auto status = find_field(head, ":status");
  return status && status->size() == 3 && status->front() == '1' && *status != "101";
}

}  // namespace

std::optional<std::string_view> find_field(const Fields& fields, std::string_view name) {
  for (const auto& f : fields)
    if (f.name == name) return std::string_view(f.value);
  return std::nullopt;
}

// ---------------------------------------------------------------- H2Stream

H2Stream::H2Stream(Connection& conn, std::int32_t id, const core::Executor& ex)
    : conn_(&conn), id_(id), readable_(ex), writable_(ex) {}

core::Task<bool> H2Stream::wait_head() {
  while (!head_done_ && !closed_) co_await readable_.wait();
  co_return head_done_;
}

core::Task<H2Stream::Piece> H2Stream::read() {
  for (;;) {
    if (discard_ || (closed_ && error_code_ != NGHTTP2_NO_ERROR)) co_return Piece{{}, false, true};
    if (!in_.empty() || in_end_) {
      Piece p{std::move(in_), in_end_, false};
      in_.clear();
      co_return p;
    }
    if (closed_) co_return Piece{{}, false, true};  // the connection ended mid-body
    co_await readable_.wait();
  }
}

void H2Stream::consume(std::size_t n) {
  if (conn_ == nullptr || closed_) return;  // a closed stream's window went back to the connection
  n = std::min(n, unconsumed_);
  if (n == 0) return;
  unconsumed_ -= n;
  nghttp2_session_consume(conn_->session_.get(), id_, n);
  conn_->kick();
}

bool H2Stream::respond(const Fields& head, bool end_stream) {
  if (conn_ == nullptr || closed_) return false;
  const auto nva = to_nv(head);
  auto prd = conn_->provider();
  out_provider_ = !end_stream;
  const int rv = nghttp2_submit_response(conn_->session_.get(), id_, nva.data(), nva.size(),
                                         end_stream ? nullptr : &prd);
  conn_->kick();
  return rv == 0;
}

core::Task<bool> H2Stream::write(std::string_view data) {
  while (conn_ != nullptr && !closed_ && out_.size() - out_off_ >= kSendBuffer) co_await writable_.wait();
  if (conn_ == nullptr || closed_ || out_end_) co_return false;
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ >= kSendBuffer / 2) {
    out_.erase(0, out_off_);
    out_off_ = 0;
  }
  out_.append(data);
  if (out_deferred_) {
    out_deferred_ = false;
    nghttp2_session_resume_data(conn_->session_.get(), id_);
  }
  conn_->kick();
  co_return true;
}

void H2Stream::finish(Fields trailers) {
  if (conn_ == nullptr || closed_ || out_end_) return;
  out_end_ = true;
  out_trailers_ = std::move(trailers);
  if (out_deferred_) {
    out_deferred_ = false;
    nghttp2_session_resume_data(conn_->session_.get(), id_);
  }
  conn_->kick();
}

void H2Stream::discard_body() {
  if (discard_) return;
  discard_ = true;
  in_.clear();
  consume(unconsumed_);
  readable_.notify();
}

void H2Stream::reset(std::uint32_t error_code) {
  if (conn_ == nullptr || closed_) return;
  nghttp2_submit_rst_stream(conn_->session_.get(), NGHTTP2_FLAG_NONE, id_, error_code);
  conn_->kick();
}

// ---------------------------------------------------------------- callbacks

struct Connection::Cb {
  static Connection& self(void* user) { return *static_cast<Connection*>(user); }

  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    auto& c = self(user);
    if (auto kind = c.guard_.on_frame(hd->type, hd->flags, static_cast<std::uint32_t>(hd->length), Clock::now())) {
      c.flood(*kind);
      return NGHTTP2_ERR_CALLBACK_FAILURE;  // stop reading this connection now
    }
    return 0;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (c.role_ == Role::kServer && frame->hd.type == NGHTTP2_HEADERS &&
        frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      const auto id = frame->hd.stream_id;
      c.streams_[id] = std::make_shared<H2Stream>(c, id, c.io_.get_executor());
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t /*flags*/, void* user) {
    auto& c = self(user);
    auto s = c.find(frame->hd.stream_id);
    if (!s) return 0;
    // Every field counts against the limit, kept or not (RFC 9113 §6.5.2).
    s->head_bytes_ += namelen + valuelen + 32;
    if (s->head_bytes_ > c.settings_.max_header_list_size) {
      s->head_too_large_ = true;
      return 0;  // keep decoding (HPACK state), store nothing more
    }
    auto& target = s->head_done_ ? s->trailers_ : s->head_;
    target.push_back({std::string(reinterpret_cast<const char*>(name), namelen),
                      std::string(reinterpret_cast<const char*>(value), valuelen)});
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    switch (frame->hd.type) {
      case NGHTTP2_GOAWAY:
        c.closing_ = true;
        c.event(Callbacks::Event::kGoawayReceived);
        return 0;
      case NGHTTP2_RST_STREAM:
        c.event(Callbacks::Event::kResetReceived);
        if (auto kind = c.guard_.on_peer_reset(Clock::now())) {
          c.flood(*kind);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        break;
      default:
        return 0;
    }
    auto s = c.find(frame->hd.stream_id);
    if (!s) return 0;
    // Before on_request: a HEADERS frame with END_STREAM is a request without
    // a body, and the handler may look at that at once.
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->in_end_ = true;
    if (frame->hd.type == NGHTTP2_HEADERS && (frame->hd.flags & NGHTTP2_FLAG_END_HEADERS) && !s->head_done_) {
      if (c.role_ == Role::kClient && is_interim(s->head_)) {
        s->head_.clear();  // 100 Continue and friends: the final head follows
        s->head_bytes_ = 0;
      } else {
        s->head_done_ = true;
        s->head_bytes_ = 0;  // trailers get a limit of their own
        if (c.role_ == Role::kServer && c.cb_.on_request) c.cb_.on_request(s);
      }
    }
    s->readable_.notify();
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t /*flags*/, std::int32_t id, const std::uint8_t* data,
                           std::size_t len, void* user) {
    auto& c = self(user);
    auto s = c.find(id);
    if (!s || s->closed_ || s->discard_) {
      nghttp2_session_consume(session, id, len);  // nobody will read it: give the window back
      return 0;
    }
    s->in_.append(reinterpret_cast<const char*>(data), len);
    s->unconsumed_ += len;
    s->readable_.notify();
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* user) {
    auto& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    auto s = it->second;
    c.streams_.erase(it);
    s->closed_ = true;
    s->error_code_ = error_code;
    s->conn_ = nullptr;
    // Bytes nobody consumed yet go back to the connection window (once
    // mem_recv returns); what is unread stays readable.
    c.pending_connection_consume_ += s->unconsumed_;
    s->unconsumed_ = 0;
    if (error_code == NGHTTP2_NO_ERROR) c.guard_.on_stream_completed(Clock::now());
    s->wake();
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type == NGHTTP2_RST_STREAM) c.event(Callbacks::Event::kResetSent);
    // A stream or the connection refused for breaking the protocol: counted once.
    const bool stream_error = frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code == NGHTTP2_PROTOCOL_ERROR;
    const bool conn_error = frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
                            frame->goaway.error_code != NGHTTP2_ENHANCE_YOUR_CALM;
    if ((stream_error || conn_error) && c.cb_.on_stream_error) {
      const bool known = stream_error ? frame->hd.stream_id == c.invalid_stream_ : c.invalid_stream_ >= 0;
      c.cb_.on_stream_error(known ? c.invalid_reason_ : stream_error ? "h2_invalid_message" : "h2_protocol_error");
      c.invalid_stream_ = -1;
    }
    if (frame->hd.type == NGHTTP2_DATA) c.guard_.on_data_sent();
    if (frame->hd.type == NGHTTP2_GOAWAY) c.event(Callbacks::Event::kGoawaySent);
    return 0;
  }

  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* user) {
    auto& c = self(user);
    // A stable label per class of error (a metric label: bounded set).
    // Reported when the RST_STREAM / GOAWAY it leads to is sent (on_frame_send):
    // nghttp2 resets some streams (content-length mismatch) without this call.
    c.invalid_stream_ = frame ? frame->hd.stream_id : 0;
    c.invalid_reason_ = lib_error == NGHTTP2_ERR_HTTP_HEADER      ? "h2_invalid_header"
                        : lib_error == NGHTTP2_ERR_HTTP_MESSAGING ? "h2_invalid_message"
                                                                  : "h2_protocol_error";
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& c = self(user);
    auto s = c.find(id);
    if (!s) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t avail = s->out_.size() - s->out_off_;
    const std::size_t n = std::min(avail, length);
    if (n > 0) {
      std::memcpy(buf, std::string_view(s->out_).substr(s->out_off_, n).data(), n);
      s->out_off_ += n;
      s->writable_.notify();
    }
    if (s->out_off_ == s->out_.size() && s->out_end_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s->out_trailers_.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const auto nva = to_nv(s->out_trailers_);
        nghttp2_submit_trailer(session, id, nva.data(), nva.size());
      }
      return static_cast<ssize_t>(n);
    }
    if (n == 0) {
      s->out_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(n);
  }
};

// ---------------------------------------------------------------- Connection

Connection::Connection(net::Stream& io, Role role, const Settings& settings, Callbacks callbacks)
    : io_(io), role_(role), settings_(settings), cb_(std::move(callbacks)), guard_(settings_),
      want_write_(io.get_executor()) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, Cb::on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Cb::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Cb::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Cb::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Cb::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Cb::on_stream_close);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, Cb::on_invalid_frame);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, Cb::on_frame_send);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // nghttp2's own backstops, just above ours so that ours name the event.
  nghttp2_option_set_max_continuations(opt, settings_.max_continuation_frames + 1);
  nghttp2_option_set_max_outbound_ack(opt, settings_.max_outbound_control_frames);
  if (role == Role::kClient) nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
  nghttp2_session* s = nullptr;
  if (role == Role::kServer)
    nghttp2_session_server_new2(&s, cbs, this, opt);
  else
    nghttp2_session_client_new2(&s, cbs, this, opt);
  session_.reset(s);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  submit_settings();
}

Connection::~Connection() { detach_all(); }

void Connection::submit_settings() {
  std::vector<nghttp2_settings_entry> iv{
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window_size},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, settings_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
  };
  if (role_ == Role::kClient) iv.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, iv.data(), iv.size());
  nghttp2_session_set_local_window_size(session_.get(), NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(settings_.initial_connection_window_size));
}

nghttp2_data_provider Connection::provider() {
  nghttp2_data_provider prd{};
  prd.source.ptr = nullptr;
  prd.read_callback = Cb::read_body;
  return prd;
}

std::shared_ptr<H2Stream> Connection::find(std::int32_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void Connection::flood(FloodKind kind) {
  if (flooded_) return;
  flooded_ = true;
  closing_ = true;
  nghttp2_session_terminate_session(session_.get(), NGHTTP2_ENHANCE_YOUR_CALM);
  if (cb_.on_flood) cb_.on_flood(kind);
  kick();
}

bool Connection::can_submit() const {
  if (closing_ || reading_done_ || writing_done_) return false;
  if (nghttp2_session_check_request_allowed(session_.get()) == 0) return false;
  const auto limit = nghttp2_session_get_remote_settings(session_.get(), NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < limit;
}

std::shared_ptr<H2Stream> Connection::submit_request(const Fields& head, bool end_stream) {
  if (!can_submit()) return nullptr;
  const auto nva = to_nv(head);
  auto prd = provider();
  const auto id = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(),
                                         end_stream ? nullptr : &prd, nullptr);
  if (id < 0) return nullptr;
  auto s = std::make_shared<H2Stream>(*this, id, io_.get_executor());
  s->out_provider_ = !end_stream;
  streams_[id] = s;
  kick();
  return s;
}

void Connection::shutdown() {
  if (closing_) return;
  closing_ = true;
  nghttp2_submit_goaway(session_.get(), NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_.get()),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  kick();
}

void Connection::terminate(std::uint32_t error_code) {
  closing_ = true;
  nghttp2_session_terminate_session(session_.get(), error_code);
  kick();
}

void Connection::abort() {
  reading_done_ = true;
  io_.cancel();
  kick();
}

bool Connection::feed(const char* data, std::size_t n) {
  const auto rv = nghttp2_session_mem_recv(session_.get(), reinterpret_cast<const std::uint8_t*>(data), n);
  if (pending_connection_consume_ > 0) {
    nghttp2_session_consume_connection(session_.get(), pending_connection_consume_);
    pending_connection_consume_ = 0;
  }
  kick();
  if (rv >= 0) return !flooded_;
  if (!flooded_) {
    // nghttp2's own limits (the backstops) and protocol errors.
    switch (rv) {
      case NGHTTP2_ERR_FLOODED:
        flood(FloodKind::kOutboundQueue);
        break;
      case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        flood(FloodKind::kContinuation);
        break;
      case NGHTTP2_ERR_TOO_MANY_SETTINGS:
        flood(FloodKind::kSettings);
        break;
      default:
        if (cb_.on_stream_error) cb_.on_stream_error(nghttp2_strerror(static_cast<int>(rv)));
        terminate(NGHTTP2_PROTOCOL_ERROR);
        break;
    }
  }
  return false;
}

core::Task<void> Connection::read_loop(std::string preread) {
  bool ok = preread.empty() || feed(preread.data(), preread.size());
  std::array<char, kReadBuffer> buf;
  while (ok && !writing_done_ && !reading_done_) {
    if (!nghttp2_session_want_read(session_.get()) && !nghttp2_session_want_write(session_.get())) break;
    auto [ec, n] = co_await io_.async_read_some(asio::buffer(buf), core::kAwait);
    if (ec) break;
    last_activity_ = Clock::now();
    ok = feed(buf.data(), n);
  }
  reading_done_ = true;
  kick();
}

core::Task<void> Connection::write_loop() {
  std::string batch;
  for (;;) {
    batch.clear();
    bool fatal = false;
    while (batch.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) {
        fatal = true;
        break;
      }
      if (n == 0) break;
      batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!batch.empty()) {
      write_started_ = Clock::now();
      auto [ec, written] = co_await asio::async_write(io_, asio::buffer(batch), core::kAwait);
      write_started_ = Clock::time_point::max();
      if (ec) break;
      last_activity_ = Clock::now();
      continue;
    }
    if (fatal || reading_done_ || flooded_) break;
    if (!nghttp2_session_want_read(session_.get()) && !nghttp2_session_want_write(session_.get())) break;
    co_await want_write_.wait();
  }
  writing_done_ = true;
  io_.cancel();  // the reader, if it still waits
}

core::Task<void> Connection::run(std::string preread) {
  co_await (read_loop(std::move(preread)) && write_loop());
  detach_all();
}

void Connection::detach_all() {
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    s->closed_ = true;
    s->error_code_ = s->in_end_ ? NGHTTP2_NO_ERROR : NGHTTP2_CANCEL;
    s->conn_ = nullptr;
    s->wake();
  }
}

}  // namespace aegis::http::h2
