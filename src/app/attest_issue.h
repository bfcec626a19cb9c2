// `aegis-flow attest issue-cert`: a workload certificate whose key is made
// here and whose RA-TLS extension carries this machine's evidence bound to
// that key (attest/evidence_extension.h), issued by an `aegis-flow certs` CA.
#pragma once

#include <string>
#include <vector>

#include "app/attest_sources.h"
#include "tls/certs.h"

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

struct AttestedCertificate {
  tls::WrittenCredentials written;
  attest::RawEvidence evidence;  // what the extension carries (and, for SNP, the host's certificate table)
};
// The leaf of `request`, its key made here, with evidence from `source`
// bound to that key in the RA-TLS extension (attest/evidence_extension.h).
// `evidence_failed` is set when the source failed (as opposed to bad input).
tls::CertResult<AttestedCertificate> issue_attested(tls::LeafRequest request, const EvidenceArgs& source,
                                                    bool* evidence_failed = nullptr);

}  // namespace aegis::app
