#include "app/attested_identity.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "app/attest_issue.h"
#include "app/attest_sources.h"
#include "attest/peer_check.h"
#include "attest/verify.h"
#include "stats/stats.h"
#include "tls/certs_keys.h"
#include "tls/x509_inspect.h"

namespace aegis::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

constexpr auto kDay = std::chrono::hours(24);

void count(const char* result) {
  stats::global()
      .counter("aegis_attestation_identity_issues_total",
               "Issues of this sidecar's own attested certificate (attestation.identity), by result",
               {{"result", result}})
      .inc();
}

EvidenceArgs evidence_args(const config::AttestedIdentity& id) {
  EvidenceArgs a;
  a.source = id.source;
  a.tsm_root = id.tsm_root;
  a.sev_guest_device = id.sev_guest_device;
  a.simulated_roots = id.simulated_roots;
  a.tee = id.simulated_tee;
  a.measurement_hex = id.simulated_measurement;
  a.debug = id.simulated_debug;
  return a;
}

// The state directory, 0700: the key is written nowhere else.
core::Result<void> prepare_state_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return core::Error{"state_dir " + dir.string() + ": " + ec.message()};
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) return core::Error{"state_dir " + dir.string() + ": cannot make it private (0700): " + ec.message()};
  return {};
}

// The evidence of the certificate just written, as a peer holding this
// process's trust would judge it (SNP: with the host's certificate table).
attest::Verdict check_own(const fs::path& cert_file, const attest::RawEvidence& ev,
                          const config::AttestationTrust& trust, std::string* fingerprint) {
  attest::Verdict v;
  auto certs = tls::read_certificates(cert_file);
  if (!certs || certs->empty()) {
    v.failure = {"unreadable", "cannot read back " + cert_file.string()};
    return v;
  }
  X509* leaf = certs->front().get();
  if (auto info = tls::describe_certificate(leaf)) *fingerprint = info->sha256_fingerprint;
  auto inputs = attest::verify_inputs(trust);
  if (!inputs) {
    v.failure = {"trust", inputs.error().message};
    return v;
  }
  inputs->snp_cert_table = ev.aux;
  return attest::verify_certificate(leaf, *inputs);
}

}  // namespace

std::chrono::milliseconds identity_retry_delay(const config::AttestedIdentity& id) {
  return std::clamp<std::chrono::milliseconds>(id.evidence_ttl / 10, std::chrono::seconds(1), std::chrono::seconds(60));
}

core::Result<attest::OwnIdentity> issue_attested_identity(const config::AttestedIdentity& id,
                                                          const config::AttestationTrust& trust) {
  auto fail = [](std::string message) -> core::Result<attest::OwnIdentity> {
    count("failure");
    return core::Error{std::move(message)};
  };
  const fs::path dir(id.state_dir);
  if (auto r = prepare_state_dir(dir); !r) return fail(r.error().message);
  const fs::path staging = dir / (".issuing-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(staging, ec);  // a leftover of an issue that died half-way
  struct RemoveStaging {
    fs::path p;
    ~RemoveStaging() {
      std::error_code ignored;
      fs::remove_all(p, ignored);
    }
  } cleanup{staging};

  tls::LeafRequest request;
  request.ca_dir = id.ca_dir;
  request.spiffe_id = id.spiffe_id;
  request.dns_names = id.dns;
  request.key_type = tls::parse_key_type(id.key_type).value_or(tls::KeyType::mldsa65);
  // Valid for two TTLs (a day at least): a renewal that fails leaves time to retry.
  request.days =
      static_cast<int>(std::max<std::int64_t>(1, (2 * id.evidence_ttl + kDay - std::chrono::milliseconds(1)) / kDay));
  request.out_dir = staging;
  request.force = true;
  auto issued = issue_attested(std::move(request), evidence_args(id));
  if (!issued) return fail(issued.error().message);

  // Key first: until the certificate follows, the pair does not match and
  // the credential watcher waits for the files to settle.
  for (const char* name : {"key.pem", "cert.pem"}) {
    fs::rename(staging / name, dir / name, ec);
    if (ec) return fail("cannot move " + std::string(name) + " into " + dir.string() + ": " + ec.message());
  }

  attest::OwnIdentity own;
  own.source = issued->evidence.source;
  own.spiffe_id = id.spiffe_id;
  own.issued_at = Clock::now();
  own.renews_at = own.issued_at + std::chrono::duration_cast<Clock::duration>(id.evidence_ttl);
  own.verdict = check_own(dir / "cert.pem", issued->evidence, trust, &own.certificate_sha256);
  count("success");
  attest::attestation_board().set_own(own);
  return own;
}

}  // namespace aegis::app
