// Client-side TLS session resumption for a cluster's connections to one
// endpoint: the newest ticket the endpoint issued, offered on the next new
// connection to it (TLS 1.3 PSK resumption: no certificate, no signatures).
// One cache per endpoint per worker, so no locks. A connection points to its
// cache through the SSL's app data; the cache must outlive the connection
// (it lives in the worker's per-endpoint state, which also owns the pool).
#pragma once

#include <openssl/ssl.h>

#include "tls/ossl_ptr.h"
#include "tls/tls_context.h"

namespace aegis::tls {

using SslSessionPtr = OsslPtr<SSL_SESSION, SSL_SESSION_free>;

class SessionCache {
 public:
  // Before the handshake: offer the cached session (if still resumable and
  // issued to a connection of the same context: a reload that changed the
  // trust bundle, names or identities makes a new context, and its first
  // connection verifies the server in full) and register `ssl` so that the
  // tickets it receives land here.
  void prepare(SSL* ssl);
  // OpenSSL's new-session callback for contexts that resume (installed by
  // enable_client_resumption): stores the ticket in the connection's cache.
  static int on_new_session(SSL* ssl, SSL_SESSION* session);
  bool has_session() const { return static_cast<bool>(session_); }

 private:
  SslSessionPtr session_;
  SslCtxPtr ctx_;  // the context of the connection that received it (held, so its address stays unique)
};

// Turns on client-side tickets for `ctx`: the client cache mode with no
// internal store, and SessionCache::on_new_session.
void enable_client_resumption(SSL_CTX* ctx);

}  // namespace aegis::tls
