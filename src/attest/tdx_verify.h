// Verification of an Intel TDX quote (v4/v5): attestation-key signature over
// header and body, QE report signed by the PCK leaf and bound to the
// attestation key, PCK chain to a pinned root, and, with collateral, the TCB
// status. The result is the shared Verdict (attest/verdict.h).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/verdict.h"

namespace aegis::attest {

struct TdxVerifyOptions {
  // SHA-256 fingerprints (hex) of acceptable root certificates. Empty: the
  // Intel SGX Root CA only. Otherwise these replace it, and the claims say
  // `simulated` (test roots, never the vendor's).
  std::vector<std::string> test_root_fingerprints;
  // Evaluation time for certificate, CRL and collateral validity (`--at`);
  // default now.
  std::optional<std::time_t> at;
  // Collateral JSON (QuoteCollateralV3 layout); empty: TCB not evaluated.
  std::string_view collateral_json;
};

Verdict verify_tdx(std::span<const std::uint8_t> quote, const TdxVerifyOptions& options = {});

}  // namespace aegis::attest
