// Owning handles for the OpenSSL objects the TDX verifier needs beyond those
// in tls/ossl_ptr.h (kept here so the TLS module does not rebuild for them).
#pragma once

#include <openssl/asn1.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "tls/ossl_ptr.h"

namespace aegis::attest::tdx {

using tls::OsslPtr;
using X509CrlPtr = OsslPtr<X509_CRL, X509_CRL_free>;
using EcdsaSigPtr = OsslPtr<ECDSA_SIG, ECDSA_SIG_free>;
using MdCtxPtr = OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

// sk_ASN1_TYPE_pop_free is a macro, so it gets a deleter of its own.
struct Asn1SequenceAnyFree {
  void operator()(ASN1_SEQUENCE_ANY* s) const noexcept { sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free); }
};
using Asn1SequenceAnyPtr = std::unique_ptr<ASN1_SEQUENCE_ANY, Asn1SequenceAnyFree>;

}  // namespace aegis::attest::tdx
