// TLS certificate and identity extraction on arbitrary bytes (DER, or PEM
// blocks): tls::parse_certificates (OpenSSL's decoders), describe_certificate
// (what `aegis-flow certs inspect` prints: names, SANs, key and signature
// algorithm, validity, fingerprint), spiffe_id_of (the SPIFFE ID a verified
// peer is known by, from the URI SAN) and the SPIFFE ID syntax check.
//
// Invariants: an ID spiffe_id_of returns starts with "spiffe://" and is the
// one describe_certificate lists first.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "tls/certs_names.h"
#include "tls/tls_context.h"
#include "tls/x509_inspect.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto certs = tls::parse_certificates(bytes, "fuzz.der");
  if (!certs) return 0;
  for (const auto& cert : *certs) {
    FUZZ_CHECK(cert != nullptr);
    const auto id = tls::spiffe_id_of(cert.get());
    if (id) FUZZ_CHECK(id->starts_with("spiffe://"));
    auto info = tls::describe_certificate(cert.get());
    if (!info) continue;
    const auto first = tls::first_spiffe_uri(*info);
    if (id && first) FUZZ_CHECK(*id == *first);
    for (const auto& uri : info->uri_sans) (void)tls::spiffe_id_trust_domain(uri);
    for (const auto& dns : info->dns_sans) (void)tls::check_dns_name(dns);
  }
  return 0;
}
