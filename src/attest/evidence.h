// Evidence from the sidecar's own machine: the raw report (SNP) or quote
// (TDX) with 64 bytes of caller data bound into it, read from Linux's
// configfs-tsm (kernel >= 6.7) or, for SNP on older kernels, /dev/sev-guest.
// Verification is elsewhere (snp_verify.h, tdx_verify.h).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "attest/verdict.h"

namespace aegis::attest {

using ReportData = std::array<std::uint8_t, 64>;

struct RawEvidence {
  Tee tee = Tee::kSevSnp;
  std::vector<std::uint8_t> report;  // SNP attestation report or TDX quote, as the TEE made it
  std::vector<std::uint8_t> aux;     // SNP: the GHCB certificate table
                                     // (VCEK/ASK/ARK) if the host supplies it
  std::string source;                // "configfs-tsm", "sev-guest", "simulated"
  int retries = 0;                   // configfs-tsm: reads repeated because `generation` moved
};
using EvidenceResult = std::variant<RawEvidence, Failure>;

struct TsmOptions {
  std::filesystem::path root = "/sys/kernel/config/tsm/report";
  std::string entry;  // report entry to create under root; empty: "aegis-flow-<pid>"
  int max_attempts = 5;
  std::uint32_t privlevel = 0;  // SNP VMPL written to `privlevel` when the entry
                                // has it (0: leave the default)
  // Called after outblob is read, before `generation` is read again: where a
  // test plays the concurrent writer on a prepared directory.
  std::function<void(int attempt)> after_outblob;
};

// configfs-tsm: mkdir an entry, write exactly 64 bytes to `inblob`, then read
// `generation`, `outblob`, `auxblob`, `provider` and `generation` again;
// another writer in between (the generation moved) means the blobs may
// belong to someone else's inblob, so the whole read is repeated.
// Failure codes: tsm_unavailable, tsm_io, tsm_busy, tsm_provider.
EvidenceResult read_configfs_tsm(const TsmOptions& options, const ReportData& report_data);

// The legacy SNP guest device: SNP_GET_EXT_REPORT (report + certificate
// table), falling back to SNP_GET_REPORT when the host has no certificates.
// Failure codes: sev_guest_unavailable, sev_guest_ioctl, bad_length.
EvidenceResult read_sev_guest(const std::filesystem::path& device, const ReportData& report_data,
                              std::uint32_t vmpl = 0);

}  // namespace aegis::attest
