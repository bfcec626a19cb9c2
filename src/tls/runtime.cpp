#include "tls/runtime.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <ctime>

#include "tls/openssl_info.h"
#include "tls/session_cache.h"
#include "tls/ticket_keys.h"

namespace aegis::tls {

namespace {

stats::Store& S() { return stats::global(); }

std::optional<std::int64_t> leaf_not_after(SSL_CTX* ctx) {
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

core::Result<std::shared_ptr<const TlsRuntime>> TlsRuntime::build(const config::TlsConfig& config, Side side,
                                                                  const std::string& owner,
                                                                  std::vector<std::string> alpn,
                                                                  PeerCertificateCheck peer_check) {
  std::shared_ptr<TlsRuntime> rt(new TlsRuntime());
  rt->peer_check_ = std::move(peer_check);
  rt->config_ = config;
  rt->side_ = side;
  rt->owner_ = owner;
  const auto policy = parse_pq_policy(config.pq_policy);
  if (!policy) return core::Error{"unknown pq_policy '" + config.pq_policy + "'"};
  rt->policy_ = *policy;

  TlsOptions o;
  o.policy = *policy;
  if (!config.groups.empty()) {
    std::string joined;
    for (const auto& g : config.groups) joined += (joined.empty() ? "" : ":") + g;
    o.groups_override = joined;
  }
  o.cert_file = config.cert_file;
  o.key_file = config.key_file;
  o.trust_bundle = config.trust_bundle;
  o.require_client_cert = config.require_client_cert;
  o.session_resumption = config.session_resumption;
  o.alpn = std::move(alpn);
  auto ctx = side == Side::kServer ? make_server_context(o) : make_client_context(o);
  if (!ctx) return ctx.error();
  rt->ctx_ = std::move(*ctx);
  if (side == Side::kServer) {
    // Sessions may only resume on the listener that issued them (its name's
    // SHA-256 is the context); OpenSSL also refuses to resume a
    // verified-client session without one.
    unsigned char sid[SSL_MAX_SID_CTX_LENGTH] = {};
    unsigned int sid_len = 0;
    const std::string id = "aegis-flow/listener/" + owner;
    static_assert(SSL_MAX_SID_CTX_LENGTH >= 32, "SHA-256 must fit the session id context");
    if (EVP_Digest(id.data(), id.size(), sid, &sid_len, EVP_sha256(), nullptr) != 1 ||
        SSL_CTX_set_session_id_context(rt->ctx_.get(), sid, sid_len) != 1)
      return core::Error{with_openssl_errors("cannot set the TLS session id context")};
  }
  if (o.session_resumption && side == Side::kClient) enable_client_resumption(rt->ctx_.get());
  if (o.session_resumption && side == Side::kServer) {
    auto ring = TicketKeys::for_listener(owner);
    if (auto r = ring->attach(rt->ctx_.get(), ring); !r) return r.error();
  }
  rt->not_after_ = leaf_not_after(rt->ctx_.get());
  // The runtime owns the context, so the context never outlives `rt`.
  if (rt->peer_check_) SSL_CTX_set_cert_verify_callback(rt->ctx_.get(), &TlsRuntime::verify_peer, rt.get());

  const auto labels = rt->owner_labels();
  rt->resumed_ = &S().counter("aegis_tls_resumed_handshakes_total",
                              "Successful handshakes that resumed a session (no certificate, no signature)", labels);
  rt->handshake_seconds_ =
      &S().histogram("aegis_tls_handshake_seconds", "TLS handshake duration (accept or connect to finished)", labels);
  if (side == Side::kServer)
    rt->classical_ = &S().counter("aegis_tls_classical_handshakes_total",
                                  "Handshakes that agreed on a classical-only (not post-quantum) key exchange", labels);
  if (rt->not_after_) {
    S().gauge("aegis_tls_certificate_expiry_timestamp_seconds",
              "notAfter of the certificate this listener or cluster presents (unix time)", labels)
        .set(*rt->not_after_);
  }
  return std::shared_ptr<const TlsRuntime>(std::move(rt));
}

int TlsRuntime::verify_peer(X509_STORE_CTX* store, void* self) {
  if (X509_verify_cert(store) != 1) return 0;  // the chain first, as without a check
  const auto* rt = static_cast<const TlsRuntime*>(self);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  const auto refusal = rt->peer_check_(leaf);
  if (!refusal) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  spdlog::warn("{} '{}': peer certificate refused ({}): {}", rt->side_ == Side::kServer ? "listener" : "cluster",
               rt->owner_, refusal->reason, refusal->detail);
  return 0;
}

stats::Labels TlsRuntime::owner_labels() const { return {{side_ == Side::kServer ? "listener" : "cluster", owner_}}; }

void TlsRuntime::count_handshake(const std::string& group, const std::string& sigalg,
                                 std::string_view failure_reason) const {
  auto labels = owner_labels();
  labels.insert(labels.end(),
                {{"group", group}, {"sigalg", sigalg}, {"result", failure_reason.empty() ? "success" : "failure"}});
  S().counter("aegis_tls_handshakes_total", "TLS handshakes by negotiated group, server signature algorithm and result",
              labels)
      .inc();
  if (failure_reason.empty()) return;
  auto reason = owner_labels();
  reason.emplace_back("reason", std::string(failure_reason));
  S().counter("aegis_tls_handshake_failures_total", "Failed TLS handshakes by reason", reason).inc();
}

void TlsRuntime::prepare_client(SSL* ssl) const {
  if (ssl == nullptr || config_.server_name.empty()) return;
  SSL_set_tlsext_host_name(ssl, config_.server_name.c_str());
  SSL_set1_host(ssl, config_.server_name.c_str());
}

std::string TlsRuntime::server_sigalg(SSL* ssl) const {
  // Only a finished handshake has a signature algorithm to report (a resumed
  // one has none: no certificate was sent).
  if (ssl == nullptr || !SSL_is_init_finished(ssl) || SSL_session_reused(ssl)) return {};
  const char* name = nullptr;
  const int ok =
      side_ == Side::kServer ? SSL_get0_signature_name(ssl, &name) : SSL_get0_peer_signature_name(ssl, &name);
  return ok == 1 && name != nullptr ? std::string(name) : std::string();
}

std::optional<std::string_view> TlsRuntime::on_handshake_done(SSL* ssl, double seconds, std::string_view remote) const {
  const auto info = handshake_info(ssl);
  const auto sigalg = server_sigalg(ssl);
  handshake_seconds_->observe(seconds);
  if (side_ == Side::kClient && !config_.allow_peers.empty()) {
    const auto id = peer_spiffe_id(ssl);
    if (!config::peers_allowed(config_.allow_peers, id)) {
      count_handshake(info.group, sigalg, "peer_identity");
      spdlog::warn("cluster '{}': upstream {} presented identity '{}', which allow_peers does not accept", owner_,
                   remote, id.value_or("(none)"));
      return std::string_view("peer_identity");
    }
  }
  count_handshake(info.group, sigalg, {});
  if (SSL_session_reused(ssl) == 1) resumed_->inc();
  if (classical_ && is_classical_group(info.group)) {
    classical_->inc();
    spdlog::warn("listener '{}': classical-only TLS key exchange {} with {} (not quantum-safe; pq_policy {})", owner_,
                 info.group, remote, config_.pq_policy);
  }
  return std::nullopt;
}

void TlsRuntime::on_handshake_failed(SSL* ssl, unsigned long first_error, bool timed_out, double seconds,
                                     std::string_view remote, std::string_view detail) const {
  const auto reason = classify_handshake_failure(ssl, first_error, timed_out);
  const auto info = handshake_info(ssl);
  handshake_seconds_->observe(seconds);
  count_handshake(info.group, server_sigalg(ssl), reason);
  spdlog::debug("{} '{}': TLS handshake with {} failed ({}): {}", side_ == Side::kServer ? "listener" : "cluster",
                owner_, remote, reason, detail);
}

std::string_view classify_handshake_failure(SSL* ssl, unsigned long first_error, bool timed_out) {
  if (timed_out) return "timeout";
  if (first_error == 0) return "peer_closed";
  if (ERR_GET_LIB(first_error) != ERR_LIB_SSL) return "other";
  switch (ERR_GET_REASON(first_error)) {
    case SSL_R_NO_SUITABLE_KEY_SHARE:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SHARED_CIPHER:
      return "no_shared_group";
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED: {
      const long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
      if (v == X509_V_ERR_APPLICATION_VERIFICATION) return "peer_attestation";
      if (v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID) return "certificate_expired";
      if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
          v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
          v == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)
        return "unknown_ca";
      return "certificate_invalid";
    }
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
      return "not_tls";
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      return "protocol_version";
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return "peer_closed";
    default:
      break;
  }
  // Alerts from the peer: SSL_R_SSLV3_ALERT_* and SSL_R_TLSV1_ALERT_* are 1000 + alert code.
  if (ERR_GET_REASON(first_error) >= SSL_AD_REASON_OFFSET) return "peer_alert";
  return "other";
}

}  // namespace aegis::tls
