// OpenSSL 3.5 contexts for mesh TLS (issue 3): TLS 1.3 only, key exchange per
// `pq_policy`, mTLS against a trust bundle, and what a finished handshake
// negotiated (group, cipher, peer signature algorithm, peer SPIFFE ID).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls/ossl_ptr.h"
#include "tls/pq_policy.h"

namespace aegis::tls {

using SslCtxPtr = OsslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OsslPtr<SSL, SSL_free>;

struct TlsOptions {
  PqPolicy policy = PqPolicy::kHybrid;
  std::optional<std::string> groups_override;  // replaces the policy's groups
  std::string cert_file;                       // PEM chain: the leaf first, then intermediates
  std::string key_file;                        // PEM private key of the leaf
  std::string trust_bundle;                    // PEM file, one or more roots
  bool require_client_cert = false;            // server only
  bool session_resumption = true;              // session tickets
  std::vector<std::string> alpn;               // e.g. {"h2", "http/1.1"}, in preference order
};

// Server: cert_file and key_file required (and must match); trust_bundle
// required when require_client_cert, which then demands and verifies a client
// certificate (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
core::Result<SslCtxPtr> make_server_context(const TlsOptions& options);

// Client: trust_bundle required (the server is always verified,
// SSL_VERIFY_PEER); cert_file and key_file optional, both or neither (mTLS).
// require_client_cert is ignored. No hostname or SPIFFE ID check here: the
// caller checks peer_spiffe_id() (or sets SSL_set1_host) per connection.
core::Result<SslCtxPtr> make_client_context(const TlsOptions& options);

// The first URI SAN starting with "spiffe://" of the peer's certificate, if the
// peer presented one and it verified (SSL_get_verify_result == X509_V_OK).
std::optional<std::string> peer_spiffe_id(SSL* ssl);
// The first URI SAN of `cert` starting with "spiffe://" (what peer_spiffe_id
// reads once the chain verified); the SAN extension is parsed by OpenSSL.
std::optional<std::string> spiffe_id_of(const X509* cert);

// Names as OpenSSL gives them: group "X25519MLKEM768" / "MLKEM1024" /
// "SecP384r1MLKEM1024"; classical groups by their IANA names, lower case:
// "x25519", "secp256r1" (is_classical_group accepts either spelling); cipher
// "TLS_AES_256_GCM_SHA384"; peer signature algorithm "mldsa65" /
// "ecdsa_secp256r1_sha256". Empty when unknown (e.g. no handshake yet, or a
// server that did not ask for a client certificate).
struct HandshakeInfo {
  std::string group;
  std::string cipher;
  std::string peer_sigalg;
};
HandshakeInfo handshake_info(SSL* ssl);

}  // namespace aegis::tls
