// One entry point for any evidence: an SEV-SNP report, a TDX quote (v4/v5),
// or a certificate carrying either in its RA-TLS extension. The kind is
// detected from the bytes; the CLI (`attest verify`) and the TLS handshake
// both come through here.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "attest/verdict.h"

namespace aegis::attest {

enum class EvidenceKind { kSnpReport, kTdxQuote, kCertificate, kUnknown };
std::string_view evidence_kind_name(EvidenceKind kind);

// From the content alone: a 1184-byte report with a known version and
// signature algorithm, a quote header with version 4/5, key type 2 and TEE
// type 0x81, or an X.509 certificate (PEM or DER).
EvidenceKind detect_evidence(std::span<const std::uint8_t> bytes);

struct VerifyInputs {
  std::string vcek;        // SNP: the VCEK or VLEK (DER or PEM bytes); else taken from `snp_cert_table`
  std::string cert_chain;  // SNP: ASK then ARK (PEM), AMD KDS's cert_chain
  std::vector<std::uint8_t> snp_cert_table;  // SNP: a GHCB certificate table (auxblob)
  std::string snp_vcek_dir;                  // SNP: else the VCEK from DIR/<chip_id hex>.der or .pem
  std::string collateral;                    // TDX: collateral JSON; empty: TCB not evaluated
  std::vector<std::string> test_roots;       // SHA-256 hex of test roots; non-empty: only these, claims simulated
  std::optional<std::time_t> at;             // evaluation time; nullopt: now
};

// A certificate's evidence is verified, then bound: its report data must be
// SHA-256 of its claims and the claims must hash the certificate's key.
Verdict verify_evidence(std::span<const std::uint8_t> bytes, const VerifyInputs& inputs);
// The same for a certificate already parsed (the TLS handshake's peer leaf).
Verdict verify_certificate(X509* cert, const VerifyInputs& inputs);

}  // namespace aegis::attest
