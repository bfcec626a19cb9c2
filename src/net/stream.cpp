#include "net/stream.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "tls/openssl_info.h"

namespace aegis::net {

namespace {

class TlsCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "aegis.tls"; }
  std::string message(int ev) const override {
    switch (static_cast<TlsErrc>(ev)) {
      case TlsErrc::kHandshakeFailed: return "TLS handshake failed";
      case TlsErrc::kProtocolError: return "TLS protocol error";
      case TlsErrc::kTruncated: return "TLS connection closed without close_notify";
    }
    return "TLS error";
  }
};

// OpenSSL's error queue as one line, then cleared.
std::string drain_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

// Empties this thread's error queue before an SSL call, so that
// SSL_get_error sees only that call's errors. ERR_clear_error itself frees
// every slot's file and function strings, NULL or not (32 free() calls in
// OpenSSL 3.5): about 2,000 instructions, three times per proxied request and
// hop (callgrind), 10% of a mesh hop's instructions. The queue is almost always
// empty already, and peeking at it costs a thread-local lookup.
void clear_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

// The read BIO over a Stream's TlsInput: hands OpenSSL what the last fill
// brought, asks for a retry when it is used up, and reports EOF (BIO_eof, so
// that OpenSSL tells a TCP close without close_notify apart) once the peer
// closed and everything was taken.
struct TlsInputBio {
  static int read(BIO* b, char* out, std::size_t size, std::size_t* got) {
    auto* in = static_cast<Stream::TlsInput*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    *got = 0;
    if (in->available() == 0) {
      if (!in->eof) BIO_set_retry_read(b);
      return 0;
    }
    const std::size_t n = std::min(size, in->available());
    std::memcpy(out, in->data.subspan(in->pos, n).data(), n);
    in->pos += n;
    *got = n;
    return 1;
  }
  static long ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
    const auto* in = static_cast<const Stream::TlsInput*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;
      case BIO_CTRL_EOF:
        return in->eof && in->available() == 0 ? 1 : 0;
      case BIO_CTRL_PENDING:
        return static_cast<long>(in->available());
      default:
        return 0;
    }
  }
  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static const BIO_METHOD* method() {
    static const std::unique_ptr<BIO_METHOD, decltype(&BIO_meth_free)> m = [] {
      std::unique_ptr<BIO_METHOD, decltype(&BIO_meth_free)> meth(
          BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "aegis TLS input"), &BIO_meth_free);
      if (meth) {
        BIO_meth_set_read_ex(meth.get(), &TlsInputBio::read);
        BIO_meth_set_ctrl(meth.get(), &TlsInputBio::ctrl);
        BIO_meth_set_create(meth.get(), &TlsInputBio::create);
      }
      return meth;
    }();
    return m.get();
  }
};

boost::asio::mutable_buffer Stream::TlsInput::prepare() {
  data = {};
  pos = 0;
  if (large && !last_full) large.reset();  // the bulk transfer is over
  filling = true;
  return large ? boost::asio::buffer(*large) : boost::asio::buffer(small);
}

void Stream::TlsInput::commit(const boost::asio::mutable_buffer& filled, std::size_t n) {
  data = std::span<const char>(static_cast<const char*>(filled.data()), n);
  pos = 0;
  last_full = n == filled.size();
  if (last_full && !large) large = std::make_unique_for_overwrite<std::array<char, kLarge>>();
}

boost::system::error_code Stream::filled(const boost::asio::mutable_buffer& b, boost::system::error_code ec,
                                         std::size_t n) {
  in_->filling = false;
  if (!ec) {
    in_->commit(b, n);
    return {};
  }
  if (ec == boost::asio::error::eof) {
    in_->eof = true;  // OpenSSL decides: close_notify seen, or truncated
    return {};
  }
  // Reset, or cancelled/closed by a timeout: OpenSSL never sees the failure.
  if (ec != boost::asio::error::operation_aborted) broken_ = true;
  return ec;
}

const boost::system::error_category& tls_category() {
  static const TlsCategory category;
  return category;
}

Stream::Stream(core::Socket socket, SSL_CTX* ctx, bool server) : sock_(std::move(socket)) {
  ssl_.reset(SSL_new(ctx));
  if (!ssl_) {
    // Never fall back to plain TCP: without its SSL the connection is closed,
    // so every operation on it fails.
    tls_error_ = "cannot create a TLS connection: " + drain_errors();
    boost::system::error_code ec;
    sock_.close(ec);
    return;
  }
  in_ = std::make_unique<TlsInput>();
  tls::BioPtr rbio(BIO_new(TlsInputBio::method()));
  tls::BioPtr wbio(BIO_new_socket(static_cast<int>(sock_.native_handle()), BIO_NOCLOSE));
  if (!rbio || !wbio) {
    tls_error_ = "cannot create the TLS connection's BIOs: " + drain_errors();
    ssl_.reset();
    boost::system::error_code ec;
    sock_.close(ec);
    return;
  }
  BIO_set_data(rbio.get(), in_.get());
  SSL_set_bio(ssl_.get(), rbio.release(), wbio.release());  // the SSL owns both
  SSL_set_read_ahead(ssl_.get(), 1);
  // RELEASE_BUFFERS: OpenSSL frees a connection's 2 x ~20 KiB record buffers
  // while it is idle (as nginx does), which most keep-alive connections are.
  SSL_set_mode(ssl_.get(),
               SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (server) {
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
  // Asio's socket is non-blocking already in the reactor's eyes; OpenSSL reads
  // the fd directly, so the fd itself must not block.
  boost::system::error_code ec;
  sock_.native_non_blocking(true, ec);
}

Stream::Step Stream::tls_io(void* data, std::size_t size, bool write, boost::system::error_code& ec,
                            std::size_t& n) {
  n = 0;
  // OpenSSL holds the fd number: once the socket is closed that number may
  // belong to another connection, so the SSL must never touch it again.
  if (!sock_.is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return Step::kDone;
  }
  clear_errors();
  const int rc = write ? SSL_write_ex(ssl_.get(), data, size, &n) : SSL_read_ex(ssl_.get(), data, size, &n);
  if (rc == 1) {
    ec = {};
    return Step::kDone;
  }
  const int err = SSL_get_error(ssl_.get(), rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      return Step::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Step::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      ec = boost::asio::error::eof;
      return Step::kDone;
    case SSL_ERROR_SYSCALL: {
      const int saved = errno;
      broken_ = true;
      tls_error_ = drain_errors();
      if (saved == EPIPE) {
        ec = boost::asio::error::broken_pipe;
      } else if (saved == ECONNRESET) {
        ec = boost::asio::error::connection_reset;
      } else if (saved != 0) {
        ec = boost::system::error_code(saved, boost::system::system_category());
      } else {
        ec = TlsErrc::kTruncated;
      }
      return Step::kDone;
    }
    default: {
      broken_ = true;
      const unsigned long first = ERR_peek_error();
      tls_first_error_ = first;
      tls_error_ = drain_errors();
      // OpenSSL 3 reports a TCP FIN without close_notify this way.
      ec = ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING
               ? make_error_code(TlsErrc::kTruncated)
               : make_error_code(TlsErrc::kProtocolError);
      return Step::kDone;
    }
  }
}

core::Task<boost::system::error_code> Stream::handshake() {
  if (!sock_.is_open()) co_return make_error_code(TlsErrc::kHandshakeFailed);
  if (!ssl_) co_return boost::system::error_code{};
  for (;;) {
    if (!sock_.is_open()) co_return boost::asio::error::bad_descriptor;  // see tls_io
    clear_errors();
    const int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) co_return boost::system::error_code{};
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      const auto buffer = in_->prepare();
      auto [rec, n] = co_await sock_.async_read_some(buffer, core::kAwait);
      const auto ec = filled(buffer, rec, n);
      if (ec == boost::asio::error::operation_aborted || ec == boost::asio::error::bad_descriptor) co_return ec;
      if (ec) {
        tls_first_error_ = 0;
        tls_error_ = ec.message();
        co_return make_error_code(TlsErrc::kHandshakeFailed);
      }
      continue;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      auto [ec] = co_await sock_.async_wait(core::Socket::wait_write, core::kAwait);
      if (ec) co_return ec;
      continue;
    }
    const int saved = errno;
    broken_ = true;
    tls_first_error_ = ERR_peek_error();
    tls_error_ = drain_errors();
    if (tls_error_.empty()) {
      tls_error_ = err == SSL_ERROR_SYSCALL && saved != 0 ? std::string(std::strerror(saved))
                                                          : std::string("peer closed the connection");
    }
    co_return make_error_code(TlsErrc::kHandshakeFailed);
  }
}

void Stream::shutdown_send() {
  if (!sock_.is_open()) return;
  if (ssl_ && !broken_ && SSL_is_init_finished(ssl_.get())) {
    clear_errors();
    (void)SSL_shutdown(ssl_.get());  // queues close_notify straight into the socket
    clear_errors();
  }
  boost::system::error_code ec;
  sock_.shutdown(core::Socket::shutdown_send, ec);
}

core::Task<void> Stream::linger(std::chrono::milliseconds limit, std::size_t max_bytes) {
  using namespace boost::asio::experimental::awaitable_operators;  // NOLINT: || on awaitables
  if (!sock_.is_open()) co_return;
  // Raw bytes: whatever TLS records follow our close_notify are not needed.
  auto discard = [](core::Socket& s, std::size_t max) -> core::Task<void> {
    std::array<char, 16384> buf;
    for (std::size_t total = 0; total < max;) {
      auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(buf), core::kAwait);
      if (ec) co_return;  // EOF, reset or cancelled
      total += n;
    }
  };
  boost::asio::basic_waitable_timer<std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>,
                                    core::Executor>
      timer(sock_.get_executor(), limit);
  auto reading = discard(sock_, max_bytes);
  auto waiting = timer.async_wait(core::kAwait);
  co_await (std::move(reading) || std::move(waiting));
}

void Stream::close() {
  if (!sock_.is_open()) return;
  if (ssl_ && !broken_ && SSL_is_init_finished(ssl_.get()) && !(SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN)) {
    clear_errors();
    (void)SSL_shutdown(ssl_.get());
    clear_errors();
  }
  boost::system::error_code ec;
  sock_.close(ec);
}

}  // namespace aegis::net
