#include "tls/certs.h"

#include <openssl/pem.h>

#include <fmt/core.h>

#include <utility>

#include "tls/certs_files.h"
#include "tls/certs_names.h"
#include "tls/openssl_info.h"
#include "tls/x509_build.h"

namespace aegis::tls {

namespace {

constexpr std::size_t kMaxCommonName = 64;  // ub-common-name (RFC 5280)
constexpr std::string_view kSpiffeScheme = "spiffe://";

CertResult<void> check_days(int days) {
  if (days < 1 || days > kMaxDays)
    return invalid_input(fmt::format("--days {}: give a number of days from 1 to {}", days, kMaxDays));
  return {};
}

CertResult<void> check_outputs(const std::filesystem::path& cert, const std::filesystem::path& key, bool force) {
  if (auto r = check_may_write(cert, force); !r) return r;
  return check_may_write(key, force);
}

// The key first: a certificate on disk without its key is worse than a key without its certificate.
CertResult<void> write_credentials(const WrittenCredentials& out, std::string_view cert_pem, std::string_view key_pem,
                                   bool force) {
  if (auto r = ensure_directory(out.cert_file.parent_path()); !r) return r;
  if (auto r = write_file(out.key_file, key_pem, kPrivateKeyMode, force); !r) return r;
  return write_file(out.cert_file, cert_pem, kCertificateMode, force);
}

struct LoadedCa {
  X509Ptr cert;
  PkeyPtr key;
  CertInfo info;
  std::string trust_domain;
};

CertResult<PkeyPtr> read_private_key(const std::filesystem::path& file) {
  auto pem = read_file(file);
  if (!pem) return pem.error();
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  // A callback that offers no passphrase: never prompt on the terminal.
  pem_password_cb* no_passphrase = [](char*, int, int, void*) -> int { return 0; };
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, no_passphrase, nullptr, nullptr, nullptr) : nullptr);
  if (!key) return openssl_failure(fmt::format("{}: reading the private key (unencrypted PEM expected)", file.string()));
  return key;
}

CertResult<LoadedCa> load_ca(const std::filesystem::path& dir) {
  const auto cert_file = dir / kCaCertFile;
  auto certs = read_certificates(cert_file);
  if (!certs) return certs.error();
  auto key = read_private_key(dir / kCaKeyFile);
  if (!key) return key.error();
  LoadedCa ca{std::move(certs->front()), std::move(key.value()), {}, {}};
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1)
    return invalid_input(fmt::format("{} does not belong to {}; point --ca at a directory made by `certs init-ca`",
                                     (dir / kCaKeyFile).string(), cert_file.string()));
  auto info = describe_certificate(ca.cert.get());
  if (!info) return info.error();
  ca.info = std::move(info.value());
  if (!ca.info.is_ca) return invalid_input(fmt::format("{} is not a CA certificate", cert_file.string()));
  const auto uri = first_spiffe_uri(ca.info);
  if (!uri || uri->find('/', kSpiffeScheme.size()) != std::string::npos)
    return invalid_input(fmt::format("{} has no spiffe://<trust-domain> URI SAN; make the CA with `certs init-ca`",
                                     cert_file.string()));
  ca.trust_domain = uri->substr(kSpiffeScheme.size());
  return ca;
}

std::string leaf_common_name(const LeafRequest& request) {
  if (request.spiffe_id.size() <= kMaxCommonName) return request.spiffe_id;
  for (const auto& dns : request.dns_names)
    if (dns.size() <= kMaxCommonName) return dns;
  return {};
}

}  // namespace

CertResult<WrittenCredentials> init_ca(const CaRequest& request) {
  init_openssl();
  if (auto r = check_trust_domain(request.trust_domain); !r) return r.error();
  if (auto r = check_days(request.days); !r) return r.error();
  WrittenCredentials out{request.out_dir / kCaCertFile, request.out_dir / kCaKeyFile, {}};
  if (auto r = check_outputs(out.cert_file, out.key_file, request.force); !r) return r.error();

  auto key = generate_key(request.key_type);
  if (!key) return key.error();
  // The URI SAN carries the trust domain in full; the CN is only a label.
  const std::pair<std::string, std::string> fields[] = {
      {"O", "aegis-flow"}, {"CN", ("aegis-flow CA " + request.trust_domain).substr(0, kMaxCommonName)}};
  auto name = make_name(fields);
  if (!name) return name.error();
  auto cert = new_certificate(name->get(), key->get(), request.days);
  if (!cert) return cert.error();
  X509* x = cert->get();
  const std::string uris[] = {std::string(kSpiffeScheme) + request.trust_domain};
  const ExtensionSpec extensions[] = {{NID_basic_constraints, "critical,CA:TRUE"},
                                      {NID_key_usage, "critical,keyCertSign,cRLSign"},
                                      {NID_subject_key_identifier, "hash"}};
  if (auto r = add_extensions(x, x, extensions); !r) return r.error();
  if (auto r = add_subject_alt_names(x, uris, {}); !r) return r.error();
  if (auto r = sign_certificate(x, key->get()); !r) return r.error();

  auto cert_pem = certificate_pem(x);
  if (!cert_pem) return cert_pem.error();
  auto key_pem = private_key_pem(key->get(), "the CA key");
  if (!key_pem) return key_pem.error();
  if (auto r = write_credentials(out, cert_pem.value(), key_pem.value(), request.force); !r) return r.error();
  auto info = describe_certificate(x);
  if (!info) return info.error();
  out.cert = std::move(info.value());
  return out;
}

CertResult<WrittenCredentials> issue_certificate(const LeafRequest& request) {
  init_openssl();
  auto trust_domain = spiffe_id_trust_domain(request.spiffe_id);
  if (!trust_domain) return trust_domain.error();
  for (const auto& dns : request.dns_names)
    if (auto r = check_dns_name(dns); !r) return r.error();
  if (auto r = check_days(request.days); !r) return r.error();
  WrittenCredentials out{request.out_dir / kLeafCertFile, request.out_dir / kLeafKeyFile, {}};
  if (auto r = check_outputs(out.cert_file, out.key_file, request.force); !r) return r.error();

  auto ca = load_ca(request.ca_dir);
  if (!ca) return ca.error();
  if (trust_domain.value() != ca->trust_domain)
    return invalid_input(fmt::format(
        "SPIFFE ID '{}' is in trust domain '{}', but the CA in {} issues for '{}'; use spiffe://{}/... or another CA",
        request.spiffe_id, trust_domain.value(), request.ca_dir.string(), ca->trust_domain, ca->trust_domain));
  if (ca->info.expired) return invalid_input(fmt::format("the CA in {} expired on {}", request.ca_dir.string(), ca->info.not_after));
  if (request.days > ca->info.days_left)
    return invalid_input(fmt::format("--days {} would outlive the CA in {} (valid until {}); use --days {} or fewer",
                                     request.days, request.ca_dir.string(), ca->info.not_after, ca->info.days_left));

  auto key = generate_key(request.key_type);
  if (!key) return key.error();
  std::vector<std::pair<std::string, std::string>> fields = {{"O", "aegis-flow"}};
  if (auto cn = leaf_common_name(request); !cn.empty()) fields.emplace_back("CN", std::move(cn));
  auto name = make_name(fields);
  if (!name) return name.error();
  auto cert = new_certificate(name->get(), key->get(), request.days);
  if (!cert) return cert.error();
  X509* x = cert->get();
  X509* issuer = ca->cert.get();
  const std::string uris[] = {request.spiffe_id};
  const ExtensionSpec extensions[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                                      {NID_key_usage, "critical,digitalSignature"},
                                      {NID_ext_key_usage, "serverAuth,clientAuth"},
                                      {NID_subject_key_identifier, "hash"},
                                      {NID_authority_key_identifier, "keyid:always"}};
  if (auto r = set_issuer(x, issuer); !r) return r.error();
  if (auto r = add_extensions(x, issuer, extensions); !r) return r.error();
  if (auto r = add_subject_alt_names(x, uris, request.dns_names); !r) return r.error();
  if (request.before_signing) {
    if (auto r = request.before_signing(x); !r) return r.error();
  }
  if (auto r = sign_certificate(x, ca->key.get()); !r) return r.error();

  auto leaf_pem = certificate_pem(x);
  if (!leaf_pem) return leaf_pem.error();
  auto ca_pem = certificate_pem(issuer);
  if (!ca_pem) return ca_pem.error();
  auto key_pem = private_key_pem(key->get(), "the leaf key");
  if (!key_pem) return key_pem.error();
  if (auto r = write_credentials(out, leaf_pem.value() + ca_pem.value(), key_pem.value(), request.force); !r)
    return r.error();
  auto info = describe_certificate(x);
  if (!info) return info.error();
  out.cert = std::move(info.value());
  return out;
}

CertResult<std::vector<CertInfo>> inspect_certificates(const std::filesystem::path& file) {
  init_openssl();
  auto certs = read_certificates(file);
  if (!certs) return certs.error();
  std::vector<CertInfo> infos;
  for (auto& cert : certs.value()) {
    auto info = describe_certificate(cert.get());
    if (!info) return info.error();
    infos.push_back(std::move(info.value()));
  }
  return infos;
}

}  // namespace aegis::tls
