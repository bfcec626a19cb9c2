// TDX quote v4/v5 parsing and verification against the real vectors in
// ../shared/testdata/attestation (values from its README), and every way a
// quote must be refused: tampering, wrong root, truncation, lying lengths.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "attest/tdx_collateral.h"
#include "attest/tdx_quote.h"
#include "attest/tdx_tcb.h"
#include "attest/tdx_verify.h"
#include "core/hex.h"
#include "testdata.h"

namespace aegis::attest::tdx {
namespace {

constexpr std::string_view kIntelRoot =
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

std::string field(const Claims& c, std::string_view name) {
  for (const auto& [k, v] : c.fields) {
    if (k == name) return v;
  }
  return "<missing " + std::string(name) + ">";
}

std::time_t at(std::string_view utc) { return parse_utc_time(utc).value(); }

TdxVerifyOptions options(std::string_view when, std::string_view collateral = {},
                         std::vector<std::string> roots = {}) {
  TdxVerifyOptions o;
  o.at = at(when);
  o.collateral_json = collateral;
  o.test_root_fingerprints = std::move(roots);
  return o;
}

void put_u32(std::vector<std::uint8_t>& q, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) q[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Offset of the signature data length field: header (+ v5 descriptor) + body.
std::size_t sig_len_offset(const std::vector<std::uint8_t>& q) {
  return q[0] == 5 ? 48 + 6 + 648 : 48 + 584;
}

std::string text_of(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

// Real quote, its collateral, and a time inside the collateral's validity.
struct Vector {
  std::string dir;
  std::string inside;
};
const Vector kV4{"tdx-v4", "2025-07-01T00:00:00Z"};
const Vector kV5{"tdx-v5", "2026-03-01T00:00:00Z"};

TEST(TdxQuote, V4ParsesWithReadmeValues) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  auto q = parse_tdx_quote(bytes);
  ASSERT_TRUE(q.ok()) << q.error().text();
  EXPECT_EQ(q->header.version, 4);
  EXPECT_EQ(q->header.att_key_type, 2);
  EXPECT_EQ(q->header.tee_type, 0x81u);
  EXPECT_EQ(q->body_type, kTdxBody10);
  EXPECT_EQ(core::to_hex(q->body.mrtd),
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b25"
            "38873118b7");
  EXPECT_EQ(core::to_hex(q->body.report_data),
            "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf5"
            "2493d6e44aed55d51ec39b7e518fadb92c2b523f20");
  EXPECT_EQ(q->signed_data.size(), 632u);
  EXPECT_EQ(q->qe_report_raw.size(), 384u);
  EXPECT_EQ(q->qe_auth_data.size(), 32u);
  EXPECT_EQ(q->trailing_bytes, 70u);  // the sample is zero-padded after the signature data
  EXPECT_TRUE(q->pck_chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
}

TEST(TdxQuote, V5ParsesBodyType3) {
  AEGIS_READ_VECTOR(bytes, "tdx-v5/quote.bin");
  auto q = parse_tdx_quote(bytes);
  ASSERT_TRUE(q.ok()) << q.error().text();
  EXPECT_EQ(q->header.version, 5);
  EXPECT_EQ(q->header.att_key_type, 2);
  EXPECT_EQ(q->header.tee_type, 0x81u);
  EXPECT_EQ(q->body_type, kTdxBody15);
  EXPECT_EQ(q->signed_data.size(), 48u + 6u + 648u);
  EXPECT_EQ(q->trailing_bytes, 0u);
  EXPECT_EQ(core::to_hex(q->body.mrtd),
            "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0"
            "e5ae9a3dbd");
  EXPECT_EQ(
      core::to_hex(q->body.report_data),
      "d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728" + std::string(64, '0'));
}

TEST(TdxVerify, V4VerifiesWithoutCollateral) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  const Verdict v = verify_tdx(bytes, options("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(v.claims.tee, Tee::kTdx);
  EXPECT_EQ(core::to_hex(v.claims.measurement),
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b25"
            "38873118b7");
  EXPECT_EQ(core::to_hex(v.claims.report_data),
            "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf5"
            "2493d6e44aed55d51ec39b7e518fadb92c2b523f20");
  EXPECT_FALSE(v.claims.debug);
  EXPECT_FALSE(v.claims.simulated);
  EXPECT_EQ(v.claims.tcb_status, "not_evaluated");
  EXPECT_EQ(field(v.claims, "root_sha256"), kIntelRoot);
  EXPECT_EQ(field(v.claims, "tee_type"), "129");
  EXPECT_EQ(field(v.claims, "att_key_type"), "2");
  EXPECT_EQ(field(v.claims, "fmspc"), "b0c06f000000");
  EXPECT_EQ(field(v.claims, "mrtd"), core::to_hex(v.claims.measurement));
}

TEST(TdxVerify, V5VerifiesWithoutCollateral) {
  AEGIS_READ_VECTOR(bytes, "tdx-v5/quote.bin");
  const Verdict v = verify_tdx(bytes, options("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(field(v.claims, "version"), "5");
  EXPECT_EQ(field(v.claims, "body_type"), "3");
  EXPECT_EQ(field(v.claims, "root_sha256"), kIntelRoot);
  EXPECT_EQ(core::to_hex(v.claims.measurement),
            "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0"
            "e5ae9a3dbd");
  EXPECT_EQ(field(v.claims, "fmspc"), "90c06f000000");
}

TEST(TdxCollateral, V4InsideWindowIsUpToDate) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  AEGIS_READ_VECTOR(collateral, "tdx-v4/collateral.json");
  const std::string json = text_of(collateral);
  for (const char* when :
       {"2025-06-19T10:32:27Z", "2025-07-01T00:00:00Z", "2025-07-19T10:00:34Z"}) {
    const Verdict v = verify_tdx(bytes, options(when, json));
    ASSERT_TRUE(v.verified) << when << ": " << v.failure.text();
    EXPECT_EQ(v.claims.tcb_status, "UpToDate") << when;
    EXPECT_EQ(field(v.claims, "platform_tcb_status"), "UpToDate");
    EXPECT_EQ(field(v.claims, "tdx_module_tcb_status"), "UpToDate");
    EXPECT_EQ(field(v.claims, "qe_tcb_status"), "UpToDate");
    EXPECT_EQ(field(v.claims, "tcb_date"), "2024-03-13T00:00:00Z");
  }
}

TEST(TdxCollateral, V4OutsideWindowIsExpired) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  AEGIS_READ_VECTOR(collateral, "tdx-v4/collateral.json");
  const std::string json = text_of(collateral);
  // Just before the last document was issued, just after the first expires, far out.
  for (const char* when : {"2025-06-19T10:32:26Z", "2025-07-19T10:00:35Z", "2025-06-01T00:00:00Z",
                           "2026-01-01T00:00:00Z"}) {
    const Verdict v = verify_tdx(bytes, options(when, json));
    EXPECT_FALSE(v.verified) << when;
    EXPECT_EQ(v.failure.code, "collateral_expired") << when << ": " << v.failure.text();
    EXPECT_NE(v.failure.detail.find("2025-06-19T10:32:27Z .. 2025-07-19T10:00:35Z"),
              std::string::npos)
        << v.failure.detail;
  }
}

// The v5 sample's PCK certificate reports SGX TCB component 8 (SEAMLDR ACM)
// at SVN 3 while every level of its TCB Info asks for 5: no level matches,
// which Intel's QVL calls "TCB not supported". The quote's signatures and
// chain are valid; the TCB evaluation refuses it.
TEST(TdxCollateral, V5MatchesNoTcbLevel) {
  AEGIS_READ_VECTOR(bytes, "tdx-v5/quote.bin");
  AEGIS_READ_VECTOR(collateral, "tdx-v5/collateral.json");
  const Verdict plain = verify_tdx(bytes, options(kV5.inside));
  ASSERT_TRUE(plain.verified) << plain.failure.text();
  const Verdict v = verify_tdx(bytes, options(kV5.inside, text_of(collateral)));
  std::cout << "v5 TCB status: " << v.claims.tcb_status << " (" << v.failure.text() << "; module "
            << field(v.claims, "tdx_module_tcb_status") << ", QE "
            << field(v.claims, "qe_tcb_status") << ")\n";
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "tcb_status");
  EXPECT_NE(v.failure.detail.find("SGX component 8 SVN 5 (PCK certificate 3)"), std::string::npos)
      << v.failure.detail;
  EXPECT_EQ(v.claims.tcb_status, "Unrecognized");
  EXPECT_EQ(field(v.claims, "platform_tcb_status"), "Unrecognized");
  EXPECT_EQ(field(v.claims, "tdx_module_tcb_status"), "UpToDate");  // TDX_01, isvsvn 7 >= 6
  EXPECT_EQ(field(v.claims, "qe_tcb_status"), "UpToDate");
  EXPECT_EQ(field(v.claims, "fmspc"), "90c06f000000");
}

TEST(TdxCollateral, CombiningStatuses) {
  EXPECT_EQ(combine_tcb_status("UpToDate", ""), "UpToDate");
  EXPECT_EQ(combine_tcb_status("SWHardeningNeeded", "UpToDate"), "SWHardeningNeeded");
  EXPECT_EQ(combine_tcb_status("UpToDate", "OutOfDate"), "OutOfDate");
  EXPECT_EQ(combine_tcb_status("SWHardeningNeeded", "OutOfDate"), "OutOfDate");
  EXPECT_EQ(combine_tcb_status("ConfigurationNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded");
  EXPECT_EQ(combine_tcb_status("ConfigurationAndSWHardeningNeeded", "OutOfDate"),
            "OutOfDateConfigurationNeeded");
  EXPECT_EQ(combine_tcb_status("OutOfDate", "OutOfDate"), "OutOfDate");
  EXPECT_EQ(combine_tcb_status("UpToDate", "Revoked"), "Revoked");
  EXPECT_EQ(combine_tcb_status("Revoked", "UpToDate"), "Revoked");
  EXPECT_EQ(combine_tcb_status("Unrecognized", "UpToDate"), "Unrecognized");
  EXPECT_TRUE(tcb_status_refused("Revoked"));
  EXPECT_TRUE(tcb_status_refused("Unrecognized"));
  EXPECT_FALSE(tcb_status_refused("OutOfDate"));
}

TEST(TdxCollateral, OtherPlatformsTcbInfoIsAMismatch) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  AEGIS_READ_VECTOR(collateral, "tdx-v5/collateral.json");  // FMSPC 90c06f000000, not b0c06f000000
  const Verdict v = verify_tdx(bytes, options(kV5.inside, text_of(collateral)));
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "tcb_mismatch") << v.failure.text();
}

// Replaces the first `from` inside the JSON string member `key` by `to`.
std::string tamper(const std::vector<std::uint8_t>& collateral, const std::string& key,
                   const std::string& from, const std::string& to) {
  auto doc = nlohmann::json::parse(text_of(collateral));
  std::string inner = doc[key].get<std::string>();
  const auto pos = inner.find(from);
  EXPECT_NE(pos, std::string::npos) << key << " lacks " << from;
  if (pos != std::string::npos) inner.replace(pos, from.size(), to);
  doc[key] = inner;
  return doc.dump();
}

TEST(TdxCollateral, TamperedDocumentsAreRefused) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  AEGIS_READ_VECTOR(collateral, "tdx-v4/collateral.json");
  const struct {
    std::string key, from, to;
  } cases[] = {
      {"tcb_info", "\"tcbStatus\":\"OutOfDate\"", "\"tcbStatus\":\"UpToDate\""},
      {"tcb_info", "\"pcesvn\":11", "\"pcesvn\":1"},
      {"qe_identity", "\"isvsvn\":4", "\"isvsvn\":0"},
      {"tcb_info_signature", "02", "03"},
      {"qe_identity_signature", "d6", "d7"},
  };
  for (const auto& c : cases) {
    const Verdict v =
        verify_tdx(bytes, options(kV4.inside, tamper(collateral, c.key, c.from, c.to)));
    EXPECT_FALSE(v.verified) << c.key;
    EXPECT_EQ(v.failure.code, "collateral_signature") << c.key << ": " << v.failure.text();
  }
  const Verdict junk = verify_tdx(bytes, options(kV4.inside, "{\"tcb_info\": 1}"));
  EXPECT_EQ(junk.failure.code, "collateral_invalid") << junk.failure.text();
}

TEST(TdxCollateral, UtcTimes) {
  EXPECT_EQ(parse_utc_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_utc_time("2025-06-19T10:16:03Z"), 1750328163);
  EXPECT_EQ(format_utc_time(1750328163), "2025-06-19T10:16:03Z");
  for (const char* bad :
       {"", "2025-06-19", "2025-06-19T10:16:03", "2025-02-30T00:00:00Z", "2025-06-19T24:00:00Z",
        "2025-06-19T10:16:03+01:00", "+025-06-19T10:16:03Z"}) {
    EXPECT_FALSE(parse_utc_time(bad).has_value()) << bad;
  }
}

// Every byte of every signed region, changed two ways (XOR 0x01, and XOR a
// non-zero value from a fixed-seed generator), must be refused.
void expect_all_changes_refused(const Vector& vec) {
  AEGIS_READ_VECTOR(bytes, vec.dir + "/quote.bin");
  auto parsed = parse_tdx_quote(bytes);
  ASSERT_TRUE(parsed.ok());
  const std::size_t signed_end = parsed->signed_data.size();
  const std::size_t sig_start = signed_end + 4;          // signature, attestation key
  const std::size_t qe_start = sig_start + 64 + 64 + 6;  // QE report
  std::vector<std::pair<std::size_t, std::size_t>> regions = {
      {0, signed_end}, {sig_start, sig_start + 128}, {qe_start, qe_start + kSgxReportSize + 64}};
  const auto opts = options(vec.inside);
  ASSERT_TRUE(verify_tdx(bytes, opts).verified);
  std::mt19937 rng(20260226);
  std::uniform_int_distribution<int> nonzero(1, 255);
  std::size_t tried = 0;
  for (const auto& [from, to] : regions) {
    for (std::size_t i = from; i < to; ++i) {
      for (const int mask : {1, nonzero(rng)}) {
        auto copy = bytes;
        copy[i] ^= static_cast<std::uint8_t>(mask);
        const Verdict v = verify_tdx(copy, opts);
        ++tried;
        EXPECT_FALSE(v.verified) << vec.dir << ": byte " << i << " ^ " << mask << " accepted";
      }
    }
  }
  EXPECT_EQ(tried, 2 * (signed_end + 128 + kSgxReportSize + 64));
}

TEST(TdxVerify, V4EverySignedByteChangeIsRefused) { expect_all_changes_refused(kV4); }
TEST(TdxVerify, V5EverySignedByteChangeIsRefused) { expect_all_changes_refused(kV5); }

TEST(TdxVerify, WrongRootIsUntrusted) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  const Verdict v = verify_tdx(bytes, options(kV4.inside, {}, {std::string(64, 'a')}));
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "untrusted_root") << v.failure.text();
  // The same root supplied as a test root verifies, labelled simulated.
  const Verdict t = verify_tdx(bytes, options(kV4.inside, {}, {std::string(kIntelRoot)}));
  EXPECT_TRUE(t.verified) << t.failure.text();
  EXPECT_TRUE(t.claims.simulated);
}

TEST(TdxVerify, CertificatesOutsideTheirValidityAreRefused) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  const Verdict v = verify_tdx(bytes, options("2040-01-01T00:00:00Z"));
  EXPECT_EQ(v.failure.code, "bad_certificate") << v.failure.text();
}

TEST(TdxVerify, ChainInWrongOrder) {
  for (const auto& vec : {kV4, kV5}) {
    AEGIS_READ_VECTOR(bytes, vec.dir + "/quote.bin");
    auto parsed = parse_tdx_quote(bytes);
    ASSERT_TRUE(parsed.ok());
    const std::string& pem = parsed->pck_chain_pem;
    const std::string marker = "-----BEGIN CERTIFICATE-----";
    std::vector<std::string> blocks;
    for (auto pos = pem.find(marker); pos != std::string::npos;) {
      const auto next = pem.find(marker, pos + 1);
      blocks.push_back(pem.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
      pos = next;
    }
    ASSERT_EQ(blocks.size(), 3u);
    const std::string reordered = blocks[1] + blocks[0] + blocks[2];  // intermediate first
    ASSERT_EQ(reordered.size(), pem.size());
    auto copy = bytes;
    const auto at_pem = std::search(copy.begin(), copy.end(), pem.begin(), pem.end());
    ASSERT_NE(at_pem, copy.end());
    std::copy(reordered.begin(), reordered.end(), at_pem);
    const Verdict v = verify_tdx(copy, options(vec.inside));
    EXPECT_FALSE(v.verified);
    EXPECT_EQ(v.failure.code, "chain_order") << vec.dir << ": " << v.failure.text();
  }
}

TEST(TdxQuote, EveryTruncationIsTruncated) {
  for (const auto& vec : {kV4, kV5}) {
    AEGIS_READ_VECTOR(bytes, vec.dir + "/quote.bin");
    auto parsed = parse_tdx_quote(bytes);
    ASSERT_TRUE(parsed.ok());
    const std::size_t end = bytes.size() - parsed->trailing_bytes;
    for (std::size_t len = 0; len < end; ++len) {
      auto r = parse_tdx_quote(std::span(bytes).first(len));
      ASSERT_FALSE(r.ok()) << len;
      ASSERT_EQ(r.error().code, "truncated")
          << vec.dir << " cut at " << len << ": " << r.error().text();
    }
    const Verdict v = verify_tdx(std::span(bytes).first(end - 1), options(vec.inside));
    EXPECT_EQ(v.failure.code, "truncated");
  }
}

TEST(TdxQuote, LyingLengthFieldsAreBadLength) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  const std::size_t sig_len = sig_len_offset(bytes);
  for (const std::uint32_t value : {0xFFFFFFF0u, 4299u, 4301u, 0u}) {
    auto copy = bytes;
    put_u32(copy, sig_len, value);
    const Verdict v = verify_tdx(copy, options(kV4.inside));
    EXPECT_EQ(v.failure.code, "bad_length") << value << ": " << v.failure.text();
  }
  // Certification data size, QE auth data size, PCK chain size.
  const std::size_t cert_size = sig_len + 4 + 128 + 2;
  const std::size_t auth_size = cert_size + 4 + kSgxReportSize + 64;
  const std::size_t pem_size = auth_size + 2 + 32 + 2;
  for (const std::size_t off : {cert_size, pem_size}) {
    auto copy = bytes;
    put_u32(copy, off, 0xFFFFFFF0u);
    EXPECT_EQ(verify_tdx(copy, options(kV4.inside)).failure.code, "bad_length") << off;
  }
  auto copy = bytes;
  copy[auth_size] = 0xff;
  copy[auth_size + 1] = 0xff;
  EXPECT_EQ(verify_tdx(copy, options(kV4.inside)).failure.code, "bad_length");
  AEGIS_READ_VECTOR(v5, "tdx-v5/quote.bin");
  auto v5_copy = v5;
  put_u32(v5_copy, 50, 584);  // body type 3 with the 1.0 size
  EXPECT_EQ(parse_tdx_quote(v5_copy).error().code, "bad_length");
}

TEST(TdxQuote, OtherVersionsAndKeyTypes) {
  AEGIS_READ_VECTOR(bytes, "tdx-v4/quote.bin");
  auto copy = bytes;
  copy[0] = 3;
  EXPECT_EQ(parse_tdx_quote(copy).error().code, "unsupported_version");
  copy = bytes;
  copy[2] = 3;  // ECDSA-384-with-P-384
  EXPECT_EQ(parse_tdx_quote(copy).error().code, "unsupported_key_type");
  copy = bytes;
  copy[4] = 0x00;  // SGX
  EXPECT_EQ(parse_tdx_quote(copy).error().code, "unsupported_version");
}

}  // namespace
}  // namespace aegis::attest::tdx
