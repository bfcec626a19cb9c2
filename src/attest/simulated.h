// The `simulated` evidence provider, for machines without a TEE: byte-exact
// SEV-SNP reports (with a GHCB certificate table) and TDX v4 quotes, signed
// by the TEST chains in a roots directory (simulated_roots.h). Such evidence
// verifies only when the verifier is given those test roots, and its claims
// then say `simulated`; against the vendors' pinned roots it is untrusted_root.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "attest/evidence.h"
#include "attest/simulated_certs.h"

namespace aegis::attest {

using Measurement = std::array<std::uint8_t, 48>;

// SHA-384("aegis-flow TEST simulated measurement"), so it never looks like a real launch digest.
Measurement simulated_default_measurement();

inline constexpr std::uint64_t kSimulatedDefaultPolicy = 0x30000;  // SMT allowed, bit 17 (reserved, must be 1)

struct SimulatedOptions {
  // SNP MEASUREMENT, and the TDX MRTD unless `mrtd` is set; nullopt: the default above.
  std::optional<Measurement> measurement;
  // SNP: POLICY.DEBUG (bit 19); TDX: TD_ATTRIBUTES.DEBUG (bit 0).
  bool debug = false;
  std::uint64_t policy = kSimulatedDefaultPolicy;  // SNP guest policy (debug is OR-ed in)
  std::uint32_t vmpl = 0;
  // SNP REPORTED/CURRENT/COMMITTED/LAUNCH TCB and CHIP_ID. nullopt: the
  // roots' stored VCEK's; otherwise a VCEK for them is issued by the test ASK.
  std::optional<SimulatedSnpTcb> tcb;
  std::optional<ChipId> chip_id;
  // TDX TD report fields.
  std::optional<Measurement> mrtd;
  std::array<Measurement, 4> rtmrs{};
  std::uint64_t td_attributes = 0;  // debug sets bit 0
};

// Codes: simulated_roots (the directory is missing or incomplete: the detail
// names the file and `aegis-flow attest test-roots`), simulated_sign (OpenSSL
// refused to sign).
EvidenceResult read_simulated(const std::filesystem::path& roots_dir, Tee tee, const ReportData& report_data,
                              const SimulatedOptions& o = {});

// The two halves of read_simulated. SNP: a version-3 report (Milan B0),
// signing_key VCEK, `aux` the GHCB table {VCEK, ASK, ARK}. TDX: a v4 quote,
// TD report 1.0, attestation key and QE report signed as a real QE/PCE would,
// certification data type 6 around the PEM PCK chain (type 5).
EvidenceResult read_simulated_snp(const std::filesystem::path& roots_dir, const ReportData& report_data,
                                  const SimulatedOptions& o);
EvidenceResult read_simulated_tdx(const std::filesystem::path& roots_dir, const ReportData& report_data,
                                  const SimulatedOptions& o);

}  // namespace aegis::attest
