// Verifying an SEV-SNP attestation report end to end: the report's ECDSA
// P-384 signature, the VCEK/VLEK → ASK → ARK chain to a pinned AMD root (or
// a configured test root), and the VCEK's TCB/chip binding to the report.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attest/snp_report.h"
#include "attest/verdict.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {

struct SnpVerifyInputs {
  std::string vcek;  // the VCEK or VLEK: a DER or PEM file's bytes
  std::string ask;   // PEM or DER; leave ask and ark empty to use cert_chain
  std::string ark;
  std::string cert_chain;  // AMD KDS `cert_chain`: ASK then ARK, PEM
  // Empty: trust only AMD's pinned ARKs (snp_chain.h). Otherwise trust only
  // these ARK SHA-256 fingerprints (hex), and label the claims simulated.
  std::vector<std::string> test_roots;
  // When every certificate must be within its validity period; nullopt: now.
  std::optional<std::time_t> at;
};

// verified, or the first check that failed (Failure codes: truncated,
// bad_length, unsupported_version, unsupported_key_type, bad_certificate,
// chain_order, untrusted_root, bad_signature, tcb_mismatch). The claims are
// filled whenever the report parsed.
Verdict verify_snp(std::span<const std::uint8_t> report, const SnpVerifyInputs& inputs);

// The report's signature (bytes 0x000..0x29F, r and s little-endian) under
// `key`, which must be EC P-384: nullopt when valid, else `bad_signature`
// (or `unsupported_key_type`).
std::optional<Failure> check_report_signature(std::span<const std::uint8_t> report_bytes, const SnpReport& report,
                                              EVP_PKEY* key);

// What the report says, for Claims (tee, measurement, report_data, debug,
// and the named fields), with TCBs decoded for `product`.
Claims snp_claims(const SnpReport& report, SnpProduct product);

// Inputs from the GHCB certificate table of an extended report (`auxblob`):
// the VLEK instead of the VCEK when `want_vlek`. Table errors as
// parse_cert_table; a missing certificate is left empty (and refused later
// by verify_snp unless the caller fills it from files).
AttestResult<SnpVerifyInputs> inputs_from_cert_table(std::span<const std::uint8_t> table, bool want_vlek);

}  // namespace aegis::attest
