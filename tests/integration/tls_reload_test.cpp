// TLS credentials reload while serving: a rotated certificate is presented
// to new connections within seconds (fingerprint, expiry gauge, reload
// counter) while connections opened before keep working; rotations under
// wrk load lose no request; a bad key is refused and the old certificate
// keeps serving; a handshake pending across a rotation, and a request in
// flight across two, finish; TLS 1.3 session resumption (on by default, off
// on request) survives certificate reloads.
#include "harness.h"
#include "tls_helpers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>
#include <set>
#include <thread>

namespace aegis::itest {
namespace {

using namespace tlsh;

const Labels kReloadOk = {{"result", "success"}};
const Labels kReloadFailed = {{"result", "failure"}};
constexpr const char* kReloads = "aegis_tls_credential_reloads_total";
constexpr const char* kExpiry = "aegis_tls_certificate_expiry_timestamp_seconds";
constexpr const char* kTrustDomain = "aegis.test";
constexpr const char* kServerId = "spiffe://aegis.test/ns/demo/sa/server";

// The harness's HTTP config with a `tls:` block (6-space indented lines)
// under its listener; paths in it are relative to the config's directory.
std::string tls_config(const HttpProxyConfig& c, const std::string& tls_yaml) {
  std::string y = http_proxy_config(c);
  const std::string anchor = "    route_config: main\n";
  const auto pos = y.find(anchor);
  if (pos == std::string::npos) throw std::runtime_error("config template changed: no route_config line");
  y.insert(pos + anchor.size(), "    tls:\n" + tls_yaml);
  return y;
}

std::string server_tls(const std::string& pq_policy, const std::string& extra = "") {
  return "      cert_file: srv/cert.pem\n"
         "      key_file: srv/key.pem\n"
         "      pq_policy: " +
         pq_policy + "\n" + extra;
}

struct Leaf {
  std::string fingerprint;  // as `certs inspect` prints it
  std::int64_t not_after = 0;
};

// What `certs inspect` says about DIR/cert.pem, cross-checked with the PEM.
Leaf describe(const fs::path& dir, const fs::path& leaf_dir) {
  Leaf l;
  l.fingerprint = inspect_fingerprint(dir, leaf_dir / "cert.pem");
  const std::string pem = read_file(leaf_dir / "cert.pem");
  EXPECT_FALSE(l.fingerprint.empty()) << "certs inspect printed no SHA-256 line for " << leaf_dir;
  EXPECT_EQ(l.fingerprint, pem_fingerprint(pem)) << "certs inspect's fingerprint is not the leaf's SHA-256";
  l.not_after = pem_not_after(pem).value_or(0);
  EXPECT_GT(l.not_after, 0);
  return l;
}

// Issues a certificate into a staging directory and moves cert and key over
// srv/ (rename, so the proxy never reads a half-written file).
Leaf rotate_by_rename(const fs::path& dir, const std::string& key_type, int days, int gen) {
  const fs::path stage = dir / ("stage-" + std::to_string(gen));
  if (!mint_leaf(dir, dir / "ca", stage, kServerId, key_type, days)) return {};
  const Leaf l = describe(dir, stage);
  std::error_code ec;
  fs::rename(stage / "cert.pem", dir / "srv" / "cert.pem", ec);
  EXPECT_FALSE(ec) << "rename cert.pem: " << ec.message();
  fs::rename(stage / "key.pem", dir / "srv" / "key.pem", ec);
  EXPECT_FALSE(ec) << "rename key.pem: " << ec.message();
  return l;
}

// Polls new connections until one presents `fingerprint`; returns how long
// it took, or nullopt (with the last fingerprint seen) on timeout.
std::optional<Millis> wait_presented(std::uint16_t port, const std::string& fingerprint, Millis timeout,
                                     std::string* last_seen) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < timeout) {
    TlsConn c(port);
    *last_seen = c.ok() ? c.peer_fingerprint() : "<" + c.error() + ">";
    if (c.ok() && *last_seen == fingerprint)
      return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    std::this_thread::sleep_for(100ms);
  }
  return std::nullopt;
}

class TlsReload : public ProxyTest<::testing::Test> {
 protected:
  TlsReload() : ProxyTest("tls-reload") {}

  // CA and a first server certificate in srv/, then the proxy in front of a
  // test upstream with `tls_yaml` on its listener.
  void start(const std::string& key_type, int days, const std::string& tls_yaml) {
    ASSERT_FALSE(openssl_cli().empty()) << "the OpenSSL 3.5 CLI is required (scripts/bootstrap.sh builds it)";
    ASSERT_TRUE(mint_ca(dir_.path(), dir_ / "ca", kTrustDomain, key_type));
    ASSERT_TRUE(mint_leaf(dir_.path(), dir_ / "ca", dir_ / "srv", kServerId, key_type, days));
    first_ = describe(dir_.path(), dir_ / "srv");
    upstream_ = std::make_unique<Upstream>(dir_.path());
    cfg_ = config_for({upstream_->endpoint()});
    proxy_ = std::make_unique<Proxy>(dir_.path(), tls_config(cfg_, tls_yaml), cfg_.admin_port,
                                     std::vector<std::uint16_t>{cfg_.listener_port});
    AEGIS_ASSERT_READY(*proxy_);
  }
  double reloads(const Labels& l) { return proxy_->metric(kReloads, l).value_or(-1); }
  std::optional<double> expiry() { return proxy_->metric(kExpiry, {{"listener", cfg_.listener_name}}); }
  std::uint16_t port() const { return cfg_.listener_port; }
  SClient s_client(const std::vector<std::string>& extra = {}) {
    return s_client_run(dir_.path(), port(), extra,
                        "GET /status/200 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  }

  Leaf first_;
};

TEST_F(TlsReload, RotatedCertificateIsServedAndOpenConnectionsKeepWorking) {
  start("mldsa65", 10, server_tls("hybrid"));
  auto s = s_client();
  ASSERT_EQ(s.status, 200) << s.cmd.out << s.cmd.err;
  EXPECT_EQ(s.fingerprint, first_.fingerprint) << "the listener does not present srv/cert.pem";
  EXPECT_EQ(expiry(), static_cast<double>(first_.not_after)) << proxy_->metrics();
  EXPECT_EQ(reloads(kReloadOk), 0);

  // A keep-alive connection from before the rotation.
  TlsConn kept(port());
  ASSERT_TRUE(kept.ok()) << kept.error();
  ASSERT_EQ(kept.get("/status/200"), 200) << kept.error();
  EXPECT_EQ(kept.peer_fingerprint(), first_.fingerprint);
  EXPECT_EQ(kept.group(), "X25519MLKEM768");

  // Certificate 2, written over certificate 1 in place (`issue --force`).
  ASSERT_TRUE(mint_leaf(dir_.path(), dir_ / "ca", dir_ / "srv", kServerId, "mldsa65", 20));
  const Leaf second = describe(dir_.path(), dir_ / "srv");
  ASSERT_NE(second.fingerprint, first_.fingerprint);
  ASSERT_NE(second.not_after, first_.not_after);

  std::string seen;
  const auto took = wait_presented(port(), second.fingerprint, 6s, &seen);
  ASSERT_TRUE(took.has_value()) << "new connections still get " << seen << ", not certificate 2 "
                                << second.fingerprint << "\n"
                                << proxy_->process().stderr_tail();
  std::printf("certificate 2 presented %lld ms after the files changed\n", static_cast<long long>(took->count()));
  s = s_client();
  EXPECT_EQ(s.status, 200) << s.cmd.out << s.cmd.err;
  EXPECT_EQ(s.fingerprint, second.fingerprint) << "openssl s_client disagrees with the in-process client";
  EXPECT_EQ(expiry(), static_cast<double>(second.not_after)) << "the expiry gauge is not certificate 2's notAfter";
  EXPECT_EQ(reloads(kReloadOk), 1) << proxy_->metrics();
  EXPECT_EQ(reloads(kReloadFailed), 0);
  EXPECT_NE(proxy_->process().stderr_text().find("TLS credentials reloaded"), std::string::npos)
      << proxy_->process().stderr_tail();

  // The connection from before keeps its session and serves more requests.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(kept.get("/status/200"), 200) << "request " << i << " on the pre-rotation connection: " << kept.error();
  }
  EXPECT_EQ(kept.peer_fingerprint(), first_.fingerprint);
}

// A connection accepted before a rotation whose client only sends its
// ClientHello after the new certificate is live: the handshake finishes with
// the certificate the connection was accepted under, and the request is
// served. (The session once kept only a pointer into the snapshot it was
// accepted under; the reload freed it mid-handshake, a use-after-free that
// the sanitizer lane caught under wrk load.)
TEST_F(TlsReload, HandshakePendingAcrossARotationFinishesWithTheOldCertificate) {
  start("ecdsa-p256", 10, server_tls("hybrid"));
  Leaf second;
  std::optional<Millis> took;
  std::string seen;
  TlsConn::Options o;
  o.timeout = 15s;
  o.before_handshake = [&] {
    second = rotate_by_rename(dir_.path(), "ecdsa-p256", 20, 1);
    took = wait_presented(port(), second.fingerprint, 6s, &seen);
    // The connections wait_presented opened have closed; nothing but the
    // pending connection still refers to the first snapshot.
    std::this_thread::sleep_for(300ms);
  };
  TlsConn pending(port(), o);
  ASSERT_TRUE(took.has_value()) << "new connections still get " << seen << ", not the rotated certificate\n"
                                << proxy_->process().stderr_tail();
  ASSERT_TRUE(pending.ok()) << pending.error() << "\n" << proxy_->process().stderr_tail();
  EXPECT_EQ(pending.peer_fingerprint(), first_.fingerprint) << "the connection was accepted under certificate 1";
  EXPECT_EQ(pending.get("/status/200"), 200) << pending.error() << "\n" << proxy_->process().stderr_tail();
  ASSERT_TRUE(proxy_->alive()) << proxy_->process().stderr_tail();
  EXPECT_EQ(reloads(kReloadOk), 1) << proxy_->metrics();
  TlsConn fresh(port());
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_EQ(fresh.get("/status/200"), 200) << fresh.error();
  EXPECT_EQ(fresh.peer_fingerprint(), second.fingerprint);
}

// A keep-alive connection from before rotation 2 sends a slow request after
// it, so the upstream is picked from the worker's newer configuration than
// the one the connection holds; rotation 3 lands while the response is
// awaited, and the worker frees rotation 2's configuration. The exchange
// must still finish on the endpoint it picked (the pick keeps its
// configuration alive: before, this was a use-after-free).
TEST_F(TlsReload, ARequestInFlightAcrossTwoRotationsIsServed) {
  start("ecdsa-p256", 10, server_tls("hybrid"));
  std::string seen;
  const auto rotate = [&](int gen) {
    const Leaf l = rotate_by_rename(dir_.path(), "ecdsa-p256", 10 + gen, gen);
    ASSERT_TRUE(wait_presented(port(), l.fingerprint, 6s, &seen).has_value())
        << "rotation " << gen << ": new connections still get " << seen << "\n"
        << proxy_->process().stderr_tail();
  };
  rotate(1);
  TlsConn::Options o;
  o.timeout = 20s;
  TlsConn kept(port(), o);
  ASSERT_TRUE(kept.ok()) << kept.error();
  ASSERT_EQ(kept.get("/status/200"), 200) << kept.error();  // now waiting for its next request
  rotate(2);
  int status = 0;
  std::string body, error;
  std::jthread slow([&] {
    status = kept.get("/slow?ms=5000", &body);
    error = kept.error();
  });
  std::this_thread::sleep_for(300ms);  // the request is with the upstream
  rotate(3);
  slow.join();
  EXPECT_EQ(status, 200) << error << "\n" << proxy_->process().stderr_tail();
  EXPECT_EQ(body, "slept 5000\n");
  EXPECT_TRUE(proxy_->alive()) << proxy_->process().stderr_tail();
  EXPECT_EQ(reloads(kReloadOk), 3) << proxy_->metrics();
}

TEST_F(TlsReload, RotationsUnderLoadLoseNoRequest) {
  const std::string wrk = find_tool("wrk");
  ASSERT_FALSE(wrk.empty()) << "wrk is required (Debian package wrk)";
  // Debian's wrk links OpenSSL 3.0: no ML-KEM, no ML-DSA, hence compat + ECDSA.
  start("ecdsa-p256", 10, server_tls("compat"));

  Process load("wrk",
               {wrk, "-t2", "-c8", "-d10s", "--timeout", "5s", "https://127.0.0.1:" + std::to_string(port()) +
                                                                  "/status/200"},
               dir_.path());
  // Alongside wrk's kept-alive connections: a new connection per request.
  std::atomic<long> fresh_ok{0};
  std::mutex mu;
  std::vector<std::string> fresh_errors;
  std::set<std::string> fresh_seen;
  std::jthread fresh([&](std::stop_token stop) {  // stopped and joined on every way out
    while (!stop.stop_requested()) {
      TlsConn c(port());
      const int status = c.get("/status/200");
      std::lock_guard lock(mu);
      if (status == 200) {
        ++fresh_ok;
        fresh_seen.insert(c.peer_fingerprint());
      } else {
        fresh_errors.push_back(std::to_string(status) + " " + c.error());
      }
    }
  });

  std::vector<Leaf> served = {first_};
  for (int gen = 1; gen <= 3; ++gen) {
    std::this_thread::sleep_for(500ms);
    served.push_back(rotate_by_rename(dir_.path(), "ecdsa-p256", 10 + gen, gen));
    std::string seen;
    EXPECT_TRUE(wait_presented(port(), served.back().fingerprint, 6s, &seen).has_value())
        << "rotation " << gen << ": new connections still get " << seen;
  }
  const auto st = load.wait_for(20s);
  fresh.request_stop();
  fresh.join();
  ASSERT_TRUE(st.has_value()) << "wrk did not finish";
  ASSERT_TRUE(st->ok()) << st->describe() << load.stderr_text();
  const std::string out = load.stdout_text();
  const WrkSummary w = parse_wrk(out);
  std::printf("wrk over https during 3 certificate rotations:\n%s\nnew-connection client: %ld ok\n", out.c_str(),
              fresh_ok.load());
  EXPECT_GE(w.requests, 1000) << out;
  EXPECT_EQ(w.non_2xx, 0) << out;
  EXPECT_EQ(w.socket_errors, 0) << out;
  EXPECT_GE(fresh_ok.load(), 30) << "the new-connection client barely ran";
  EXPECT_TRUE(fresh_errors.empty()) << fresh_errors.size() << " failed new-connection requests, first: "
                                    << fresh_errors.front();
  std::set<std::string> known;
  for (const auto& l : served) known.insert(l.fingerprint);
  for (const auto& fp : fresh_seen) EXPECT_TRUE(known.count(fp)) << "presented an unknown certificate " << fp;
  EXPECT_GE(fresh_seen.size(), 3U) << "the new-connection client saw fewer than 3 of the 4 certificates";

  const auto s = s_client();
  EXPECT_EQ(s.status, 200) << s.cmd.out << s.cmd.err;
  EXPECT_EQ(s.fingerprint, served.back().fingerprint) << "after the last rotation";
  EXPECT_EQ(expiry(), static_cast<double>(served.back().not_after));
  EXPECT_EQ(reloads(kReloadOk), 3) << proxy_->metrics();
  EXPECT_EQ(reloads(kReloadFailed), 0);
}

TEST_F(TlsReload, BadKeyIsRefusedAndOldCertificateKeepsServing) {
  start("mldsa65", 10, server_tls("hybrid"));
  auto expect_first_still_served = [&](const char* when) {
    for (int i = 0; i < 3; ++i) {
      TlsConn c(port());
      ASSERT_TRUE(c.ok()) << when << ": " << c.error();
      EXPECT_EQ(c.get("/status/200"), 200) << when << ": " << c.error();
      EXPECT_EQ(c.peer_fingerprint(), first_.fingerprint) << when;
    }
    EXPECT_EQ(expiry(), static_cast<double>(first_.not_after)) << when;
    EXPECT_TRUE(proxy_->alive()) << when << "\n" << proxy_->process().stderr_tail();
  };
  const std::string error_line = "TLS credentials changed but cannot be loaded";

  // 1. Garbage where the key was.
  write_file(dir_ / "srv" / "key.pem", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
  ASSERT_TRUE(proxy_->wait_metric_at_least(kReloads, kReloadFailed, 1, 6s))
      << "a garbage key.pem was not counted as a failed reload\n"
      << proxy_->metrics() << proxy_->process().stderr_tail();
  EXPECT_NE(proxy_->process().stderr_text().find(error_line), std::string::npos) << proxy_->process().stderr_tail();
  expect_first_still_served("after a garbage key");

  // 2. A well-formed key that belongs to another certificate.
  ASSERT_TRUE(mint_leaf(dir_.path(), dir_ / "ca", dir_ / "other", kServerId, "mldsa65", 10));
  write_file(dir_ / "srv" / "key.pem", read_file(dir_ / "other" / "key.pem"));
  ASSERT_TRUE(proxy_->wait_metric_at_least(kReloads, kReloadFailed, 2, 6s))
      << "a key that does not match the certificate was not refused\n"
      << proxy_->metrics() << proxy_->process().stderr_tail();
  expect_first_still_served("after a mismatched key");
  EXPECT_EQ(reloads(kReloadOk), 0);

  // 3. A good pair again.
  const Leaf second = rotate_by_rename(dir_.path(), "mldsa65", 20, 1);
  std::string seen;
  EXPECT_TRUE(wait_presented(port(), second.fingerprint, 6s, &seen).has_value())
      << "a good pair after refused ones is not served; still " << seen << "\n"
      << proxy_->process().stderr_tail();
  EXPECT_TRUE(proxy_->wait_metric_at_least(kReloads, kReloadOk, 1, 2s)) << proxy_->metrics();
  EXPECT_EQ(reloads(kReloadOk), 1);
  EXPECT_EQ(reloads(kReloadFailed), 2) << "refused files are retried only when they change";
  EXPECT_EQ(expiry(), static_cast<double>(second.not_after));
}

TEST_F(TlsReload, SessionResumptionByDefaultSurvivesCertificateReload) {
  start("mldsa65", 10, server_tls("hybrid"));
  const std::string s1 = (dir_ / "session1.pem").string();
  auto first = s_client({"-sess_out", s1});
  ASSERT_EQ(first.status, 200) << first.cmd.out << first.cmd.err;
  EXPECT_TRUE(first.fresh) << first.cmd.out;
  EXPECT_GE(first.tickets, 1) << "no TLS 1.3 session ticket from a listener with default session_resumption\n"
                              << first.cmd.out;
  ASSERT_TRUE(fs::exists(s1) && fs::file_size(s1) > 0) << "s_client saved no session";
  auto again = s_client({"-sess_in", s1});
  EXPECT_EQ(again.status, 200) << again.cmd.out << again.cmd.err;
  EXPECT_TRUE(again.reused) << "a session ticket from this listener was not accepted\n" << again.cmd.out;

  const Leaf second = rotate_by_rename(dir_.path(), "mldsa65", 20, 1);
  std::string seen;
  ASSERT_TRUE(wait_presented(port(), second.fingerprint, 6s, &seen).has_value()) << "still " << seen;
  ASSERT_EQ(reloads(kReloadOk), 1);

  // The ticket issued before the reload still resumes after it.
  auto after = s_client({"-sess_in", s1});
  EXPECT_EQ(after.status, 200) << after.cmd.out << after.cmd.err;
  EXPECT_TRUE(after.reused) << "a ticket from before the certificate reload was not accepted after it\n"
                            << after.cmd.out;
  // And a ticket issued after it resumes too (with the new certificate).
  const std::string s2 = (dir_ / "session2.pem").string();
  auto fresh = s_client({"-sess_out", s2});
  EXPECT_TRUE(fresh.fresh) << fresh.cmd.out;
  EXPECT_EQ(fresh.fingerprint, second.fingerprint);
  auto resumed = s_client({"-sess_in", s2});
  EXPECT_EQ(resumed.status, 200) << resumed.cmd.out << resumed.cmd.err;
  EXPECT_TRUE(resumed.reused) << resumed.cmd.out;
}

TEST_F(TlsReload, SessionResumptionOffWhenDisabled) {
  start("mldsa65", 10, server_tls("hybrid", "      session_resumption: false\n"));
  const std::string s1 = (dir_ / "session.pem").string();
  auto first = s_client({"-sess_out", s1});
  ASSERT_EQ(first.status, 200) << first.cmd.out << first.cmd.err;
  EXPECT_TRUE(first.fresh) << first.cmd.out;
  EXPECT_EQ(first.tickets, 0) << "session_resumption: false, yet the listener sent session tickets\n"
                              << first.cmd.out;
  // s_client saves no session without a ticket; if it did, it must not resume.
  if (!fs::exists(s1)) return;
  for (int i = 0; i < 2; ++i) {
    auto again = s_client({"-sess_in", s1});
    EXPECT_EQ(again.status, 200) << again.cmd.out << again.cmd.err;
    EXPECT_FALSE(again.reused) << "session_resumption: false, yet the session was resumed\n" << again.cmd.out;
    EXPECT_TRUE(again.fresh) << again.cmd.out;
    EXPECT_EQ(again.fingerprint, first_.fingerprint) << "a full handshake presents the certificate";
  }
}

}  // namespace
}  // namespace aegis::itest
