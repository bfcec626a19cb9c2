// The attestation check of a listener's or cluster's TLS peers, plugged into
// tls::TlsRuntime as its PeerCertificateCheck: the evidence in the peer's
// leaf certificate is verified against this process's trust (top-level
// `attestation:`), bound to the leaf's key and held to the tls block's
// policy. Every outcome is counted (aegis_attestation_verified_total,
// aegis_attestation_failures_total{reason}) and recorded for /attestation.
#pragma once

#include <string>

#include "attest/verify.h"
#include "config/types.h"
#include "core/result.h"
#include "tls/runtime.h"

namespace aegis::attest {

// The verifier's inputs from the trust (its files read now).
core::Result<VerifyInputs> verify_inputs(const config::AttestationTrust& trust);

// Reads the trust's files now (a bad path is a load error, not a handshake
// error). An `off` policy gives an empty check (nothing installed).
core::Result<tls::PeerCertificateCheck> make_peer_check(const config::AttestationPolicy& policy,
                                                        const config::AttestationTrust& trust, tls::Side side,
                                                        const std::string& owner);

}  // namespace aegis::attest
