// Where `aegis-flow attest evidence` and `attest issue-cert` get evidence:
// the source options they share (--source auto|configfs-tsm|sev-guest|
// simulated and their settings) and the one function that obtains it.
#pragma once

#include <string>

#include "attest/evidence.h"

namespace CLI {
class App;
}

namespace aegis::app {

struct EvidenceArgs {
  std::string report_data_hex, out, aux_out, source = "auto", tsm_root = "/sys/kernel/config/tsm/report",
                                             sev_guest_device = "/dev/sev-guest";
  // --source simulated only.
  std::string simulated_roots, tee, measurement_hex;
  bool debug = false;
};

// --source, --tsm-root, --sev-guest-device, --simulated-roots, --tee, --measurement, --debug.
void add_source_options(CLI::App& command, EvidenceArgs& a);
// The options that only mean something with --source simulated, and the two
// it cannot do without: "" when fine, else the message.
std::string simulated_usage_error(const EvidenceArgs& a);
// Evidence with `data` bound into it, from the chosen source ("auto":
// configfs-tsm, then /dev/sev-guest). A Failure with code "usage" is the
// caller's bad input (exit 2); others are the source's.
attest::EvidenceResult obtain_evidence(const EvidenceArgs& a, const attest::ReportData& data);

}  // namespace aegis::app
