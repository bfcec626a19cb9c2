// TLS helpers for the integration tests: minting certificates with
// `aegis-flow certs`, reading fingerprints and notAfter from PEM files, the
// OpenSSL 3.5 CLI, and an in-process TLS 1.3 client (the OpenSSL 3.5 the
// build links, so ML-KEM groups and ML-DSA certificates work) that keeps one
// connection open across requests.
#pragma once

#include "harness.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

namespace aegis::itest::tlsh {

// The OpenSSL 3.5 command line tool (harness.h's openssl_binary()); empty
// when it is not there.
std::string openssl_cli();

// The OpenSSL error queue as text (emptied), "(no OpenSSL error)" if empty.
std::string ssl_errors();

// `aegis-flow certs ARGS...` run to completion.
CommandResult certs(const fs::path& dir, std::vector<std::string> args);
// init-ca into `out` (ca.crt, ca.key); fails the test (non-fatally) and
// returns false when the command fails.
bool mint_ca(const fs::path& dir, const fs::path& out, const std::string& trust_domain,
             const std::string& key_type);
// issue a leaf (cert.pem + key.pem) into `out`, overwriting (--force).
bool mint_leaf(const fs::path& dir, const fs::path& ca, const fs::path& out, const std::string& spiffe_id,
               const std::string& key_type, int days);

// The "SHA-256:" line `aegis-flow certs inspect FILE` prints for the first
// certificate in FILE ("AB:CD:..."); empty on failure.
std::string inspect_fingerprint(const fs::path& dir, const fs::path& pem);
// Computed here: SHA-256 of the first certificate's DER, "AB:CD:...".
std::string pem_fingerprint(const std::string& pem);
// notAfter of the first certificate in the PEM text (unix time).
std::optional<std::int64_t> pem_not_after(const std::string& pem);

// `openssl s_client` (3.5) against 127.0.0.1:port; sends `request` and reads
// until the server closes (-ign_eof). `extra` e.g. {"-sess_out", F}.
struct SClient {
  CommandResult cmd;
  std::string fingerprint;  // of the certificate the server presented; empty if none
  bool reused = false;      // "Reused, TLSv1.3"
  bool fresh = false;       // "New, TLSv1.3"
  int tickets = 0;          // "Post-Handshake New Session Ticket arrived" lines
  int status = 0;           // first HTTP status in the output, 0 if none
};
SClient s_client_run(const fs::path& dir, std::uint16_t port, const std::vector<std::string>& extra,
                     const std::string& request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                     Millis timeout = 10s);

// An in-process TLS client connection to 127.0.0.1:port. Verification is
// off unless ca_file is given; groups e.g. "MLKEM1024" (empty: library
// default). Every failure is reported in error().
class TlsConn {
 public:
  struct Options {
    std::string groups;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string alpn;  // one protocol to offer (e.g. "h2"); empty: no ALPN
    Millis timeout = 5s;
    // Runs once TCP is connected, before the ClientHello is sent (e.g. to
    // change the server's configuration while the handshake is pending).
    std::function<void()> before_handshake;
  };
  TlsConn(std::uint16_t port, const Options& o);
  TlsConn(std::uint16_t port) : TlsConn(port, Options{}) {}
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // SHA-256 of the leaf the server presented ("AB:CD:...").
  std::string peer_fingerprint() const;
  std::string group() const;
  std::string alpn() const;  // the protocol the server selected, empty if none
  // The connection itself, for clients that speak something else over it
  // (h2_client.h); valid while this object lives.
  SSL* ssl() const;
  int fd() const;
  // One keep-alive request/response on this connection: returns the status
  // (0 and error() set on failure). The response must carry Content-Length.
  int get(const std::string& path, std::string* body = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace aegis::itest::tlsh
