// aegis-bench-handshake: new-connection TLS 1.3 handshake rate against one
// server (a benchmark load generator, not a test). Each of --concurrency
// threads loops: TCP connect (blocking), full TLS 1.3 handshake offering only
// --groups (no session tickets, no resumption), optionally one HTTP/1.1
// request and its response, then close_notify and close. Prints handshakes/s
// and the p50/p99 time from connect() to a finished handshake, plus one
// machine-readable `RESULT key=value ...` line for bench/tls.sh.
//
//   aegis-bench-handshake --port 4433 --groups MLKEM1024 --seconds 5 --concurrency 4
//   aegis-bench-handshake --port 4433 --groups X25519 --count 1 --ca ca/ca.pem --expect-group x25519
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
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
#include "tls/tls_context.h"

namespace {

using Clock = std::chrono::steady_clock;
using aegis::tls::SslCtxPtr;
using aegis::tls::SslPtr;

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
  std::chrono::nanoseconds handshake{0};
  std::string error;  // when !ok
};

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
  for (;;) {
    if (head_end != std::string::npos && content_length && buf.size() >= head_end + 4 + *content_length) break;
    const int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) {
      const int e = SSL_get_error(ssl, n);
      if (head_end != std::string::npos && !content_length && (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL))
        break;  // body delimited by the end of the connection
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

  Outcome connect_once(Negotiated* negotiated) const {
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
    if (!o_.servername.empty()) {
      SSL_set_tlsext_host_name(s, o_.servername.c_str());
      if (!o_.ca_file.empty() && SSL_set1_host(s, o_.servername.c_str()) != 1)
        return fail(out, aegis::tls::with_openssl_errors("SSL_set1_host"));
    }
    errno = 0;
    const int rc = SSL_connect(s);
    if (rc != 1) return fail(out, ssl_error(s, rc, "handshake"));
    out.handshake = Clock::now() - t0;

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
};

// Runs every thread until `deadline` (or until `remaining` runs out when
// counting); `record` false for the warm-up.
std::vector<ThreadResult> run_phase(const Bench& bench, unsigned threads, Clock::time_point deadline,
                                    std::atomic<int64_t>* remaining, bool record) {
  std::vector<ThreadResult> results(threads);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] {
      ThreadResult& r = results[i];
      if (record) r.latencies_us.reserve(1 << 16);
      for (;;) {
        if (remaining != nullptr) {
          if (remaining->fetch_sub(1) <= 0) break;
        } else if (Clock::now() >= deadline) {
          break;
        }
        const Outcome o = bench.connect_once(nullptr);
        if (!record) continue;
        if (o.ok) {
          r.latencies_us.push_back(
              static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(o.handshake).count()));
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
  // Full handshakes only: no tickets kept, no session cache, nothing to resume.
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
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

  const Bench bench(o, c, addr, addr_len);

  // One probe connection: the server answers, and negotiates what we expect.
  Negotiated neg;
  const Outcome probe = bench.connect_once(&neg);
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

  if (o.count == 0 && o.warmup > 0) {
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
    (void)run_phase(bench, o.concurrency, until, nullptr, false);
  }

  std::atomic<int64_t> remaining(static_cast<int64_t>(o.count));
  const double cpu0 = process_cpu_seconds();
  const auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  auto results = run_phase(bench, o.concurrency, deadline, o.count > 0 ? &remaining : nullptr, true);
  const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  const double client_cpu_pct = 100.0 * (process_cpu_seconds() - cpu0) / elapsed;

  std::vector<uint32_t> lat;
  uint64_t errors = 0;
  std::string first_error;
  for (auto& r : results) {
    lat.insert(lat.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
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
  if (errors > 0) std::printf("first error: %s\n", first_error.c_str());
  std::printf(
      "RESULT handshakes=%zu seconds=%.3f rate=%.1f p50_us=%u p99_us=%u errors=%llu client_cpu_pct=%.0f "
      "group=%s sigalg=%s\n",
      lat.size(), elapsed, rate, pct(0.50), pct(0.99), static_cast<unsigned long long>(errors), client_cpu_pct,
      neg.group.c_str(), neg.sigalg.c_str());
  return errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"TLS 1.3 new-connection handshake rate (full handshakes, no resumption)", "aegis-bench-handshake"};
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
  CLI11_PARSE(app, argc, argv);
  if (o.seconds <= 0) {
    std::fprintf(stderr, "--seconds must be > 0\n");
    return 2;
  }
  return run(o);
}
