#include "h2_client.h"

#include "tls_helpers.h"

#include <openssl/ssl.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aegis::itest::h2 {

namespace {

using Clock = std::chrono::steady_clock;

Millis left_until(Clock::time_point deadline) {
  return std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
}

constexpr std::uint32_t kMaxWindow = 0x7fffffffU;
constexpr std::size_t kFrameLogLimit = 100000;

}  // namespace

// ---- the byte stream: a plain socket or a TlsConn's SSL -------------------

struct Client::Transport {
  enum class Io { kProgress, kWouldBlock, kClosed, kFailed };

  int plain_fd = -1;
  std::unique_ptr<tlsh::TlsConn> tls;

  ~Transport() {
    if (plain_fd >= 0) ::close(plain_fd);
  }
  int fd() const { return tls ? tls->fd() : plain_fd; }
  bool buffered() const { return tls && SSL_pending(tls->ssl()) > 0; }

  Io read(std::string& into, std::string* why) {
    std::array<char, 65536> buf{};
    if (tls) {
      const int n = SSL_read(tls->ssl(), buf.data(), static_cast<int>(buf.size()));
      if (n > 0) {
        into.append(buf.data(), static_cast<std::size_t>(n));
        return Io::kProgress;
      }
      return ssl_outcome(n, "read", why);
    }
    const ssize_t n = ::recv(plain_fd, buf.data(), buf.size(), 0);
    if (n > 0) {
      into.append(buf.data(), static_cast<std::size_t>(n));
      return Io::kProgress;
    }
    if (n == 0) return Io::kClosed;
    return errno_outcome("read", why);
  }

  Io write(std::string& from, std::string* why) {
    if (tls) {
      const int n = SSL_write(tls->ssl(), from.data(), static_cast<int>(std::min<std::size_t>(from.size(), 1U << 20U)));
      if (n > 0) {
        from.erase(0, static_cast<std::size_t>(n));
        return Io::kProgress;
      }
      return ssl_outcome(n, "write", why);
    }
    const ssize_t n = ::send(plain_fd, from.data(), from.size(), MSG_NOSIGNAL);
    if (n > 0) {
      from.erase(0, static_cast<std::size_t>(n));
      return Io::kProgress;
    }
    return errno_outcome("write", why);
  }

 private:
  static Io errno_outcome(const char* what, std::string* why) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Io::kWouldBlock;
    *why = std::string(what) + ": " + std::strerror(errno);
    return (errno == ECONNRESET || errno == EPIPE) ? Io::kClosed : Io::kFailed;
  }
  Io ssl_outcome(int n, const char* what, std::string* why) {
    const int e = SSL_get_error(tls->ssl(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Io::kWouldBlock;
    if (e == SSL_ERROR_ZERO_RETURN) return Io::kClosed;
    if (e == SSL_ERROR_SYSCALL) {
      *why = std::string("TLS ") + what + ": " + (errno != 0 ? std::strerror(errno) : "EOF");
      return Io::kClosed;
    }
    *why = std::string("TLS ") + what + ": " + tlsh::ssl_errors();
    return Io::kFailed;
  }
};

// ---- results ------------------------------------------------------------------

std::string GoawayResult::describe() const {
  std::ostringstream s;
  if (received) {
    s << "GOAWAY error_code=" << error_code << " last_stream_id=" << last_stream_id;
    if (!debug.empty()) s << " debug=\"" << debug << "\"";
  } else {
    s << "no GOAWAY";
  }
  s << (closed ? ", connection closed" : ", connection open");
  return s.str();
}

std::optional<std::string> Response::grpc(std::string_view key) const {
  if (auto v = find_header(trailers, key)) return v;
  return find_header(headers, key);
}

std::string Response::describe() const {
  std::ostringstream s;
  s << "status=" << status << " complete=" << complete << " body=" << body.size() << " bytes";
  for (const auto& [k, v] : headers) s << "\n  " << k << ": " << v;
  for (const auto& [k, v] : trailers) s << "\n  (trailer) " << k << ": " << v;
  if (reset_code) s << "\n  RST_STREAM " << *reset_code;
  if (goaway) s << "\n  " << goaway->describe();
  if (timed_out) s << "\n  timed out";
  return s.str();
}

Headers request_headers(const std::string& authority, const std::string& path, const std::string& method,
                        const std::string& scheme) {
  return {{":method", method}, {":scheme", scheme}, {":authority", authority}, {":path", path}};
}

// ---- connection -----------------------------------------------------------------

Client::Client(std::uint16_t port, const Options& o) : io_(std::make_unique<Transport>()), opts_(o) {
  if (o.tls) {
    tlsh::TlsConn::Options t;
    t.groups = o.groups;
    t.ca_file = o.ca_file;
    t.alpn = o.alpn;
    t.timeout = o.timeout;
    io_->tls = std::make_unique<tlsh::TlsConn>(port, t);
    if (!io_->tls->ok()) {
      error_ = io_->tls->error();
      closed_ = true;
      return;
    }
    SSL_set_mode(io_->tls->ssl(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  } else {
    io_->plain_fd = connect_loopback(port, o.timeout);
    if (io_->plain_fd < 0) {
      error_ = "connect to 127.0.0.1:" + std::to_string(port) + " failed";
      closed_ = true;
      return;
    }
  }
  const int flags = ::fcntl(io_->fd(), F_GETFL);
  ::fcntl(io_->fd(), F_SETFL, flags | O_NONBLOCK);
}

Client::~Client() = default;

std::string Client::alpn() const { return io_->tls ? io_->tls->alpn() : std::string(); }

bool Client::pump(Millis timeout) {
  if (io_->fd() < 0) return false;
  std::string why;
  if (io_->buffered()) {
    if (io_->read(in_, &why) == Transport::Io::kClosed) closed_ = true;
    return true;
  }
  const bool want_write = !out_.empty() && error_.empty();
  pollfd p{io_->fd(), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0};
  const int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (rc <= 0) return false;
  if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !closed_) {
    const auto r = io_->read(in_, &why);
    if (r == Transport::Io::kClosed || r == Transport::Io::kFailed) closed_ = true;
  }
  if (want_write && (p.revents & POLLOUT) != 0) {
    const auto r = io_->write(out_, &why);
    if (r == Transport::Io::kClosed || r == Transport::Io::kFailed) {
      error_ = why.empty() ? "write failed" : why;
      out_.clear();
    }
  }
  return true;
}

bool Client::flush(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!out_.empty() && error_.empty()) {
    if (closed_) {
      error_ = "connection closed by the peer";
      break;
    }
    if (Clock::now() >= deadline) {
      error_ = "write timed out (" + std::to_string(out_.size()) + " bytes unsent)";
      break;
    }
    pump(left_until(deadline));
  }
  if (!error_.empty()) out_.clear();
  return error_.empty();
}

// ---- writing ------------------------------------------------------------------------

bool Client::send_raw(std::string_view bytes) {
  if (!error_.empty()) return false;
  out_.append(bytes);
  return flush(opts_.timeout);
}

bool Client::send_frame(FrameType type, std::uint8_t flags, std::uint32_t stream_id, std::string_view payload) {
  return send_raw(frame_bytes(type, flags, stream_id, payload));
}

bool Client::send_preface() { return send_raw(kClientPreface); }

bool Client::send_settings(const Settings& s) {
  return send_frame(FrameType::kSettings, 0, 0, settings_payload(s));
}

bool Client::send_settings_ack() { return send_frame(FrameType::kSettings, flag::kAck, 0, {}); }

bool Client::send_headers(std::uint32_t stream_id, const Headers& h, bool end_stream) {
  const std::string block = encoder_.encode(h);
  const std::size_t max = peer_max_frame_size_;
  std::string bytes;
  for (std::size_t off = 0; off == 0 || off < block.size(); off += max) {
    const std::string_view part = std::string_view(block).substr(off, max);
    const bool last = off + max >= block.size();
    const std::uint8_t flags = static_cast<std::uint8_t>((last ? flag::kEndHeaders : 0) |
                                                         (off == 0 && end_stream ? flag::kEndStream : 0));
    bytes += frame_bytes(off == 0 ? FrameType::kHeaders : FrameType::kContinuation, flags, stream_id, part);
  }
  return send_raw(bytes);
}

bool Client::send_headers_block(std::uint32_t stream_id, std::string_view block, std::uint8_t flags) {
  return send_frame(FrameType::kHeaders, flags, stream_id, block);
}

bool Client::send_continuation(std::uint32_t stream_id, std::string_view block, bool end_headers) {
  return send_frame(FrameType::kContinuation, end_headers ? flag::kEndHeaders : 0, stream_id, block);
}

bool Client::send_data(std::uint32_t stream_id, std::string_view data, bool end_stream) {
  const std::size_t max = peer_max_frame_size_;
  std::string bytes;
  for (std::size_t off = 0; off == 0 || off < data.size(); off += max) {
    const bool last = off + max >= data.size();
    bytes += frame_bytes(FrameType::kData, last && end_stream ? flag::kEndStream : 0, stream_id, data.substr(off, max));
  }
  return send_raw(bytes);
}

bool Client::send_rst_stream(std::uint32_t stream_id, std::uint32_t code) {
  return send_frame(FrameType::kRstStream, 0, stream_id, u32_be(code));
}

bool Client::send_ping(std::uint64_t opaque, bool ack) {
  return send_frame(FrameType::kPing, ack ? flag::kAck : 0, 0,
                    u32_be(static_cast<std::uint32_t>(opaque >> 32U)) + u32_be(static_cast<std::uint32_t>(opaque)));
}

bool Client::send_priority(std::uint32_t stream_id, std::uint32_t depends_on, std::uint8_t weight, bool exclusive) {
  std::string p = u32_be((depends_on & kMaxWindow) | (exclusive ? 0x80000000U : 0U));
  p.push_back(static_cast<char>(weight));
  return send_frame(FrameType::kPriority, 0, stream_id, p);
}

bool Client::send_window_update(std::uint32_t stream_id, std::uint32_t increment) {
  return send_frame(FrameType::kWindowUpdate, 0, stream_id, u32_be(increment));
}

bool Client::send_goaway(std::uint32_t last_stream_id, std::uint32_t code, std::string_view debug) {
  std::string p = u32_be(last_stream_id) + u32_be(code);
  p.append(debug);
  return send_frame(FrameType::kGoaway, 0, 0, p);
}

bool Client::handshake(Millis timeout) {
  return handshake({{setting::kEnablePush, 0}, {setting::kInitialWindowSize, kMaxWindow}}, true, timeout);
}

bool Client::handshake(const Settings& s, bool open_window, Millis timeout) {
  if (!send_preface() || !send_settings(s)) return false;
  if (open_window && !send_window_update(0, kMaxWindow - 65535U)) return false;
  const auto deadline = Clock::now() + timeout;
  while (!peer_settings_seen_) {
    if (!read_frame(left_until(deadline))) {
      if (error_.empty()) error_ = closed_ ? "closed before the server's SETTINGS" : "no SETTINGS from the server in time";
      return false;
    }
  }
  return true;
}

std::uint32_t Client::next_stream_id() {
  const std::uint32_t id = next_stream_;
  next_stream_ += 2;
  return id;
}

// ---- reading ------------------------------------------------------------------------

void Client::on_frame(Frame& f) {
  const auto t = static_cast<std::size_t>(f.type);
  if (t < type_counts_.size()) ++type_counts_[t];
  switch (f.type) {
    case FrameType::kSettings:
      if (!f.has(flag::kAck)) {
        peer_settings_seen_ = true;
        for (const auto& [id, value] : parse_settings(f.payload).value_or(Settings{})) {
          if (id == setting::kMaxFrameSize && value >= 16384 && value <= kMaxFrameLength) peer_max_frame_size_ = value;
        }
        if (opts_.auto_respond && error_.empty()) out_ += frame_bytes(FrameType::kSettings, flag::kAck, 0, {});
      }
      break;
    case FrameType::kPing:
      if (!f.has(flag::kAck) && opts_.auto_respond && error_.empty()) {
        out_ += frame_bytes(FrameType::kPing, flag::kAck, 0, f.payload);
      }
      break;
    case FrameType::kGoaway:
      if (auto g = parse_goaway(f.payload)) {
        goaway_ = GoawayResult{true, closed_, g->last_stream_id, g->error_code, g->debug};
      }
      break;
    case FrameType::kHeaders:
      pending_block_ = headers_fragment(f).value_or("");
      break;
    case FrameType::kContinuation:
      pending_block_ += f.payload;
      break;
    default:
      break;
  }
  if ((f.type == FrameType::kHeaders || f.type == FrameType::kContinuation) && f.has(flag::kEndHeaders)) {
    f.headers = decoder_.decode(pending_block_);
    f.hpack_error = !f.headers.has_value();
    pending_block_.clear();
  }
  if (frames_.size() < kFrameLogLimit) frames_.push_back(f);
  if (!out_.empty()) flush(opts_.timeout);
}

std::optional<Frame> Client::read_frame(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto f = take_frame(in_)) {
      on_frame(*f);
      return f;
    }
    if (closed_ || Clock::now() >= deadline) return std::nullopt;
    pump(left_until(deadline));
  }
}

std::size_t Client::count(FrameType t) const {
  const auto i = static_cast<std::size_t>(t);
  return i < type_counts_.size() ? type_counts_[i] : 0;
}

std::optional<Frame> Client::wait_for(FrameType type, Millis timeout, std::uint32_t stream_id) {
  const auto deadline = Clock::now() + timeout;
  while (auto f = read_frame(left_until(deadline))) {
    if (f->type == type && (stream_id == 0 || f->stream_id == stream_id)) return f;
  }
  return std::nullopt;
}

Response Client::request(const Headers& h, std::string_view body, Millis timeout) {
  const std::uint32_t id = next_stream_id();
  if (send_headers(id, h, body.empty()) && !body.empty()) send_data(id, body, true);
  return read_response(id, timeout);
}

Response Client::read_response(std::uint32_t stream_id, Millis timeout) {
  Response r;
  const auto deadline = Clock::now() + timeout;
  bool end_after_headers = false;
  for (;;) {
    auto f = read_frame(left_until(deadline));
    if (!f) {
      if (closed_) {
        r.goaway = goaway_.value_or(GoawayResult{});
        r.goaway->closed = true;
      } else {
        r.timed_out = true;
      }
      return r;
    }
    if (f->type == FrameType::kGoaway && goaway_ && goaway_->last_stream_id < stream_id) {
      r.goaway = goaway_;
      return r;
    }
    if (f->stream_id != stream_id) continue;
    if (f->type == FrameType::kHeaders) end_after_headers = f->has(flag::kEndStream);
    if (f->type == FrameType::kRstStream) {
      r.reset_code = parse_rst_stream(f->payload);
      return r;
    }
    if (f->type == FrameType::kData) {
      r.body += data_content(*f).value_or("");
      if (f->has(flag::kEndStream)) r.complete = true;
    }
    if (f->headers) {
      const int status = std::atoi(find_header(*f->headers, ":status").value_or("0").c_str());
      if (r.status == 0 && status >= 200) {
        r.status = status;
        r.headers = *f->headers;
      } else if (r.status != 0) {
        r.trailers = *f->headers;
      }
      if (end_after_headers) r.complete = true;
    }
    if (r.complete) return r;
  }
}

GoawayResult Client::wait_for_goaway(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  // Frames already buffered count even when the peer has closed since:
  // read_frame parses them first and stops only at a closed, empty buffer.
  while (!goaway_ && read_frame(left_until(deadline))) {
  }
  GoawayResult g = goaway_.value_or(GoawayResult{});
  g.closed = closed_;
  return g;
}

bool Client::connection_closed(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  while (read_frame(left_until(deadline))) {
  }
  return closed_;
}

}  // namespace aegis::itest::h2
