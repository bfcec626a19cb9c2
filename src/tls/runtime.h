// The TLS side of one listener (server) or cluster (client), built from its
// config::TlsConfig when a snapshot is built: the OpenSSL context plus the
// rules and metrics the data path applies to each handshake. Immutable once
// built; a certificate or config reload builds a new one, and connections in
// flight keep the SSL (and context) they started with.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/types.h"
#include "core/result.h"
#include "stats/stats.h"
#include "tls/tls_context.h"

namespace aegis::tls {

enum class Side { kServer, kClient };

// A check of the peer's certificate beyond its chain (attest/: the hardware
// evidence it carries and the attestation policy). It runs in the handshake
// right after the chain verified; a refusal aborts the handshake (alert
// bad_certificate), counted as handshake failure reason "peer_attestation".
struct PeerRefusal {
  std::string reason;  // short, bounded: a metric label
  std::string detail;  // for the log
};
using PeerCertificateCheck = std::function<std::optional<PeerRefusal>(X509* leaf)>;

class TlsRuntime {
 public:
  // `owner` is the listener's (server) or cluster's (client) name; it labels
  // the metrics: {listener="..."} or {cluster="..."}.
  // `alpn`: the protocols offered (client) or accepted (server), in preference order.
  // `peer_check`: run on every peer certificate chain that verified (needs a
  // verified peer: a cluster, or a listener with require_client_cert).
  static core::Result<std::shared_ptr<const TlsRuntime>> build(const config::TlsConfig& config, Side side,
                                                               const std::string& owner,
                                                               std::vector<std::string> alpn = {"http/1.1"},
                                                               PeerCertificateCheck peer_check = {});

  SSL_CTX* ctx() const { return ctx_.get(); }
  Side side() const { return side_; }
  const config::TlsConfig& config() const { return config_; }
  PqPolicy policy() const { return policy_; }
  const std::string& owner() const { return owner_; }
  // notAfter of our own certificate (unix seconds), if we have one.
  std::optional<std::int64_t> not_after() const { return not_after_; }

  // Client side, before the handshake: SNI and the DNS name the server's
  // certificate must carry (server_name), when configured.
  void prepare_client(SSL* ssl) const;

  // After a successful handshake: metrics, the compat classical warning, and
  // (client side) the server's identity check. Returns an error reason
  // ("peer_identity") when the peer must be refused.
  std::optional<std::string_view> on_handshake_done(SSL* ssl, double seconds, std::string_view remote) const;
  // After a failed or timed-out handshake: metrics and a debug log line.
  // `first_error` is OpenSSL's first error code (0 if none).
  void on_handshake_failed(SSL* ssl, unsigned long first_error, bool timed_out, double seconds, std::string_view remote,
                           std::string_view detail) const;

  // The signature algorithm of the server's CertificateVerify in this
  // handshake (ours on a listener, the peer's on a cluster), as OpenSSL names it.
  std::string server_sigalg(SSL* ssl) const;

 private:
  TlsRuntime() = default;
  static int verify_peer(X509_STORE_CTX* store, void* self);
  stats::Labels owner_labels() const;
  // aegis_tls_handshakes_total, and with a reason (a failure) also
  // aegis_tls_handshake_failures_total.
  void count_handshake(const std::string& group, const std::string& sigalg, std::string_view failure_reason) const;

  config::TlsConfig config_;
  Side side_ = Side::kServer;
  PqPolicy policy_ = PqPolicy::kHybrid;
  std::string owner_;
  SslCtxPtr ctx_;
  std::optional<std::int64_t> not_after_;
  PeerCertificateCheck peer_check_;
  stats::Histogram* handshake_seconds_ = nullptr;
  stats::Counter* classical_ = nullptr;
  stats::Counter* resumed_ = nullptr;
};

// Bounded label value for a failed handshake: no_shared_group,
// no_client_certificate, unknown_ca, certificate_expired, certificate_invalid,
// peer_alert, not_tls, protocol_version, timeout, peer_closed, peer_identity,
// peer_attestation, other.
std::string_view classify_handshake_failure(SSL* ssl, unsigned long first_error, bool timed_out);

}  // namespace aegis::tls
