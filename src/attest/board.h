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

class AttestationBoard {
 public:
  // `side` is "listener" or "cluster", `owner` its name.
  void record_peer(const std::string& side, const std::string& owner, const Verdict& verdict);
  void set_own(const Claims& claims, const std::string& source);
  // {"own": {...} | null, "peers": [{"listener"|"cluster", "at", "verified", "reason", claims...}]}
  std::string json() const;

 private:
  struct Entry {
    Verdict verdict;
    std::chrono::system_clock::time_point at;
  };
  mutable std::mutex mu_;
  std::optional<std::pair<Claims, std::string>> own_;
  std::map<std::pair<std::string, std::string>, Entry> peers_;
};

AttestationBoard& attestation_board();

}  // namespace aegis::attest
