#include "app/attest_cli.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "app/attest_issue.h"
#include "app/attest_sources.h"
#include "attest/evidence.h"
#include "attest/file_io.h"
#include "attest/policy.h"
#include "attest/simulated_roots.h"
#include "attest/verify.h"
#include "config/loader.h"
#include "config/values.h"
#include "core/hex.h"
#include "tls/certs_result.h"

namespace aegis::app {
namespace {

constexpr int kExitRefused = 1;
constexpr int kExitInvalid = 2;

int invalid(const std::string& command, const std::string& message) {
  fmt::print(stderr, "aegis-flow attest {}: {}\n", command, message);
  return kExitInvalid;
}

int run_evidence(const EvidenceArgs& a) {
  attest::ReportData data{};
  if (!a.report_data_hex.empty()) {
    const auto bytes = core::from_hex(a.report_data_hex);
    if (!bytes || bytes->size() > data.size())
      return invalid("evidence",
                     "--report-data: expected up to 64 bytes as hex digits, got '" + a.report_data_hex + "'");
    std::copy(bytes->begin(), bytes->end(), data.begin());
  }
  if (const std::string error = simulated_usage_error(a); !error.empty()) return invalid("evidence", error);
  const auto result = obtain_evidence(a, data);
  if (const auto* f = std::get_if<attest::Failure>(&result); f != nullptr && f->code == "usage")
    return invalid("evidence", f->detail);
  if (const auto* f = std::get_if<attest::Failure>(&result)) {
    fmt::print(stderr, "aegis-flow attest evidence: {}\n", f->text());
    return kExitRefused;
  }
  const auto& ev = std::get<attest::RawEvidence>(result);
  if (const int err = attest::write_whole_file(a.out, ev.report))
    return invalid("evidence", "cannot write " + a.out + ": " + std::strerror(err));
  if (!a.aux_out.empty() && !ev.aux.empty()) {
    if (const int err = attest::write_whole_file(a.aux_out, ev.aux))
      return invalid("evidence", "cannot write " + a.aux_out + ": " + std::strerror(err));
  }
  fmt::print("{} evidence from {} ({} bytes{}) written to {}\n", attest::tee_name(ev.tee), ev.source, ev.report.size(),
             ev.aux.empty() ? "" : fmt::format(", certificate table {} bytes", ev.aux.size()), a.out);
  if (ev.source == "simulated")
    fmt::print("SIMULATED: signed by TEST roots, it verifies only against their fingerprints ({}/roots.json)\n",
               a.simulated_roots);
  return 0;
}

struct TestRootsArgs {
  std::string out;
  bool force = false;
};

int run_test_roots(const TestRootsArgs& a) {
  auto fps = attest::generate_simulated_roots(a.out, a.force);
  if (!fps) {
    fmt::print(stderr, "aegis-flow attest test-roots: {}\n", fps.error().message);
    return fps.error().kind == tls::CertError::Kind::invalid_input ? kExitInvalid : kExitRefused;
  }
  fmt::print(
      "TEST attestation roots written to {} (NOT AMD's or Intel's: for simulated evidence only)\n"
      "  SNP test ARK SHA-256:      {}\n"
      "  TDX test root CA SHA-256:  {}\n",
      a.out, fps->snp_ark_sha256, fps->tdx_root_sha256);
  return 0;
}

struct VerifyArgs {
  std::string evidence, vcek, cert_chain, aux, collateral, at, policy;
  std::vector<std::string> test_roots;
  bool json = false;
};

// RFC 3339 (2025-07-01T12:00:00Z, fractional seconds ignored, or a +HH:MM /
// -HH:MM offset) to Unix time.
std::optional<std::time_t> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  const char* parsed_to = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!parsed_to) return std::nullopt;
  std::string_view rest(text);
  rest.remove_prefix(static_cast<std::size_t>(
      parsed_to -
      text.c_str()));  // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic): strptime's end within text
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") return ::timegm(&tm);
  const auto two_digits = [](std::string_view d) -> std::optional<long> {
    const auto v = config::parse_uint(d, 0, 99);
    return d.size() == 2 && v ? std::optional<long>(static_cast<long>(*v)) : std::nullopt;
  };
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':') return std::nullopt;
  const auto hh = two_digits(rest.substr(1, 2));
  const auto mm = two_digits(rest.substr(4, 2));
  if (!hh || !mm || *hh > 23 || *mm > 59) return std::nullopt;
  offset = (rest[0] == '+' ? 1 : -1) * (*hh * 3600L + *mm * 60L);
  return ::timegm(&tm) - offset;
}

void print_verdict(const attest::Verdict& v, bool json) {
  const auto& c = v.claims;
  const bool tdx = c.tee == attest::Tee::kTdx;
  if (json) {
    nlohmann::ordered_json j;
    j["verified"] = v.verified;
    j["tee"] = attest::tee_name(c.tee);
    j[tdx ? "mrtd" : "measurement"] = core::to_hex(c.measurement);
    j["report_data"] = core::to_hex(c.report_data);
    j["tcb_status"] = c.tcb_status;
    j["reason"] = v.verified ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v.failure.text());
    j["simulated"] = c.simulated;
    j["debug"] = c.debug;
    auto& fields = j["fields"] = nlohmann::ordered_json::object();
    for (const auto& [k, val] : c.fields) fields[k] = val;
    fmt::print("{}\n", j.dump(2));
    return;
  }
  if (!v.verified) {
    fmt::print(stderr, "refused: {}\n", v.failure.text());
    return;
  }
  std::size_t width = std::string_view("measurement").size();
  for (const auto& [k, val] : c.fields) width = std::max(width, k.size());
  fmt::print("verified: {} evidence{}\n", attest::tee_name(c.tee),
             c.simulated ? " (SIMULATED: test roots, not a real TEE)" : "");
  auto line = [&](std::string_view k, std::string_view val) { fmt::print("  {:<{}} {}\n", k, width, val); };
  line(tdx ? "mrtd" : "measurement", core::to_hex(c.measurement));
  line("report_data", core::to_hex(c.report_data));
  line("tcb_status", c.tcb_status);
  line("debug", c.debug ? "yes" : "no");
  for (const auto& [k, val] : c.fields)
    if (k != "mrtd" && k != "tcb_status") line(k, val);
}

int run_verify(const VerifyArgs& a) {
  const auto evidence = attest::read_whole_file(a.evidence, attest::kMaxEvidenceBytes);
  if (!evidence.ok()) return invalid("verify", "cannot read " + a.evidence + ": " + std::strerror(evidence.error));
  attest::VerifyInputs in;
  in.test_roots = a.test_roots;
  for (auto& r : in.test_roots) {
    std::erase(r, ':');
    std::transform(r.begin(), r.end(), r.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (r.size() != 64 || !core::from_hex(r))
      return invalid("verify", "--test-root: expected a SHA-256 fingerprint (64 hex digits)");
  }
  for (const auto& [path, out] :
       {std::pair{&a.vcek, &in.vcek}, {&a.cert_chain, &in.cert_chain}, {&a.collateral, &in.collateral}}) {
    if (path->empty()) continue;
    auto text = attest::read_text_file(*path);
    if (!text) return invalid("verify", text.error().message);
    *out = std::move(text.value());
  }
  if (!a.aux.empty()) {
    auto aux = attest::read_whole_file(a.aux, attest::kMaxEvidenceBytes);
    if (!aux.ok()) return invalid("verify", "cannot read " + a.aux + ": " + std::strerror(aux.error));
    in.snp_cert_table = std::move(aux.bytes);
  }
  if (!a.at.empty()) {
    in.at = parse_rfc3339(a.at);
    if (!in.at)
      return invalid("verify", "--at: expected an RFC 3339 time such as 2025-07-01T12:00:00Z, got '" + a.at + "'");
  }
  std::optional<config::AttestationPolicy> policy;
  if (!a.policy.empty()) {
    auto loaded = config::load_attestation_policy(a.policy);
    if (!loaded.policy) {
      for (const auto& d : loaded.diagnostics) fmt::print(stderr, "{}\n", d.str());
      return kExitInvalid;
    }
    policy = std::move(loaded.policy);
  }
  auto verdict = attest::verify_evidence(evidence.bytes, in);
  if (verdict.verified && policy) {
    if (auto refused = attest::check_policy(*policy, verdict.claims)) {
      verdict.verified = false;
      verdict.failure = *refused;
    }
  }
  print_verdict(verdict, a.json);
  return verdict.verified ? 0 : kExitRefused;
}

}  // namespace

CLI::App* add_attest_command(CLI::App& app) {
  auto* attest = app.add_subcommand("attest",
                                    "Hardware attestation (AMD SEV-SNP, Intel TDX): obtain this machine's "
                                    "evidence, verify evidence");
  attest->prefix_command();  // everything after `attest` goes to
                             // run_attest_command, --help included
  attest->set_help_flag();
  return attest;
}

int run_attest_command(const CLI::App& attest) {
  CLI::App app{"Hardware attestation (AMD SEV-SNP, Intel TDX)", "aegis-flow attest"};
  app.require_subcommand(1);
  EvidenceArgs ea;
  auto* evidence = app.add_subcommand("evidence",
                                      "Obtain this machine's SNP report or TDX "
                                      "quote with REPORT-DATA bound into it");
  evidence->add_option("--report-data", ea.report_data_hex,
                       "Up to 64 bytes as hex, zero-padded (default: 64 zero bytes)");
  evidence->add_option("--out", ea.out, "Where to write the report or quote")->required();
  evidence->add_option("--aux-out", ea.aux_out,
                       "Where to write the SNP certificate table (VCEK/ASK/ARK) when "
                       "there is one (the host's; always with --source simulated)");
  add_source_options(*evidence, ea);

  IssueCertArgs ia;
  auto* issue = add_issue_cert_command(app, ia);

  TestRootsArgs ta;
  auto* test_roots = app.add_subcommand("test-roots",
                                        "Generate TEST roots for --source simulated (AMD-style ARK/ASK/VCEK, "
                                        "Intel-style SGX root/PCK, their keys, roots.json with the root "
                                        "fingerprints); never vendor roots");
  test_roots->add_option("--out", ta.out, "Directory to write them to (created 0700 if missing)")->required();
  test_roots->add_flag("--force", ta.force, "Replace existing files (otherwise refused, exit 2)");

  VerifyArgs va;
  auto* verify = app.add_subcommand(
      "verify",
      "Verify an SEV-SNP report, a TDX quote (v4/v5) or a certificate carrying either (detected from the "
      "content): exit 0 and the claims when valid, 1 and the reason when not");
  verify->add_option("--evidence", va.evidence, "The report, quote or certificate (PEM or DER)")->required();
  verify->add_option("--vcek", va.vcek, "SNP: the VCEK or VLEK certificate (DER or PEM)");
  verify->add_option("--cert-chain", va.cert_chain, "SNP: the ASK then the ARK, PEM (AMD KDS cert_chain)");
  verify->add_option("--aux", va.aux,
                     "SNP: the GHCB certificate table from the extended report (attest evidence --aux-out)");
  verify->add_option("--collateral", va.collateral,
                     "TDX: collateral JSON (TCB Info, QE Identity, CRLs); without it the TCB status is not_evaluated");
  verify->add_option("--at", va.at, "Evaluate certificates and collateral at this RFC 3339 time (default: now)");
  verify->add_option("--policy", va.policy, "An attestation policy file (YAML; docs/attestation.md)");
  verify->add_option(
      "--test-root", va.test_roots,
      "SHA-256 of a TEST root to trust instead of the vendors' pinned roots (simulated evidence); repeatable");
  verify->add_flag(
      "--json", va.json,
      "Print {verified, tee, measurement|mrtd, report_data, tcb_status, reason, simulated, debug, fields}");

  std::vector<std::string> args = attest.remaining();
  std::reverse(args.begin(),
               args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }
  if (evidence->parsed()) return run_evidence(ea);
  if (verify->parsed()) return run_verify(va);
  if (test_roots->parsed()) return run_test_roots(ta);
  if (issue->parsed()) return run_issue_cert(ia);
  return kExitInvalid;
}

}  // namespace aegis::app
