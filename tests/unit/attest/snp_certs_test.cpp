// The SEV-SNP certificate side: VCEK TCB/hwID binding to a report, the GHCB
// certificate table (auxblob) parser, and AMD's three pinned ARKs with their
// ASKs, all on the real certificates in ../shared/testdata/attestation.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <string>

#include "attest/snp_cert_table.h"
#include "attest/snp_chain.h"
#include "attest/snp_report.h"
#include "attest/snp_vcek.h"
#include "attest/snp_verify.h"
#include "testdata.h"
#include "tls/x509_inspect.h"

namespace aegis::attest {
namespace {

std::string text(const std::vector<std::uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

tls::X509Ptr load_cert(const std::string& name) {
  auto certs = tls::parse_certificates(text(test::read_vector(name)), name);
  if (!certs || certs->size() != 1) return nullptr;
  return std::move(certs->front());
}

std::vector<std::uint8_t> der_of(X509* cert) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(i2d_X509(cert, nullptr)));
  unsigned char* p = out.data();
  i2d_X509(cert, &p);
  return out;
}

// ---- VCEK TCB and hwID against the report ---------------------------------

class SnpTcbBinding : public ::testing::Test {
 protected:
  void SetUp() override {
    AEGIS_NEED_VECTORS();
    const auto bytes = test::read_vector("snp-milan/report.bin");
    auto parsed = parse_snp_report(bytes);
    ASSERT_TRUE(parsed) << "snp-milan/report.bin: " << (parsed ? "" : parsed.error().text());
    report_ = parsed.value();
    vcek_ = load_cert("snp-milan/vcek.der");
    ASSERT_TRUE(vcek_);
    auto tcb = read_cert_tcb(vcek_.get());
    ASSERT_TRUE(tcb) << tcb.error().text();
    cert_ = tcb.value();
  }
  SnpReport report_;
  tls::X509Ptr vcek_;
  SnpCertTcb cert_;
};

TEST_F(SnpTcbBinding, RealVcekDescribesTheReport) {
  EXPECT_EQ(cert_.bootloader, 3);
  EXPECT_EQ(cert_.tee, 0);
  EXPECT_EQ(cert_.snp, 8);
  EXPECT_EQ(cert_.microcode, 115);
  EXPECT_FALSE(cert_.fmc.has_value());
  ASSERT_TRUE(cert_.hwid.has_value());
  EXPECT_EQ(*cert_.hwid, report_.chip_id);
  EXPECT_EQ(cert_.product_name, "Milan-B0");
  EXPECT_EQ(product_from_name(cert_.product_name), SnpProduct::kMilan);
  EXPECT_FALSE(match_tcb(report_, cert_, SnpProduct::kMilan, true).has_value());
}

TEST_F(SnpTcbBinding, EveryReportedTcbComponentIsCompared) {
  for (const unsigned byte : {0U, 1U, 6U, 7U}) {  // bootloader, tee, snp, microcode on Milan
    SnpReport changed = report_;
    changed.reported_tcb ^= std::uint64_t{1} << (8 * byte);
    const auto f = match_tcb(changed, cert_, SnpProduct::kMilan, true);
    ASSERT_TRUE(f.has_value()) << "byte " << byte;
    EXPECT_EQ(f->code, "tcb_mismatch");
  }
}

TEST_F(SnpTcbBinding, EveryCertificateSplIsCompared) {
  for (auto field : {&SnpCertTcb::bootloader, &SnpCertTcb::tee, &SnpCertTcb::snp, &SnpCertTcb::microcode}) {
    SnpCertTcb changed = cert_;
    changed.*field = static_cast<std::uint8_t>(*(cert_.*field) + 1);
    EXPECT_EQ(match_tcb(report_, changed, SnpProduct::kMilan, true).value_or(Failure{}).code, "tcb_mismatch");
    changed.*field = std::nullopt;  // a VCEK without that extension
    EXPECT_EQ(match_tcb(report_, changed, SnpProduct::kMilan, true).value_or(Failure{}).code, "tcb_mismatch");
  }
}

TEST_F(SnpTcbBinding, ChipIdMustEqualHwidExceptForVlek) {
  SnpReport changed = report_;
  changed.chip_id[63] ^= 1;
  EXPECT_EQ(match_tcb(changed, cert_, SnpProduct::kMilan, true).value_or(Failure{}).code, "tcb_mismatch");
  EXPECT_FALSE(match_tcb(changed, cert_, SnpProduct::kMilan, false).has_value());  // VLEK: no hwID
  SnpCertTcb no_hwid = cert_;
  no_hwid.hwid.reset();
  EXPECT_EQ(match_tcb(report_, no_hwid, SnpProduct::kMilan, true).value_or(Failure{}).code, "tcb_mismatch");
}

TEST_F(SnpTcbBinding, TurinLayoutNeedsFmcAndOtherBytes) {
  // Read as Turin, the same REPORTED_TCB gives fmc 3, bootloader 0, tee 0,
  // snp 0, microcode 115: the Milan VCEK (no fmcSPL) does not match.
  EXPECT_EQ(match_tcb(report_, cert_, SnpProduct::kTurin, true).value_or(Failure{}).code, "tcb_mismatch");
  SnpCertTcb turin = cert_;
  turin.fmc = 3;
  turin.bootloader = 0;
  turin.snp = 0;
  EXPECT_FALSE(match_tcb(report_, turin, SnpProduct::kTurin, true).has_value());
}

TEST(SnpTcb, DecodesByProduct) {
  const std::uint64_t raw = 0x0807000000040302ULL;  // bytes 02 03 04 00 00 00 07 08
  const SnpTcb milan = decode_tcb(raw, SnpProduct::kMilan);
  EXPECT_EQ(milan.bootloader, 2);
  EXPECT_EQ(milan.tee, 3);
  EXPECT_EQ(milan.snp, 7);
  EXPECT_EQ(milan.microcode, 8);
  EXPECT_EQ(milan.hex(), "0203040000000708");
  const SnpTcb genoa = decode_tcb(raw, SnpProduct::kGenoa);
  EXPECT_EQ(genoa.snp, 7);
  const SnpTcb turin = decode_tcb(raw, SnpProduct::kTurin);
  EXPECT_EQ(turin.fmc, 2);
  EXPECT_EQ(turin.bootloader, 3);
  EXPECT_EQ(turin.tee, 4);
  EXPECT_EQ(turin.snp, 0);
  EXPECT_EQ(turin.microcode, 8);
}

// ---- GHCB certificate table ------------------------------------------------

struct Entry {
  std::string_view guid;
  std::vector<std::uint8_t> der;
};

void put_u32(std::vector<std::uint8_t>& out, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Entries, the all-zero terminator, then the certificates back to back.
std::vector<std::uint8_t> build_table(const std::vector<Entry>& entries) {
  std::vector<std::uint8_t> out((entries.size() + 1) * 24, 0);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const Guid g = guid_from_text(entries[i].guid);
    std::copy(g.begin(), g.end(), out.begin() + static_cast<std::ptrdiff_t>(i * 24));
    put_u32(out, i * 24 + 16, static_cast<std::uint32_t>(out.size()));
    put_u32(out, i * 24 + 20, static_cast<std::uint32_t>(entries[i].der.size()));
    out.insert(out.end(), entries[i].der.begin(), entries[i].der.end());
  }
  return out;
}

class SnpCertTable : public ::testing::Test {
 protected:
  void SetUp() override {
    AEGIS_NEED_VECTORS();
    vcek_ = test::read_vector("snp-milan/vcek.der");
    auto ask = load_cert("amd-roots/milan/ask.pem");
    auto ark = load_cert("amd-roots/milan/ark.pem");
    ASSERT_TRUE(!vcek_.empty() && ask && ark);
    ask_ = der_of(ask.get());
    ark_ = der_of(ark.get());
    table_ = build_table({{kSnpVcekGuid, vcek_}, {kSnpAskGuid, ask_}, {kSnpArkGuid, ark_}});
  }
  std::vector<std::uint8_t> vcek_, ask_, ark_, table_;
};

TEST_F(SnpCertTable, ParsesEntriesAndVerifiesTheRealReport) {
  AEGIS_NEED_VECTORS();
  const auto entries = parse_cert_table(table_);
  ASSERT_TRUE(entries) << entries.error().text();
  ASSERT_EQ(entries->size(), 3U);
  EXPECT_EQ((*entries)[0].kind, SnpCertKind::kVcek);
  EXPECT_EQ((*entries)[1].kind, SnpCertKind::kAsk);
  EXPECT_EQ((*entries)[2].kind, SnpCertKind::kArk);
  EXPECT_EQ(guid_text((*entries)[0].guid), kSnpVcekGuid);
  EXPECT_TRUE(std::equal((*entries)[0].der.begin(), (*entries)[0].der.end(), vcek_.begin(), vcek_.end()));
  EXPECT_TRUE(std::equal((*entries)[2].der.begin(), (*entries)[2].der.end(), ark_.begin(), ark_.end()));

  auto inputs = inputs_from_cert_table(table_, false);
  ASSERT_TRUE(inputs) << inputs.error().text();
  inputs->at = 1748736000;  // 2025-06-01, inside every certificate's period
  const Verdict v = verify_snp(test::read_vector("snp-milan/report.bin"), inputs.value());
  EXPECT_TRUE(v.verified) << v.failure.text();
}

TEST_F(SnpCertTable, OversizedLengthOrOffsetIsBadLength) {
  auto longer = table_;
  put_u32(longer, 2 * 24 + 20, static_cast<std::uint32_t>(ark_.size() + 1));  // ARK runs past the end
  EXPECT_EQ(parse_cert_table(longer).error().code, "bad_length");
  auto huge = table_;
  put_u32(huge, 20, 0xffffffffU);
  EXPECT_EQ(parse_cert_table(huge).error().code, "bad_length");
  auto far = table_;
  put_u32(far, 16, 0xfffffff0U);
  EXPECT_EQ(parse_cert_table(far).error().code, "bad_length");
  EXPECT_EQ(inputs_from_cert_table(huge, false).error().code, "bad_length");
}

TEST_F(SnpCertTable, MissingTerminatorIsTruncated) {
  // Cut inside the entries: the reader runs out before the terminator (a cut
  // that keeps the entries but drops the certificates is bad_length instead).
  EXPECT_EQ(parse_cert_table(std::span(table_).first(10)).error().code, "truncated");
  EXPECT_EQ(parse_cert_table(std::span(table_).first(3 * 24 + 10)).error().code, "bad_length");
  EXPECT_EQ(parse_cert_table({}).error().code, "truncated");
  const std::vector<std::uint8_t> only_terminator(24, 0);
  EXPECT_EQ(parse_cert_table(std::span(only_terminator).first(23)).error().code, "truncated");
  const auto empty = parse_cert_table(only_terminator);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST_F(SnpCertTable, UnknownGuidsAreKeptAsOther) {
  const auto table = build_table({{"9f4116cd-c503-4f5a-8f6f-fb68882f4ce2", ask_}, {kSnpVlekGuid, vcek_}});
  const auto entries = parse_cert_table(table);
  ASSERT_TRUE(entries) << entries.error().text();
  ASSERT_EQ(entries->size(), 2U);
  EXPECT_EQ((*entries)[0].kind, SnpCertKind::kOther);
  EXPECT_EQ((*entries)[1].kind, SnpCertKind::kVlek);
  const auto as_vlek = inputs_from_cert_table(table, true);
  ASSERT_TRUE(as_vlek);
  EXPECT_EQ(as_vlek->vcek.size(), vcek_.size());
  EXPECT_TRUE(as_vlek->ask.empty());
}

// ---- AMD's pinned ARKs -------------------------------------------------------

TEST(SnpPinnedArks, EachRealArkIsPinnedAndSignsItsAsk) {
  AEGIS_NEED_VECTORS();
  const std::pair<const char*, SnpProduct> products[] = {
      {"milan", SnpProduct::kMilan}, {"genoa", SnpProduct::kGenoa}, {"turin", SnpProduct::kTurin}};
  for (const auto& [dir, product] : products) {
    SCOPED_TRACE(dir);
    const auto ark = load_cert(std::string("amd-roots/") + dir + "/ark.pem");
    const auto ask = load_cert(std::string("amd-roots/") + dir + "/ask.pem");
    ASSERT_TRUE(ark && ask);
    const std::string fp = cert_sha256(ark.get());
    const auto pin =
        std::find_if(kAmdArkPins.begin(), kAmdArkPins.end(), [&](const PinnedArk& p) { return p.sha256_hex == fp; });
    ASSERT_NE(pin, kAmdArkPins.end()) << fp;
    EXPECT_EQ(pin->product, product);
    const auto verified = verify_ark_ask(ask.get(), ark.get(), {});
    ASSERT_TRUE(verified) << verified.error().text();
    EXPECT_EQ(verified.value(), product);
  }
  // An ASK under another product's ARK is refused.
  const auto milan_ask = load_cert("amd-roots/milan/ask.pem");
  const auto turin_ark = load_cert("amd-roots/turin/ark.pem");
  ASSERT_TRUE(milan_ask && turin_ark);
  EXPECT_EQ(verify_ark_ask(milan_ask.get(), turin_ark.get(), {}).error().code, "bad_certificate");
  // An ASK is not a root.
  EXPECT_EQ(verify_ark_ask(milan_ask.get(), milan_ask.get(), {}).error().code, "bad_certificate");
}

}  // namespace
}  // namespace aegis::attest
