// The names a certificate of ours may carry, checked before any key is made:
// SPIFFE trust domains and IDs (SPIFFE-ID spec §2) and DNS names.
#pragma once

#include <string>
#include <string_view>

#include "tls/certs_result.h"

namespace aegis::tls {

// A bare trust domain such as `example.org`: lowercase letters, digits, '.',
// '-', '_'; at most 255 characters.
CertResult<void> check_trust_domain(std::string_view trust_domain);

// A workload's SPIFFE ID, `spiffe://<trust-domain>/<path>` with a non-empty
// path; returns the trust domain.
CertResult<std::string> spiffe_id_trust_domain(std::string_view spiffe_id);

// A DNS name for a SAN: letters, digits, '-' in labels of 1..63, at most 253
// characters, optionally starting with one `*.` wildcard label.
CertResult<void> check_dns_name(std::string_view name);

}  // namespace aegis::tls
