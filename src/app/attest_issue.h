// `aegis-flow attest issue-cert`: a workload certificate whose key is made
// here and whose RA-TLS extension carries this machine's evidence bound to
// that key (attest/evidence_extension.h), issued by an `aegis-flow certs` CA.
#pragma once

#include <string>
#include <vector>

#include "app/attest_sources.h"

namespace CLI {
class App;
}

namespace aegis::app {

struct IssueCertArgs {
  std::string ca_dir, spiffe_id, key_type = "mldsa65", out;
  std::vector<std::string> dns;
  int days = 1;
  bool force = false;
  EvidenceArgs source;
};

CLI::App* add_issue_cert_command(CLI::App& attest, IssueCertArgs& args);
int run_issue_cert(const IssueCertArgs& args);

}  // namespace aegis::app
