#include "attest/board.h"

#include <nlohmann/json.hpp>

#include <ctime>

#include "core/hex.h"

namespace aegis::attest {
namespace {

using Json = nlohmann::ordered_json;

Json claims_json(const Claims& c) {
  Json j;
  j["tee"] = tee_name(c.tee);
  j[c.tee == Tee::kTdx ? "mrtd" : "measurement"] = core::to_hex(c.measurement);
  j["report_data"] = core::to_hex(c.report_data);
  j["tcb_status"] = c.tcb_status;
  j["debug"] = c.debug;
  j["simulated"] = c.simulated;
  auto& fields = j["fields"] = Json::object();
  for (const auto& [k, v] : c.fields) fields[k] = v;
  return j;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  return std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) ? std::string(buf) : std::string();
}

}  // namespace

void AttestationBoard::record_peer(const std::string& side, const std::string& owner, const Verdict& verdict) {
  const std::lock_guard lock(mu_);
  peers_[{side, owner}] = Entry{verdict, std::chrono::system_clock::now()};
}

void AttestationBoard::set_own(const OwnIdentity& own) {
  const std::lock_guard lock(mu_);
  own_ = own;
}

std::string AttestationBoard::json() const {
  const std::lock_guard lock(mu_);
  Json j;
  if (own_) {
    Json o = claims_json(own_->verdict.claims);
    o["source"] = own_->source;
    o["verified"] = own_->verdict.verified;
    o["reason"] = own_->verdict.verified ? Json(nullptr) : Json(own_->verdict.failure.text());
    o["spiffe_id"] = own_->spiffe_id;
    o["certificate_sha256"] = own_->certificate_sha256;
    o["issued_at"] = rfc3339(own_->issued_at);
    o["renews_at"] = rfc3339(own_->renews_at);
    j["own"] = std::move(o);
  } else {
    j["own"] = nullptr;
  }
  auto& peers = j["peers"] = Json::array();
  for (const auto& [key, e] : peers_) {
    Json p;
    p[key.first] = key.second;
    p["at"] = rfc3339(e.at);
    p["verified"] = e.verdict.verified;
    p["reason"] = e.verdict.verified ? Json(nullptr) : Json(e.verdict.failure.text());
    p["claims"] = e.verdict.claims.measurement.empty() ? Json(nullptr) : claims_json(e.verdict.claims);
    peers.push_back(std::move(p));
  }
  return j.dump(2);
}

AttestationBoard& attestation_board() {
  static AttestationBoard board;
  return board;
}

}  // namespace aegis::attest
