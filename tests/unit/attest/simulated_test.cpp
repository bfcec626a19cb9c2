// The simulated provider end to end: TEST roots generated into a temporary
// directory, evidence from them verified by the real verifiers with those
// roots (simulated) and refused without them (vendor pins), byte changes
// refused, and the TEST VCEK's extensions laid out like AMD's.
#include "attest/simulated.h"

#include <gtest/gtest.h>
#include <openssl/objects.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attest/simulated_roots.h"
#include "attest/snp_cert_table.h"
#include "attest/snp_chain.h"
#include "attest/snp_verify.h"
#include "attest/tdx_quote.h"
#include "attest/tdx_verify.h"
#include "core/hex.h"
#include "testdata.h"
#include "tls/x509_inspect.h"

namespace aegis::attest {
namespace {

namespace fs = std::filesystem;

std::string field(const Claims& c, const std::string& name) {
  for (const auto& [k, v] : c.fields)
    if (k == name) return v;
  return "<missing " + name + ">";
}

ReportData sample_report_data() {
  ReportData d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(0xA0 + i);
  return d;
}

class Simulated : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::path(::testing::TempDir()) / ("aegis-sim-" + std::to_string(::getpid()));
    fs::remove_all(*dir_);
    auto fps = generate_simulated_roots(*dir_, false);
    ASSERT_TRUE(fps.ok()) << fps.error().message;
    fps_ = fps.value();
  }
  static void TearDownTestSuite() {
    if (dir_) fs::remove_all(*dir_);
  }
  void SetUp() override { ASSERT_TRUE(fps_.has_value()) << "generating the TEST roots failed"; }

  static RawEvidence evidence(Tee tee, const SimulatedOptions& o = {}) {
    auto r = read_simulated(*dir_, tee, sample_report_data(), o);
    if (const auto* f = std::get_if<Failure>(&r)) ADD_FAILURE() << f->text();
    return std::get<RawEvidence>(r);
  }
  static Verdict verify_snp_with(const RawEvidence& ev, std::vector<std::string> roots) {
    auto in = inputs_from_cert_table(ev.aux, false);
    if (!in) return Verdict{false, {}, in.error()};
    in->test_roots = std::move(roots);
    return verify_snp(ev.report, in.value());
  }
  static Verdict verify_tdx_with(const RawEvidence& ev, std::vector<std::string> roots) {
    TdxVerifyOptions o;
    o.test_root_fingerprints = std::move(roots);
    return verify_tdx(ev.report, o);
  }

  static inline std::optional<fs::path> dir_;
  static inline std::optional<SimulatedRootFingerprints> fps_;
};

TEST_F(Simulated, RootsDirectoryHoldsTestCertsAndPrivateKeys) {
  namespace f = simulated_files;
  for (const auto key : {f::kSnpArkKey, f::kSnpAskKey, f::kSnpVcekKey, f::kTdxRootKey, f::kTdxPlatformCaKey,
                         f::kTdxPckKey, f::kTdxAttestationKey}) {
    struct stat st {};
    ASSERT_EQ(::stat((*dir_ / key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600U) << key;
  }
  auto ark = tls::read_certificates(*dir_ / f::kSnpArk);
  ASSERT_TRUE(ark.ok());
  EXPECT_EQ(cert_sha256(ark->front().get()), fps_->snp_ark_sha256);
  EXPECT_NE(common_name(ark->front().get()).find("TEST"), std::string::npos);
  auto root = tls::read_certificates(*dir_ / f::kTdxRoot);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(cert_sha256(root->front().get()), fps_->tdx_root_sha256);
  EXPECT_EQ(common_name(root->front().get()), "Aegis-Flow TEST SGX Root CA");
  auto listed = read_simulated_fingerprints(*dir_);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_EQ(listed->snp_ark_sha256, fps_->snp_ark_sha256);
  EXPECT_EQ(listed->tdx_root_sha256, fps_->tdx_root_sha256);
}

TEST_F(Simulated, ExistingRootsAreReplacedOnlyWithForce) {
  const fs::path other = *dir_ / "second";
  auto first = generate_simulated_roots(other, false);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto again = generate_simulated_roots(other, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, tls::CertError::Kind::invalid_input);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos) << again.error().message;
  auto forced = generate_simulated_roots(other, true);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_NE(forced->snp_ark_sha256, first->snp_ark_sha256);  // fresh keys
  EXPECT_NE(forced->tdx_root_sha256, first->tdx_root_sha256);
  // Evidence from one TEST root set is untrusted under another's fingerprint.
  const RawEvidence ev = evidence(Tee::kSevSnp);
  EXPECT_EQ(verify_snp_with(ev, {forced->snp_ark_sha256}).failure.code, "untrusted_root");
  fs::remove_all(other);
}

TEST_F(Simulated, SnpReportIsByteExactAndVerifiesAgainstTheTestRoots) {
  SimulatedOptions o;
  Measurement m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i * 3);
  o.measurement = m;
  o.vmpl = 2;
  const RawEvidence ev = evidence(Tee::kSevSnp, o);
  EXPECT_EQ(ev.source, "simulated");
  ASSERT_EQ(ev.report.size(), kSnpReportSize);
  auto parsed = parse_snp_report(ev.report);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->version, 3U);
  EXPECT_EQ(parsed->signature_algo, kSnpSigAlgoEcdsaP384Sha384);
  EXPECT_EQ(parsed->product(), SnpProduct::kMilan);
  EXPECT_EQ(parsed->reported_tcb, SimulatedSnpTcb{}.raw());
  EXPECT_EQ(parsed->vmpl, 2U);

  const Verdict v = verify_snp_with(ev, {fps_->snp_ark_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.simulated);
  EXPECT_FALSE(v.claims.debug);
  const ReportData rd = sample_report_data();
  EXPECT_EQ(v.claims.report_data, std::vector<std::uint8_t>(rd.begin(), rd.end()));
  EXPECT_EQ(v.claims.measurement, std::vector<std::uint8_t>(m.begin(), m.end()));
  EXPECT_EQ(field(v.claims, "vmpl"), "2");
  EXPECT_EQ(field(v.claims, "product"), "Milan");
  EXPECT_EQ(field(v.claims, "reported_tcb"), "0300000000000873");
}

TEST_F(Simulated, SnpDefaultMeasurementIsTheFixedTestValue) {
  const Verdict v = verify_snp_with(evidence(Tee::kSevSnp), {fps_->snp_ark_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  const Measurement m = simulated_default_measurement();
  EXPECT_EQ(v.claims.measurement, std::vector<std::uint8_t>(m.begin(), m.end()));
  EXPECT_NE(m, Measurement{});
}

TEST_F(Simulated, SnpEvidenceIsUntrustedUnderTheVendorPins) {
  const Verdict v = verify_snp_with(evidence(Tee::kSevSnp), {});
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "untrusted_root") << v.failure.text();
  EXPECT_FALSE(v.claims.simulated);
}

TEST_F(Simulated, SnpChangedBytesAreRefused) {
  const RawEvidence ev = evidence(Tee::kSevSnp);
  for (const std::size_t at :
       {std::size_t{0x50}, std::size_t{0x90}, std::size_t{0x29F}, std::size_t{0x2A0}, std::size_t{0x2E8}}) {
    RawEvidence changed = ev;
    changed.report.at(at) ^= 0x01;
    const Verdict v = verify_snp_with(changed, {fps_->snp_ark_sha256});
    EXPECT_FALSE(v.verified) << "byte " << at;
    EXPECT_EQ(v.failure.code, "bad_signature") << "byte " << at << ": " << v.failure.text();
  }
}

TEST_F(Simulated, SnpDebugPolicyIsClaimed) {
  SimulatedOptions o;
  o.debug = true;
  const Verdict v = verify_snp_with(evidence(Tee::kSevSnp, o), {fps_->snp_ark_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.debug);
  EXPECT_EQ(field(v.claims, "policy"), "0xb0000");
}

TEST_F(Simulated, SnpOtherTcbGetsItsOwnVcek) {
  SimulatedOptions o;
  o.tcb = SimulatedSnpTcb{4, 1, 22, 0xD1};
  ChipId chip{};
  chip.fill(0x5A);
  o.chip_id = chip;
  const RawEvidence ev = evidence(Tee::kSevSnp, o);
  const Verdict v = verify_snp_with(ev, {fps_->snp_ark_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_EQ(field(v.claims, "reported_tcb.snp"), "22");
  EXPECT_EQ(field(v.claims, "chip_id"), core::to_hex(chip));
  // That report with the default VCEK (another TCB and chip) is refused.
  RawEvidence mixed = ev;
  mixed.aux = evidence(Tee::kSevSnp).aux;
  const Verdict m = verify_snp_with(mixed, {fps_->snp_ark_sha256});
  EXPECT_EQ(m.failure.code, "tcb_mismatch") << m.failure.text();
}

TEST_F(Simulated, SnpCertificateTableHoldsVcekAskArk) {
  const RawEvidence ev = evidence(Tee::kSevSnp);
  auto entries = parse_cert_table(ev.aux);
  ASSERT_TRUE(entries.ok()) << entries.error().text();
  ASSERT_EQ(entries->size(), 3U);
  EXPECT_EQ((*entries)[0].kind, SnpCertKind::kVcek);
  EXPECT_EQ((*entries)[1].kind, SnpCertKind::kAsk);
  EXPECT_EQ((*entries)[2].kind, SnpCertKind::kArk);
}

// The extensions' OIDs in order, each with its extnValue's first byte (the
// DER tag, or the raw hwID's) and length.
std::vector<std::string> extension_layout(X509* cert) {
  std::vector<std::string> out;
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    std::array<char, 80> oid{};
    OBJ_obj2txt(oid.data(), static_cast<int>(oid.size()), X509_EXTENSION_get_object(ext), 1);
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
    std::string entry = std::string(oid.data()) + (X509_EXTENSION_get_critical(ext) ? " critical" : "");
    entry += " len=" + std::to_string(ASN1_STRING_length(data));
    if (ASN1_STRING_length(data) != 64) entry += " tag=" + std::to_string(*ASN1_STRING_get0_data(data));
    out.push_back(entry);
  }
  return out;
}

TEST_F(Simulated, TestVcekExtensionsAreEncodedLikeAmds) {
  AEGIS_READ_VECTOR(real_der, "snp-milan/vcek.der");
  auto real = tls::parse_certificates(std::string(real_der.begin(), real_der.end()), "vcek.der");
  ASSERT_TRUE(real.ok());
  auto ours = tls::read_certificates(*dir_ / simulated_files::kSnpVcek);
  ASSERT_TRUE(ours.ok());
  // The Milan vector's SPLs (3, 0, 8, 0x73) are the default TCB, so even the lengths agree.
  const auto real_layout = extension_layout(real->front().get());
  ASSERT_EQ(real_layout.size(), 11U);  // structVersion, productName, 8 SPLs, hwID
  EXPECT_EQ(extension_layout(ours->front().get()), real_layout);
  EXPECT_EQ(common_name(ours->front().get()), "SEV-VCEK");
  EXPECT_EQ(OBJ_obj2nid(X509_get0_tbs_sigalg(ours->front().get())->algorithm), NID_rsassaPss);
}

TEST_F(Simulated, TdxQuoteVerifiesAgainstTheTestRoots) {
  SimulatedOptions o;
  Measurement mrtd{};
  mrtd.fill(0x42);
  o.mrtd = mrtd;
  o.rtmrs[2].fill(0x77);
  const RawEvidence ev = evidence(Tee::kTdx, o);
  EXPECT_EQ(ev.source, "simulated");
  auto parsed = tdx::parse_tdx_quote(ev.report);
  ASSERT_TRUE(parsed.ok()) << parsed.error().text();
  EXPECT_EQ(parsed->header.version, 4U);
  EXPECT_EQ(parsed->trailing_bytes, 0U);
  const Verdict v = verify_tdx_with(ev, {fps_->tdx_root_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.simulated);
  EXPECT_FALSE(v.claims.debug);
  EXPECT_EQ(v.claims.tee, Tee::kTdx);
  const ReportData rd = sample_report_data();
  EXPECT_EQ(v.claims.report_data, std::vector<std::uint8_t>(rd.begin(), rd.end()));
  EXPECT_EQ(v.claims.measurement, std::vector<std::uint8_t>(mrtd.begin(), mrtd.end()));
  EXPECT_EQ(field(v.claims, "rtmr2"), std::string(96, '7'));
  EXPECT_EQ(field(v.claims, "root_sha256"), fps_->tdx_root_sha256);
}

TEST_F(Simulated, TdxQuoteIsUntrustedUnderTheIntelPin) {
  const Verdict v = verify_tdx_with(evidence(Tee::kTdx), {});
  EXPECT_FALSE(v.verified);
  EXPECT_EQ(v.failure.code, "untrusted_root") << v.failure.text();
  EXPECT_FALSE(v.claims.simulated);
}

TEST_F(Simulated, TdxChangedBytesAreRefused) {
  const RawEvidence ev = evidence(Tee::kTdx);
  // A body byte (MRTD), the attestation signature, and a QE report byte.
  const std::size_t qe_report_at = tdx::kTdxHeaderSize + tdx::kTdxBody10Size + 4 + 64 + 64 + 2 + 4;
  for (const std::size_t at :
       {tdx::kTdxHeaderSize + 136, tdx::kTdxHeaderSize + tdx::kTdxBody10Size + 4, qe_report_at + 10}) {
    RawEvidence changed = ev;
    changed.report.at(at) ^= 0x01;
    const Verdict v = verify_tdx_with(changed, {fps_->tdx_root_sha256});
    EXPECT_FALSE(v.verified) << "byte " << at;
    EXPECT_EQ(v.failure.code, "bad_signature") << "byte " << at << ": " << v.failure.text();
  }
}

TEST_F(Simulated, TdxDebugAttributeIsClaimed) {
  SimulatedOptions o;
  o.debug = true;
  const Verdict v = verify_tdx_with(evidence(Tee::kTdx, o), {fps_->tdx_root_sha256});
  ASSERT_TRUE(v.verified) << v.failure.text();
  EXPECT_TRUE(v.claims.debug);
}

TEST(SimulatedRoots, MissingDirectoryIsNamed) {
  for (const Tee tee : {Tee::kSevSnp, Tee::kTdx}) {
    auto r = read_simulated("/nonexistent/aegis-test-roots", tee, ReportData{});
    const auto* f = std::get_if<Failure>(&r);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->code, "simulated_roots");
    EXPECT_NE(f->detail.find("/nonexistent/aegis-test-roots"), std::string::npos) << f->detail;
    EXPECT_NE(f->detail.find("attest test-roots"), std::string::npos) << f->detail;
  }
}

}  // namespace
}  // namespace aegis::attest
