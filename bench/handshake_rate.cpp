// aegis-bench-handshake: new-connection TLS 1.3 handshake rate against one
// server (a benchmark load generator, not a test). Each of --concurrency
// threads loops: TCP connect (blocking), full TLS 1.3 handshake offering only
// --groups (no session tickets, no resumption), optionally one HTTP/1.1
// request and its response, then close_notify and close. Prints handshakes/s
// and the p50/p99 time from connect() to a finished handshake, plus one
// machine-readable `RESULT key=value ...` line for bench/tls.sh.
//
// With --resume each thread keeps the TLS 1.3 session ticket of its previous
// connection and offers it on the next: after the handshake the client reads
// until the server's NewSessionTicket has arrived (tickets come after the
// handshake), so every connection but a thread's first can resume. It counts
// the handshakes that did resume (SSL_session_reused): a server that issues no
// tickets, or does not accept them, shows up as a low resumed share.
//
// Bytes on the wire: a BIO callback on the socket BIO counts the TLS bytes
// (records, not TCP/IP headers) written and read until the handshake is done,
// reported per handshake for full and resumed handshakes separately, and the
// session tickets' bytes (server to client, after the handshake) with --resume.
//
//   aegis-bench-handshake --port 4433 --groups MLKEM1024 --seconds 5 --concurrency 4
//   aegis-bench-handshake --port 4433 --groups X25519 --count 1 --ca ca/ca.pem --expect-group x25519
//   aegis-bench-handshake --port 4433 --groups MLKEM1024 --seconds 5 --resume
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tls/openssl_info.h"
#include "tls/ossl_ptr.h"
#include "tls/tls_context.h"

namespace {

using Clock = std::chrono::steady_clock;
using aegis::tls::SslCtxPtr;
using aegis::tls::SslPtr;
using SslSessionPtr = aegis::tls::OsslPtr<SSL_SESSION, SSL_SESSION_free>;

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string groups = "X25519MLKEM768";
  std::string servername = "localhost";
  std::string ca_file;              // empty: no verification of the server
  std::string cert_file, key_file;  // a client certificate (mTLS), both or neither
  double seconds = 5;
  double warmup = 1;
  uint64_t count = 0;  // > 0: exactly this many handshakes instead of --seconds
  unsigned concurrency = 4;
  bool http = false;
  std::string path = "/";
  std::string expect_group;   // fail unless the negotiated group is this one
  std::string expect_sigalg;  // fail unless the server signed with this
  bool resume = false;        // offer the previous connection's ticket
  double ticket_wait = 0.5;   // seconds to wait for a ticket after the handshake
};

// A socket descriptor with one owner.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// What one connection attempt ended with.
struct Outcome {
  bool ok = false;
  bool resumed = false;  // SSL_session_reused
  std::chrono::nanoseconds handshake{0};
  uint64_t c2s_bytes = 0, s2c_bytes = 0;  // TLS bytes until the handshake was done
  uint64_t ticket_bytes = 0;              // server to client after it, until a ticket (--resume)
  bool got_ticket = false;
  std::string error;  // when !ok
};

// TLS bytes through the socket BIO (BIO_set_callback_ex).
struct WireBytes {
  uint64_t read = 0, written = 0;
};

long count_wire_bytes(BIO* b, int oper, const char* /*argp*/, size_t /*len*/, int /*argi*/, long /*argl*/, int ret,
                      size_t* processed) {
  if (ret > 0 && processed != nullptr) {
    auto* w = reinterpret_cast<WireBytes*>(BIO_get_callback_arg(b));
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) w->read += *processed;
    if (oper == (BIO_CB_WRITE | BIO_CB_RETURN)) w->written += *processed;
  }
  return ret;
}

// The newest ticket a connection received (SSL_CTX_sess_set_new_cb).
struct TicketSlot {
  SslSessionPtr session;
};

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<TicketSlot*>(SSL_get_app_data(ssl));
  if (slot == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  slot->session.reset(session);  // the callback's reference is ours now
  return 1;
}

struct Negotiated {
  std::string group, cipher, sigalg;
};

std::string ssl_error(SSL* ssl, int rc, std::string_view what) {
  const int e = SSL_get_error(ssl, rc);
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
    return std::string(what) + ": " + (errno != 0 ? std::strerror(errno) : "unexpected EOF");
  return aegis::tls::with_openssl_errors(std::string(what) + " (SSL_get_error " + std::to_string(e) + ")");
}

// Reads one HTTP/1.x response: the head, then Content-Length bytes of body, or
// up to EOF / close_notify when there is no Content-Length.
std::optional<std::string> read_response(SSL* ssl, int& status) {
  std::string buf;
  char chunk[16384];
  size_t head_end = std::string::npos;
  std::optional<size_t> content_length;
  int non_data_records = 0;
  for (;;) {
    if (head_end != std::string::npos && content_length && buf.size() >= head_end + 4 + *content_length) break;
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) {
      const int e = SSL_get_error(ssl, n);
      if (head_end != std::string::npos && !content_length && (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL))
        break;                                                            // body delimited by the end of the connection
      if (e == SSL_ERROR_WANT_READ && ++non_data_records < 16) continue;  // a ticket (--resume)
      return std::nullopt;
    }
    buf.append(chunk, static_cast<size_t>(n));
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        if (buf.size() < 12 || buf.compare(0, 5, "HTTP/") != 0) return std::nullopt;
        status = std::atoi(buf.c_str() + 9);
        std::string head = buf.substr(0, head_end);
        std::transform(head.begin(), head.end(), head.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const size_t cl = head.find("\r\ncontent-length:");
        if (cl != std::string::npos) content_length = std::strtoull(head.c_str() + cl + 17, nullptr, 10);
      }
    }
  }
  return buf;
}

class Bench {
 public:
  Bench(const Options& o, SSL_CTX* ctx, const sockaddr_storage& addr, socklen_t addr_len)
      : o_(o), ctx_(ctx), addr_(addr), addr_len_(addr_len) {}

  // `ticket`: with --resume, the session to offer (may be empty) and where the
  // new ticket goes; nullptr otherwise.
  Outcome connect_once(Negotiated* negotiated, SslSessionPtr* ticket) const {
    Outcome out;
    const auto t0 = Clock::now();
    Fd fd(::socket(addr_.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return fail(out, std::string("socket: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{5, 0};  // a stuck server must not hang the benchmark
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0)
      return fail(out, std::string("connect: ") + std::strerror(errno));

    SslPtr ssl(SSL_new(ctx_));
    if (!ssl) return fail(out, aegis::tls::with_openssl_errors("SSL_new"));
    SSL* s = ssl.get();
    if (SSL_set_fd(s, fd.get()) != 1) return fail(out, aegis::tls::with_openssl_errors("SSL_set_fd"));
    WireBytes wire;
    BIO* sock_bio = SSL_get_rbio(s);
    BIO_set_callback_arg(sock_bio, reinterpret_cast<char*>(&wire));
    BIO_set_callback_ex(sock_bio, count_wire_bytes);
    TicketSlot slot;
    if (ticket != nullptr) {
      SSL_set_app_data(s, &slot);
      if (*ticket && SSL_set_session(s, ticket->get()) != 1)
        return fail(out, aegis::tls::with_openssl_errors("SSL_set_session"));
    }
    if (!o_.servername.empty()) {
      SSL_set_tlsext_host_name(s, o_.servername.c_str());
      if (!o_.ca_file.empty() && SSL_set1_host(s, o_.servername.c_str()) != 1)
        return fail(out, aegis::tls::with_openssl_errors("SSL_set1_host"));
    }
    errno = 0;
    const int rc = SSL_connect(s);
    if (rc != 1) return fail(out, ssl_error(s, rc, "handshake"));
    out.handshake = Clock::now() - t0;
    out.resumed = SSL_session_reused(s) == 1;
    out.c2s_bytes = wire.written;
    out.s2c_bytes = wire.read;
    if (ticket != nullptr) {
      // TLS 1.3 tickets follow the handshake: read until one has arrived.
      // SSL_MODE_AUTO_RETRY is off, so SSL_read returns after a ticket record.
      const auto until =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.ticket_wait));
      while (!slot.session) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0) break;
        pollfd pfd{fd.get(), POLLIN, 0};
        if (::poll(&pfd, 1, static_cast<int>(left)) <= 0) break;
        char byte = 0;
        errno = 0;
        const int n = SSL_read(s, &byte, 1);
        if (n > 0) break;  // application data before any ticket
        if (SSL_get_error(s, n) != SSL_ERROR_WANT_READ) return fail(out, ssl_error(s, n, "reading the ticket"));
      }
      out.ticket_bytes = wire.read - out.s2c_bytes;
      out.got_ticket = static_cast<bool>(slot.session);
      if (slot.session) *ticket = std::move(slot.session);
    }

    if (negotiated != nullptr) {
      const auto info = aegis::tls::handshake_info(s);
      negotiated->group = info.group;
      negotiated->cipher = info.cipher;
      negotiated->sigalg = info.peer_sigalg;
    }
    if (o_.http) {
      const std::string req =
          "GET " + o_.path + " HTTP/1.1\r\nHost: " + o_.servername + "\r\nConnection: close\r\n\r\n";
      errno = 0;
      const int w = SSL_write(s, req.data(), static_cast<int>(req.size()));
      if (w <= 0) return fail(out, ssl_error(s, w, "HTTP request"));
      int status = 0;
      if (!read_response(s, status)) return fail(out, ssl_error(s, -1, "HTTP response"));
      if (status != 200) return fail(out, "HTTP status " + std::to_string(status));
    }
    // close_notify, without waiting for the server's (one round trip less).
    SSL_shutdown(s);
    out.ok = true;
    return out;
  }

 private:
  static Outcome& fail(Outcome& out, std::string error) {
    ERR_clear_error();
    out.ok = false;
    out.error = std::move(error);
    return out;
  }

  const Options& o_;
  SSL_CTX* ctx_;
  sockaddr_storage addr_;
  socklen_t addr_len_;
};

struct ThreadResult {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
  std::string first_error;
  uint64_t full = 0, resumed = 0, tickets = 0;
  uint64_t full_c2s = 0, full_s2c = 0, resumed_c2s = 0, resumed_s2c = 0, ticket_bytes = 0;
};

// Runs every thread until `deadline` (or until `remaining` runs out when
// counting); `record` false for the warm-up.
std::vector<ThreadResult> run_phase(const Bench& bench, unsigned threads, Clock::time_point deadline,
                                    std::atomic<int64_t>* remaining, bool record, bool resume) {
  std::vector<ThreadResult> results(threads);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      ThreadResult& r = results[i];
      if (record) r.latencies_us.reserve(1 << 16);
      SslSessionPtr ticket;  // --resume: this thread's newest ticket
      for (;;) {
        if (remaining != nullptr) {
          if (remaining->fetch_sub(1) <= 0) break;
        } else if (Clock::now() >= deadline) {
          break;
        }
        const Outcome o = bench.connect_once(nullptr, resume ? &ticket : nullptr);
        if (!record) continue;
        if (o.ok) {
          r.latencies_us.push_back(
              static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(o.handshake).count()));
          if (o.resumed) {
            ++r.resumed;
            r.resumed_c2s += o.c2s_bytes;
            r.resumed_s2c += o.s2c_bytes;
          } else {
            ++r.full;
            r.full_c2s += o.c2s_bytes;
            r.full_s2c += o.s2c_bytes;
          }
          if (o.got_ticket) {
            ++r.tickets;
            r.ticket_bytes += o.ticket_bytes;
          }
        } else {
          if (r.errors++ == 0) r.first_error = o.error;
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return results;
}

// User + system CPU of this process so far, all threads.
double process_cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

int run(const Options& o) {
  aegis::tls::init_openssl();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    std::fprintf(stderr, "%s\n", aegis::tls::with_openssl_errors("SSL_CTX_new").c_str());
    return 2;
  }
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  if (o.resume) {
    // Tickets go to the connection's TicketSlot (no internal cache), and
    // SSL_read returns after a ticket record instead of blocking for data.
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c, on_new_session);
    SSL_CTX_clear_mode(c, SSL_MODE_AUTO_RETRY);
  } else {
    // Full handshakes only: no tickets kept, no session cache, nothing to resume.
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  }
  if (SSL_CTX_set1_groups_list(c, o.groups.c_str()) != 1) {
    std::fprintf(stderr, "%s\n", aegis::tls::with_openssl_errors("groups list '" + o.groups + "'").c_str());
    return 2;
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    std::fprintf(stderr, "--cert and --key go together\n");
    return 2;
  }
  if (!o.cert_file.empty() && (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1 ||
                               SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    std::fprintf(stderr, "%s\n", aegis::tls::with_openssl_errors("client certificate '" + o.cert_file + "'").c_str());
    return 2;
  }
  if (o.ca_file.empty()) {
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
  } else {
    if (SSL_CTX_load_verify_locations(c, o.ca_file.c_str(), nullptr) != 1) {
      std::fprintf(stderr, "%s\n", aegis::tls::with_openssl_errors("CA file '" + o.ca_file + "'").c_str());
      return 2;
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  }

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  const std::string port = std::to_string(o.port);
  if (const int rc = ::getaddrinfo(o.host.c_str(), port.c_str(), &hints, &ai); rc != 0 || ai == nullptr) {
    std::fprintf(stderr, "cannot resolve %s: %s\n", o.host.c_str(), gai_strerror(rc));
    return 2;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
  const auto addr_len = static_cast<socklen_t>(ai->ai_addrlen);
  ::freeaddrinfo(ai);

  const Bench probe_bench(o, c, addr, addr_len);

  // One probe connection: the server answers, and negotiates what we expect.
  Negotiated neg;
  SslSessionPtr probe_ticket;
  const Outcome probe = probe_bench.connect_once(&neg, o.resume ? &probe_ticket : nullptr);
  if (!probe.ok) {
    std::fprintf(stderr, "first connection to %s:%u failed: %s\n", o.host.c_str(), o.port, probe.error.c_str());
    return 1;
  }
  if (!o.expect_group.empty() && strcasecmp(neg.group.c_str(), o.expect_group.c_str()) != 0) {
    std::fprintf(stderr, "negotiated group '%s', expected '%s'\n", neg.group.c_str(), o.expect_group.c_str());
    return 1;
  }
  if (!o.expect_sigalg.empty() && strcasecmp(neg.sigalg.c_str(), o.expect_sigalg.c_str()) != 0) {
    std::fprintf(stderr, "server signed with '%s', expected '%s'\n", neg.sigalg.c_str(), o.expect_sigalg.c_str());
    return 1;
  }

  Options measured = o;
  if (o.resume) {
    if (!probe.got_ticket) {
      std::printf("warning: no session ticket within %.1f s of the first handshake: nothing to resume\n",
                  o.ticket_wait);
      measured.ticket_wait = 0;  // do not wait on every connection
    } else {
      const Outcome again = probe_bench.connect_once(nullptr, &probe_ticket);
      if (!again.ok) {
        std::fprintf(stderr, "second connection (offering the ticket) failed: %s\n", again.error.c_str());
        return 1;
      }
      std::printf("probe: ticket of %llu bytes received, offered on the next connection: %s\n",
                  static_cast<unsigned long long>(probe.ticket_bytes),
                  again.resumed ? "resumed" : "NOT resumed (full handshake)");
    }
  }
  const Bench bench(measured, c, addr, addr_len);

  if (o.count == 0 && o.warmup > 0) {
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
    (void)run_phase(bench, o.concurrency, until, nullptr, false, o.resume);
  }

  std::atomic<int64_t> remaining(static_cast<int64_t>(o.count));
  const double cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  auto results = run_phase(bench, o.concurrency, deadline, o.count > 0 ? &remaining : nullptr, true, o.resume);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double client_cpu_pct = 100.0 * (process_cpu_seconds() - cpu0) / elapsed;

  std::vector<uint32_t> lat;
  uint64_t errors = 0;
  std::string first_error;
  ThreadResult sum;
  for (auto& r : results) {
    lat.insert(lat.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
    sum.full += r.full;
    sum.resumed += r.resumed;
    sum.tickets += r.tickets;
    sum.full_c2s += r.full_c2s;
    sum.full_s2c += r.full_s2c;
    sum.resumed_c2s += r.resumed_c2s;
    sum.resumed_s2c += r.resumed_s2c;
    sum.ticket_bytes += r.ticket_bytes;
  }
  auto per = [](uint64_t bytes, uint64_t n) -> unsigned long long { return n > 0 ? (bytes + n / 2) / n : 0; };
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) -> uint32_t {
    if (lat.empty()) return 0;
    const auto i = static_cast<size_t>(p * static_cast<double>(lat.size() - 1) + 0.5);
    return lat[std::min(i, lat.size() - 1)];
  };
  const double rate = static_cast<double>(lat.size()) / elapsed;

  std::printf("%s:%u groups=%s concurrency=%u%s\n", o.host.c_str(), o.port, o.groups.c_str(), o.concurrency,
              o.http ? " +1 HTTP request per connection" : " (handshake only)");
  std::printf("negotiated: group %s, cipher %s, server signature %s\n", neg.group.c_str(), neg.cipher.c_str(),
              neg.sigalg.c_str());
  std::printf("%zu handshakes in %.2f s: %.1f handshakes/s, p50 %u us, p99 %u us, %llu errors\n", lat.size(), elapsed,
              rate, pct(0.50), pct(0.99), static_cast<unsigned long long>(errors));
  std::printf("client CPU: %.0f %% (100 = one core)\n", client_cpu_pct);
  const auto ull = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (o.resume) {
    std::printf("resumed: %llu of %zu handshakes (%.1f %%); tickets received on %llu connections\n", ull(sum.resumed),
                lat.size(),
                lat.empty() ? 0.0 : 100.0 * static_cast<double>(sum.resumed) / static_cast<double>(lat.size()),
                ull(sum.tickets));
  }
  std::printf("TLS bytes per handshake: full %llu client->server, %llu server->client", per(sum.full_c2s, sum.full),
              per(sum.full_s2c, sum.full));
  if (o.resume)
    std::printf("; resumed %llu c->s, %llu s->c; ticket(s) %llu s->c", per(sum.resumed_c2s, sum.resumed),
                per(sum.resumed_s2c, sum.resumed), per(sum.ticket_bytes, sum.tickets));
  std::printf("\n");
  if (errors > 0) std::printf("first error: %s\n", first_error.c_str());
  std::printf(
      "RESULT handshakes=%zu seconds=%.3f rate=%.1f p50_us=%u p99_us=%u errors=%llu client_cpu_pct=%.0f "
      "group=%s sigalg=%s resumed=%llu full_c2s=%llu full_s2c=%llu resumed_c2s=%llu resumed_s2c=%llu "
      "ticket_s2c=%llu\n",
      lat.size(), elapsed, rate, pct(0.50), pct(0.99), static_cast<unsigned long long>(errors), client_cpu_pct,
      neg.group.c_str(), neg.sigalg.c_str(), ull(sum.resumed), per(sum.full_c2s, sum.full), per(sum.full_s2c, sum.full),
      per(sum.resumed_c2s, sum.resumed), per(sum.resumed_s2c, sum.resumed), per(sum.ticket_bytes, sum.tickets));
  return errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"TLS 1.3 new-connection handshake rate (full handshakes; with --resume, resumed ones)",
               "aegis-bench-handshake"};
  app.add_option("--host", o.host, "server address")->capture_default_str();
  app.add_option("--port", o.port, "server port")->required();
  app.add_option("--groups", o.groups, "key-exchange groups to offer, colon-separated")->capture_default_str();
  app.add_option("--servername", o.servername, "SNI (and the name checked with --ca)")->capture_default_str();
  app.add_option("--ca", o.ca_file, "verify the server against this CA file (default: no verification)");
  app.add_option("--cert", o.cert_file, "present this client certificate chain (PEM; with --key)");
  app.add_option("--key", o.key_file, "the client certificate's private key (PEM)");
  auto* secs = app.add_option("--seconds", o.seconds, "measured duration")->capture_default_str();
  app.add_option("--warmup", o.warmup, "unmeasured seconds before the measurement")->capture_default_str();
  app.add_option("--count", o.count, "exactly N handshakes instead of --seconds (no warm-up)")->excludes(secs);
  app.add_option("--concurrency", o.concurrency, "client threads, one connection at a time each")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1024u));
  app.add_flag("--http", o.http, "after the handshake, one HTTP/1.1 GET (Connection: close) and its response");
  app.add_option("--path", o.path, "request path with --http")->capture_default_str();
  app.add_option("--expect-group", o.expect_group, "fail unless this group is negotiated (e.g. MLKEM1024, x25519)");
  app.add_option("--expect-sigalg", o.expect_sigalg, "fail unless the server signs with this (e.g. mldsa87)");
  app.add_flag("--resume", o.resume,
               "keep each connection's TLS 1.3 ticket and offer it on the thread's next connection; "
               "count the handshakes that resumed");
  app.add_option("--ticket-wait", o.ticket_wait, "with --resume: seconds to wait for a ticket after the handshake")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.seconds <= 0) {
    std::fprintf(stderr, "--seconds must be > 0\n");
    return 2;
  }
  return run(o);
}
