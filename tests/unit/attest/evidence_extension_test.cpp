// The RA-TLS evidence extension: the exact CBOR bytes of the claims, a round
// trip through a real certificate, the key and report-data bindings, and a
// clear refusal for each malformed shape.
#include "attest/evidence_extension.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "core/hex.h"
#include "tls/certs_keys.h"
#include "tls/x509_build.h"

namespace aegis::attest {
namespace {

tls::X509Ptr make_cert(const char* cn) {
  auto key = tls::generate_key(tls::KeyType::mldsa65);
  EXPECT_TRUE(key);
  const std::pair<std::string, std::string> entries[] = {{"CN", cn}};
  auto name = tls::make_name(entries);
  auto cert = tls::new_certificate(name.value().get(), key.value().get(), 1);
  EXPECT_TRUE(cert);
  return std::move(cert.value());
}

template <typename V>
const Failure& failure_of(const V& v) {
  static const Failure none{"none", "decoded"};
  return std::holds_alternative<Failure>(v) ? std::get<Failure>(v) : none;
}

TEST(EvidenceExtension, ClaimsAreTheDocumentedBytes) {
  const std::vector<std::uint8_t> spki = {1, 2, 3};
  std::array<std::uint8_t, 32> digest{};
  SHA256(spki.data(), spki.size(), digest.data());
  // {"pubkey-hash": h'82 01 58 20 <sha256>'}: map(1), text(11), bytes(35) of
  // array(2) [1, bytes(32)]
  const std::string expected =
      "a1"
      "6b" +
      core::to_hex(std::vector<std::uint8_t>{'p', 'u', 'b', 'k', 'e', 'y', '-', 'h', 'a', 's', 'h'}) +
      "5824"
      "82"
      "01"
      "5820" +
      core::to_hex(digest);
  EXPECT_EQ(core::to_hex(encode_claims(spki)), expected);
  const auto rd = report_data_for(encode_claims(spki));
  std::array<std::uint8_t, 32> claims_digest{};
  const auto claims = encode_claims(spki);
  SHA256(claims.data(), claims.size(), claims_digest.data());
  EXPECT_TRUE(std::equal(claims_digest.begin(), claims_digest.end(), rd.begin()));
  EXPECT_TRUE(std::all_of(rd.begin() + 32, rd.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST(EvidenceExtension, RoundTripThroughACertificateAndBindings) {
  const auto cert = make_cert("workload");
  const auto other = make_cert("someone-else");
  const auto spki = spki_der(cert.get());
  ASSERT_FALSE(spki.empty());
  const auto claims = encode_claims(spki);
  const std::vector<std::uint8_t> evidence(1184, 0x5a);
  const auto value = encode_extension(Tee::kSevSnp, evidence, claims);
  ASSERT_FALSE(value.empty());
  EXPECT_FALSE(find_extension(cert.get()));
  ASSERT_TRUE(add_extension(cert.get(), value));
  const auto found = find_extension(cert.get());
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, value);
  const auto decoded = decode_extension(*found);
  ASSERT_TRUE(std::holds_alternative<EvidenceExtension>(decoded)) << failure_of(decoded).text();
  const auto& ext = std::get<EvidenceExtension>(decoded);
  EXPECT_EQ(ext.tee, Tee::kSevSnp);
  EXPECT_EQ(ext.evidence, evidence);
  EXPECT_EQ(ext.claims, claims);

  const auto rd = report_data_for(claims);
  EXPECT_FALSE(check_binding(ext, spki, rd));
  const auto wrong_key = check_binding(ext, spki_der(other.get()), rd);
  ASSERT_TRUE(wrong_key);
  EXPECT_EQ(wrong_key->code, "key_binding");
  auto wrong_rd = rd;
  wrong_rd[63] ^= 1;
  const auto unbound = check_binding(ext, spki, wrong_rd);
  ASSERT_TRUE(unbound);
  EXPECT_EQ(unbound->code, "report_data_binding");

  const auto tdx = decode_extension(encode_extension(Tee::kTdx, evidence, claims));
  ASSERT_TRUE(std::holds_alternative<EvidenceExtension>(tdx));
  EXPECT_EQ(std::get<EvidenceExtension>(tdx).tee, Tee::kTdx);
}

TEST(EvidenceExtension, MalformedValuesAreRefusedWithAReason) {
  const auto claims = encode_claims(std::vector<std::uint8_t>{9, 9});
  const auto good = encode_extension(Tee::kTdx, std::vector<std::uint8_t>(16, 1), claims);
  auto code = [](const std::vector<std::uint8_t>& v) { return failure_of(decode_extension(v)).code; };
  EXPECT_EQ(code(good), "none");
  for (std::size_t cut = 0; cut < good.size(); ++cut)  // every truncation
    EXPECT_EQ(code(std::vector<std::uint8_t>(good.begin(), good.begin() + static_cast<long>(cut))), "bad_extension")
        << "cut at " << cut;
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(code(trailing), "bad_extension");
  // tag 60001 (Intel TEE report): not a format we verify
  auto other_tag = good;
  ASSERT_EQ(other_tag[0], 0xd9);  // tag with a 2-byte number
  other_tag[2] = 0x61;
  EXPECT_EQ(code(other_tag), "unsupported_version");
  EXPECT_EQ(code(*core::from_hex("82"
                                 "40"
                                 "40")),
            "bad_extension");  // untagged array
  EXPECT_EQ(code(*core::from_hex("d9ea60"
                                 "81"
                                 "40")),
            "bad_extension");  // one element
  EXPECT_EQ(code(*core::from_hex("d9ea60"
                                 "82"
                                 "40"
                                 "a0")),
            "bad_extension");  // claims not bytes
  EXPECT_EQ(code(*core::from_hex("d9ea60"
                                 "82"
                                 "40"
                                 "41"
                                 "a0")),
            "bad_extension");  // claims: empty map
  // pubkey-hash with hash algorithm 2 (SHA-256/128)
  const auto sha128 = *core::from_hex(
      "a1"
      "6b"
      "7075626b65792d68617368"
      "4f"
      "82"
      "02"
      "4c"
      "000000000000000000000000");
  std::vector<std::uint8_t> v = *core::from_hex(
      "d9ea60"
      "82"
      "40"
      "58");
  v.push_back(static_cast<std::uint8_t>(sha128.size()));
  v.insert(v.end(), sha128.begin(), sha128.end());
  EXPECT_EQ(code(v), "unsupported_version");
  EXPECT_EQ(code(std::vector<std::uint8_t>(kMaxExtensionBytes + 1, 0)), "bad_extension");
  // Counts that the bytes cannot hold are refused before libcbor allocates
  // for them (a 5-byte map header asking for ~3e9 pairs; fuzz finding).
  const auto huge = decode_extension(*core::from_hex("babababab0"));
  EXPECT_NE(failure_of(huge).detail.find("definite-length CBOR within its 5 bytes"), std::string::npos)
      << failure_of(huge).text();  // refused by the pre-walk, not by a failed 50 GB malloc
  EXPECT_EQ(code(*core::from_hex("d9ea60"
                                 "9bffffffffffffffff"
                                 "40")),
            "bad_extension");
  // Nesting deeper than 16 and indefinite lengths are refused too.
  EXPECT_EQ(code(std::vector<std::uint8_t>(64, 0x81)), "bad_extension");
  EXPECT_EQ(code(*core::from_hex("d9ea60"
                                 "9f"
                                 "40"
                                 "40"
                                 "ff")),
            "bad_extension");
}

}  // namespace
}  // namespace aegis::attest
