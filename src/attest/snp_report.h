// The AMD SEV-SNP attestation report (SEV-SNP ABI specification, table
// "ATTESTATION_REPORT Structure"): the 1184 bytes the PSP signs with the
// chip's VCEK (or the VLEK), parsed field by field through core::ByteReader.
// Parsing checks layout only; snp_verify.h checks signatures and the chain.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "attest/verdict.h"
#include "core/result.h"

namespace aegis::attest {

inline constexpr std::size_t kSnpReportSize = 1184;
inline constexpr std::size_t kSnpSignedSize = 0x2A0;  // the signature covers bytes 0x000..0x29F
inline constexpr std::uint32_t kSnpMinVersion = 2;
inline constexpr std::uint32_t kSnpMaxVersion = 5;  // newest layout this parser knows
inline constexpr std::uint32_t kSnpSigAlgoEcdsaP384Sha384 = 1;
inline constexpr std::uint64_t kSnpPolicyDebugBit = 1ULL << 19;

// The AMD EPYC generation; it decides how a TCB_VERSION is laid out.
enum class SnpProduct { kUnknown, kMilan, kGenoa, kTurin };
std::string_view product_name(SnpProduct p);

// KEY_INFO.SIGNING_KEY: which key signed the report.
enum class SnpSigningKey : std::uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };

// A TCB_VERSION decoded for one product. Milan and Genoa: bootloader byte 0,
// tee byte 1, snp byte 6, microcode byte 7. Turin: fmc byte 0, bootloader 1,
// tee 2, snp 3, microcode 7. An unknown product decodes as Milan/Genoa.
struct SnpTcb {
  std::uint64_t raw = 0;
  std::uint8_t fmc = 0;  // Turin only
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  // The field's 8 bytes in report order (byte 0 first), e.g. the Milan
  // vector's "0300000000000873": bootloader 3 … microcode 0x73. This is how
  // the vectors' README prints it; as an integer it is 0x7308000000000003.
  std::string hex() const;
};
SnpTcb decode_tcb(std::uint64_t raw, SnpProduct product);

struct SnpReport {
  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  bool author_key_en = false;
  bool mask_chip_key = false;
  std::uint8_t signing_key = 0;  // SnpSigningKey as read (3 bits)
  std::array<std::uint8_t, 64> report_data{};
  std::array<std::uint8_t, 48> measurement{};
  std::array<std::uint8_t, 32> host_data{};
  std::array<std::uint8_t, 48> id_key_digest{};
  std::array<std::uint8_t, 48> author_key_digest{};
  std::array<std::uint8_t, 32> report_id{};
  std::array<std::uint8_t, 32> report_id_ma{};
  std::uint64_t reported_tcb = 0;
  std::uint8_t cpuid_fam_id = 0;  // version 3 and later; 0 before
  std::uint8_t cpuid_mod_id = 0;
  std::uint8_t cpuid_step = 0;
  std::array<std::uint8_t, 64> chip_id{};
  std::uint64_t committed_tcb = 0;
  std::uint8_t current_build = 0;
  std::uint8_t current_minor = 0;
  std::uint8_t current_major = 0;
  std::uint8_t committed_build = 0;
  std::uint8_t committed_minor = 0;
  std::uint8_t committed_major = 0;
  std::uint64_t launch_tcb = 0;
  std::uint64_t launch_mit_vector = 0;  // version 5 and later; 0 before
  std::uint64_t current_mit_vector = 0;
  std::array<std::uint8_t, 72> signature_r{};  // little-endian, zero-padded
  std::array<std::uint8_t, 72> signature_s{};

  bool debug() const { return (policy & kSnpPolicyDebugBit) != 0; }
  // From CPUID_FAM_ID/CPUID_MOD_ID (version 3+); kUnknown for version 2.
  SnpProduct product() const;
};

template <typename T>
using AttestResult = core::Result<T, Failure>;

// Exactly kSnpReportSize bytes: fewer is `truncated`, more `bad_length`; a
// version outside [kSnpMinVersion, kSnpMaxVersion] is `unsupported_version`.
AttestResult<SnpReport> parse_snp_report(std::span<const std::uint8_t> bytes);

}  // namespace aegis::attest
