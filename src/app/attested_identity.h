// attestation.identity: the sidecar's own attested certificate, issued in
// the process at start and again every evidence_ttl (docs/attestation.md).
// Each issue makes a fresh key in the state directory, binds this machine's
// fresh evidence to it (the RA-TLS extension) and has the configured CA sign
// it; cert.pem and key.pem are replaced by rename, and the TLS credential
// watcher of the server presents them to new connections.
#pragma once

#include <chrono>

#include "attest/board.h"
#include "config/types.h"
#include "core/result.h"

namespace aegis::app {

// Issues into id.state_dir (made 0700 if missing; the key never leaves it):
// the key and certificate are written in a fresh directory inside it, then
// renamed over key.pem and cert.pem. The new certificate's evidence is
// checked against `trust` for /attestation's "own" (a failure there is shown,
// not fatal: the peers judge). Counted in
// aegis_attestation_identity_issues_total{result}.
core::Result<attest::OwnIdentity> issue_attested_identity(const config::AttestedIdentity& id,
                                                          const config::AttestationTrust& trust);

// How long to wait before trying again after a failed issue: a tenth of the
// TTL, between 1 s and 60 s (the current certificate keeps serving).
std::chrono::milliseconds identity_retry_delay(const config::AttestedIdentity& id);

}  // namespace aegis::app
