#include "tls/pq_policy.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace aegis::tls {

namespace {

constexpr std::string_view kHybridGroups = "X25519MLKEM768:SecP384r1MLKEM1024:MLKEM1024";
constexpr std::string_view kPqOnly1024Groups = "MLKEM1024:SecP384r1MLKEM1024";
constexpr std::string_view kPqOnly1024Ciphersuites = "TLS_AES_256_GCM_SHA384";
constexpr std::string_view kCompatGroups =
    "X25519MLKEM768:SecP384r1MLKEM1024:MLKEM1024:X25519:P-256";

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::optional<PqPolicy> parse_pq_policy(std::string_view name) {
  if (name == "hybrid") return PqPolicy::kHybrid;
  if (name == "pq_only_1024") return PqPolicy::kPqOnly1024;
  if (name == "compat") return PqPolicy::kCompat;
  return std::nullopt;
}

std::string_view pq_policy_name(PqPolicy policy) {
  switch (policy) {
    case PqPolicy::kHybrid: return "hybrid";
    case PqPolicy::kPqOnly1024: return "pq_only_1024";
    case PqPolicy::kCompat: return "compat";
  }
  return "hybrid";
}

GroupsAndCiphers groups_and_ciphers(PqPolicy policy,
                                    const std::optional<std::string>& groups_override) {
  GroupsAndCiphers out;
  switch (policy) {
    case PqPolicy::kHybrid:
      out = {std::string(kHybridGroups), std::string(kTls13DefaultCiphersuites)};
      break;
    case PqPolicy::kPqOnly1024:
      out = {std::string(kPqOnly1024Groups), std::string(kPqOnly1024Ciphersuites)};
      break;
    case PqPolicy::kCompat:
      out = {std::string(kCompatGroups), std::string(kTls13DefaultCiphersuites)};
      break;
  }
  if (groups_override) out.groups = *groups_override;
  return out;
}

bool is_classical_group(std::string_view name) {
  const std::string n = lower(name);
  if (n.empty() || n.find("mlkem") != std::string::npos || n.find("ml-kem") != std::string::npos ||
      n.find("kyber") != std::string::npos)
    return false;
  static constexpr std::array<std::string_view, 13> kClassical = {
      "x25519",    "x448",       "p-256",     "p-384",     "p-521", "secp256r1", "secp384r1",
      "secp521r1", "prime256v1", "secp224r1", "secp256k1", "p-224", "sm2"};
  if (std::find(kClassical.begin(), kClassical.end(), n) != kClassical.end()) return true;
  return starts_with(n, "ffdhe") || starts_with(n, "brainpool");
}

}  // namespace aegis::tls
