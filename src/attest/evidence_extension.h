// The X.509 extension that carries a sidecar's hardware evidence in its TLS
// certificate (the CCC "Interoperable RA-TLS" convention): OID 2.23.133.5.4.9
// (tcg-dice-conceptual-message-wrapper), value = CBOR
//   tag(T)([ bstr evidence, bstr claims ])
// with claims = CBOR map {"pubkey-hash": bstr(CBOR [1, bstr SHA-256(SPKI
// DER)])} and the evidence's report data = SHA-256(claims) ‖ 32 zero bytes.
// docs/attestation.md has the byte-level description.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "attest/evidence.h"
#include "attest/verdict.h"

namespace aegis::attest {

inline constexpr const char* kEvidenceExtensionOid = "2.23.133.5.4.9";
// CBOR tags of the evidence format: 60000 is IANA's "Intel TEE quote"; SNP
// has no registered tag, 60010 is this project's provisional choice (the
// verifier also checks the bytes are what the tag says).
inline constexpr std::uint64_t kTagIntelTeeQuote = 60000;
inline constexpr std::uint64_t kTagSevSnpReport = 60010;
inline constexpr std::uint64_t kHashAlgSha256 = 1;  // IANA Named Information Hash Algorithm Registry
inline constexpr std::size_t kMaxExtensionBytes = std::size_t{64} * 1024;

struct EvidenceExtension {
  Tee tee = Tee::kSevSnp;
  std::vector<std::uint8_t> evidence;  // SNP report or TDX quote
  std::vector<std::uint8_t> claims;    // the claims' CBOR bytes, as signed into the report data
  std::array<std::uint8_t, 32> pubkey_hash{};
};

// The claims bytes binding a certificate's public key (its SubjectPublicKeyInfo
// DER).
std::vector<std::uint8_t> encode_claims(std::span<const std::uint8_t> spki_der);
// SHA-256(claims) followed by 32 zero bytes: what the TEE signs into the
// report.
ReportData report_data_for(std::span<const std::uint8_t> claims);
std::vector<std::uint8_t> encode_extension(Tee tee, std::span<const std::uint8_t> evidence,
                                           std::span<const std::uint8_t> claims);

// Failure codes: bad_extension (not the CBOR above), unsupported_version
// (unknown tag or hash algorithm).
std::variant<EvidenceExtension, Failure> decode_extension(std::span<const std::uint8_t> value);

// The extension's DER value in `cert`, if it has one.
std::optional<std::vector<std::uint8_t>> find_extension(X509* cert);
// Adds the extension (non-critical) to a certificate being built; false on an
// OpenSSL failure.
bool add_extension(X509* cert, std::span<const std::uint8_t> value);
// The certificate's SubjectPublicKeyInfo DER.
std::vector<std::uint8_t> spki_der(X509* cert);

// After the evidence itself verified: its report data commits to these
// claims, and the claims to this certificate's key. Codes: key_binding,
// report_data_binding.
std::optional<Failure> check_binding(const EvidenceExtension& ext, std::span<const std::uint8_t> cert_spki,
                                     std::span<const std::uint8_t> report_data);

}  // namespace aegis::attest
