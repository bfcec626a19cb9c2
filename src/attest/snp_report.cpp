// Field-by-field reading of the SEV-SNP report; offsets follow the ABI
// specification's table and are asserted as the reader walks past them.
#include "attest/snp_report.h"

#include <algorithm>
#include <optional>

#include "core/byte_reader.h"
#include "core/hex.h"

namespace aegis::attest {

namespace {

using core::ByteReader;

// Every read below lands inside the 1184 checked bytes, so a failed read
// means a bug in the offsets, reported as truncated rather than trusted.
class Walker {
 public:
  explicit Walker(std::span<const std::uint8_t> bytes) : r_(bytes) {}

  bool ok() const { return ok_; }
  std::size_t at() const { return r_.position(); }

  std::uint8_t u8() { return take(r_.u8()); }
  std::uint32_t u32() { return take(r_.u32_le()); }
  std::uint64_t u64() { return take(r_.u64_le()); }
  template <std::size_t N>
  void bytes(std::array<std::uint8_t, N>& out) {
    const auto b = r_.bytes(N);
    if (!b) {
      ok_ = false;
      return;
    }
    std::copy(b->begin(), b->end(), out.begin());
  }
  void skip_to(std::size_t offset) {
    if (offset < r_.position() || !r_.skip(offset - r_.position())) ok_ = false;
  }

 private:
  template <typename T>
  T take(std::optional<T> v) {
    if (!v) ok_ = false;
    return v.value_or(T{});
  }

  ByteReader r_;
  bool ok_ = true;
};

void read_key_info(Walker& w, SnpReport& r) {
  const std::uint32_t key_info = w.u32();
  r.author_key_en = (key_info & 1U) != 0;
  r.mask_chip_key = (key_info & 2U) != 0;
  r.signing_key = static_cast<std::uint8_t>((key_info >> 2) & 7U);
}

void read_header(Walker& w, SnpReport& r) {
  r.version = w.u32();
  r.guest_svn = w.u32();
  r.policy = w.u64();
  w.bytes(r.family_id);
  w.bytes(r.image_id);
  r.vmpl = w.u32();
  r.signature_algo = w.u32();
  r.current_tcb = w.u64();
  r.platform_info = w.u64();
  read_key_info(w, r);
  w.skip_to(0x50);
}

void read_body(Walker& w, SnpReport& r) {
  w.bytes(r.report_data);
  w.bytes(r.measurement);
  w.bytes(r.host_data);
  w.bytes(r.id_key_digest);
  w.bytes(r.author_key_digest);
  w.bytes(r.report_id);
  w.bytes(r.report_id_ma);
  r.reported_tcb = w.u64();
  if (r.version >= 3) {  // reserved in version 2
    r.cpuid_fam_id = w.u8();
    r.cpuid_mod_id = w.u8();
    r.cpuid_step = w.u8();
  }
  w.skip_to(0x1A0);
  w.bytes(r.chip_id);
  r.committed_tcb = w.u64();
  r.current_build = w.u8();
  r.current_minor = w.u8();
  r.current_major = w.u8();
  w.skip_to(0x1EC);
  r.committed_build = w.u8();
  r.committed_minor = w.u8();
  r.committed_major = w.u8();
  w.skip_to(0x1F0);
  r.launch_tcb = w.u64();
  if (r.version >= 5) {
    r.launch_mit_vector = w.u64();
    r.current_mit_vector = w.u64();
  }
}

void read_signature(Walker& w, SnpReport& r) {
  w.skip_to(kSnpSignedSize);
  w.bytes(r.signature_r);
  w.bytes(r.signature_s);
  w.skip_to(kSnpReportSize);  // the rest of the 512-byte signature field is reserved
}

}  // namespace

std::string_view product_name(SnpProduct p) {
  switch (p) {
    case SnpProduct::kMilan:
      return "Milan";
    case SnpProduct::kGenoa:
      return "Genoa";
    case SnpProduct::kTurin:
      return "Turin";
    case SnpProduct::kUnknown:
      break;
  }
  return "unknown";
}

std::string SnpTcb::hex() const {
  std::array<std::uint8_t, 8> bytes{};
  unsigned shift = 0;
  for (auto& b : bytes) {
    b = static_cast<std::uint8_t>(raw >> shift);
    shift += 8;
  }
  return core::to_hex(bytes);
}

SnpTcb decode_tcb(std::uint64_t raw, SnpProduct product) {
  auto byte = [raw](unsigned i) { return static_cast<std::uint8_t>(raw >> (8 * i)); };
  SnpTcb t;
  t.raw = raw;
  if (product == SnpProduct::kTurin) {
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

SnpProduct SnpReport::product() const {
  if (version < 3) return SnpProduct::kUnknown;
  // AMD family 19h: models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa (and
  // Bergamo/Siena, which share its layout); family 1Ah models 00h-1Fh Turin.
  if (cpuid_fam_id == 0x19) {
    if (cpuid_mod_id <= 0x0F) return SnpProduct::kMilan;
    if (cpuid_mod_id <= 0x1F || (cpuid_mod_id >= 0xA0 && cpuid_mod_id <= 0xAF)) return SnpProduct::kGenoa;
  }
  if (cpuid_fam_id == 0x1A && cpuid_mod_id <= 0x1F) return SnpProduct::kTurin;
  return SnpProduct::kUnknown;
}

AttestResult<SnpReport> parse_snp_report(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kSnpReportSize)
    return Failure{"truncated", "SEV-SNP report is " + std::to_string(bytes.size()) + " bytes, expected " +
                                    std::to_string(kSnpReportSize)};
  if (bytes.size() > kSnpReportSize)
    return Failure{"bad_length", "SEV-SNP report is " + std::to_string(bytes.size()) + " bytes, expected " +
                                     std::to_string(kSnpReportSize)};
  Walker w(bytes);
  SnpReport r;
  read_header(w, r);
  if (r.version < kSnpMinVersion || r.version > kSnpMaxVersion)
    return Failure{"unsupported_version",
                   "SEV-SNP report version " + std::to_string(r.version) + " (this verifier reads versions 2 to 5)"};
  read_body(w, r);
  read_signature(w, r);
  if (!w.ok() || w.at() != kSnpReportSize) return Failure{"truncated", "SEV-SNP report layout overran its bytes"};
  return r;
}

}  // namespace aegis::attest
