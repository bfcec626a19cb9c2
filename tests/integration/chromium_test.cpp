// Headless Chromium (BoringSSL: a TLS stack we did not write) against an
// edge listener with pq_policy compat and an ML-DSA-65 certificate chain:
// the TLS 1.3 handshake must use X25519MLKEM768 and an ML-DSA-65
// CertificateVerify, as both Chromium's NetLog and the proxy's access log say.
#include "harness.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

using Json = nlohmann::json;

constexpr int kX25519MlKem768 = 0x11EC;  // TLS NamedGroup codepoints, as NetLog prints them
constexpr int kMlDsa65 = 0x0905;         // TLS SignatureScheme

// base64(SHA-256(SubjectPublicKeyInfo DER)) of the first certificate in a PEM
// file: the form --ignore-certificate-errors-spki-list takes.
std::string spki_sha256_base64(const fs::path& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(pem.c_str(), "r"), BIO_free);
  if (!bio) return {};
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                   X509_free);
  if (!cert) return {};
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &der);
  if (len <= 0) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(len), digest);
  OPENSSL_free(der);
  unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, SHA256_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
}

// The harness writes plain listeners; this adds the tls block to the first one.
std::string with_listener_tls(std::string yaml, const std::string& tls_block) {
  const std::string anchor = "    route_config: main\n";
  const auto at = yaml.find(anchor);
  if (at != std::string::npos) yaml.insert(at + anchor.size(), tls_block);
  return yaml;
}

// The full (not resumed) handshake's SSL_CONNECT end event from a NetLog file.
Json first_full_handshake(const fs::path& netlog_path) {
  const std::string text = read_file(netlog_path);
  if (!Json::accept(text)) return {};
  const Json netlog = Json::parse(text);
  const auto& types = netlog.at("constants").at("logEventTypes");
  if (!types.contains("SSL_CONNECT")) return {};
  const int ssl_connect = types.at("SSL_CONNECT").get<int>();
  for (const auto& e : netlog.at("events")) {
    if (e.value("type", -1) != ssl_connect || !e.contains("params")) continue;
    const auto& p = e.at("params");
    if (p.contains("key_exchange_group") && !p.value("is_resumed", true)) return p;
  }
  return {};
}

class Chromium : public ProxyTest<> {
 protected:
  Chromium() : ProxyTest("chromium") {}

  CommandResult certs(std::vector<std::string> args) {
    args.insert(args.begin(), {proxy_binary(), "certs"});
    return run_command("certs", args, dir_.path(), 60s);
  }
};

TEST_F(Chromium, Tls13WithX25519MlKem768AndMlDsa65) {
  const std::string chromium = find_tool("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (Debian package `chromium`; scripts/bootstrap.sh)";

  // An ML-DSA-65 CA and an ML-DSA-65 server certificate for localhost.
  const auto ca = dir_ / "ca";
  const auto server = dir_ / "server";
  auto r = certs({"init-ca", "--trust-domain", "aegis.test", "--key-type", "mldsa65", "--out", ca.string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  r = certs({"issue", "--ca", ca.string(), "--spiffe-id", "spiffe://aegis.test/ns/edge/sa/web", "--dns", "localhost",
             "--key-type", "mldsa65", "--days", "30", "--out", server.string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  const std::string spki = spki_sha256_base64(server / "cert.pem");
  ASSERT_EQ(spki.size(), 44U) << "cannot read the server certificate's public key from " << server / "cert.pem";

  upstream_ = std::make_unique<Upstream>(dir_.path());
  cfg_ = config_for({upstream_->endpoint()});
  cfg_.listener_name = "edge";
  cfg_.access_log = (dir_ / "access.log").string();
  const std::string yaml = with_listener_tls(http_proxy_config(cfg_),
                                             "    tls:\n"
                                             "      cert_file: " + (server / "cert.pem").string() + "\n"
                                             "      key_file: " + (server / "key.pem").string() + "\n"
                                             "      pq_policy: compat\n");
  proxy_ = std::make_unique<Proxy>(dir_.path(), yaml, cfg_.admin_port, std::vector<std::uint16_t>{cfg_.listener_port});
  AEGIS_ASSERT_READY(*proxy_);

  // Chromium's verifier does check ML-DSA chain signatures, but the CA is not in
  // its root store: the SPKI flag accepts exactly this server key and nothing
  // else. The handshake itself (key exchange, CertificateVerify) is unchanged.
  const auto netlog = dir_ / "chromium-netlog.json";
  const std::string page = "https://localhost:" + std::to_string(cfg_.listener_port) + "/headers";
  r = run_command("chromium",
                  {chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-extensions",
                   "--user-data-dir=" + (dir_ / "chromium-profile").string(),
                   "--ignore-certificate-errors-spki-list=" + spki, "--log-net-log=" + netlog.string(),
                   "--dump-dom", page},
                  dir_.path(), 30s);
  const auto tail = [](const std::string& s) { return s.substr(s.size() > 4000 ? s.size() - 4000 : 0); };
  ASSERT_FALSE(r.timed_out) << "chromium did not finish within 30 s\n" << tail(r.err);
  // Chromium exits 0 even when the page fails to load: the DOM is the verdict.
  ASSERT_NE(r.out.find("HeadlessChrome"), std::string::npos)
      << "the test upstream's /headers reply (echoing Chromium's user-agent) is not in the page\nstdout:\n"
      << r.out << "\nstderr:\n" << tail(r.err);

  // Chromium's side: the full handshake it made.
  const Json hs = first_full_handshake(netlog);
  ASSERT_FALSE(hs.is_null()) << "no full TLS handshake in Chromium's NetLog " << netlog;
  EXPECT_EQ(hs.value("version", ""), "TLS 1.3") << hs.dump();
  EXPECT_EQ(hs.value("key_exchange_group", 0), kX25519MlKem768) << hs.dump();
  EXPECT_EQ(hs.value("peer_signature_algorithm", 0), kMlDsa65) << hs.dump();

  // The proxy's side: the access log line for the page request.
  const fs::path log = dir_ / "access.log";
  Json entry;
  for (int attempt = 0; attempt < 100 && entry.is_null(); ++attempt) {
    std::istringstream lines(read_file(log));
    for (std::string line; std::getline(lines, line);) {
      if (!Json::accept(line)) continue;
      Json j = Json::parse(line);
      if (j.value("path", "") == "/headers") entry = std::move(j);
    }
    if (entry.is_null()) std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(entry.is_null()) << "no access log line for /headers in " << log << ":\n" << read_file(log);
  EXPECT_EQ(entry.value("listener", ""), "edge") << entry.dump();
  EXPECT_EQ(entry.value("status", 0), 200) << entry.dump();
  EXPECT_EQ(entry.value("tls_group", ""), "X25519MLKEM768") << entry.dump();
  EXPECT_EQ(entry.value("tls_sigalg", ""), "mldsa65") << entry.dump();
  EXPECT_EQ(entry.value("tls_cipher", "").rfind("TLS_", 0), 0U) << entry.dump();
}

}  // namespace
}  // namespace aegis::itest
