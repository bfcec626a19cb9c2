#include "tls/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "tls/certs.h"
#include "tls/openssl_info.h"
#include "tls/pq_policy.h"
#include "tls_handshake_util.h"

namespace aegis::tls {
namespace {

namespace fs = std::filesystem;
using testing::handshake;
using testing::Handshake;

constexpr const char* kDomain = "example.org";
constexpr const char* kServerId = "spiffe://example.org/ns/default/sa/server";
constexpr const char* kClientId = "spiffe://example.org/ns/default/sa/client";

// ---- pq_policy -------------------------------------------------------------

TEST(PqPolicy, ParsesTheThreeNames) {
  EXPECT_EQ(parse_pq_policy("hybrid"), PqPolicy::kHybrid);
  EXPECT_EQ(parse_pq_policy("pq_only_1024"), PqPolicy::kPqOnly1024);
  EXPECT_EQ(parse_pq_policy("compat"), PqPolicy::kCompat);
  EXPECT_EQ(parse_pq_policy("Hybrid"), std::nullopt);
  EXPECT_EQ(parse_pq_policy(""), std::nullopt);
  EXPECT_EQ(parse_pq_policy("pq_only"), std::nullopt);
  EXPECT_EQ(pq_policy_name(PqPolicy::kPqOnly1024), "pq_only_1024");
}

TEST(PqPolicy, GroupsAndCiphersAreExact) {
  const auto hybrid = groups_and_ciphers(PqPolicy::kHybrid);
  EXPECT_EQ(hybrid.groups, "X25519MLKEM768:SecP384r1MLKEM1024:MLKEM1024");
  EXPECT_EQ(hybrid.ciphersuites, kTls13DefaultCiphersuites);
  const auto pq = groups_and_ciphers(PqPolicy::kPqOnly1024);
  EXPECT_EQ(pq.groups, "MLKEM1024:SecP384r1MLKEM1024");
  EXPECT_EQ(pq.ciphersuites, "TLS_AES_256_GCM_SHA384");
  const auto compat = groups_and_ciphers(PqPolicy::kCompat);
  EXPECT_EQ(compat.groups, "X25519MLKEM768:SecP384r1MLKEM1024:MLKEM1024:X25519:P-256");
  EXPECT_EQ(compat.ciphersuites, kTls13DefaultCiphersuites);
  const auto overridden = groups_and_ciphers(PqPolicy::kPqOnly1024, std::string("X25519"));
  EXPECT_EQ(overridden.groups, "X25519");
  EXPECT_EQ(overridden.ciphersuites, "TLS_AES_256_GCM_SHA384");
}

TEST(PqPolicy, ClassicalGroups) {
  for (const char* g : {"X25519", "X448", "P-256", "P-384", "P-521", "secp256r1", "prime256v1",
                        "secp384r1", "ffdhe2048"})
    EXPECT_TRUE(is_classical_group(g)) << g;
  for (const char* g : {"X25519MLKEM768", "SecP384r1MLKEM1024", "SecP256r1MLKEM768", "MLKEM1024",
                        "MLKEM768", "MLKEM512", "", "unknown"})
    EXPECT_FALSE(is_classical_group(g)) << g;
}

TEST(PqPolicy, HybridHasNoClassicalOnlyGroup) {
  for (auto p : {PqPolicy::kHybrid, PqPolicy::kPqOnly1024}) {
    std::string groups = groups_and_ciphers(p).groups;
    size_t start = 0;
    while (start <= groups.size()) {
      const size_t end = groups.find(':', start);
      const std::string g = groups.substr(start, end == std::string::npos ? end : end - start);
      EXPECT_FALSE(is_classical_group(g)) << g;
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
}

// ---- credentials -----------------------------------------------------------

struct Creds {
  std::string cert;
  std::string key;
};

class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    init_openssl();
    std::string tmpl = (fs::temp_directory_path() / "aegis-tlsctx-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = fs::path(tmpl);
    ca_bundle_ = mint_ca("ca", KeyType::mldsa65, kDomain);
    other_ca_bundle_ = mint_ca("other-ca", KeyType::mldsa65, "other.org");
    server_ = mint_leaf("ca", "server", kServerId, KeyType::mldsa65);
    client_ = mint_leaf("ca", "client", kClientId, KeyType::mldsa65);
    foreign_client_ = mint_leaf("other-ca", "foreign-client",
                                "spiffe://other.org/ns/default/sa/client", KeyType::mldsa65);
    ecdsa_server_ = mint_leaf("ca", "ecdsa-server", kServerId, KeyType::ecdsa_p256);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  static std::string mint_ca(const std::string& sub, KeyType type, const std::string& domain) {
    CaRequest req;
    req.trust_domain = domain;
    req.key_type = type;
    req.out_dir = dir_ / sub;
    auto r = init_ca(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->cert_file.string() : std::string();
  }

  static Creds mint_leaf(const std::string& ca, const std::string& sub, const std::string& id,
                         KeyType type) {
    LeafRequest req;
    req.ca_dir = dir_ / ca;
    req.spiffe_id = id;
    req.dns_names = {"localhost"};
    req.key_type = type;
    req.days = 30;
    req.out_dir = dir_ / sub;
    auto r = issue_certificate(req);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    return {r->cert_file.string(), r->key_file.string()};
  }

  static TlsOptions server_opts(PqPolicy policy, const Creds& creds, bool require_client_cert) {
    TlsOptions o;
    o.policy = policy;
    o.cert_file = creds.cert;
    o.key_file = creds.key;
    o.trust_bundle = ca_bundle_;
    o.require_client_cert = require_client_cert;
    return o;
  }

  static TlsOptions client_opts(PqPolicy policy, const std::optional<Creds>& creds) {
    TlsOptions o;
    o.policy = policy;
    if (creds) {
      o.cert_file = creds->cert;
      o.key_file = creds->key;
    }
    o.trust_bundle = ca_bundle_;
    return o;
  }

  static inline fs::path dir_;
  static inline std::string ca_bundle_, other_ca_bundle_;
  static inline Creds server_, client_, foreign_client_, ecdsa_server_;
};

SslCtxPtr must(core::Result<SslCtxPtr> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : SslCtxPtr();
}

TEST_F(TlsContextTest, HybridNegotiatesX25519MLKEM768WithMldsa65AndSpiffeIds) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, server_, true)));
  auto client = must(make_client_context(client_opts(PqPolicy::kHybrid, client_)));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());

  const auto at_client = handshake_info(h.client.get());
  EXPECT_EQ(at_client.group, "X25519MLKEM768");
  EXPECT_EQ(at_client.peer_sigalg, "mldsa65");
  EXPECT_EQ(at_client.cipher, "TLS_AES_256_GCM_SHA384");
  const auto at_server = handshake_info(h.server.get());
  EXPECT_EQ(at_server.group, "X25519MLKEM768");
  EXPECT_EQ(at_server.peer_sigalg, "mldsa65");

  EXPECT_EQ(peer_spiffe_id(h.server.get()), kClientId);
  EXPECT_EQ(peer_spiffe_id(h.client.get()), kServerId);
  EXPECT_EQ(SSL_version(h.client.get()), TLS1_3_VERSION);
}

TEST_F(TlsContextTest, PqOnly1024NegotiatesMlkem1024AndAes256) {
  auto server = must(make_server_context(server_opts(PqPolicy::kPqOnly1024, server_, true)));
  auto client = must(make_client_context(client_opts(PqPolicy::kPqOnly1024, client_)));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  const auto info = handshake_info(h.server.get());
  EXPECT_EQ(info.group, "MLKEM1024");
  EXPECT_EQ(info.cipher, "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(handshake_info(h.client.get()).cipher, "TLS_AES_256_GCM_SHA384");
}

TEST_F(TlsContextTest, PqOnly1024HonoursAClientPreferringSecP384r1MLKEM1024) {
  auto server = must(make_server_context(server_opts(PqPolicy::kPqOnly1024, server_, true)));
  auto copts = client_opts(PqPolicy::kPqOnly1024, client_);
  copts.groups_override = "SecP384r1MLKEM1024:MLKEM1024";
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  const auto info = handshake_info(h.server.get());
  // The client's key share is for its first group, which the server accepts (no retry).
  EXPECT_EQ(info.group, "SecP384r1MLKEM1024");
  EXPECT_EQ(info.cipher, "TLS_AES_256_GCM_SHA384");
}

TEST_F(TlsContextTest, PqOnly1024RefusesAHybridOnlyClient) {
  auto server = must(make_server_context(server_opts(PqPolicy::kPqOnly1024, server_, false)));
  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.groups_override = "X25519MLKEM768";
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  EXPECT_FALSE(handshake(client.get(), server.get()).ok());
}

TEST_F(TlsContextTest, ClassicalOnlyClientFailsAgainstHybrid) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, server_, false)));
  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.groups_override = "X25519";
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  EXPECT_FALSE(h.client_ok);
  EXPECT_FALSE(h.server_ok);
}

TEST_F(TlsContextTest, CompatAcceptsAClassicalClientAndReportsTheGroup) {
  auto server = must(make_server_context(server_opts(PqPolicy::kCompat, server_, false)));
  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.groups_override = "X25519";
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  const auto info = handshake_info(h.server.get());
  // OpenSSL names the classical groups by their IANA names: "x25519", "secp256r1".
  EXPECT_EQ(info.group, "x25519");
  EXPECT_TRUE(is_classical_group(info.group));
  EXPECT_EQ(info.peer_sigalg, "");  // no client certificate asked for
  EXPECT_EQ(peer_spiffe_id(h.server.get()), std::nullopt);
}

TEST_F(TlsContextTest, ClientCertFromAnotherCaIsRefused) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, server_, true)));
  auto client = must(make_client_context(client_opts(PqPolicy::kHybrid, foreign_client_)));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  EXPECT_FALSE(h.server_ok);
  EXPECT_EQ(peer_spiffe_id(h.server.get()), std::nullopt);
}

TEST_F(TlsContextTest, ClientWithoutCertIsRefusedWhenRequired) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, server_, true)));
  auto client = must(make_client_context(client_opts(PqPolicy::kHybrid, std::nullopt)));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  EXPECT_FALSE(h.server_ok);
}

TEST_F(TlsContextTest, ServerFromAnotherCaIsRefusedByTheClient) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, server_, false)));
  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.trust_bundle = other_ca_bundle_;
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  EXPECT_FALSE(h.client_ok);
}

TEST_F(TlsContextTest, TrustBundleWithSeveralRoots) {
  const fs::path bundle = dir_ / "bundle.pem";
  {
    std::ofstream out(bundle);
    std::ifstream a(other_ca_bundle_), b(ca_bundle_);
    out << a.rdbuf() << b.rdbuf();
  }
  auto sopts = server_opts(PqPolicy::kHybrid, server_, true);
  sopts.trust_bundle = bundle.string();
  auto server = must(make_server_context(sopts));
  auto copts = client_opts(PqPolicy::kHybrid, foreign_client_);
  copts.trust_bundle = bundle.string();
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(peer_spiffe_id(h.server.get()), "spiffe://other.org/ns/default/sa/client");
}

TEST_F(TlsContextTest, MismatchedKeyIsRefusedNamingTheFile) {
  for (const Creds& wrong :
       {Creds{server_.cert, client_.key}, Creds{server_.cert, ecdsa_server_.key}}) {
    auto r = make_server_context(server_opts(PqPolicy::kHybrid, wrong, false));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find(wrong.key), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("match"), std::string::npos) << r.error().message;
  }
}

TEST_F(TlsContextTest, MissingFilesAreNamed) {
  auto opts = server_opts(PqPolicy::kHybrid, server_, false);
  opts.cert_file = (dir_ / "nope.pem").string();
  auto r = make_server_context(opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(opts.cert_file), std::string::npos) << r.error().message;

  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.trust_bundle = (dir_ / "no-bundle.pem").string();
  auto c = make_client_context(copts);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(copts.trust_bundle), std::string::npos) << c.error().message;

  copts.trust_bundle = "";
  EXPECT_FALSE(make_client_context(copts).ok());
  auto half = client_opts(PqPolicy::kHybrid, client_);
  half.key_file = "";
  EXPECT_FALSE(make_client_context(half).ok());
  auto no_bundle = server_opts(PqPolicy::kHybrid, server_, true);
  no_bundle.trust_bundle = "";
  EXPECT_FALSE(make_server_context(no_bundle).ok());
}

TEST_F(TlsContextTest, UnknownGroupIsRefusedClearly) {
  auto opts = server_opts(PqPolicy::kHybrid, server_, false);
  opts.groups_override = "NotAGroup";
  auto r = make_server_context(opts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("NotAGroup"), std::string::npos) << r.error().message;
}

TEST_F(TlsContextTest, EcdsaP256LeafWorks) {
  auto server = must(make_server_context(server_opts(PqPolicy::kHybrid, ecdsa_server_, true)));
  auto client = must(make_client_context(client_opts(PqPolicy::kHybrid, client_)));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  const auto info = handshake_info(h.client.get());
  EXPECT_EQ(info.group, "X25519MLKEM768");
  EXPECT_EQ(info.peer_sigalg, "ecdsa_secp256r1_sha256");
  EXPECT_EQ(peer_spiffe_id(h.client.get()), kServerId);
}

TEST_F(TlsContextTest, ContextIsTls13OnlyWithoutRenegotiationCompressionOrEarlyData) {
  auto server = must(make_server_context(server_opts(PqPolicy::kCompat, server_, false)));
  ASSERT_TRUE(server);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(server.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(server.get()), TLS1_3_VERSION);
  const uint64_t opts = SSL_CTX_get_options(server.get());
  EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION);
  EXPECT_FALSE(opts & SSL_OP_NO_TICKET);
  EXPECT_EQ(SSL_CTX_get_max_early_data(server.get()), 0u);

  auto no_tickets = server_opts(PqPolicy::kHybrid, server_, false);
  no_tickets.session_resumption = false;
  auto s2 = must(make_server_context(no_tickets));
  ASSERT_TRUE(s2);
  EXPECT_TRUE(SSL_CTX_get_options(s2.get()) & SSL_OP_NO_TICKET);
  EXPECT_EQ(SSL_CTX_get_num_tickets(s2.get()), 0u);
}

TEST_F(TlsContextTest, AlpnPicksTheServersFirstCommonProtocol) {
  auto sopts = server_opts(PqPolicy::kHybrid, server_, false);
  sopts.alpn = {"h2", "http/1.1"};
  auto server = must(make_server_context(sopts));
  auto copts = client_opts(PqPolicy::kHybrid, std::nullopt);
  copts.alpn = {"http/1.1", "h2"};
  auto client = must(make_client_context(copts));
  ASSERT_TRUE(server && client);
  auto h = handshake(client.get(), server.get());
  ASSERT_TRUE(h.ok());
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(h.client.get(), &proto, &len);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(proto), len), "h2");
}

}  // namespace
}  // namespace aegis::tls
