// Session-ticket keys that rotate (TLS 1.3 resumption on listeners). One ring
// per listener name for the life of the process, so tickets stay valid across
// certificate and config reloads. A new key encrypts tickets every
// `rotation`; the previous `kept` keys still decrypt (their tickets are
// accepted and re-issued under the current key). Keys live in memory only.
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/result.h"

namespace aegis::tls {

class TicketKeys {
 public:
  TicketKeys(std::chrono::seconds rotation, std::size_t kept) : rotation_(rotation), kept_(kept) {}

  // The ring of a listener (created on first use).
  static std::shared_ptr<TicketKeys> for_listener(const std::string& name);

  // Makes `ctx` issue and accept tickets under this ring; the context keeps
  // the ring alive. Ticket lifetime is set to what the ring can still decrypt.
  core::Result<void> attach(SSL_CTX* ctx, const std::shared_ptr<TicketKeys>& self);

  std::size_t key_count() const;
  // Starts a new current key now (the oldest kept one is dropped).
  void rotate();
  std::chrono::seconds rotation() const { return rotation_; }

  // OpenSSL's ticket callback contract (SSL_CTX_set_tlsext_ticket_key_evp_cb).
  int on_ticket(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                int encrypt);

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
    std::chrono::steady_clock::time_point created;
  };
  bool rotate_if_due(std::chrono::steady_clock::time_point now);  // under mu_
  bool add_key(std::chrono::steady_clock::time_point now);        // under mu_

  std::chrono::seconds rotation_;
  std::size_t kept_;
  mutable std::mutex mu_;
  std::deque<Key> keys_;  // front: current
};

}  // namespace aegis::tls
