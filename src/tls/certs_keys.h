// Key pairs for certificates: the key types `aegis-flow certs` makes, their
// generation, their names as OpenSSL gives them, and the digest a signature
// with them needs.
#pragma once

#include <openssl/evp.h>

#include <optional>
#include <string>
#include <string_view>

#include "tls/certs_result.h"
#include "tls/ossl_ptr.h"

namespace aegis::tls {

enum class KeyType { mldsa44, mldsa65, mldsa87, ecdsa_p256 };

inline constexpr std::string_view kKeyTypeChoices = "mldsa65|mldsa87|mldsa44|ecdsa-p256";

// `mldsa65` → KeyType::mldsa65 ...; nullopt for anything else.
std::optional<KeyType> parse_key_type(std::string_view flag);
std::string_view key_type_flag(KeyType type);

CertResult<PkeyPtr> generate_key(KeyType type);

// What OpenSSL calls the key: "ML-DSA-65", "EC P-256", "ED25519", "RSA 2048".
std::string describe_key(const EVP_PKEY* key);

// The digest X509_sign takes for this signing key: none for ML-DSA and EdDSA
// (they hash internally and refuse a digest), SHA-256 for ECDSA and RSA.
const EVP_MD* signing_digest(const EVP_PKEY* key);

// Unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY").
CertResult<std::string> private_key_pem(const EVP_PKEY* key, std::string_view what);

}  // namespace aegis::tls
