#include "app/attest_cli.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <string>
#include <variant>

#include "attest/evidence.h"
#include "attest/file_io.h"
#include "attest/simulated.h"
#include "attest/simulated_roots.h"
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

struct EvidenceArgs {
  std::string report_data_hex, out, aux_out, source = "auto", tsm_root = "/sys/kernel/config/tsm/report",
                                             sev_guest_device = "/dev/sev-guest";
  // --source simulated only.
  std::string simulated_roots, tee, measurement_hex;
  bool debug = false;
};

// `--source simulated`: evidence signed by the TEST roots in --simulated-roots.
attest::EvidenceResult read_simulated_evidence(const EvidenceArgs& a, const attest::ReportData& data) {
  attest::SimulatedOptions o;
  o.debug = a.debug;
  if (!a.measurement_hex.empty()) {
    const auto bytes = core::from_hex(a.measurement_hex);
    attest::Measurement m{};
    if (!bytes || bytes->size() != m.size())
      return attest::Failure{"usage",
                             "--measurement: expected exactly 48 bytes as hex digits, got '" + a.measurement_hex + "'"};
    std::copy(bytes->begin(), bytes->end(), m.begin());
    o.measurement = m;
  }
  return attest::read_simulated(a.simulated_roots, a.tee == "tdx" ? attest::Tee::kTdx : attest::Tee::kSevSnp, data, o);
}

// The options that only mean something with --source simulated, and the
// two it cannot do without.
std::string simulated_usage_error(const EvidenceArgs& a) {
  const bool simulated = a.source == "simulated";
  if (simulated && (a.simulated_roots.empty() || a.tee.empty()))
    return "--source simulated needs --simulated-roots DIR (made by `aegis-flow attest test-roots --out DIR`) and "
           "--tee snp|tdx";
  if (!simulated && (!a.simulated_roots.empty() || !a.tee.empty() || !a.measurement_hex.empty() || a.debug))
    return "--simulated-roots, --tee, --measurement and --debug apply to --source simulated only";
  return {};
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
  attest::EvidenceResult result = attest::Failure{"no_source", "no evidence source was tried"};
  if (a.source == "simulated") {
    result = read_simulated_evidence(a, data);
    if (const auto* f = std::get_if<attest::Failure>(&result); f != nullptr && f->code == "usage")
      return invalid("evidence", f->detail);
  }
  if (a.source == "auto" || a.source == "configfs-tsm") {
    attest::TsmOptions o;
    o.root = a.tsm_root;
    result = attest::read_configfs_tsm(o, data);
  }
  // Older SNP guests: the ioctl device, when configfs-tsm is not there.
  if (a.source == "sev-guest" ||
      (a.source == "auto" && std::holds_alternative<attest::Failure>(result) &&
       std::get<attest::Failure>(result).code == "tsm_unavailable" && std::filesystem::exists(a.sev_guest_device))) {
    result = attest::read_sev_guest(a.sev_guest_device, data);
  }
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
  evidence
      ->add_option("--source", ea.source,
                   "auto (configfs-tsm, then /dev/sev-guest), configfs-tsm, sev-guest, or simulated (no TEE: "
                   "evidence signed by the TEST roots of --simulated-roots)")
      ->check(CLI::IsMember({"auto", "configfs-tsm", "sev-guest", "simulated"}))
      ->capture_default_str();
  evidence->add_option("--tsm-root", ea.tsm_root, "configfs-tsm report directory")->capture_default_str();
  evidence->add_option("--sev-guest-device", ea.sev_guest_device, "SNP guest device")->capture_default_str();
  evidence->add_option("--simulated-roots", ea.simulated_roots,
                       "--source simulated: TEST roots directory made by `attest test-roots`");
  evidence->add_option("--tee", ea.tee, "--source simulated: snp (SEV-SNP report) or tdx (TDX v4 quote)")
      ->check(CLI::IsMember({"snp", "tdx"}));
  evidence->add_option("--measurement", ea.measurement_hex,
                       "--source simulated: SNP MEASUREMENT / TDX MRTD, 48 bytes as hex (default: a fixed "
                       "TEST value)");
  evidence->add_flag("--debug", ea.debug, "--source simulated: set the SNP policy / TDX attributes DEBUG bit");

  TestRootsArgs ta;
  auto* test_roots = app.add_subcommand("test-roots",
                                        "Generate TEST roots for --source simulated (AMD-style ARK/ASK/VCEK, "
                                        "Intel-style SGX root/PCK, their keys, roots.json with the root "
                                        "fingerprints); never vendor roots");
  test_roots->add_option("--out", ta.out, "Directory to write them to (created 0700 if missing)")->required();
  test_roots->add_flag("--force", ta.force, "Replace existing files (otherwise refused, exit 2)");

  std::vector<std::string> args = attest.remaining();
  std::reverse(args.begin(),
               args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }
  if (evidence->parsed()) return run_evidence(ea);
  if (test_roots->parsed()) return run_test_roots(ta);
  return kExitInvalid;
}

}  // namespace aegis::app
