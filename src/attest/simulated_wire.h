// Byte-layout and signing helpers shared by the simulated SNP and TDX
// providers: little-endian fields at fixed offsets of a buffer they own, an
// appending writer, and ECDSA signatures as OpenSSL's ECDSA_SIG.
#pragma once

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tls/ossl_ptr.h"

namespace aegis::attest::simulated_wire {

using Bytes = std::vector<std::uint8_t>;

// `n` little-endian bytes of `v` at `offset` (.at(): an offset past the end throws, a bug here).
inline void put_le(Bytes& out, std::size_t offset, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.at(offset + i) = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_bytes(Bytes& out, std::size_t offset, std::span<const std::uint8_t> bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) out.at(offset + i) = bytes[i];
}

class Writer {
 public:
  void u16(std::uint64_t v) { le(v, 2); }
  void u32(std::uint64_t v) { le(v, 4); }
  void u64(std::uint64_t v) { le(v, 8); }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void zeros(std::size_t n) { out_.resize(out_.size() + n, 0); }
  std::size_t size() const { return out_.size(); }
  Bytes take() { return std::move(out_); }

 private:
  void le(std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

// An ECDSA signature by `key` over `digest`(message); nullopt when OpenSSL refuses.
inline std::optional<tls::EcdsaSigPtr> ecdsa_sign(EVP_PKEY* key, const EVP_MD* digest,
                                                  std::span<const std::uint8_t> message) {
  const tls::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  Bytes der(len);
  if (EVP_DigestSign(ctx.get(), der.data(), &len, message.data(), message.size()) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  const unsigned char* p = der.data();
  tls::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!sig) {
    ERR_clear_error();
    return std::nullopt;
  }
  return sig;
}

}  // namespace aegis::attest::simulated_wire
