// `aegis-flow certs`: a private CA per SPIFFE trust domain and the workload
// certificates it issues (ML-DSA-44/65/87 or ECDSA P-256), written as PEM
// files for the mesh's TLS listeners and clusters to load.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "tls/certs_keys.h"
#include "tls/certs_result.h"
#include "tls/x509_inspect.h"

namespace aegis::tls {

inline constexpr std::string_view kCaCertFile = "ca.crt";
inline constexpr std::string_view kCaKeyFile = "ca.key";
inline constexpr std::string_view kLeafCertFile = "cert.pem";  // the leaf, then the CA
inline constexpr std::string_view kLeafKeyFile = "key.pem";
inline constexpr int kDefaultCaDays = 3650;
inline constexpr int kMaxDays = 36500;

struct CaRequest {
  std::string trust_domain;  // bare, e.g. "example.org"
  KeyType key_type = KeyType::mldsa65;
  int days = kDefaultCaDays;
  std::filesystem::path out_dir;
  bool force = false;  // replace existing files
};

struct LeafRequest {
  std::filesystem::path ca_dir;  // holds ca.crt and ca.key
  std::string spiffe_id;         // spiffe://<the CA's trust domain>/...
  std::vector<std::string> dns_names;
  KeyType key_type = KeyType::mldsa65;
  int days = 0;
  std::filesystem::path out_dir;
  bool force = false;
  // Called with the finished but unsigned leaf (its key already in place):
  // where a caller adds an extension of its own, e.g. attest/ its hardware
  // evidence bound to this key. An error stops the issue.
  std::function<CertResult<void>(X509* leaf)> before_signing;
};

struct WrittenCredentials {
  std::filesystem::path cert_file;
  std::filesystem::path key_file;
  CertInfo cert;  // the CA or leaf certificate just written
};

// Self-signed CA: CA:TRUE and keyCertSign|cRLSign (both critical), SKI, URI
// SAN spiffe://<trust domain>, CN "aegis-flow CA <trust domain>".
CertResult<WrittenCredentials> init_ca(const CaRequest& request);

// Leaf: URI SAN = the SPIFFE ID, DNS SANs, CA:FALSE, digitalSignature
// (critical), serverAuth+clientAuth, SKI, AKI; no longer-lived than the CA.
CertResult<WrittenCredentials> issue_certificate(const LeafRequest& request);

// Every certificate in a PEM or DER file, described.
CertResult<std::vector<CertInfo>> inspect_certificates(const std::filesystem::path& file);

}  // namespace aegis::tls
