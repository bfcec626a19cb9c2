#include "attest/peer_check.h"

#include <cstring>
#include <memory>

#include "attest/board.h"
#include "attest/evidence_extension.h"
#include "attest/file_io.h"
#include "attest/policy.h"
#include "attest/verify.h"
#include "stats/stats.h"

namespace aegis::attest {
namespace {

struct PeerCheck {
  config::AttestationPolicy policy;
  VerifyInputs inputs;
  std::string side;  // "listener" / "cluster"
  std::string owner;

  stats::Labels labels() const { return {{side, owner}}; }

  std::optional<tls::PeerRefusal> refuse(const Verdict& v) const {
    auto l = labels();
    l.emplace_back("reason", v.failure.code);
    stats::global()
        .counter("aegis_attestation_failures_total", "Peers refused for their hardware evidence, by reason", l)
        .inc();
    attestation_board().record_peer(side, owner, v);
    return tls::PeerRefusal{v.failure.code, v.failure.text()};
  }

  std::optional<tls::PeerRefusal> operator()(X509* leaf) const {
    const auto ext = find_extension(leaf);
    if (!ext) {
      if (policy.mode == config::AttestationPolicy::Mode::kOptional) return std::nullopt;
      Verdict v;
      v.failure = {"no_evidence",
                   std::string("the peer's certificate carries no evidence (") + kEvidenceExtensionOid + ")"};
      return refuse(v);
    }
    auto verdict = verify_certificate(leaf, inputs);
    if (verdict.verified) {
      if (auto refused = check_policy(policy, verdict.claims)) {
        verdict.verified = false;
        verdict.failure = *refused;
      }
    }
    if (!verdict.verified) return refuse(verdict);
    auto l = labels();
    l.emplace_back("tee", std::string(tee_name(verdict.claims.tee)));
    l.emplace_back("simulated", verdict.claims.simulated ? "true" : "false");
    stats::global()
        .counter("aegis_attestation_verified_total", "Peers whose hardware evidence verified and met the policy", l)
        .inc();
    attestation_board().record_peer(side, owner, verdict);
    return std::nullopt;
  }
};

core::Result<std::string> read_text(const std::string& path) {
  if (path.empty()) return std::string();
  return read_text_file(path);
}

}  // namespace

core::Result<VerifyInputs> verify_inputs(const config::AttestationTrust& trust) {
  VerifyInputs in;
  in.test_roots = trust.test_roots;
  in.snp_vcek_dir = trust.snp_vcek_dir;
  auto chain = read_text(trust.snp_cert_chain);
  if (!chain) return chain.error();
  in.cert_chain = std::move(chain.value());
  auto collateral = read_text(trust.tdx_collateral);
  if (!collateral) return collateral.error();
  in.collateral = std::move(collateral.value());
  return in;
}

core::Result<tls::PeerCertificateCheck> make_peer_check(const config::AttestationPolicy& policy,
                                                        const config::AttestationTrust& trust, tls::Side side,
                                                        const std::string& owner) {
  if (policy.mode == config::AttestationPolicy::Mode::kOff) return tls::PeerCertificateCheck{};
  auto check = std::make_shared<PeerCheck>();
  check->policy = policy;
  check->side = side == tls::Side::kServer ? "listener" : "cluster";
  check->owner = owner;
  auto inputs = verify_inputs(trust);
  if (!inputs) return inputs.error();
  check->inputs = std::move(inputs.value());
  return tls::PeerCertificateCheck([check](X509* leaf) { return (*check)(leaf); });
}

}  // namespace aegis::attest
