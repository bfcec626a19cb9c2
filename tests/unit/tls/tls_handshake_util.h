// In-memory TLS handshakes for unit tests: two SSL objects joined by a BIO
// pair, so contexts can be exercised without sockets.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls/tls_context.h"

namespace aegis::tls::testing {

// Two SSL objects joined by a BIO pair, handshaking in memory.
struct Handshake {
  SslPtr client;
  SslPtr server;
  bool client_ok = false;
  bool server_ok = false;
  bool ok() const { return client_ok && server_ok; }
};

// `resume`: a session the client offers (TLS 1.3 ticket resumption).
inline Handshake handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume = nullptr) {
  Handshake h{SslPtr(SSL_new(client_ctx)), SslPtr(SSL_new(server_ctx))};
  if (!h.client || !h.server) return h;
  if (resume != nullptr && SSL_set_session(h.client.get(), resume) != 1) return h;
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  if (BIO_new_bio_pair(&client_bio, 0, &server_bio, 0) != 1) return h;
  SSL_set_bio(h.client.get(), client_bio, client_bio);  // each SSL owns its end
  SSL_set_bio(h.server.get(), server_bio, server_bio);
  SSL_set_connect_state(h.client.get());
  SSL_set_accept_state(h.server.get());
  bool client_failed = false;
  bool server_failed = false;
  auto step = [](SSL* ssl, bool& done, bool& failed) {
    if (done || failed) return;
    const int rc = SSL_do_handshake(ssl);
    if (rc == 1) {
      done = true;
      return;
    }
    const int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) failed = true;
  };
  for (int i = 0; i < 50 && !(h.client_ok && h.server_ok); ++i) {
    step(h.client.get(), h.client_ok, client_failed);
    step(h.server.get(), h.server_ok, server_failed);
    if (client_failed || server_failed) break;
  }
  ERR_clear_error();
  return h;
}


}  // namespace aegis::tls::testing
