// `aegis-flow certs` as a user runs it: exit codes (0 ok, 2 bad input,
// 1 failure), the files it writes and what `inspect` prints.
#include <sys/stat.h>

#include "harness.h"

#include <gtest/gtest.h>

namespace aegis::itest {
namespace {

CommandResult certs(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), {proxy_binary(), "certs"});
  return run_command("certs", args, dir.path(), 60s);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(CertsCli, MlDsaCaIssueInspect) {
  TempDir dir("certs");
  const auto ca = dir / "ca";
  const auto leaf = dir / "web";
  auto r = certs(dir, {"init-ca", "--trust-domain", "example.org", "--key-type", "mldsa65", "--out", ca.string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  EXPECT_EQ(mode_of(ca / "ca.key"), 0600u);

  r = certs(dir, {"issue", "--ca", ca.string(), "--spiffe-id", "spiffe://example.org/ns/default/sa/web",
                  "--dns", "web.default.svc", "--key-type", "mldsa65", "--days", "30", "--out", leaf.string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  EXPECT_EQ(mode_of(leaf / "key.pem"), 0600u);

  r = certs(dir, {"inspect", (leaf / "cert.pem").string()});
  ASSERT_TRUE(r.status.ok()) << r.status.describe() << r.out << r.err;
  EXPECT_NE(r.out.find("spiffe://example.org/ns/default/sa/web"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ML-DSA-65"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("web.default.svc"), std::string::npos) << r.out;
}

TEST(CertsCli, RefusesToOverwriteAndWrongTrustDomain) {
  TempDir dir("certs");
  const auto ca = dir / "ca";
  ASSERT_TRUE(certs(dir, {"init-ca", "--trust-domain", "example.org", "--key-type", "ecdsa-p256", "--out", ca.string()})
                  .status.ok());
  auto r = certs(dir, {"init-ca", "--trust-domain", "example.org", "--key-type", "ecdsa-p256", "--out", ca.string()});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe();
  EXPECT_NE((r.out + r.err).find("--force"), std::string::npos) << r.out << r.err;

  r = certs(dir, {"issue", "--ca", ca.string(), "--spiffe-id", "spiffe://other.org/ns/a/sa/b", "--key-type",
                  "ecdsa-p256", "--days", "1", "--out", (dir / "x").string()});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe();
  EXPECT_FALSE(fs::exists(dir / "x" / "key.pem"));

  r = certs(dir, {"init-ca", "--trust-domain", "example.org", "--key-type", "rsa", "--out", (dir / "y").string()});
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.status.describe();
}

}  // namespace
}  // namespace aegis::itest
