// One connection of the data path, plain TCP or TLS, behind one interface
// (an Asio AsyncReadStream/AsyncWriteStream, so Beast and asio::async_write
// work on it unchanged).
//
// TLS is OpenSSL with read-ahead on. It writes the socket itself (a socket
// BIO on the descriptor: a record costs one send). It reads its records from
// the connection's TlsInput (a read BIO of ours), which Asio reads fill when
// OpenSSL wants more: such a read is queued on the reactor's edge-triggered
// registration and costs one recv when bytes arrive. (OpenSSL reading the
// socket itself cost a failed read(2) and an epoll_ctl re-arm of a readiness
// wait more per record read; docs/benchmark-methods.md, "Where the time
// goes".) Asio's ssl::stream was not used because its shutdown waits for the
// peer's close_notify, which rules out TLS half-close in the L4 proxy (we send
// close_notify and keep reading), and because it buffers both directions.
//
// One read and one write may be outstanding at a time (full duplex), as with
// a socket. Everything runs on the socket's single-threaded executor.
// OpenSSL writes with write(2), so the process must ignore SIGPIPE (the
// binary does, in cli.cpp).
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "core/io.h"
#include "tls/tls_context.h"

namespace aegis::net {

// Errors of the TLS layer (boost::system::error_code category "aegis.tls").
enum class TlsErrc {
  kHandshakeFailed = 1,  // see Stream::tls_error() for OpenSSL's reason
  kProtocolError,        // a record or alert broke the connection after the handshake
  kTruncated,            // the peer closed TCP without close_notify
};
const boost::system::error_category& tls_category();
inline boost::system::error_code make_error_code(TlsErrc e) {
  return {static_cast<int>(e), tls_category()};
}

class Stream {
 public:
  using executor_type = core::Executor;
  using lowest_layer_type = core::Socket;

  explicit Stream(core::Socket socket) : sock_(std::move(socket)) {}
  // TLS over `socket`, as server or client of `ctx`; handshake() must run first.
  Stream(core::Socket socket, SSL_CTX* ctx, bool server);
  Stream(Stream&&) noexcept = default;
  Stream& operator=(Stream&&) noexcept = default;
  // Closes like close(): a TLS connection dropped anywhere (a pool trimming
  // idle connections, an error path) still says close_notify, and OpenSSL
  // keeps its session resumable.
  ~Stream() { close(); }

  executor_type get_executor() { return sock_.get_executor(); }
  core::Socket& socket() { return sock_; }
  lowest_layer_type& lowest_layer() { return sock_; }
  bool is_open() const { return sock_.is_open(); }
  bool is_tls() const { return static_cast<bool>(ssl_); }
  SSL* ssl() const { return ssl_.get(); }  // null for plain TCP
  // OpenSSL's description of the last TLS failure ("" if none).
  const std::string& tls_error() const { return tls_error_; }
  // OpenSSL's first error code of the last TLS failure (0 if none).
  unsigned long tls_first_error() const { return tls_first_error_; }

  // TLS: the handshake (client or server as constructed). Plain: no-op.
  core::Task<boost::system::error_code> handshake();

  // Half-close: TLS sends close_notify, then (both) shuts the socket for
  // sending; reading goes on. Best effort, never blocks for long: a
  // close_notify that does not fit in the socket buffer is dropped.
  void shutdown_send();
  // Lingering close (nginx's lingering_close), after shutdown_send(): reads
  // and discards what the peer still sends until it closes, `max_bytes`
  // arrived or `limit` passed. Closing a socket with unread input makes the
  // kernel send RST and drop what it had not yet delivered, so a refusal
  // (a 4xx, a GOAWAY) sent to a client still writing would be lost.
  core::Task<void> linger(std::chrono::milliseconds limit, std::size_t max_bytes);
  // close_notify when TLS (best effort), then close.
  void close();
  void cancel() {
    boost::system::error_code ec;
    sock_.cancel(ec);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return async_io</*write=*/false>(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return async_io</*write=*/true>(buffers, std::forward<Token>(token));
  }

 private:
  // Plain: the socket's own operation. TLS: SSL_read/SSL_write on the first
  // non-empty buffer, retried on readiness (TlsIo).
  template <bool Write, class Buffers, class Token>
  auto async_io(const Buffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, const Buffers& b) {
          if (!ssl_) {
            if constexpr (Write) {
              sock_.async_write_some(b, std::move(handler));
            } else {
              sock_.async_read_some(b, std::move(handler));
            }
          } else {
            using Buffer = std::conditional_t<Write, boost::asio::const_buffer, boost::asio::mutable_buffer>;
            boost::asio::async_compose<decltype(handler), void(boost::system::error_code, std::size_t)>(
                TlsIo<Buffer>(this, first_buffer(b), Write), handler, sock_);
          }
        },
        token, buffers);
  }

  template <class Buffers>
  static auto first_buffer(const Buffers& buffers) {
    using Buffer = std::decay_t<decltype(*boost::asio::buffer_sequence_begin(buffers))>;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
         ++it) {
      Buffer b(*it);
      if (b.size() != 0) return b;
    }
    return Buffer();
  }

  // The TLS read side: bytes from the socket that OpenSSL has not taken yet
  // (read by the BIO in stream.cpp). Filled only when empty, into a small
  // buffer while a connection is idle and a record-sized one (allocated on
  // demand, released when reads get short again) during bulk transfers.
  struct TlsInput {
    static constexpr std::size_t kSmall = 512;
    static constexpr std::size_t kLarge = std::size_t{17} * 1024;  // a full record and more
    std::array<char, kSmall> small;
    std::unique_ptr<std::array<char, kLarge>> large;
    std::span<const char> data;  // the last fill's bytes
    std::size_t pos = 0;         // how many of them OpenSSL took
    bool last_full = false;  // the last fill filled its buffer: more is likely
    bool eof = false;        // the peer closed TCP
    bool filling = false;    // an Asio read into prepare() is outstanding
    std::size_t available() const { return data.size() - pos; }
    boost::asio::mutable_buffer prepare();  // where the next fill goes (available() == 0)
    void commit(const boost::asio::mutable_buffer& filled, std::size_t n);
  };
  // A fill's completion: its bytes are there, or eof, or ec is the error to report.
  boost::system::error_code filled(const boost::asio::mutable_buffer& b, boost::system::error_code ec, std::size_t n);
  friend struct TlsInputBio;

  enum class Step { kDone, kWantRead, kWantWrite };
  // One SSL_read_ex / SSL_write_ex attempt; on kDone, ec and n are the result.
  Step tls_io(void* data, std::size_t size, bool write, boost::system::error_code& ec, std::size_t& n);

  // An SSL_read/SSL_write retried on socket readiness. A result available at
  // once is delivered through post(), never inside the initiating call
  // (Asio's rule for asynchronous operations).
  template <class Buffer>
  struct TlsIo {
    TlsIo(Stream* stream, Buffer b, bool is_write) : s(stream), buffer(b), write(is_write) {}
    Stream* s;
    Buffer buffer;
    bool write;
    bool started = false;
    bool ready = false;  // result stashed, waiting for the posted resume
    boost::asio::mutable_buffer fill;  // the outstanding fill of the TLS input
    boost::system::error_code result_ec;
    std::size_t result_n = 0;

    // A fill of the TLS input finished (see kWantRead below).
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec, std::size_t n) {
      ec = s->filled(fill, ec, n);
      (*this)(self, ec);
    }

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      const bool inline_call = !started;
      started = true;
      if (ready) {
        self.complete(result_ec, result_n);
        return;
      }
      if (!ec) {
        if (buffer.size() == 0) {
          result_ec = {};
          result_n = 0;
        } else {
          switch (s->tls_io(const_cast<void*>(static_cast<const void*>(buffer.data())), buffer.size(), write,
                            result_ec, result_n)) {
            case Step::kWantRead:
              if (!s->in_->filling) {
                fill = s->in_->prepare();
                s->sock_.async_read_some(fill, std::move(self));
                return;
              }
              // The other direction's operation is filling the input (a
              // write that needs to read: only during a renegotiation);
              // retry once the socket was readable.
              s->sock_.async_wait(core::Socket::wait_read, std::move(self));
              return;
            case Step::kWantWrite:
              s->sock_.async_wait(core::Socket::wait_write, std::move(self));
              return;
            case Step::kDone:
              break;
          }
        }
      } else {
        result_ec = ec;  // the readiness wait failed (cancelled, closed)
        result_n = 0;
      }
      if (inline_call) {
        ready = true;
        auto ex = s->sock_.get_executor();
        boost::asio::post(ex, std::move(self));
        return;
      }
      self.complete(result_ec, result_n);
    }
  };

  core::Socket sock_;
  tls::SslPtr ssl_;
  std::unique_ptr<TlsInput> in_;  // TLS only; on the heap: the read BIO points to it, and Stream moves
  std::string tls_error_;
  unsigned long tls_first_error_ = 0;
  bool broken_ = false;  // a fatal TLS error: no close_notify may follow
};

}  // namespace aegis::net

template <>
struct boost::system::is_error_code_enum<aegis::net::TlsErrc> : std::true_type {};
