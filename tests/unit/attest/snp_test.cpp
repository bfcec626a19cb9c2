// SEV-SNP report parsing and verification against the real Milan vector in
// ../shared/testdata/attestation (README values), and every way a report,
// its chain or its TCB binding can be wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "attest/snp_chain.h"
#include "attest/snp_report.h"
#include "attest/snp_vcek.h"
#include "attest/snp_verify.h"
#include "core/hex.h"
#include "testdata.h"
#include "tls/x509_inspect.h"

namespace aegis::attest {
namespace {

constexpr std::string_view kMeasurement =
    "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f";
constexpr std::string_view kReportData =
    "d447b55d197491bfe15cf298f9de9986b7a7c4be2468b4f6e2d53b71d7c64581"
    "0b0f2cdfca0040433be063fc1a8293f0f3f8dae7b79fecb3d1cd82bd6a93ebfd";

constexpr std::time_t kWhen = 1748736000;  // 2025-06-01T00:00:00Z, inside every certificate's period

std::string text(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

std::map<std::string, std::string> field_map(const Claims& c) { return {c.fields.begin(), c.fields.end()}; }

class SnpVector : public ::testing::Test {
 protected:
  void SetUp() override {
    AEGIS_NEED_VECTORS();
    report_ = test::read_vector("snp-milan/report.bin");
    ASSERT_EQ(report_.size(), kSnpReportSize) << "snp-milan/report.bin missing under " << test::vectors_dir();
    inputs_.vcek = text(test::read_vector("snp-milan/vcek.der"));
    inputs_.ask = text(test::read_vector("amd-roots/milan/ask.pem"));
    inputs_.ark = text(test::read_vector("amd-roots/milan/ark.pem"));
    ASSERT_FALSE(inputs_.vcek.empty() || inputs_.ask.empty() || inputs_.ark.empty());
    inputs_.at = kWhen;
  }
  std::vector<std::uint8_t> report_;
  SnpVerifyInputs inputs_;
};

TEST_F(SnpVector, ParsesEveryReadmeValue) {
  const auto r = parse_snp_report(report_);
  ASSERT_TRUE(r) << r.error().text();
  EXPECT_EQ(r->version, 2U);
  EXPECT_EQ(r->policy, 0x30000U);
  EXPECT_FALSE(r->debug());
  EXPECT_EQ(r->vmpl, 0U);
  EXPECT_EQ(r->signature_algo, 1U);
  EXPECT_EQ(r->signing_key, 0U);
  EXPECT_EQ(core::to_hex(r->measurement), kMeasurement);
  EXPECT_EQ(core::to_hex(r->report_data), kReportData);
  const SnpTcb tcb = decode_tcb(r->reported_tcb, SnpProduct::kMilan);
  EXPECT_EQ(tcb.hex(), "0300000000000873");
  EXPECT_EQ(tcb.bootloader, 3);
  EXPECT_EQ(tcb.tee, 0);
  EXPECT_EQ(tcb.snp, 8);
  EXPECT_EQ(tcb.microcode, 115);
  const std::string chip = core::to_hex(r->chip_id);
  EXPECT_EQ(chip.size(), 128U);
  EXPECT_TRUE(chip.starts_with("d49554ec")) << chip;
  EXPECT_TRUE(chip.ends_with("541eb6")) << chip;
  EXPECT_EQ(r->product(), SnpProduct::kUnknown);  // version 2 has no CPUID fields
  EXPECT_EQ(r->current_major, 1);
  EXPECT_EQ(r->current_minor, 0x34);
  EXPECT_EQ(r->current_build, 4);
  EXPECT_EQ(r->signature_r[0], 0x61);
  EXPECT_EQ(r->signature_s[0], 0x20);
}

TEST_F(SnpVector, VerifiesAgainstPinnedMilanRoot) {
  const Verdict v = verify_snp(report_, inputs_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.failure.code.empty());
  EXPECT_EQ(v.claims.tee, Tee::kSevSnp);
  EXPECT_FALSE(v.claims.simulated);
  EXPECT_FALSE(v.claims.debug);
  EXPECT_EQ(core::to_hex(v.claims.measurement), kMeasurement);
  EXPECT_EQ(core::to_hex(v.claims.report_data), kReportData);
  auto f = field_map(v.claims);
  EXPECT_EQ(f["version"], "2");
  EXPECT_EQ(f["policy"], "0x30000");
  EXPECT_EQ(f["vmpl"], "0");
  EXPECT_EQ(f["product"], "Milan");  // from the pinned ARK that matched
  EXPECT_EQ(f["reported_tcb"], "0300000000000873");
  EXPECT_EQ(f["reported_tcb.bootloader"], "3");
  EXPECT_EQ(f["reported_tcb.tee"], "0");
  EXPECT_EQ(f["reported_tcb.snp"], "8");
  EXPECT_EQ(f["reported_tcb.microcode"], "115");
  EXPECT_TRUE(f["chip_id"].starts_with("d49554ec"));
  EXPECT_TRUE(f["chip_id"].ends_with("541eb6"));
  EXPECT_EQ(f["signing_key"], "vcek");
  EXPECT_EQ(f["current_version"], "1.52.4");
}

TEST_F(SnpVector, VerifiesWithKdsCertChain) {
  inputs_.cert_chain = inputs_.ask + inputs_.ark;
  inputs_.ask.clear();
  inputs_.ark.clear();
  const Verdict v = verify_snp(report_, inputs_);
  EXPECT_TRUE(v.verified) << v.failure.text();
}

TEST_F(SnpVector, ChainInWrongOrderIsChainOrder) {
  SnpVerifyInputs swapped = inputs_;
  swapped.cert_chain = inputs_.ark + inputs_.ask;
  swapped.ask.clear();
  swapped.ark.clear();
  EXPECT_EQ(verify_snp(report_, swapped).failure.code, "chain_order");
  std::swap(inputs_.ask, inputs_.ark);
  EXPECT_EQ(verify_snp(report_, inputs_).failure.code, "chain_order");
}

TEST_F(SnpVector, EverySignedByteChangeIsRejected) {
  // Offsets whose change a parser or a pre-signature check notices first:
  // VERSION, SIGNATURE_ALGO and KEY_INFO. Everywhere else it must be the
  // signature that fails.
  const auto parse_visible = [](std::size_t i) { return i < 4 || (i >= 0x34 && i < 0x38) || (i >= 0x48 && i < 0x4C); };
  const std::set<std::string> early = {"bad_signature", "unsupported_version", "unsupported_key_type",
                                       "bad_certificate"};
  std::size_t rejected = 0;
  for (const std::uint8_t mask : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
    for (std::size_t i = 0; i < kSnpSignedSize; ++i) {
      auto changed = report_;
      changed[i] ^= mask;
      const Verdict v = verify_snp(changed, inputs_);
      ASSERT_FALSE(v.verified) << "byte 0x" << std::hex << i << " ^ 0x" << int{mask} << " still verifies";
      if (parse_visible(i))
        EXPECT_TRUE(early.contains(v.failure.code)) << std::hex << i << ": " << v.failure.text();
      else
        EXPECT_EQ(v.failure.code, "bad_signature") << std::hex << i << ": " << v.failure.text();
      ++rejected;
    }
  }
  EXPECT_EQ(rejected, 2 * 672U);
}

TEST_F(SnpVector, ReportKeyKindMustMatchTheCertificate) {
  auto vlek = report_;
  vlek[0x48] ^= 0x04;  // KEY_INFO.SIGNING_KEY 0 -> 1 (VLEK), but the certificate is CN=SEV-VCEK
  EXPECT_EQ(verify_snp(vlek, inputs_).failure.code, "bad_certificate");
  auto unsigned_report = report_;
  unsigned_report[0x48] |= 0x1c;  // SIGNING_KEY 7: no key
  EXPECT_EQ(verify_snp(unsigned_report, inputs_).failure.code, "unsupported_key_type");
  auto other_algo = report_;
  other_algo[0x34] = 2;
  EXPECT_EQ(verify_snp(other_algo, inputs_).failure.code, "unsupported_key_type");
}

TEST_F(SnpVector, ChangedSignatureIsRejected) {
  for (std::size_t i = kSnpSignedSize; i < kSnpSignedSize + 144; ++i) {
    auto changed = report_;
    changed[i] ^= 0x01;
    const Verdict v = verify_snp(changed, inputs_);
    ASSERT_FALSE(v.verified) << "signature byte 0x" << std::hex << i;
    EXPECT_EQ(v.failure.code, "bad_signature") << std::hex << i;
  }
}

TEST_F(SnpVector, ReservedTailAfterSignatureIsNotSigned) {
  // Bytes 0x330..0x49F are reserved and outside the signature: the spec
  // leaves them unsigned, so changing them cannot be detected.
  auto changed = report_;
  changed[0x400] ^= 0xff;
  EXPECT_TRUE(verify_snp(changed, inputs_).verified);
}

TEST_F(SnpVector, WrongRootsAreRefusedDistinctly) {
  AEGIS_NEED_VECTORS();
  SnpVerifyInputs genoa = inputs_;
  genoa.ask = text(test::read_vector("amd-roots/genoa/ask.pem"));
  genoa.ark = text(test::read_vector("amd-roots/genoa/ark.pem"));
  const Verdict v = verify_snp(report_, genoa);
  EXPECT_EQ(v.failure.code, "bad_certificate") << v.failure.text();  // VCEK not signed by the Genoa ASK

  SnpVerifyInputs mixed = inputs_;
  mixed.ark = genoa.ark;  // Milan ASK under the Genoa ARK
  EXPECT_EQ(verify_snp(report_, mixed).failure.code, "bad_certificate");

  SnpVerifyInputs ark_twice = inputs_;
  ark_twice.ask = inputs_.ark;  // the ARK would "sign" itself; the VCEK is not under it anyway
  EXPECT_EQ(verify_snp(report_, ark_twice).failure.code, "bad_certificate");

  SnpVerifyInputs other_anchor = inputs_;
  other_anchor.test_roots = {std::string(kAmdArkPins[1].sha256_hex)};  // only Genoa trusted
  EXPECT_EQ(verify_snp(report_, other_anchor).failure.code, "untrusted_root");
}

TEST_F(SnpVector, CallerSuppliedRootMarksClaimsSimulated) {
  const auto ark = tls::parse_certificates(inputs_.ark, "ark");
  ASSERT_TRUE(ark);
  std::string upper_colons;  // the `openssl x509 -fingerprint` spelling is accepted too
  for (const char c : cert_sha256(ark->front().get())) {
    if (!upper_colons.empty() && upper_colons.size() % 3 == 2) upper_colons.push_back(':');
    upper_colons.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  inputs_.test_roots = {upper_colons};
  const Verdict v = verify_snp(report_, inputs_);
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.simulated);
}

TEST_F(SnpVector, CertificatesOutsideTheirValidityAreRefused) {
  inputs_.at = 1924992000;  // 2031-01-01: the VCEK expired on 2030-04-03
  Verdict v = verify_snp(report_, inputs_);
  EXPECT_EQ(v.failure.code, "bad_certificate");
  EXPECT_NE(v.failure.detail.find("VCEK/VLEK (CN=SEV-VCEK) is expired at 2031-01-01"), std::string::npos)
      << v.failure.detail;
  inputs_.at = 1577836800;  // 2020-01-01: before the ARK existed
  v = verify_snp(report_, inputs_);
  EXPECT_EQ(v.failure.code, "bad_certificate");
  EXPECT_NE(v.failure.detail.find("not yet valid"), std::string::npos) << v.failure.detail;
}

TEST_F(SnpVector, LengthAndVersionErrors) {
  auto shorter = report_;
  shorter.pop_back();
  EXPECT_EQ(verify_snp(shorter, inputs_).failure.code, "truncated");
  EXPECT_EQ(parse_snp_report({}).error().code, "truncated");
  auto longer = report_;
  longer.push_back(0);
  EXPECT_EQ(verify_snp(longer, inputs_).failure.code, "bad_length");
  for (const std::uint8_t version : {0, 1, 6, 0xff}) {
    auto changed = report_;
    changed[0] = version;
    EXPECT_EQ(parse_snp_report(changed).error().code, "unsupported_version") << int{version};
  }
  auto v3 = report_;
  v3[0] = 3;
  v3[0x188] = 0x19;  // family 19h model 11h: Genoa
  v3[0x189] = 0x11;
  v3[0x18A] = 0x01;
  const auto r = parse_snp_report(v3);
  ASSERT_TRUE(r) << r.error().text();
  EXPECT_EQ(r->product(), SnpProduct::kGenoa);
  EXPECT_EQ(r->cpuid_step, 1);
}

TEST_F(SnpVector, ProductFromCpuidFromVersion3On) {
  struct Case {
    std::uint8_t version, family, model;
    SnpProduct product;
  };
  for (const Case c : {Case{3, 0x19, 0x01, SnpProduct::kMilan}, Case{3, 0x19, 0x11, SnpProduct::kGenoa},
                       Case{4, 0x19, 0xA0, SnpProduct::kGenoa}, Case{5, 0x1A, 0x02, SnpProduct::kTurin},
                       Case{3, 0x17, 0x31, SnpProduct::kUnknown}, Case{2, 0x1A, 0x02, SnpProduct::kUnknown}}) {
    auto changed = report_;
    changed[0] = c.version;
    changed[0x188] = c.family;
    changed[0x189] = c.model;
    const auto r = parse_snp_report(changed);
    ASSERT_TRUE(r) << r.error().text();
    EXPECT_EQ(r->product(), c.product) << int{c.version} << " " << int{c.family} << " " << int{c.model};
    if (c.version == 2) {
      EXPECT_EQ(r->cpuid_fam_id, 0);  // reserved bytes in version 2
    }
  }
}

TEST_F(SnpVector, MissingCertificatesAreBadCertificate) {
  SnpVerifyInputs none = inputs_;
  none.vcek.clear();
  EXPECT_EQ(verify_snp(report_, none).failure.code, "bad_certificate");
  none = inputs_;
  none.ask.clear();
  none.ark.clear();
  EXPECT_EQ(verify_snp(report_, none).failure.code, "bad_certificate");
  none = inputs_;
  none.vcek = "not a certificate";
  EXPECT_EQ(verify_snp(report_, none).failure.code, "bad_certificate");
}

}  // namespace
}  // namespace aegis::attest
