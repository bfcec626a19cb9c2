// `aegis-flow attest`: hardware attestation from the command line (attest/).
//
// Usage:
//   aegis-flow attest evidence [--report-data HEX] --out FILE [--aux-out FILE]
//       [--source auto|configfs-tsm|sev-guest] [--tsm-root DIR]
//       [--sev-guest-device PATH] → FILE: the raw SNP report or TDX quote with
//       the 64 bytes of report data
//         (HEX, up to 64 bytes, zero-padded; default all zero) bound into it;
//         --aux-out: the SNP certificate table the host supplied, if any.
//   aegis-flow attest evidence --source simulated --simulated-roots DIR
//       --tee snp|tdx [--measurement HEX] [--debug] ... → evidence without a
//       TEE, signed by the TEST roots in DIR (verifies only against them).
//   aegis-flow attest test-roots --out DIR [--force] → DIR: TEST roots for
//       --source simulated; existing files refused without --force (exit 2).
//   aegis-flow attest verify --evidence FILE [--vcek FILE] [--cert-chain FILE]
//       [--collateral FILE] [--at RFC3339] [--policy FILE] [--json]
//       → exit 0 and the claims when valid; exit 1 with the reason when not.
// Exit status: 0 success; 1 evidence refused or not obtainable; 2 usage or
// unreadable input.
#pragma once

namespace CLI {
class App;
}

namespace aegis::app {

CLI::App* add_attest_command(CLI::App& app);
int run_attest_command(const CLI::App& attest);

}  // namespace aegis::app
