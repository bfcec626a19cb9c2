// `attestation:` of a listener's or cluster's tls block, and attestation
// policy files (`aegis-flow attest verify --policy`): what a peer's hardware
// evidence must show (docs/attestation.md).
#include <algorithm>
#include <array>
#include <filesystem>

#include "config/sections.h"
#include "core/hex.h"

namespace aegis::config::detail {
namespace {

constexpr std::size_t kMeasurementHexDigits = 96;  // 48 bytes: SNP MEASUREMENT, TDX MRTD and RTMRs
constexpr std::size_t kRtmrCount = 4;
constexpr std::array<std::string_view, 8> kTcbStatuses = {"UpToDate",
                                                          "SWHardeningNeeded",
                                                          "ConfigurationNeeded",
                                                          "ConfigurationAndSWHardeningNeeded",
                                                          "OutOfDate",
                                                          "OutOfDateConfigurationNeeded",
                                                          "Revoked",
                                                          "not_evaluated"};

bool is_measurement(const std::string& hex) {
  return hex.size() == kMeasurementHexDigits && core::from_hex(hex).has_value();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  return s;
}

// A list of 48-byte values in hex; `wildcard` also allows "*".
void read_measurements(const Object& o, std::string_view field, bool wildcard, std::vector<std::string>& out) {
  if (!o.has(field) || !o.read_strings(field, out)) return;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = lower(out[i]);
    if (is_measurement(out[i]) || (wildcard && out[i] == "*")) continue;
    o.diags().error_at(
        o.path(field) + "[" + std::to_string(i) + "]",
        std::string(field) + ": '" + out[i] + "' is not 48 bytes of hex (96 digits)" + (wildcard ? " or '*'" : ""));
  }
}

void parse_identity(const Object& parent, ParseContext& ctx, AttestedIdentity& id) {
  const Object o(parent.get("identity"), parent.value_mark("identity"), "attestation identity", parent.path("identity"),
                 {"state_dir", "ca_dir", "spiffe_id", "dns", "key_type", "evidence_ttl", "source", "tsm_root",
                  "sev_guest_device", "simulated"},
                 ctx.diags);
  if (!o.is_mapping()) return;
  auto& d = o.diags();
  for (const char* f : {"state_dir", "ca_dir", "spiffe_id"})
    if (!o.has(f)) d.error(o.mark(), std::string("attestation identity needs '") + f + "'");
  // The state directory is made at start if missing: only resolved here.
  if (o.read_string("state_dir", id.state_dir)) {
    std::filesystem::path p(id.state_dir);
    if (p.is_relative() && !ctx.base_dir.empty()) p = std::filesystem::path(ctx.base_dir) / p;
    id.state_dir = p.lexically_normal().string();
    if (id.state_dir.empty()) d.error(o.value_mark("state_dir"), "state_dir: must not be empty");
  }
  read_file_path(o, ctx, "ca_dir", id.ca_dir);
  if (o.read_string("spiffe_id", id.spiffe_id) && id.spiffe_id.rfind("spiffe://", 0) != 0)
    d.error(o.value_mark("spiffe_id"), "spiffe_id: '" + id.spiffe_id + "' is not a spiffe:// URI");
  if (o.has("dns")) o.read_strings("dns", id.dns);
  std::size_t choice = 0;
  static constexpr std::array<const char*, 4> kKeyTypes = {"mldsa65", "mldsa87", "mldsa44", "ecdsa-p256"};
  if (o.read_choice("key_type", {"mldsa65", "mldsa87", "mldsa44", "ecdsa-p256"}, choice))
    id.key_type = kKeyTypes.at(choice);
  if (o.read_duration("evidence_ttl", id.evidence_ttl) && id.evidence_ttl < std::chrono::seconds(1))
    d.error(o.value_mark("evidence_ttl"), "evidence_ttl: must be at least 1s");
  static constexpr std::array<const char*, 4> kSources = {"auto", "configfs-tsm", "sev-guest", "simulated"};
  if (o.read_choice("source", {"auto", "configfs-tsm", "sev-guest", "simulated"}, choice))
    id.source = kSources.at(choice);
  o.read_string("tsm_root", id.tsm_root);
  o.read_string("sev_guest_device", id.sev_guest_device);
  const bool simulated = id.source == "simulated";
  if (o.has("simulated") != simulated) {
    d.error(o.has("simulated") ? o.value_mark("simulated") : o.value_mark("source"),
            simulated ? "source: simulated needs 'simulated: {roots, tee}' (TEST roots of `aegis-flow attest "
                        "test-roots`)"
                      : "simulated: applies to 'source: simulated' only");
  }
  if (!o.has("simulated")) return;
  const Object sim(o.get("simulated"), o.value_mark("simulated"), "simulated", o.path("simulated"),
                   {"roots", "tee", "measurement", "debug"}, d);
  if (!sim.is_mapping()) return;
  if (!sim.has("roots") || !sim.has("tee")) d.error(sim.mark(), "simulated needs 'roots' and 'tee'");
  read_file_path(sim, ctx, "roots", id.simulated_roots);
  if (sim.read_choice("tee", {"snp", "tdx"}, choice)) id.simulated_tee = choice == 0 ? "snp" : "tdx";
  if (sim.read_string("measurement", id.simulated_measurement)) {
    id.simulated_measurement = lower(id.simulated_measurement);
    if (!is_measurement(id.simulated_measurement))
      d.error(sim.value_mark("measurement"), "measurement: not 48 bytes of hex (96 digits)");
  }
  sim.read_bool("debug", id.simulated_debug);
}

}  // namespace

void parse_attestation_policy(const YAML::Node& node, const YAML::Mark& at, const std::string& path, Diagnostics& d,
                              AttestationPolicy& out) {
  const Object o(node, at, "attestation", path,
                 {"mode", "tee", "measurements", "rtmrs", "min_tcb", "allow_debug", "accepted_tcb_status"}, d);
  if (!o.is_mapping()) return;
  std::size_t choice = 0;
  if (o.read_choice("mode", {"off", "optional", "require"}, choice))
    out.mode =
        std::array{AttestationPolicy::Mode::kOff, AttestationPolicy::Mode::kOptional, AttestationPolicy::Mode::kRequire}
            .at(choice);
  if (o.read_choice("tee", {"any", "snp", "tdx"}, choice))
    out.tee =
        std::array{AttestationPolicy::TeeKind::kAny, AttestationPolicy::TeeKind::kSnp, AttestationPolicy::TeeKind::kTdx}
            .at(choice);
  read_measurements(o, "measurements", false, out.measurements);
  if (o.has("measurements") && out.measurements.empty())
    d.error(o.value_mark("measurements"),
            "measurements: an empty list would refuse every peer; remove it to "
            "allow any");
  read_measurements(o, "rtmrs", true, out.rtmrs);
  if (out.rtmrs.size() > kRtmrCount)
    d.error(o.value_mark("rtmrs"), "rtmrs: a TD has 4 RTMRs (RTMR0..RTMR3), got " + std::to_string(out.rtmrs.size()));
  if (o.has("min_tcb")) {
    // SNP TCB components (reported_tcb); each a minimum.
    const Object m(o.get("min_tcb"), o.value_mark("min_tcb"), "min_tcb", o.path("min_tcb"),
                   {"bootloader", "tee", "snp", "microcode", "fmc"}, d);
    if (m.is_mapping()) {
      for (const char* c : {"bootloader", "tee", "snp", "microcode", "fmc"}) {
        std::uint64_t v = 0;
        if (m.read_uint(c, 0, 255, v)) out.min_tcb[c] = v;
      }
    }
  }
  o.read_bool("allow_debug", out.allow_debug);
  std::vector<std::string> statuses;  // replaces the default list, not appended to it
  if (o.has("accepted_tcb_status") && o.read_strings("accepted_tcb_status", statuses)) {
    out.accepted_tcb_status = std::move(statuses);
    if (out.accepted_tcb_status.empty())
      d.error(o.value_mark("accepted_tcb_status"), "accepted_tcb_status: needs at least one status (e.g. UpToDate)");
    for (std::size_t i = 0; i < out.accepted_tcb_status.size(); ++i) {
      const auto& s = out.accepted_tcb_status[i];
      if (std::find(kTcbStatuses.begin(), kTcbStatuses.end(), s) == kTcbStatuses.end())
        d.error_at(o.path("accepted_tcb_status") + "[" + std::to_string(i) + "]",
                   "accepted_tcb_status: '" + s +
                       "' is not a TCB status (UpToDate, SWHardeningNeeded, "
                       "ConfigurationNeeded, "
                       "ConfigurationAndSWHardeningNeeded, OutOfDate, "
                       "OutOfDateConfigurationNeeded, Revoked, "
                       "not_evaluated)");
    }
  }
}

void parse_attestation_trust(const Object& top, ParseContext& ctx, Config& out) {
  if (!top.has("attestation")) return;
  const Object o(top.get("attestation"), top.value_mark("attestation"), "attestation", top.path("attestation"),
                 {"test_roots", "snp_vcek_dir", "snp_cert_chain", "tdx_collateral", "identity"}, ctx.diags);
  if (!o.is_mapping()) return;
  auto& t = out.attestation;
  if (o.has("test_roots") && o.read_strings("test_roots", t.test_roots)) {
    if (t.test_roots.empty())
      ctx.diags.error(o.value_mark("test_roots"),
                      "test_roots: an empty list trusts nothing; remove it for the vendors' roots");
    for (std::size_t i = 0; i < t.test_roots.size(); ++i) {
      auto& r = t.test_roots[i];
      std::erase(r, ':');
      r = lower(r);
      if (r.size() != 64 || !core::from_hex(r))
        ctx.diags.error_at(o.path("test_roots") + "[" + std::to_string(i) + "]",
                           "test_roots: '" + r + "' is not a SHA-256 fingerprint (64 hex digits)");
    }
  }
  read_file_path(o, ctx, "snp_vcek_dir", t.snp_vcek_dir);
  read_file_path(o, ctx, "snp_cert_chain", t.snp_cert_chain);
  read_file_path(o, ctx, "tdx_collateral", t.tdx_collateral);
  if (o.has("identity")) {
    parse_identity(o, ctx, t.identity.emplace());
    ctx.identity_dir = t.identity->state_dir;
  }
}

}  // namespace aegis::config::detail
