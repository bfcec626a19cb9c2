// The public-key work of TDX verification: ECDSA P-256/SHA-256 with raw r||s
// signatures (quote, QE report, collateral), and Intel PKI chains (PCK, TCB
// signing) checked for order, pinned root and validity at a given time.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/tdx_quote.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest::tdx {

// SHA-256 of the DER of the Intel SGX Root CA (its public source: the root
// certificate Intel publishes at certificates.trustedservices.intel.com and
// embeds in every PCK chain; docs/attestation.md, Intel TDX).
inline constexpr std::string_view kIntelSgxRootCaSha256 =
    "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";

Bytes32 sha256(std::span<const std::uint8_t> data);
// SHA-256 of a || b.
Bytes32 sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// An EC P-256 public key from its raw x || y coordinates; null if the point
// is not on the curve.
tls::PkeyPtr p256_key_from_xy(std::span<const std::uint8_t, 64> xy);

// Whether `sig` (r || s, big-endian, 32 bytes each) is an ECDSA signature by
// `key` (which must be EC P-256) over SHA-256(message).
bool ecdsa_p256_verify(EVP_PKEY* key, std::span<const std::uint8_t> message,
                       std::span<const std::uint8_t, 64> sig);

using CertChain = std::vector<tls::X509Ptr>;

// The PEM certificates of `pem`, in order; bad_certificate if none or unreadable.
TdxResult<CertChain> load_chain(std::string_view pem, std::string_view what);

// Leaf first, each certificate issued by the next, the last self-issued.
// chain_order if another order of the same certificates would be right,
// bad_certificate if no order is.
std::optional<Failure> check_chain_order(const CertChain& chain, std::string_view what);

// SHA-256 of the DER of `cert`, lower-case hex.
std::string cert_sha256_hex(X509* cert);

// untrusted_root unless the chain's last certificate is one of `fingerprints`.
std::optional<Failure> check_pinned_root(const CertChain& chain,
                                         const std::vector<std::string>& fingerprints,
                                         std::string_view what);

// Every signature and validity period of `chain` at time `at`, with the last
// certificate as the only trust anchor. With CRLs, every certificate's
// revocation status too (bad_certificate if revoked, collateral_* if a CRL is
// expired, badly signed or missing).
std::optional<Failure> verify_chain_at(const CertChain& chain, std::time_t at,
                                       const std::vector<X509_CRL*>& crls, std::string_view what);

}  // namespace aegis::attest::tdx
