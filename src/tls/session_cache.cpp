#include "tls/session_cache.h"

namespace aegis::tls {

void SessionCache::prepare(SSL* ssl) {
  if (ssl == nullptr) return;
  SSL_set_app_data(ssl, this);
  if (session_ && ctx_.get() == SSL_get_SSL_CTX(ssl) && SSL_SESSION_is_resumable(session_.get()) == 1) {
    // A failed SSL_set_session only means a full handshake.
    (void)SSL_set_session(ssl, session_.get());
  } else {
    session_.reset();
    ctx_.reset();
  }
}

int SessionCache::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* cache = static_cast<SessionCache*>(SSL_get_app_data(ssl));
  if (cache == nullptr) return 0;  // not ours: OpenSSL frees it
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  if (cache->ctx_.get() != ctx) {
    if (SSL_CTX_up_ref(ctx) != 1) return 0;
    cache->ctx_.reset(ctx);
  }
  cache->session_.reset(session);  // returning 1 hands us OpenSSL's reference
  return 1;
}

void enable_client_resumption(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &SessionCache::on_new_session);
}

}  // namespace aegis::tls
