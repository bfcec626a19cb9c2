#include "app/certs_cli.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tls/certs.h"

namespace aegis::app {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

int report(const tls::CertError& e) {
  fmt::print(stderr, "aegis-flow certs: {}\n", e.message);
  return e.kind == tls::CertError::Kind::invalid_input ? kExitInvalid : kExitFailure;
}

std::string validity(const tls::CertInfo& c) {
  if (c.expired) return "expired";
  if (c.not_yet_valid) return "not yet valid";
  return fmt::format("valid for {} days", c.days_left);
}

void print_certificate(const tls::CertInfo& c) {
  fmt::print("subject:     {}\n", c.subject);
  fmt::print("issuer:      {}\n", c.issuer);
  fmt::print("serial:      {}\n", c.serial);
  fmt::print("CA:          {}\n", c.is_ca ? "yes" : "no");
  for (const auto& uri : c.uri_sans) fmt::print("SAN URI:     {}\n", uri);
  for (const auto& dns : c.dns_sans) fmt::print("SAN DNS:     {}\n", dns);
  fmt::print("key type:    {}\n", c.key_type);
  fmt::print("signature:   {}\n", c.signature_algorithm);
  fmt::print("not before:  {}\n", c.not_before);
  fmt::print("not after:   {} ({})\n", c.not_after, validity(c));
  fmt::print("SHA-256:     {}\n", c.sha256_fingerprint);
}

int report_written(const tls::WrittenCredentials& w) {
  fmt::print("wrote {} and {}\n", w.cert_file.string(), w.key_file.string());
  print_certificate(w.cert);
  return 0;
}

tls::KeyType to_key_type(const std::string& flag) {
  return *tls::parse_key_type(flag);  // CLI::IsMember already limited it to the choices
}

}  // namespace

CLI::App* add_certs_command(CLI::App& app) {
  auto* certs = app.add_subcommand("certs", "Certificates: init-ca (a CA for a SPIFFE trust domain), issue (a "
                                            "workload certificate), inspect FILE");
  // Everything after `certs` goes to run_certs_command, --help included.
  certs->prefix_command();
  certs->set_help_flag();
  return certs;
}

int run_certs_command(const CLI::App& certs) {
  CLI::App app{"Certificates for the mesh: a CA per SPIFFE trust domain, workload certificates, inspection",
               "aegis-flow certs"};
  app.require_subcommand(1);
  const std::vector<std::string> key_types = {"mldsa65", "mldsa87", "mldsa44", "ecdsa-p256"};
  std::string key_type;

  tls::CaRequest ca;
  std::string ca_out;
  auto* init = app.add_subcommand("init-ca", "Make a self-signed CA: OUT/ca.crt and OUT/ca.key (0600)");
  init->add_option("--trust-domain", ca.trust_domain, "SPIFFE trust domain, e.g. example.org")->required();
  init->add_option("--key-type", key_type, "mldsa65, mldsa87, mldsa44 or ecdsa-p256")
      ->required()->check(CLI::IsMember(key_types));
  init->add_option("--out", ca_out, "Output directory (created if missing)")->required();
  init->add_option("--days", ca.days, "Validity in days")->capture_default_str();
  init->add_flag("--force", ca.force, "Overwrite existing files");

  tls::LeafRequest leaf;
  std::string ca_dir, leaf_out;
  auto* issue = app.add_subcommand("issue", "Issue a workload certificate: OUT/cert.pem (leaf + CA) and OUT/key.pem (0600)");
  issue->add_option("--ca", ca_dir, "CA directory made by init-ca")->required();
  issue->add_option("--spiffe-id", leaf.spiffe_id, "spiffe://<trust-domain>/<path>, in the CA's trust domain")->required();
  issue->add_option("--dns", leaf.dns_names, "DNS SAN (repeatable)");
  issue->add_option("--key-type", key_type, "mldsa65, mldsa87, mldsa44 or ecdsa-p256")
      ->required()->check(CLI::IsMember(key_types));
  issue->add_option("--days", leaf.days, "Validity in days")->required();
  issue->add_option("--out", leaf_out, "Output directory (created if missing)")->required();
  issue->add_flag("--force", leaf.force, "Overwrite existing files");

  std::string file;
  auto* inspect = app.add_subcommand("inspect", "Describe every certificate in a PEM or DER file");
  inspect->add_option("FILE", file, "Certificate file")->required();

  std::vector<std::string> args = certs.remaining();
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }

  if (init->parsed()) {
    ca.key_type = to_key_type(key_type);
    ca.out_dir = ca_out;
    auto r = tls::init_ca(ca);
    return r ? report_written(r.value()) : report(r.error());
  }
  if (issue->parsed()) {
    leaf.key_type = to_key_type(key_type);
    leaf.ca_dir = ca_dir;
    leaf.out_dir = leaf_out;
    auto r = tls::issue_certificate(leaf);
    return r ? report_written(r.value()) : report(r.error());
  }
  auto r = tls::inspect_certificates(file);
  if (!r) return report(r.error());
  for (std::size_t i = 0; i < r->size(); ++i) {
    if (r->size() > 1) fmt::print("{}certificate {} of {}\n", i ? "\n" : "", i + 1, r->size());
    print_certificate(r.value()[i]);
  }
  return 0;
}

}  // namespace aegis::app
