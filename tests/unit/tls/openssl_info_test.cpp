#include "tls/openssl_info.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace aegis::tls {
namespace {

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(OpensslInfo, LinkedOpensslIs35OrNewer) {
  const auto v = openssl_version();
  EXPECT_EQ(v.rfind("OpenSSL 3.", 0), 0u) << v;
  const int minor = std::stoi(v.substr(10));
  EXPECT_GE(minor, 5) << v;
}

TEST(OpensslInfo, OffersPostQuantumGroups) {
  const auto g = tls13_groups();
  for (const char* name : {"X25519MLKEM768", "SecP384r1MLKEM1024", "MLKEM1024", "x25519"})
    EXPECT_TRUE(has(g, name)) << name;
}

TEST(OpensslInfo, OffersMlDsaSignatures) {
  const auto s = signature_algorithms();
  for (const char* name : {"mldsa44", "mldsa65", "mldsa87", "ed25519", "ecdsa_secp256r1_sha256"})
    EXPECT_TRUE(has(s, name)) << name;
}

}  // namespace
}  // namespace aegis::tls
