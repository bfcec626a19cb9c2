#include "tls/certs_keys.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <array>

#include <fmt/core.h>

namespace aegis::tls {

std::optional<KeyType> parse_key_type(std::string_view flag) {
  if (flag == "mldsa44") return KeyType::mldsa44;
  if (flag == "mldsa65") return KeyType::mldsa65;
  if (flag == "mldsa87") return KeyType::mldsa87;
  if (flag == "ecdsa-p256") return KeyType::ecdsa_p256;
  return std::nullopt;
}

std::string_view key_type_flag(KeyType type) {
  switch (type) {
    case KeyType::mldsa44: return "mldsa44";
    case KeyType::mldsa65: return "mldsa65";
    case KeyType::mldsa87: return "mldsa87";
    case KeyType::ecdsa_p256: return "ecdsa-p256";
  }
  return "?";
}

CertResult<PkeyPtr> generate_key(KeyType type) {
  PkeyPtr key;
  switch (type) {
    case KeyType::mldsa44: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ML-DSA-44")); break;
    case KeyType::mldsa65: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ML-DSA-65")); break;
    case KeyType::mldsa87: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ML-DSA-87")); break;
    case KeyType::ecdsa_p256: key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); break;
  }
  if (!key) return openssl_failure(fmt::format("generating a {} key", key_type_flag(type)));
  return key;
}

std::string describe_key(const EVP_PKEY* key) {
  const char* type = EVP_PKEY_get0_type_name(key);
  std::string name = type ? type : "unknown";
  if (EVP_PKEY_is_a(key, "EC")) {
    std::array<char, 80> group{};
    if (EVP_PKEY_get_group_name(key, group.data(), group.size(), nullptr) == 1) {
      const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group.data()));
      name += fmt::format(" {}", nist ? nist : group.data());
    }
  } else if (EVP_PKEY_is_a(key, "RSA")) {
    name += fmt::format(" {}", EVP_PKEY_get_bits(key));
  }
  return name;
}

const EVP_MD* signing_digest(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") || EVP_PKEY_is_a(key, "RSA")) return EVP_sha256();
  return nullptr;
}

CertResult<std::string> private_key_pem(const EVP_PKEY* key, std::string_view what) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_failure(fmt::format("encoding {} as PEM", what));
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace aegis::tls
