#include "attest/policy.h"

#include <algorithm>

#include "config/values.h"
#include "core/hex.h"

namespace aegis::attest {
namespace {

const std::string* field(const Claims& c, std::string_view name) {
  for (const auto& [k, v] : c.fields)
    if (k == name) return &v;
  return nullptr;
}

Failure refuse(std::string detail) { return {"policy", std::move(detail)}; }

}  // namespace

std::optional<Failure> check_policy(const config::AttestationPolicy& policy, const Claims& claims) {
  using TeeKind = config::AttestationPolicy::TeeKind;
  if ((policy.tee == TeeKind::kSnp && claims.tee != Tee::kSevSnp) ||
      (policy.tee == TeeKind::kTdx && claims.tee != Tee::kTdx))
    return refuse(std::string("evidence is from ") + std::string(tee_name(claims.tee)) + ", the policy wants " +
                  (policy.tee == TeeKind::kSnp ? "sev-snp" : "tdx"));
  if (claims.debug && !policy.allow_debug)
    return refuse(
        "the guest has debugging enabled (its memory is readable by "
        "the host); allow_debug is false");
  const std::string measurement = core::to_hex(claims.measurement);
  if (!policy.measurements.empty() &&
      std::find(policy.measurements.begin(), policy.measurements.end(), measurement) == policy.measurements.end())
    return refuse(std::string(claims.tee == Tee::kTdx ? "mrtd " : "measurement ") + measurement +
                  " is not on the allow list");
  for (std::size_t i = 0; i < policy.rtmrs.size(); ++i) {
    if (policy.rtmrs[i] == "*") continue;
    const auto name = "rtmr" + std::to_string(i);
    const auto* got = field(claims, name);
    if (!got)
      return refuse(name +
                    " is required by the policy but the evidence has "
                    "none (not a TDX quote)");
    if (*got != policy.rtmrs[i]) return refuse(name + " " + *got + " is not the expected " + policy.rtmrs[i]);
  }
  for (const auto& [name, min] : policy.min_tcb) {
    // The SNP TCB the report was signed under (snp_verify: "reported_tcb.snp", ...).
    const auto* got = field(claims, "reported_tcb." + name);
    std::string rule = "min_tcb.";
    rule += name;
    std::uint64_t v = 0;
    if (const auto parsed = got ? config::parse_uint(*got, 0, UINT64_MAX) : std::nullopt) {
      v = *parsed;
    } else {
      return refuse(rule.append(": the evidence reports no ").append(name).append(" TCB component"));
    }
    if (v < min)
      return refuse(rule + ": the evidence reports " + std::to_string(v) + ", the policy needs at least " +
                    std::to_string(min));
  }
  if (claims.tcb_status != "not_evaluated" &&
      std::find(policy.accepted_tcb_status.begin(), policy.accepted_tcb_status.end(), claims.tcb_status) ==
          policy.accepted_tcb_status.end())
    return Failure{"tcb_status", "TCB status " + claims.tcb_status + " is not accepted by the policy"};
  return std::nullopt;
}

}  // namespace aegis::attest
