// Assembling an X.509 v3 certificate step by step: a fresh certificate with
// a random serial and validity window, its extensions and SANs, then the
// issuer's signature. Policy (CA or leaf, which extensions) lives in certs.cpp.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tls/certs_result.h"
#include "tls/ossl_ptr.h"

namespace aegis::tls {

// Certificates start this long before "now", so a peer whose clock is a
// little behind does not see them as not yet valid.
inline constexpr long kBackdateSeconds = 300;

// Name entries in order, e.g. {{"O", "aegis-flow"}, {"CN", "..."}}.
CertResult<X509NamePtr> make_name(std::span<const std::pair<std::string, std::string>> entries);

// Version 3, a random 128-bit serial, valid from now - kBackdateSeconds to
// now + days, the given subject and public key; the issuer name is the
// subject's until set_issuer() is called.
CertResult<X509Ptr> new_certificate(const X509_NAME* subject, EVP_PKEY* public_key, int days);

CertResult<void> set_issuer(X509* cert, const X509* issuer);

// An extension in OpenSSL's config syntax ("critical,CA:TRUE", "hash",
// "keyid:always"); `issuer` is the certificate itself for a self-signed one.
// Values are ours, never user input (SANs go through add_subject_alt_names).
CertResult<void> add_extension(X509* cert, X509* issuer, int nid, const char* value);

struct ExtensionSpec {
  int nid;
  const char* value;
};
// add_extension for each, in order, stopping at the first failure.
CertResult<void> add_extensions(X509* cert, X509* issuer, std::span<const ExtensionSpec> specs);

// subjectAltName with URI entries, then DNS entries, built from structures
// so no user string is parsed as config.
CertResult<void> add_subject_alt_names(X509* cert, std::span<const std::string> uris,
                                       std::span<const std::string> dns_names);

// Signs with the digest signing_digest() picks for the issuer's key.
CertResult<void> sign_certificate(X509* cert, EVP_PKEY* issuer_key);

// PEM of one certificate.
CertResult<std::string> certificate_pem(X509* cert);

}  // namespace aegis::tls
