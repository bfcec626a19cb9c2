// Loading and checking the ARK → ASK → VCEK/VLEK chain with OpenSSL: each
// certificate's own signature algorithm (RSASSA-PSS/SHA-384 for AMD's) is
// honoured by X509_verify; the root is trusted only by its pinned digest.
#include "attest/snp_chain.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/hex.h"
#include "tls/x509_inspect.h"

namespace aegis::attest {

namespace {

Failure bad_certificate(std::string detail) { return Failure{"bad_certificate", std::move(detail)}; }

AttestResult<tls::X509Ptr> load_one(std::string_view data, std::string_view what) {
  if (data.empty()) return bad_certificate(std::string(what) + " certificate missing");
  auto certs = tls::parse_certificates(data, what);
  ERR_clear_error();
  if (!certs) return bad_certificate(certs.error().message);
  if (certs->size() != 1)
    return bad_certificate(std::string(what) + ": expected one certificate, found " + std::to_string(certs->size()));
  return std::move(certs->front());
}

bool self_signed(X509* cert) { return X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0; }

// `child`'s issuer names `parent` and `parent`'s key verifies its signature.
bool signed_by(X509* child, X509* parent) {
  if (X509_NAME_cmp(X509_get_issuer_name(child), X509_get_subject_name(parent)) != 0) return false;
  EVP_PKEY* key = X509_get0_pubkey(parent);  // borrowed from `parent`
  const bool ok = key != nullptr && X509_verify(child, key) == 1;
  ERR_clear_error();
  return ok;
}

std::string normalize_fingerprint(std::string_view text) {
  std::string out;
  for (const char c : text)
    if (c != ':') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string describe(X509* cert) {
  const std::string cn = common_name(cert);
  return cn.empty() ? std::string("certificate without CN") : "CN=" + cn;
}

}  // namespace

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
          static_cast<std::size_t>(ASN1_STRING_length(data))};
}

std::string cert_sha256(X509* cert) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) {
    ERR_clear_error();
    return {};
  }
  return core::to_hex(std::span<const std::uint8_t>(md.data(), len));
}

AttestResult<SnpChain> load_snp_chain(const SnpCertSources& sources) {
  SnpChain chain;
  auto leaf = load_one(sources.leaf, "VCEK/VLEK");
  if (!leaf) return leaf.error();
  chain.leaf = std::move(leaf.value());
  if (sources.ask.empty() && sources.ark.empty()) {
    if (sources.chain.empty()) return bad_certificate("no ASK/ARK given (neither separately nor as a cert chain)");
    auto certs = tls::parse_certificates(sources.chain, "cert chain");
    ERR_clear_error();
    if (!certs) return bad_certificate(certs.error().message);
    if (certs->size() != 2)
      return bad_certificate("cert chain: expected 2 certificates (ASK then ARK), found " +
                             std::to_string(certs->size()));
    chain.ask = std::move((*certs)[0]);
    chain.ark = std::move((*certs)[1]);
  } else {
    auto ask = load_one(sources.ask, "ASK");
    if (!ask) return ask.error();
    auto ark = load_one(sources.ark, "ARK");
    if (!ark) return ark.error();
    chain.ask = std::move(ask.value());
    chain.ark = std::move(ark.value());
  }
  if (self_signed(chain.ask.get()) && !self_signed(chain.ark.get()))
    return Failure{"chain_order", "ASK and ARK in the wrong order: the ASK position holds the self-signed " +
                                      describe(chain.ask.get()) + " and the ARK position " + describe(chain.ark.get()) +
                                      "; give the ASK first, then the ARK"};
  return chain;
}

AttestResult<SnpProduct> verify_ark_ask(X509* ask, X509* ark, std::span<const std::string> test_roots) {
  if (!self_signed(ark) || !signed_by(ark, ark))
    return bad_certificate("ARK (" + describe(ark) + ") is not a valid self-signed certificate");
  const std::string fp = cert_sha256(ark);
  SnpProduct product = SnpProduct::kUnknown;
  bool trusted = false;
  if (test_roots.empty()) {
    const auto pin =
        std::find_if(kAmdArkPins.begin(), kAmdArkPins.end(), [&](const PinnedArk& p) { return p.sha256_hex == fp; });
    trusted = pin != kAmdArkPins.end();
    if (trusted) product = pin->product;
  } else {
    trusted = std::any_of(test_roots.begin(), test_roots.end(),
                          [&](const std::string& t) { return normalize_fingerprint(t) == fp; });
  }
  if (!trusted)
    return Failure{"untrusted_root", "ARK (" + describe(ark) + ", SHA-256 " + fp + ") is not " +
                                         (test_roots.empty() ? "one of AMD's pinned ARKs (Milan, Genoa, Turin)"
                                                             : "one of the configured test roots")};
  if (self_signed(ask))
    return bad_certificate("the ASK position holds a self-signed certificate (" + describe(ask) + ")");
  if (!signed_by(ask, ark))
    return bad_certificate("ASK (" + describe(ask) + ") is not signed by the ARK (" + describe(ark) + ")");
  return product;
}

AttestResult<SnpProduct> verify_snp_chain(const SnpChain& chain, std::span<const std::string> test_roots) {
  auto product = verify_ark_ask(chain.ask.get(), chain.ark.get(), test_roots);
  if (!product) return product;
  if (!signed_by(chain.leaf.get(), chain.ask.get()))
    return bad_certificate(describe(chain.leaf.get()) + " is not signed by the ASK (" + describe(chain.ask.get()) +
                           ")");
  return product;
}

std::optional<Failure> check_validity(const SnpChain& chain, std::time_t at) {
  const std::pair<const char*, X509*> certs[] = {
      {"ARK", chain.ark.get()}, {"ASK", chain.ask.get()}, {"VCEK/VLEK", chain.leaf.get()}};
  for (const auto& [role, cert] : certs) {
    std::time_t t = at;
    // X509_cmp_time: -1 when the certificate's time is at or before `t`, 1 after, 0 on error.
    const bool started = X509_cmp_time(X509_get0_notBefore(cert), &t) == -1;
    const bool ended = X509_cmp_time(X509_get0_notAfter(cert), &t) != 1;
    ERR_clear_error();
    if (started && !ended) continue;
    std::tm tm{};
    gmtime_r(&at, &tm);
    std::array<char, 32> when{};
    const std::size_t n = std::strftime(when.data(), when.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return bad_certificate(std::string(role) + " (" + describe(cert) + ") is " +
                           (started ? "expired" : "not yet valid") + " at " + std::string(when.data(), n));
  }
  return std::nullopt;
}

}  // namespace aegis::attest
