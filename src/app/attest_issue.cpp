#include "app/attest_issue.h"

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <variant>

#include "attest/evidence_extension.h"
#include "tls/certs.h"

namespace aegis::app {
namespace {

constexpr int kExitRefused = 1;
constexpr int kExitInvalid = 2;

}  // namespace

CLI::App* add_issue_cert_command(CLI::App& attest, IssueCertArgs& a) {
  auto* issue = attest.add_subcommand(
      "issue-cert",
      "Issue a workload certificate carrying this machine's evidence: the key is made here, the evidence's report "
      "data commits to it (RA-TLS extension 2.23.133.5.4.9), the CA of `aegis-flow certs init-ca` signs it");
  issue->add_option("--ca", a.ca_dir, "CA directory (ca.crt, ca.key)")->required();
  issue->add_option("--spiffe-id", a.spiffe_id, "spiffe://<the CA's trust domain>/...")->required();
  issue->add_option("--dns", a.dns, "DNS name (repeatable)");
  issue->add_option("--key-type", a.key_type, "mldsa65, mldsa87, mldsa44 or ecdsa-p256")
      ->check(CLI::IsMember({"mldsa65", "mldsa87", "mldsa44", "ecdsa-p256"}))
      ->capture_default_str();
  issue->add_option("--days", a.days, "Validity in days (evidence is a snapshot: keep it short)")
      ->capture_default_str();
  issue->add_option("--out", a.out, "Directory for cert.pem (leaf, then CA) and key.pem (0600)")->required();
  issue->add_flag("--force", a.force, "Replace existing files");
  add_source_options(*issue, a.source);
  return issue;
}

tls::CertResult<AttestedCertificate> issue_attested(tls::LeafRequest request, const EvidenceArgs& source,
                                                    bool* evidence_failed) {
  AttestedCertificate out;
  request.before_signing = [&](X509* leaf) -> tls::CertResult<void> {
    const auto claims = attest::encode_claims(attest::spki_der(leaf));
    if (claims.empty()) return tls::failure("cannot encode the evidence claims");
    auto evidence = obtain_evidence(source, attest::report_data_for(claims));
    if (const auto* f = std::get_if<attest::Failure>(&evidence)) {
      if (evidence_failed != nullptr) *evidence_failed = f->code != "usage";
      return f->code == "usage" ? tls::invalid_input(f->detail) : tls::failure("no evidence: " + f->text());
    }
    out.evidence = std::move(std::get<attest::RawEvidence>(evidence));
    const auto value = attest::encode_extension(out.evidence.tee, out.evidence.report, claims);
    if (value.empty() || !attest::add_extension(leaf, value))
      return tls::failure("cannot add the evidence extension to the certificate");
    return {};
  };
  auto written = tls::issue_certificate(request);
  if (!written) return written.error();
  out.written = std::move(written.value());
  return out;
}

int run_issue_cert(const IssueCertArgs& a) {
  if (const std::string error = simulated_usage_error(a.source); !error.empty()) {
    fmt::print(stderr, "aegis-flow attest issue-cert: {}\n", error);
    return kExitInvalid;
  }
  tls::LeafRequest request;
  request.ca_dir = a.ca_dir;
  request.spiffe_id = a.spiffe_id;
  request.dns_names = a.dns;
  request.key_type = *tls::parse_key_type(a.key_type);  // CLI::IsMember already limited it
  request.days = a.days;
  request.out_dir = a.out;
  request.force = a.force;
  bool evidence_failed = false;
  auto issued = issue_attested(std::move(request), a.source, &evidence_failed);
  if (!issued) {
    fmt::print(stderr, "aegis-flow attest issue-cert: {}\n", issued.error().message);
    return issued.error().kind == tls::CertError::Kind::invalid_input && !evidence_failed ? kExitInvalid : kExitRefused;
  }
  const auto& ev = issued->evidence;
  fmt::print("{} with {} evidence from {} bound to its key, {}\n", issued->written.cert_file.string(),
             attest::tee_name(ev.tee), ev.source, issued->written.key_file.string());
  if (ev.source == "simulated")
    fmt::print("SIMULATED: peers accept it only when they trust the TEST roots of {} (attestation.test_roots)\n",
               a.source.simulated_roots);
  return 0;
}

}  // namespace aegis::app
