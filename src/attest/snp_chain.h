// The AMD certificate chain behind an SEV-SNP report: the ARK (self-signed
// root, pinned here by SHA-256 fingerprint) signs the ASK (the ASVK for a
// VLEK), which signs the chip's VCEK (or the VLEK) that signed the report.
#pragma once

#include <array>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "attest/snp_report.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {

struct PinnedArk {
  SnpProduct product;
  std::string_view sha256_hex;  // of the ARK's DER encoding
};

// AMD's ARKs as published by the AMD Key Distribution Service
// (https://kdsintf.amd.com/vcek/v1/{Milan,Genoa,Turin}/cert_chain), taken
// from ../shared/testdata/attestation/amd-roots/*/ark.pem (virtee/sev's
// builtin copies): `openssl x509 -in ark.pem -noout -fingerprint -sha256`.
inline constexpr std::array<PinnedArk, 3> kAmdArkPins = {{
    {SnpProduct::kMilan, "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"},
    {SnpProduct::kGenoa, "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"},
    {SnpProduct::kTurin, "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"},
}};

struct SnpChain {
  tls::X509Ptr leaf;  // VCEK or VLEK
  tls::X509Ptr ask;   // ASK, or ASVK when the leaf is a VLEK
  tls::X509Ptr ark;
};

// Where the certificates come from: each a DER or PEM file's bytes. `chain`
// is AMD KDS's cert_chain format (ASK then ARK, PEM) and is read when `ask`
// and `ark` are both empty. ASK and ARK swapped (the self-signed one first)
// is `chain_order`; unreadable or missing certificates are `bad_certificate`.
struct SnpCertSources {
  std::string_view leaf;
  std::string_view ask;
  std::string_view ark;
  std::string_view chain;
};
AttestResult<SnpChain> load_snp_chain(const SnpCertSources& sources);

// The subject's CN ("SEV-VCEK", "SEV-VLEK", "ARK-Milan"), empty when none.
std::string common_name(X509* cert);

// Lower-case hex SHA-256 of the certificate's DER encoding.
std::string cert_sha256(X509* cert);

// The roots alone: the ARK is self-signed and trusted, and signs the ASK.
// Trust anchors are hex SHA-256 fingerprints (colons and case ignored);
// `test_roots` empty means AMD's pins above. An ARK that is not trusted is
// `untrusted_root`, a bad signature `bad_certificate`. Returns the product
// of the matching AMD pin (kUnknown for a test root).
AttestResult<SnpProduct> verify_ark_ask(X509* ask, X509* ark, std::span<const std::string> test_roots);

// verify_ark_ask, then the leaf (VCEK/VLEK) signed by the ASK (else
// `bad_certificate`).
AttestResult<SnpProduct> verify_snp_chain(const SnpChain& chain, std::span<const std::string> test_roots);

// Each certificate's validity period contains `at`; otherwise
// `bad_certificate` naming the certificate and its period.
std::optional<Failure> check_validity(const SnpChain& chain, std::time_t at);

}  // namespace aegis::attest
