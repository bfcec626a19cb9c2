// A verified peer's claims against the attestation policy of the listener or
// cluster (config::AttestationPolicy): TEE kind, allowed measurements and
// RTMRs, minimum TCB, debug guests, accepted TCB status.
#pragma once

#include <optional>

#include "attest/verdict.h"
#include "config/types.h"

namespace aegis::attest {

// nullopt when the claims satisfy the policy; else a Failure with code
// "policy" (or "tcb_status") saying which rule refused them.
std::optional<Failure> check_policy(const config::AttestationPolicy& policy, const Claims& claims);

}  // namespace aegis::attest
