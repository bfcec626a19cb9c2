#include "app/attest_cli.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <string>
#include <variant>

#include "attest/evidence.h"
#include "attest/file_io.h"
#include "core/hex.h"

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
};

int run_evidence(const EvidenceArgs& a) {
  attest::ReportData data{};
  if (!a.report_data_hex.empty()) {
    const auto bytes = core::from_hex(a.report_data_hex);
    if (!bytes || bytes->size() > data.size())
      return invalid("evidence",
                     "--report-data: expected up to 64 bytes as hex digits, got '" + a.report_data_hex + "'");
    std::copy(bytes->begin(), bytes->end(), data.begin());
  }
  attest::EvidenceResult result = attest::Failure{"no_source", "no evidence source was tried"};
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
                       "Where to write the SNP certificate table "
                       "(VCEK/ASK/ARK) if the host has one");
  evidence->add_option("--source", ea.source, "auto (configfs-tsm, then /dev/sev-guest), configfs-tsm or sev-guest")
      ->check(CLI::IsMember({"auto", "configfs-tsm", "sev-guest"}))
      ->capture_default_str();
  evidence->add_option("--tsm-root", ea.tsm_root, "configfs-tsm report directory")->capture_default_str();
  evidence->add_option("--sev-guest-device", ea.sev_guest_device, "SNP guest device")->capture_default_str();

  std::vector<std::string> args = attest.remaining();
  std::reverse(args.begin(),
               args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }
  if (evidence->parsed()) return run_evidence(ea);
  return kExitInvalid;
}

}  // namespace aegis::app
