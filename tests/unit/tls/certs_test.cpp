#include "tls/certs.h"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>

#include "tls/certs_files.h"

namespace aegis::tls {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDomain = "example.org";
constexpr const char* kWebId = "spiffe://example.org/ns/default/sa/web";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "aegis-certs-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? fs::path(tmpl) : fs::path();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t file_mode(const fs::path& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

PkeyPtr load_key(const fs::path& p) {
  const std::string pem = slurp(p);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<X509Ptr> load_certs(const fs::path& p) {
  auto r = read_certificates(p);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r.value()) : std::vector<X509Ptr>{};
}

CaRequest ca_request(const fs::path& dir, KeyType type) {
  CaRequest r;
  r.trust_domain = kDomain;
  r.key_type = type;
  r.days = 365;
  r.out_dir = dir;
  return r;
}

LeafRequest leaf_request(const fs::path& ca_dir, const fs::path& out, KeyType type) {
  LeafRequest r;
  r.ca_dir = ca_dir;
  r.spiffe_id = kWebId;
  r.dns_names = {"web.default.svc", "web.example.org"};
  r.key_type = type;
  r.days = 30;
  r.out_dir = out;
  return r;
}

// X509_verify_cert with the CA as the only trust anchor, for a TLS peer in `purpose`.
int verify_with(X509* ca, X509* leaf, int purpose, std::string* why) {
  X509StorePtr store(X509_STORE_new());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr) != 1)
    return -1;
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  const int ok = X509_verify_cert(ctx.get());
  *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  return ok;
}

struct KeyCase {
  KeyType type;
  const char* openssl_name;  // EVP_PKEY_get0_type_name (+ curve)
  const char* signature;     // of a certificate signed by this key type
};

// gtest would otherwise print the struct's bytes, padding included.
void PrintTo(const KeyCase& kc, std::ostream* os) { *os << key_type_flag(kc.type); }

class CertsPerKeyType : public ::testing::TestWithParam<KeyCase> {};

TEST_P(CertsPerKeyType, IssuedChainVerifiesWithTheRightFields) {
  const KeyCase kc = GetParam();
  TempDir tmp;
  const fs::path ca_dir = tmp.path() / "ca", web_dir = tmp.path() / "web";
  auto ca = init_ca(ca_request(ca_dir, kc.type));
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  auto leaf = issue_certificate(leaf_request(ca_dir, web_dir, kc.type));
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;

  const auto ca_certs = load_certs(ca_dir / "ca.crt");
  const auto chain = load_certs(web_dir / "cert.pem");
  ASSERT_EQ(ca_certs.size(), 1u);
  ASSERT_EQ(chain.size(), 2u);  // leaf, then the CA
  X509* ca_cert = ca_certs[0].get();
  X509* leaf_cert = chain[0].get();
  EXPECT_EQ(X509_cmp(chain[1].get(), ca_cert), 0);

  std::string why;
  EXPECT_EQ(verify_with(ca_cert, leaf_cert, X509_PURPOSE_SSL_SERVER, &why), 1) << why;
  EXPECT_EQ(verify_with(ca_cert, leaf_cert, X509_PURPOSE_SSL_CLIENT, &why), 1) << why;

  // The CA.
  const CertInfo& ci = ca->cert;
  EXPECT_TRUE(ci.is_ca);
  EXPECT_EQ(ci.uri_sans, std::vector<std::string>{"spiffe://example.org"});
  EXPECT_NE(ci.subject.find("CN=aegis-flow CA example.org"), std::string::npos) << ci.subject;
  EXPECT_EQ(ci.key_type, kc.openssl_name);
  EXPECT_EQ(ci.signature_algorithm, kc.signature);
  EXPECT_EQ(X509_get_extension_flags(ca_cert) & EXFLAG_SS, static_cast<uint32_t>(EXFLAG_SS));
  EXPECT_EQ(X509_get_key_usage(ca_cert), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  for (int nid : {NID_basic_constraints, NID_key_usage}) {
    const int loc = X509_get_ext_by_NID(ca_cert, nid, -1);
    ASSERT_GE(loc, 0) << OBJ_nid2sn(nid);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(ca_cert, loc)), 1) << OBJ_nid2sn(nid);
  }
  ASSERT_NE(X509_get0_subject_key_id(ca_cert), nullptr);

  // The leaf.
  const CertInfo& li = leaf->cert;
  EXPECT_FALSE(li.is_ca);
  EXPECT_EQ(li.uri_sans, std::vector<std::string>{kWebId});
  EXPECT_EQ(li.dns_sans, (std::vector<std::string>{"web.default.svc", "web.example.org"}));
  EXPECT_EQ(li.key_type, kc.openssl_name);
  EXPECT_EQ(li.signature_algorithm, kc.signature);
  EXPECT_EQ(li.issuer, ci.subject);
  EXPECT_TRUE(li.days_left == 29 || li.days_left == 30) << li.days_left;
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(leaf_cert, NID_basic_constraints, nullptr, nullptr)));
  ASSERT_TRUE(bc);
  EXPECT_EQ(bc->ca, 0);  // CA:FALSE
  EXPECT_EQ(X509_get_key_usage(leaf_cert), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf_cert), static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(leaf_cert);
  ASSERT_NE(aki, nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(aki, X509_get0_subject_key_id(ca_cert)), 0);
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf_cert), nullptr));
  EXPECT_EQ(BN_num_bits(serial.get()), 128);

  // Keys: PKCS#8 PEM, 0600, matching their certificates.
  for (const auto& [key_file, cert] : {std::pair{ca_dir / "ca.key", ca_cert}, std::pair{web_dir / "key.pem", leaf_cert}}) {
    EXPECT_EQ(file_mode(key_file), 0600u) << key_file;
    EXPECT_EQ(slurp(key_file).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << key_file;
    PkeyPtr key = load_key(key_file);
    ASSERT_TRUE(key) << key_file;
    EXPECT_EQ(X509_check_private_key(cert, key.get()), 1) << key_file;
  }
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, CertsPerKeyType,
                         ::testing::Values(KeyCase{KeyType::mldsa44, "ML-DSA-44", "ML-DSA-44"},
                                           KeyCase{KeyType::mldsa65, "ML-DSA-65", "ML-DSA-65"},
                                           KeyCase{KeyType::mldsa87, "ML-DSA-87", "ML-DSA-87"},
                                           KeyCase{KeyType::ecdsa_p256, "EC P-256", "ecdsa-with-SHA256"}),
                         [](const auto& info) {
                           std::string name(key_type_flag(info.param.type));
                           std::replace(name.begin(), name.end(), '-', '_');  // gtest names: [A-Za-z0-9_]
                           return name;
                         });

TEST(Certs, MlDsaCaIssuesEcdsaLeaf) {
  TempDir tmp;
  ASSERT_TRUE(init_ca(ca_request(tmp.path() / "ca", KeyType::mldsa87)).ok());
  auto leaf = issue_certificate(leaf_request(tmp.path() / "ca", tmp.path() / "web", KeyType::ecdsa_p256));
  ASSERT_TRUE(leaf.ok()) << leaf.error().message;
  EXPECT_EQ(leaf->cert.key_type, "EC P-256");
  EXPECT_EQ(leaf->cert.signature_algorithm, "ML-DSA-87");
  const auto ca = load_certs(tmp.path() / "ca" / "ca.crt");
  const auto chain = load_certs(tmp.path() / "web" / "cert.pem");
  ASSERT_FALSE(ca.empty());
  ASSERT_FALSE(chain.empty());
  std::string why;
  EXPECT_EQ(verify_with(ca[0].get(), chain[0].get(), X509_PURPOSE_SSL_SERVER, &why), 1) << why;
}

TEST(Certs, ExistingFilesNeedForce) {
  TempDir tmp;
  const fs::path ca_dir = tmp.path() / "ca", web_dir = tmp.path() / "web";
  ASSERT_TRUE(init_ca(ca_request(ca_dir, KeyType::mldsa44)).ok());
  const std::string ca_before = slurp(ca_dir / "ca.crt"), key_before = slurp(ca_dir / "ca.key");

  auto again = init_ca(ca_request(ca_dir, KeyType::mldsa44));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, CertError::Kind::invalid_input);
  EXPECT_NE(again.error().message.find((ca_dir / "ca.crt").string()), std::string::npos) << again.error().message;
  EXPECT_NE(again.error().message.find("--force"), std::string::npos) << again.error().message;
  EXPECT_EQ(slurp(ca_dir / "ca.crt"), ca_before);
  EXPECT_EQ(slurp(ca_dir / "ca.key"), key_before);

  // Only the key in the way: still refused, and the certificate is left alone too.
  fs::remove(ca_dir / "ca.crt");
  auto key_in_way = init_ca(ca_request(ca_dir, KeyType::mldsa44));
  ASSERT_FALSE(key_in_way.ok());
  EXPECT_NE(key_in_way.error().message.find((ca_dir / "ca.key").string()), std::string::npos);
  EXPECT_FALSE(fs::exists(ca_dir / "ca.crt"));
  EXPECT_EQ(slurp(ca_dir / "ca.key"), key_before);

  // --force replaces both, and a key file someone loosened goes back to 0600.
  ::chmod((ca_dir / "ca.key").c_str(), 0644);
  auto forced_req = ca_request(ca_dir, KeyType::mldsa44);
  forced_req.force = true;
  auto forced = init_ca(forced_req);
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_NE(slurp(ca_dir / "ca.key"), key_before);
  EXPECT_EQ(file_mode(ca_dir / "ca.key"), 0600u);

  ASSERT_TRUE(issue_certificate(leaf_request(ca_dir, web_dir, KeyType::mldsa44)).ok());
  const std::string leaf_before = slurp(web_dir / "cert.pem");
  auto reissue = issue_certificate(leaf_request(ca_dir, web_dir, KeyType::mldsa44));
  ASSERT_FALSE(reissue.ok());
  EXPECT_NE(reissue.error().message.find((web_dir / "cert.pem").string()), std::string::npos);
  EXPECT_EQ(slurp(web_dir / "cert.pem"), leaf_before);
  auto forced_leaf = leaf_request(ca_dir, web_dir, KeyType::mldsa44);
  forced_leaf.force = true;
  ASSERT_TRUE(issue_certificate(forced_leaf).ok());
  EXPECT_NE(slurp(web_dir / "cert.pem"), leaf_before);
  EXPECT_EQ(file_mode(web_dir / "key.pem"), 0600u);
}

TEST(Certs, RefusesIdOutsideTheCasTrustDomain) {
  TempDir tmp;
  ASSERT_TRUE(init_ca(ca_request(tmp.path() / "ca", KeyType::mldsa65)).ok());
  auto req = leaf_request(tmp.path() / "ca", tmp.path() / "web", KeyType::mldsa65);
  req.spiffe_id = "spiffe://other.org/ns/default/sa/web";
  auto r = issue_certificate(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, CertError::Kind::invalid_input);
  EXPECT_NE(r.error().message.find("'other.org'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'example.org'"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(tmp.path() / "web" / "cert.pem"));
  EXPECT_FALSE(fs::exists(tmp.path() / "web" / "key.pem"));

  req.spiffe_id = "https://example.org/web";
  ASSERT_FALSE(issue_certificate(req).ok());
  req.spiffe_id = "spiffe://example.org";  // the trust domain itself, not a workload
  ASSERT_FALSE(issue_certificate(req).ok());
}

TEST(Certs, RefusesValidityBeyondTheCa) {
  TempDir tmp;
  auto ca_req = ca_request(tmp.path() / "ca", KeyType::mldsa44);
  ca_req.days = 10;
  ASSERT_TRUE(init_ca(ca_req).ok());
  auto req = leaf_request(tmp.path() / "ca", tmp.path() / "web", KeyType::mldsa44);
  req.days = 11;
  auto r = issue_certificate(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, CertError::Kind::invalid_input);
  EXPECT_NE(r.error().message.find("outlive the CA"), std::string::npos) << r.error().message;
  req.days = 9;
  EXPECT_TRUE(issue_certificate(req).ok());
}

TEST(Certs, MissingCaIsAnInputError) {
  TempDir tmp;
  auto r = issue_certificate(leaf_request(tmp.path() / "nope", tmp.path() / "web", KeyType::mldsa65));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, CertError::Kind::invalid_input);
  EXPECT_NE(r.error().message.find("ca.crt does not exist"), std::string::npos) << r.error().message;
}

TEST(Certs, BuiltOpensslVerifiesTheChain) {
  const char* home = std::getenv("HOME");
  const fs::path openssl = fs::path(home ? home : "") / ".cache/aegis-flow/openssl-current/bin/openssl";
  if (!fs::exists(openssl)) GTEST_SKIP() << "no built openssl at " << openssl << "; interop check skipped";
  for (KeyType type : {KeyType::mldsa65, KeyType::ecdsa_p256}) {
    TempDir tmp;
    ASSERT_TRUE(init_ca(ca_request(tmp.path() / "ca", type)).ok());
    ASSERT_TRUE(issue_certificate(leaf_request(tmp.path() / "ca", tmp.path() / "web", type)).ok());
    for (const char* purpose : {"sslserver", "sslclient"}) {
      const std::string cmd = fmt::format("'{}' verify -x509_strict -purpose {} -CAfile '{}' '{}' 2>&1", openssl.string(),
                                          purpose, (tmp.path() / "ca" / "ca.crt").string(),
                                          (tmp.path() / "web" / "cert.pem").string());
      std::string out;
      FILE* p = ::popen(cmd.c_str(), "r");
      ASSERT_NE(p, nullptr);
      for (char buf[256]; std::fgets(buf, sizeof buf, p);) out += buf;
      const int status = ::pclose(p);
      EXPECT_EQ(status, 0) << cmd << "\n" << out;
      EXPECT_NE(out.find(": OK"), std::string::npos) << out;
    }
  }
}

}  // namespace
}  // namespace aegis::tls
