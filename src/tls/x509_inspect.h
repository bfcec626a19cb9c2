// Reading certificates back: every certificate of a PEM (or DER) file, and
// what an operator wants to know about each for `aegis-flow certs inspect`.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tls/certs_result.h"
#include "tls/ossl_ptr.h"

namespace aegis::tls {

struct CertInfo {
  std::string subject;  // RFC 2253, e.g. "CN=aegis-flow CA example.org,O=aegis-flow"
  std::string issuer;
  std::string serial;   // hex
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  bool is_ca = false;
  std::string key_type;             // as OpenSSL names it: "ML-DSA-65", "EC P-256"
  std::string signature_algorithm;  // "ML-DSA-65", "ecdsa-with-SHA256"
  std::string not_before;           // "2025-06-01 12:00:00 UTC"
  std::string not_after;
  bool not_yet_valid = false;
  bool expired = false;
  long days_left = 0;               // whole days from now to not_after
  std::string sha256_fingerprint;   // of the DER, "AB:CD:..."
};

CertResult<CertInfo> describe_certificate(X509* cert);

// Every certificate in `data`: PEM blocks in order, or a single DER one.
// `source` names the input in errors.
CertResult<std::vector<X509Ptr>> parse_certificates(std::string_view data, std::string_view source);
CertResult<std::vector<X509Ptr>> read_certificates(const std::filesystem::path& file);

// The first `spiffe://` URI SAN, if any.
std::optional<std::string> first_spiffe_uri(const CertInfo& info);

}  // namespace aegis::tls
