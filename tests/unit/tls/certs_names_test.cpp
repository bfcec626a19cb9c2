#include "tls/certs_names.h"

#include <gtest/gtest.h>

#include <string>

#include "tls/certs_keys.h"
#include "tls/openssl_info.h"
#include "tls/x509_build.h"
#include "tls/x509_inspect.h"

namespace aegis::tls {
namespace {

TEST(CertsNames, TrustDomain) {
  EXPECT_TRUE(check_trust_domain("example.org").ok());
  EXPECT_TRUE(check_trust_domain("prod_1.mesh-a.internal").ok());
  for (const char* bad : {"", "Example.org", "spiffe://example.org", "exa mple.org", "example.org/ns"})
    EXPECT_FALSE(check_trust_domain(bad).ok()) << bad;
  EXPECT_FALSE(check_trust_domain(std::string(256, 'a')).ok());
  const auto r = check_trust_domain("spiffe://example.org");
  EXPECT_NE(r.error().message.find("without 'spiffe://'"), std::string::npos) << r.error().message;
}

TEST(CertsNames, SpiffeId) {
  const auto ok = spiffe_id_trust_domain("spiffe://example.org/ns/default/sa/web");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok.value(), "example.org");
  EXPECT_TRUE(spiffe_id_trust_domain("spiffe://td/a.b-c_D9").ok());
  for (const char* bad : {"", "example.org/ns/a", "SPIFFE://example.org/a", "spiffe://example.org",
                          "spiffe://example.org/", "spiffe:///a", "spiffe://Example.org/a", "spiffe://example.org//a",
                          "spiffe://example.org/a/", "spiffe://example.org/./a", "spiffe://example.org/a/..",
                          "spiffe://example.org/a?b=c", "spiffe://example.org/a#f", "spiffe://example.org/a b",
                          "spiffe://user@example.org/a", "spiffe://example.org:8443/a", "spiffe://example.org/a,b"}) {
    const auto r = spiffe_id_trust_domain(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().kind, CertError::Kind::invalid_input);
      EXPECT_NE(r.error().message.find("spiffe://<trust-domain>/<path>"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_FALSE(spiffe_id_trust_domain("spiffe://example.org/" + std::string(2100, 'a')).ok());
}

TEST(CertsNames, DnsName) {
  for (const char* good : {"web", "web.default.svc", "*.example.org", "a-b.example.org", "xn--bcher-kva.example"})
    EXPECT_TRUE(check_dns_name(good).ok()) << good;
  for (const char* bad : {"", ".", "a..b", "-a.b", "a-.b", "a.*.b", "*", "a b", "a_b.c", "a.b.", "exa,mple.org"})
    EXPECT_FALSE(check_dns_name(bad).ok()) << bad;
  EXPECT_FALSE(check_dns_name(std::string(64, 'a') + ".org").ok());
}

TEST(CertsKeys, KeyTypeFlags) {
  for (const char* flag : {"mldsa44", "mldsa65", "mldsa87", "ecdsa-p256"}) {
    const auto t = parse_key_type(flag);
    ASSERT_TRUE(t) << flag;
    EXPECT_EQ(key_type_flag(*t), flag);
  }
  EXPECT_FALSE(parse_key_type("rsa"));
  EXPECT_FALSE(parse_key_type("ML-DSA-65"));
}

// A certificate past its notAfter, built with the same steps the tooling uses.
TEST(CertsInspect, ReportsExpiredAndReadsDer) {
  init_openssl();
  auto key = generate_key(KeyType::ecdsa_p256);
  ASSERT_TRUE(key.ok());
  const std::pair<std::string, std::string> fields[] = {{"CN", "old"}};
  auto name = make_name(fields);
  ASSERT_TRUE(name.ok());
  auto cert = new_certificate(name->get(), key->get(), 1);
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(X509_gmtime_adj(X509_getm_notAfter(cert->get()), -3600));
  ASSERT_TRUE(sign_certificate(cert->get(), key->get()).ok());

  auto info = describe_certificate(cert->get());
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->expired);
  EXPECT_EQ(info->subject, "CN=old");
  EXPECT_EQ(info->signature_algorithm, "ecdsa-with-SHA256");
  EXPECT_EQ(info->sha256_fingerprint.size(), 32u * 3 - 1);
  EXPECT_EQ(info->serial.size(), 32u);  // 128 bits in hex

  unsigned char* der = nullptr;
  const int len = i2d_X509(cert->get(), &der);
  ASSERT_GT(len, 0);
  OpensslBytesPtr<unsigned char> der_owner(der);
  auto parsed = parse_certificates({reinterpret_cast<const char*>(der), static_cast<std::size_t>(len)}, "der");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  auto again = describe_certificate(parsed.value()[0].get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sha256_fingerprint, info->sha256_fingerprint);
}

TEST(CertsInspect, RefusesWhatIsNotACertificate) {
  init_openssl();
  const auto no_cert = parse_certificates("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "key.pem");
  ASSERT_FALSE(no_cert.ok());
  EXPECT_NE(no_cert.error().message.find("key.pem"), std::string::npos) << no_cert.error().message;
  const auto garbage = parse_certificates("not a certificate", "junk");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().kind, CertError::Kind::failure);
  EXPECT_NE(garbage.error().message.find("junk"), std::string::npos);
}

}  // namespace
}  // namespace aegis::tls
