// What this process knows about attestation, for the admin page
// `/attestation`: its own evidence's claims (when it presents attested
// certificates) and the last verdict on each listener's and cluster's peers.
// Written on handshakes (any worker), read by the admin thread.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "attest/verdict.h"

namespace aegis::attest {

// The certificate this process presents with its own evidence
// (attestation.identity), as last issued.
struct OwnIdentity {
  Verdict verdict;     // its evidence checked against this process's own trust
  std::string source;  // where the evidence came from: configfs-tsm, sev-guest, simulated
  std::string spiffe_id;
  std::string certificate_sha256;  // of the leaf (DER), "AB:CD:..."
  std::chrono::system_clock::time_point issued_at, renews_at;
};

class AttestationBoard {
 public:
  // `side` is "listener" or "cluster", `owner` its name.
  void record_peer(const std::string& side, const std::string& owner, const Verdict& verdict);
  void set_own(const OwnIdentity& own);
  // {"own": {tee, measurement|mrtd, ..., source, verified, reason, spiffe_id, certificate_sha256, issued_at,
  //  renews_at} | null, "peers": [{"listener"|"cluster", "at", "verified", "reason", "claims"}]}
  std::string json() const;

 private:
  struct Entry {
    Verdict verdict;
    std::chrono::system_clock::time_point at;
  };
  mutable std::mutex mu_;
  std::optional<OwnIdentity> own_;
  std::map<std::pair<std::string, std::string>, Entry> peers_;
};

AttestationBoard& attestation_board();

}  // namespace aegis::attest
