// What verify_tdx reports besides yes/no: the QE binding refusal (QE auth
// data is covered by no signature, only by the QE report's hash), the DEBUG
// bit, and the claim fields of both body versions.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "attest/tdx_collateral.h"
#include "attest/tdx_quote.h"
#include "attest/tdx_verify.h"
#include "core/hex.h"
#include "testdata.h"

namespace aegis::attest::tdx {
namespace {

TdxVerifyOptions at(std::string_view when) {
  TdxVerifyOptions o;
  o.at = parse_utc_time(when).value();
  return o;
}

bool has_field(const Claims& c, std::string_view name) {
  for (const auto& [k, v] : c.fields) {
    if (k == name) return true;
  }
  return false;
}

// Offset of the first QE auth data byte: signed region, length, signature,
// attestation key, certification data type and size, QE report, its signature, size.
std::size_t auth_data_offset(const TdxQuote& q) {
  return q.signed_data.size() + 4 + 64 + 64 + 2 + 4 + kSgxReportSize + 64 + 2;
}

TEST(TdxClaims, ChangedQeAuthDataBreaksTheBinding) {
  for (const auto& [dir, when] :
       {std::pair{"tdx-v4", "2025-07-01T00:00:00Z"}, std::pair{"tdx-v5", "2026-03-01T00:00:00Z"}}) {
    AEGIS_READ_VECTOR(bytes, std::string(dir) + "/quote.bin");
    auto q = parse_tdx_quote(bytes);
    ASSERT_TRUE(q.ok());
    ASSERT_FALSE(q->qe_auth_data.empty());
    const std::size_t off = auth_data_offset(*q);
    ASSERT_EQ(bytes[off], q->qe_auth_data[0]);
    for (std::size_t i = 0; i < q->qe_auth_data.size(); ++i) {
      auto copy = bytes;
      copy[off + i] ^= 0x80;
      const Verdict v = verify_tdx(copy, at(when));
      EXPECT_FALSE(v.verified);
      EXPECT_EQ(v.failure.code, "qe_binding") << dir << " auth byte " << i;
    }
  }
}

TEST(TdxClaims, DebugBitIsReportedEvenWhenRefused) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  const Verdict clean = verify_tdx(bytes, at("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(clean.verified);
  EXPECT_FALSE(clean.claims.debug);
  auto copy = bytes;
  const std::size_t td_attributes = 48 + 16 + 48 + 48 + 8;
  copy[td_attributes] |= 0x01;
  const Verdict v = verify_tdx(copy, at("2025-07-01T00:00:00Z"));
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "bad_signature");
  EXPECT_TRUE(v.claims.debug);
  EXPECT_EQ(v.claims.tee, Tee::kTdx);
}

TEST(TdxClaims, FieldsOfBothBodyVersions) {
  AEGIS_READ_VECTOR(v4, "tdx-v4/quote.bin");
  AEGIS_READ_VECTOR(v5, "tdx-v5/quote.bin");
  const Verdict a = verify_tdx(v4, at("2025-07-01T00:00:00Z"));
  const Verdict b = verify_tdx(v5, at("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(a.verified && b.verified);
  for (const char* name : {"version", "body_type", "tee_tcb_svn", "mrseam", "mrsignerseam",
                           "td_attributes", "xfam", "mrtd", "mrconfigid", "mrowner",
                           "mrownerconfig", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "fmspc"}) {
    EXPECT_TRUE(has_field(a.claims, name)) << name;
    EXPECT_TRUE(has_field(b.claims, name)) << name;
  }
  EXPECT_FALSE(has_field(a.claims, "mr_servicetd"));
  EXPECT_TRUE(has_field(b.claims, "mr_servicetd"));
  EXPECT_TRUE(has_field(b.claims, "tee_tcb_svn2"));
}

}  // namespace
}  // namespace aegis::attest::tdx
