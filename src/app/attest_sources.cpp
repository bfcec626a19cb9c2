#include "app/attest_sources.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>

#include "attest/simulated.h"
#include "core/hex.h"

namespace aegis::app {
namespace {

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
}  // namespace

std::string simulated_usage_error(const EvidenceArgs& a) {
  const bool simulated = a.source == "simulated";
  if (simulated && (a.simulated_roots.empty() || a.tee.empty()))
    return "--source simulated needs --simulated-roots DIR (made by `aegis-flow attest test-roots --out DIR`) and "
           "--tee snp|tdx";
  if (!simulated && (!a.simulated_roots.empty() || !a.tee.empty() || !a.measurement_hex.empty() || a.debug))
    return "--simulated-roots, --tee, --measurement and --debug apply to --source simulated only";
  return {};
}

attest::EvidenceResult obtain_evidence(const EvidenceArgs& a, const attest::ReportData& data) {
  if (a.source == "simulated") return read_simulated_evidence(a, data);
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
  return result;
}

void add_source_options(CLI::App& command, EvidenceArgs& a) {
  command
      .add_option("--source", a.source,
                  "auto (configfs-tsm, then /dev/sev-guest), configfs-tsm, sev-guest, or simulated (no TEE: "
                  "evidence signed by the TEST roots of --simulated-roots)")
      ->check(CLI::IsMember({"auto", "configfs-tsm", "sev-guest", "simulated"}))
      ->capture_default_str();
  command.add_option("--tsm-root", a.tsm_root, "configfs-tsm report directory")->capture_default_str();
  command.add_option("--sev-guest-device", a.sev_guest_device, "SNP guest device")->capture_default_str();
  command.add_option("--simulated-roots", a.simulated_roots,
                     "--source simulated: TEST roots directory made by `attest test-roots`");
  command.add_option("--tee", a.tee, "--source simulated: snp (SEV-SNP report) or tdx (TDX v4 quote)")
      ->check(CLI::IsMember({"snp", "tdx"}));
  command.add_option("--measurement", a.measurement_hex,
                     "--source simulated: SNP MEASUREMENT / TDX MRTD, 48 bytes as hex (default: a fixed TEST value)");
  command.add_flag("--debug", a.debug, "--source simulated: set the SNP policy / TDX attributes DEBUG bit");
}

}  // namespace aegis::app
