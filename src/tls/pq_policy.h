// Post-quantum key-exchange policy of a TLS listener or cluster (issue 3):
// which TLS 1.3 groups and cipher suites each `pq_policy` value stands for.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace aegis::tls {

enum class PqPolicy { kHybrid, kPqOnly1024, kCompat };

inline constexpr std::string_view kPqPolicyChoices = "hybrid|pq_only_1024|compat";

// OpenSSL's default TLS 1.3 suites (TLS_DEFAULT_CIPHERSUITES), spelt out so
// the policy does not depend on the linked library's defaults.
inline constexpr std::string_view kTls13DefaultCiphersuites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// "hybrid" | "pq_only_1024" | "compat" → the policy; nullopt for anything else.
std::optional<PqPolicy> parse_pq_policy(std::string_view name);
std::string_view pq_policy_name(PqPolicy policy);

// Colon-separated lists as SSL_CTX_set1_groups_list / SSL_CTX_set_ciphersuites take them.
struct GroupsAndCiphers {
  std::string groups;
  std::string ciphersuites;
};

// hybrid:       X25519MLKEM768:SecP384r1MLKEM1024:MLKEM1024, default suites;
// pq_only_1024: MLKEM1024:SecP384r1MLKEM1024, TLS_AES_256_GCM_SHA384 only;
// compat:       the hybrid groups, then X25519:P-256, default suites.
// A groups override replaces the policy's groups (the suites stay the policy's).
GroupsAndCiphers groups_and_ciphers(
    PqPolicy policy, const std::optional<std::string>& groups_override = std::nullopt);

// True for a classical-only (non-post-quantum) key-exchange group as OpenSSL
// names it: X25519, X448, P-256/P-384/P-521 and their secpXXXr1/prime256v1
// aliases, brainpool and ffdhe groups. False for anything naming ML-KEM
// (X25519MLKEM768, SecP384r1MLKEM1024, MLKEM1024 ...) and for unknown names.
bool is_classical_group(std::string_view name);

}  // namespace aegis::tls
