#include "tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <array>
#include <string_view>
#include <utility>

#include "tls/openssl_info.h"

namespace aegis::tls {

namespace {

core::Error openssl_error(const std::string& what) { return core::Error{with_openssl_errors(what)}; }

core::Error plain_error(std::string what) {
  ERR_clear_error();
  return core::Error{std::move(what)};
}

// ALPN list in wire format (length-prefixed names), or an error naming the bad entry.
core::Result<std::string> alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255)
      return core::Error{"ALPN protocol '" + p + "' must be 1 to 255 bytes long"};
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

// The server's ALPN list lives in the SSL_CTX's ex_data, freed with the context.
void free_alpn(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
               void* /*argp*/) {
  std::unique_ptr<std::string> owned(static_cast<std::string*>(ptr));
}

int alpn_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_alpn);
  return index;
}

// Picks the first of the server's protocols the client offers; without a
// common protocol the handshake goes on without ALPN.
int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* /*arg*/) {
  const auto* server =
      static_cast<const std::string*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), alpn_index()));
  if (server == nullptr || server->empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  const int rc = SSL_select_next_proto(&selected, outlen,
                                       reinterpret_cast<const unsigned char*>(server->data()),
                                       static_cast<unsigned int>(server->size()), in, inlen);
  if (rc != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// What both sides share: TLS 1.3 only, the policy's groups and suites, no
// renegotiation/compression/0-RTT, tickets per the option.
core::Result<SslCtxPtr> base_context(const TlsOptions& o, bool server) {
  init_openssl();
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) return openssl_error("cannot create a TLS context");
  SSL_CTX* c = ctx.get();

  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1)
    return openssl_error("cannot restrict the TLS context to TLS 1.3");

  const GroupsAndCiphers gc = groups_and_ciphers(o.policy, o.groups_override);
  const std::string policy(pq_policy_name(o.policy));
  if (gc.groups.empty()) return plain_error("TLS groups list is empty (pq_policy " + policy + ")");
  if (SSL_CTX_set1_groups_list(c, gc.groups.c_str()) != 1)
    return openssl_error("OpenSSL refused the TLS groups list '" + gc.groups + "' (pq_policy " +
                         policy + ")");
  if (SSL_CTX_set_ciphersuites(c, gc.ciphersuites.c_str()) != 1)
    return openssl_error("OpenSSL refused the TLS 1.3 cipher suites '" + gc.ciphersuites +
                         "' (pq_policy " + policy + ")");

  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_max_early_data(c, 0) != 1 || SSL_CTX_set_recv_max_early_data(c, 0) != 1)
    return openssl_error("cannot turn off TLS early data");

  if (o.session_resumption) {
    SSL_CTX_clear_options(c, SSL_OP_NO_TICKET);
  } else {
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (server && SSL_CTX_set_num_tickets(c, 0) != 1)
      return openssl_error("cannot turn off TLS session tickets");
  }
  return ctx;
}

core::Result<void> load_credentials(SSL_CTX* c, const TlsOptions& o) {
  if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1)
    return openssl_error("cannot load the certificate chain '" + o.cert_file + "'");
  if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return openssl_error("cannot load the private key '" + o.key_file +
                         "' (or it does not match the certificate '" + o.cert_file + "')");
  if (SSL_CTX_check_private_key(c) != 1)
    return openssl_error("the private key '" + o.key_file + "' does not match the certificate '" +
                         o.cert_file + "'");
  return {};
}

core::Result<void> load_trust_bundle(SSL_CTX* c, const std::string& bundle) {
  if (SSL_CTX_load_verify_locations(c, bundle.c_str(), nullptr) != 1)
    return openssl_error("cannot load the trust bundle '" + bundle + "'");
  return {};
}

}  // namespace

core::Result<SslCtxPtr> make_server_context(const TlsOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty())
    return core::Error{"a TLS server needs both a certificate file and a key file"};
  if (options.require_client_cert && options.trust_bundle.empty())
    return core::Error{"require_client_cert needs a trust bundle to verify client certificates"};

  auto ctx = base_context(options, /*server=*/true);
  if (!ctx) return ctx.error();
  SSL_CTX* c = ctx->get();

  if (auto r = load_credentials(c, options); !r) return r.error();
  if (!options.trust_bundle.empty()) {
    if (auto r = load_trust_bundle(c, options.trust_bundle); !r) return r.error();
  }
  SSL_CTX_set_verify(c,
                     options.require_client_cert ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                                 : SSL_VERIFY_NONE,
                     nullptr);

  if (!options.alpn.empty()) {
    auto wire = alpn_wire(options.alpn);
    if (!wire) return wire.error();
    const int index = alpn_index();
    if (index < 0) return openssl_error("cannot reserve TLS context data for ALPN");
    auto owned = std::make_unique<std::string>(std::move(*wire));
    if (SSL_CTX_set_ex_data(c, index, owned.get()) != 1)
      return openssl_error("cannot attach the ALPN list to the TLS context");
    (void)owned.release();  // now freed by free_alpn with the context
    SSL_CTX_set_alpn_select_cb(c, select_alpn, nullptr);
  }
  return std::move(ctx).value();
}

core::Result<SslCtxPtr> make_client_context(const TlsOptions& options) {
  if (options.trust_bundle.empty())
    return core::Error{"a TLS client needs a trust bundle to verify the server"};
  if (options.cert_file.empty() != options.key_file.empty())
    return core::Error{"a TLS client certificate needs both cert_file and key_file (got " +
                       (options.cert_file.empty()
                            ? std::string("only key_file '") + options.key_file
                            : std::string("only cert_file '") + options.cert_file) +
                       "')"};

  auto ctx = base_context(options, /*server=*/false);
  if (!ctx) return ctx.error();
  SSL_CTX* c = ctx->get();

  if (!options.cert_file.empty()) {
    if (auto r = load_credentials(c, options); !r) return r.error();
  }
  if (auto r = load_trust_bundle(c, options.trust_bundle); !r) return r.error();
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);

  if (!options.alpn.empty()) {
    auto wire = alpn_wire(options.alpn);
    if (!wire) return wire.error();
    // Unlike most of OpenSSL, SSL_CTX_set_alpn_protos returns 0 on success.
    if (SSL_CTX_set_alpn_protos(c, reinterpret_cast<const unsigned char*>(wire->data()),
                                static_cast<unsigned int>(wire->size())) != 0)
      return openssl_error("cannot set the ALPN list on the TLS context");
  }
  return std::move(ctx).value();
}

std::optional<std::string> peer_spiffe_id(SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  return spiffe_id_of(cert);
}

std::optional<std::string> spiffe_id_of(const X509* cert) {
  if (cert == nullptr) return std::nullopt;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  constexpr std::string_view kScheme = "spiffe://";
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
    const std::string_view value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                 static_cast<size_t>(ASN1_STRING_length(uri)));
    if (value.substr(0, kScheme.size()) == kScheme) return std::string(value);
  }
  return std::nullopt;
}

HandshakeInfo handshake_info(SSL* ssl) {
  HandshakeInfo info;
  // A handshake that failed early has no session, and OpenSSL's getters
  // below do not all check for one.
  if (ssl == nullptr || SSL_get_session(ssl) == nullptr) return info;
  if (const char* group = SSL_get0_group_name(ssl)) info.group = group;
  if (const char* cipher = SSL_get_cipher_name(ssl);
      cipher != nullptr && SSL_get_current_cipher(ssl))
    info.cipher = cipher;
  const char* sigalg = nullptr;
  if (SSL_get0_peer_signature_name(ssl, &sigalg) == 1 && sigalg != nullptr)
    info.peer_sigalg = sigalg;
  return info;
}

}  // namespace aegis::tls
