#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>

#include "tls/openssl_info.h"

namespace aegis::tls {

namespace {

constexpr auto kRotation = std::chrono::hours(1);
constexpr std::size_t kKept = 2;  // current + one previous: tickets live 1 to 2 rotations

void free_ring(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  std::unique_ptr<std::shared_ptr<TicketKeys>> owned(static_cast<std::shared_ptr<TicketKeys>*>(ptr));
}

int ring_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ring);
  return index;
}

int ticket_cb(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
              int encrypt) {
  auto* ring = static_cast<std::shared_ptr<TicketKeys>*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ring_index()));
  if (ring == nullptr || !*ring) return encrypt ? -1 : 0;
  return (*ring)->on_ticket(key_name, iv, cipher, mac, encrypt);
}

}  // namespace

std::shared_ptr<TicketKeys> TicketKeys::for_listener(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<TicketKeys>> rings;
  std::lock_guard lock(mu);
  auto& ring = rings[name];
  if (!ring) ring = std::make_shared<TicketKeys>(std::chrono::duration_cast<std::chrono::seconds>(kRotation), kKept);
  return ring;
}

core::Result<void> TicketKeys::attach(SSL_CTX* ctx, const std::shared_ptr<TicketKeys>& self) {
  const int index = ring_index();
  if (index < 0) return core::Error{with_openssl_errors("cannot reserve TLS context data for ticket keys")};
  auto owned = std::make_unique<std::shared_ptr<TicketKeys>>(self);
  if (SSL_CTX_set_ex_data(ctx, index, owned.get()) != 1)
    return core::Error{with_openssl_errors("cannot attach ticket keys to the TLS context")};
  (void)owned.release();  // freed by free_ring with the context
  if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb) != 1)
    return core::Error{with_openssl_errors("cannot install the session ticket callback")};
  SSL_CTX_set_timeout(ctx, static_cast<long>(rotation_.count()));
  return {};
}

std::size_t TicketKeys::key_count() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

void TicketKeys::rotate() {
  std::lock_guard lock(mu_);
  add_key(std::chrono::steady_clock::now());
}

bool TicketKeys::rotate_if_due(std::chrono::steady_clock::time_point now) {
  if (!keys_.empty() && now - keys_.front().created < rotation_) return true;
  return add_key(now);
}

bool TicketKeys::add_key(std::chrono::steady_clock::time_point now) {
  Key k{};
  if (RAND_bytes(k.name.data(), static_cast<int>(k.name.size())) != 1 ||
      RAND_priv_bytes(k.aes.data(), static_cast<int>(k.aes.size())) != 1 ||
      RAND_priv_bytes(k.hmac.data(), static_cast<int>(k.hmac.size())) != 1)
    return !keys_.empty();  // keep the old key rather than fail every handshake
  k.created = now;
  keys_.push_front(k);
  while (keys_.size() > kept_) {
    OPENSSL_cleanse(keys_.back().aes.data(), keys_.back().aes.size());
    OPENSSL_cleanse(keys_.back().hmac.data(), keys_.back().hmac.size());
    keys_.pop_back();
  }
  return true;
}

int TicketKeys::on_ticket(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                          int encrypt) {
  std::lock_guard lock(mu_);
  char digest[] = "SHA256";
  if (encrypt) {
    if (!rotate_if_due(std::chrono::steady_clock::now())) return -1;
    const Key& k = keys_.front();
    const int iv_len = EVP_CIPHER_get_iv_length(EVP_aes_256_cbc());
    if (RAND_bytes(iv, iv_len) != 1) return -1;
    std::copy(k.name.begin(), k.name.end(), key_name);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k.hmac.data()), k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return -1;
    if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
    return 1;
  }
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    const Key& k = keys_[i];
    if (!std::equal(k.name.begin(), k.name.end(), key_name)) continue;
    // Keys older than the ring keeps were erased, so a match is still valid.
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k.hmac.data()), k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes.data(), iv) != 1) return -1;
    // 2 ("renew"), always: a TLS 1.3 client uses a ticket once, so every
    // resumption must hand it a fresh one, under the current key (OpenSSL
    // sends no new ticket after a resumption that returned 1).
    return 2;
  }
  return 0;  // unknown key: full handshake
}

}  // namespace aegis::tls
