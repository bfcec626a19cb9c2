#include "tls_helpers.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace aegis::itest::tlsh {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}


std::string hex_colons(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789ABCDEF";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string x509_fingerprint(X509* x) {
  if (x == nullptr) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) != 1) return {};
  return hex_colons(md, n);
}

X509* first_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return nullptr;
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return x;
}

}  // namespace

std::string ssl_errors() {
  std::string out;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    out += std::string(out.empty() ? "" : "; ") + buf;
  }
  return out.empty() ? "(no OpenSSL error)" : out;
}

std::string openssl_cli() { return openssl_binary(); }

CommandResult certs(const fs::path& dir, std::vector<std::string> args) {
  const std::string tag = "certs-" + (args.empty() ? std::string("none") : args.front());
  args.insert(args.begin(), {proxy_binary(), "certs"});
  return run_command(tag, args, dir, 30s);
}

bool mint_ca(const fs::path& dir, const fs::path& out, const std::string& trust_domain,
             const std::string& key_type) {
  const auto r = certs(dir, {"init-ca", "--trust-domain", trust_domain, "--key-type", key_type, "--out", out.string(),
                             "--force"});
  EXPECT_TRUE(r.status.ok()) << "certs init-ca: " << r.status.describe() << "\n" << r.out << r.err;
  return r.status.ok();
}

bool mint_leaf(const fs::path& dir, const fs::path& ca, const fs::path& out, const std::string& spiffe_id,
               const std::string& key_type, int days) {
  const auto r = certs(dir, {"issue", "--ca", ca.string(), "--spiffe-id", spiffe_id, "--dns", "localhost",
                             "--key-type", key_type, "--days", std::to_string(days), "--out", out.string(),
                             "--force"});
  EXPECT_TRUE(r.status.ok()) << "certs issue: " << r.status.describe() << "\n" << r.out << r.err;
  return r.status.ok();
}

std::string inspect_fingerprint(const fs::path& dir, const fs::path& pem) {
  const auto r = certs(dir, {"inspect", pem.string()});
  if (!r.status.ok()) return {};
  const auto pos = r.out.find("SHA-256:");
  if (pos == std::string::npos) return {};
  const auto eol = r.out.find('\n', pos);
  return trim(r.out.substr(pos + 8, eol == std::string::npos ? std::string::npos : eol - pos - 8));
}

std::string pem_fingerprint(const std::string& pem) {
  X509* x = first_cert(pem);
  std::string fp = x509_fingerprint(x);
  X509_free(x);
  return fp;
}

std::optional<std::int64_t> pem_not_after(const std::string& pem) {
  X509* x = first_cert(pem);
  if (x == nullptr) return std::nullopt;
  std::tm tm{};
  const bool ok = ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1;
  X509_free(x);
  if (!ok) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

SClient s_client_run(const fs::path& dir, std::uint16_t port, const std::vector<std::string>& extra,
                     const std::string& request, Millis timeout) {
  static std::atomic<int> counter{0};  // called from several test threads at once
  const std::string tag = "s_client-sess-" + std::to_string(++counter);
  const fs::path in = dir / (tag + ".in");
  write_file(in, request);
  std::vector<std::string> argv = {openssl_cli(), "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                   "-ign_eof"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  SClient r;
  r.cmd = run_command(tag, argv, dir, timeout, in);
  const std::string& out = r.cmd.out;
  const auto begin = out.find("-----BEGIN CERTIFICATE-----");
  const auto end = out.find("-----END CERTIFICATE-----");
  if (begin != std::string::npos && end != std::string::npos && end > begin) {
    r.fingerprint = pem_fingerprint(out.substr(begin, end + 25 - begin) + "\n");
  }
  r.reused = out.find("Reused, TLSv1.3") != std::string::npos;
  r.fresh = out.find("New, TLSv1.3") != std::string::npos;
  const std::string ticket = "Post-Handshake New Session Ticket arrived";
  for (std::size_t pos = 0; (pos = out.find(ticket, pos)) != std::string::npos; pos += ticket.size()) ++r.tickets;
  for (std::size_t pos = 0; (pos = out.find("HTTP/1.1 ", pos)) != std::string::npos; ++pos) {
    if (pos == 0 || out[pos - 1] == '\n') {
      r.status = std::atoi(out.c_str() + pos + 9);
      break;
    }
  }
  return r;
}

// ---- TlsConn ---------------------------------------------------------------

struct TlsConn::Impl {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  std::string buffered;
  ~Impl() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

TlsConn::TlsConn(std::uint16_t port, const Options& o) : impl_(std::make_unique<Impl>()) {
  std::signal(SIGPIPE, SIG_IGN);  // a write to a connection the server closed is an error, not death
  ERR_clear_error();
  auto& m = *impl_;
  m.ctx = SSL_CTX_new(TLS_client_method());
  if (m.ctx == nullptr) {
    error_ = "SSL_CTX_new: " + ssl_errors();
    return;
  }
  SSL_CTX_set_min_proto_version(m.ctx, TLS1_3_VERSION);
  if (!o.groups.empty() && SSL_CTX_set1_groups_list(m.ctx, o.groups.c_str()) != 1) {
    error_ = "groups " + o.groups + ": " + ssl_errors();
    return;
  }
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(m.ctx, o.ca_file.c_str(), nullptr) != 1) {
      error_ = "CA file " + o.ca_file + ": " + ssl_errors();
      return;
    }
    SSL_CTX_set_verify(m.ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(m.ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(m.ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error_ = "client certificate: " + ssl_errors();
      return;
    }
  }
  if (!o.alpn.empty()) {
    std::string wire(1, static_cast<char>(o.alpn.size()));
    wire += o.alpn;
    SSL_CTX_set_alpn_protos(m.ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  m.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{};
  tv.tv_sec = static_cast<long>(o.timeout.count() / 1000);
  tv.tv_usec = static_cast<long>((o.timeout.count() % 1000) * 1000);
  ::setsockopt(m.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(m.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(m.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  if (o.before_handshake) o.before_handshake();
  m.ssl = SSL_new(m.ctx);
  SSL_set_fd(m.ssl, m.fd);
  SSL_set_tlsext_host_name(m.ssl, "localhost");
  if (SSL_connect(m.ssl) != 1) {
    error_ = "handshake: " + ssl_errors();
    return;
  }
}

TlsConn::~TlsConn() = default;

SSL* TlsConn::ssl() const { return impl_->ssl; }
int TlsConn::fd() const { return impl_->fd; }

std::string TlsConn::alpn() const {
  if (impl_->ssl == nullptr) return {};
  const unsigned char* p = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(impl_->ssl, &p, &len);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), len) : std::string();
}

std::string TlsConn::peer_fingerprint() const {
  if (impl_->ssl == nullptr) return {};
  X509* x = SSL_get1_peer_certificate(impl_->ssl);
  std::string fp = x509_fingerprint(x);
  X509_free(x);
  return fp;
}

std::string TlsConn::group() const {
  if (impl_->ssl == nullptr) return {};
  const char* g = SSL_get0_group_name(impl_->ssl);
  return g != nullptr ? g : "";
}

int TlsConn::get(const std::string& path, std::string* body) {
  if (!ok()) return 0;
  auto& m = *impl_;
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  if (SSL_write(m.ssl, req.data(), static_cast<int>(req.size())) != static_cast<int>(req.size())) {
    error_ = "write: " + ssl_errors();
    return 0;
  }
  char buf[16384];
  std::size_t header_end = std::string::npos;
  std::size_t need = 0;
  for (;;) {
    if (header_end == std::string::npos) {
      header_end = m.buffered.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string head = m.buffered.substr(0, header_end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto cl = head.find("\r\ncontent-length:");
        if (cl == std::string::npos) {
          error_ = "response without Content-Length:\n" + m.buffered.substr(0, header_end);
          return 0;
        }
        need = header_end + 4 + std::strtoul(head.c_str() + cl + 17, nullptr, 10);
      }
    }
    if (header_end != std::string::npos && m.buffered.size() >= need) break;
    const int n = SSL_read(m.ssl, buf, sizeof buf);
    if (n <= 0) {
      error_ = "read (after " + std::to_string(m.buffered.size()) + " bytes): SSL error " +
               std::to_string(SSL_get_error(m.ssl, n)) + " " + ssl_errors();
      return 0;
    }
    m.buffered.append(buf, static_cast<std::size_t>(n));
  }
  const std::string response = m.buffered.substr(0, need);
  m.buffered.erase(0, need);
  if (body != nullptr) *body = response.substr(header_end + 4);
  if (response.rfind("HTTP/1.1 ", 0) != 0) {
    error_ = "not an HTTP/1.1 response: " + response.substr(0, 100);
    return 0;
  }
  return std::atoi(response.c_str() + 9);
}

}  // namespace aegis::itest::tlsh
