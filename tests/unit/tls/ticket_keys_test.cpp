#include "tls/ticket_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "tls/certs.h"
#include "tls/openssl_info.h"
#include "tls_handshake_util.h"

namespace aegis::tls {
namespace {

namespace fs = std::filesystem;

class TicketKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    init_openssl();
    std::string tmpl = (fs::temp_directory_path() / "aegis-tickets-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    CaRequest ca;
    ca.trust_domain = "example.org";
    ca.key_type = KeyType::ecdsa_p256;
    ca.out_dir = dir_ / "ca";
    auto c = init_ca(ca);
    ASSERT_TRUE(c.ok());
    LeafRequest leaf;
    leaf.ca_dir = dir_ / "ca";
    leaf.spiffe_id = "spiffe://example.org/ns/default/sa/server";
    leaf.key_type = KeyType::ecdsa_p256;
    leaf.days = 2;
    leaf.out_dir = dir_ / "server";
    auto l = issue_certificate(leaf);
    ASSERT_TRUE(l.ok());
    TlsOptions s;
    s.cert_file = l->cert_file.string();
    s.key_file = l->key_file.string();
    auto server = make_server_context(s);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    TlsOptions cl;
    cl.trust_bundle = c->cert_file.string();
    auto client = make_client_context(cl);
    ASSERT_TRUE(client.ok()) << client.error().message;
    client_ = std::move(*client);
    SSL_CTX_set_session_cache_mode(client_.get(), SSL_SESS_CACHE_CLIENT);
    ring_ = std::make_shared<TicketKeys>(std::chrono::hours(1), 2);
    ASSERT_TRUE(ring_->attach(server_.get(), ring_).ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // A full handshake; then the client reads the server's NewSessionTicket
  // (TLS 1.3 sends it after the handshake) and returns the session.
  SSL_SESSION* session_after_handshake(SSL_SESSION* resume = nullptr, bool* reused = nullptr) {
    testing::Handshake h = handshake_with(resume);
    EXPECT_TRUE(h.ok());
    if (reused) *reused = SSL_session_reused(h.client.get()) == 1;
    // Server writes a byte so the client's read also processes the tickets.
    size_t n = 0;
    char byte = 'x';
    EXPECT_EQ(SSL_write_ex(h.server.get(), &byte, 1, &n), 1);
    EXPECT_EQ(SSL_read_ex(h.client.get(), &byte, 1, &n), 1);
    // A connection freed without a clean shutdown makes OpenSSL mark its
    // session not resumable; a real client sends close_notify first.
    SSL_set_shutdown(h.client.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    return SSL_get1_session(h.client.get());
  }
  testing::Handshake handshake_with(SSL_SESSION* resume) {
    return testing::handshake(client_.get(), server_.get(), resume);
  }

  fs::path dir_;
  SslCtxPtr server_, client_;
  std::shared_ptr<TicketKeys> ring_;
};

using SessionPtr = OsslPtr<SSL_SESSION, SSL_SESSION_free>;

// OpenSSL clients use a TLS 1.3 ticket once (a used session is marked not
// resumable), so each resumption below starts from a session not used before.
TEST_F(TicketKeysTest, TicketsResumeUnderTheCurrentAndThePreviousKeyButNotOlder) {
  bool reused = true;
  SessionPtr a1(session_after_handshake(nullptr, &reused));
  EXPECT_FALSE(reused);
  SessionPtr a2(session_after_handshake());
  SessionPtr a3(session_after_handshake());
  ASSERT_TRUE(a1 && a2 && a3);
  EXPECT_EQ(SSL_SESSION_has_ticket(a1.get()), 1);
  EXPECT_EQ(ring_->key_count(), 1u);

  SessionPtr r1(session_after_handshake(a1.get(), &reused));
  EXPECT_TRUE(reused) << "a ticket under the current key resumes";

  ring_->rotate();  // key A is now the previous key: it still decrypts
  SessionPtr r2(session_after_handshake(a2.get(), &reused));
  EXPECT_TRUE(reused) << "a ticket under the previous key still resumes";
  EXPECT_EQ(ring_->key_count(), 2u);
  SessionPtr b1(session_after_handshake());

  ring_->rotate();  // key A is dropped, B is the previous key
  SessionPtr r3(session_after_handshake(a3.get(), &reused));
  EXPECT_FALSE(reused) << "a ticket under a dropped key falls back to a full handshake";
  SessionPtr r4(session_after_handshake(b1.get(), &reused));
  EXPECT_TRUE(reused) << "a ticket under the previous key resumes";
  EXPECT_EQ(ring_->key_count(), 2u);
}

TEST_F(TicketKeysTest, OneRingPerListenerName) {
  EXPECT_EQ(TicketKeys::for_listener("a"), TicketKeys::for_listener("a"));
  EXPECT_NE(TicketKeys::for_listener("a"), TicketKeys::for_listener("b"));
}

}  // namespace
}  // namespace aegis::tls
