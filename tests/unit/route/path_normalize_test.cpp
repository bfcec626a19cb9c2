#include "route/path_normalize.h"

#include <gtest/gtest.h>

namespace aegis::route {
namespace {

std::string norm(std::string_view t, PathNormalization o = {}) {
  auto r = normalize_target(t, o);
  return r ? *r : "<refused>";
}

TEST(PathNormalize, DotSegmentsAreRemovedAndNeverClimbAboveTheRoot) {
  EXPECT_EQ(norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(norm("/a/./b/."), "/a/b/");
  EXPECT_EQ(norm("/public/../admin"), "/admin");
  EXPECT_EQ(norm("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm("/a/..b/c"), "/a/..b/c");  // not a dot segment
}

TEST(PathNormalize, PercentEncodedDotsAndUnreservedAreDecoded) {
  EXPECT_EQ(norm("/public/%2e%2e/admin"), "/admin");   // CVE-2021-41773 (Apache) shape
  EXPECT_EQ(norm("/public/%2E%2e/admin"), "/admin");   // mixed case
  EXPECT_EQ(norm("/public/.%2e/admin"), "/admin");     // CVE-2021-42013 shape
  EXPECT_EQ(norm("/%61dmin"), "/admin");
  EXPECT_EQ(norm("/a%7eb"), "/a~b");
}

TEST(PathNormalize, OtherEscapesKeepTheirMeaningWithUpperCaseHex) {
  EXPECT_EQ(norm("/a%2fb"), "/a%2Fb");
  EXPECT_EQ(norm("/a%5cb"), "/a%5Cb");
  EXPECT_EQ(norm("/a%20b"), "/a%20b");
  EXPECT_EQ(norm("/a%00b"), "/a%00b");
  EXPECT_EQ(norm("/%252e%252e/x"), "/%252e%252e/x");  // decoded once only
}

TEST(PathNormalize, BackslashesAreSlashes) {
  EXPECT_EQ(norm("/public\\..\\admin"), "/admin");
  EXPECT_EQ(norm("/a\\b"), "/a/b");
}

TEST(PathNormalize, QueryIsKeptVerbatim) {
  EXPECT_EQ(norm("/a/../b?x=/../%2e&y"), "/b?x=/../%2e&y");
}

TEST(PathNormalize, MalformedTargetsAreRefused) {
  EXPECT_EQ(norm("/a%2"), "<refused>");
  EXPECT_EQ(norm("/a%zz"), "<refused>");
  EXPECT_EQ(norm("/a%"), "<refused>");
  EXPECT_EQ(norm("/a#frag"), "<refused>");  // CVE-2023-45539 (HAProxy)
  EXPECT_EQ(norm("a/b"), "<refused>");
  EXPECT_EQ(norm(""), "<refused>");
  EXPECT_EQ(norm("*"), "*");
}

TEST(PathNormalize, MergeSlashesIsOptional) {
  EXPECT_EQ(norm("//admin//x"), "//admin//x");
  PathNormalization merge;
  merge.merge_slashes = true;
  EXPECT_EQ(norm("//admin//x", merge), "/admin/x");
  EXPECT_EQ(norm("/a//../b", merge), "/b");
}

TEST(PathNormalize, EscapedSlashActions) {
  PathNormalization reject;
  reject.escaped_slashes = EscapedSlashes::kReject;
  EXPECT_EQ(norm("/a%2Fb", reject), "<refused>");
  EXPECT_EQ(norm("/a%5cb", reject), "<refused>");
  EXPECT_EQ(norm("/a/b", reject), "/a/b");
  PathNormalization unescape;
  unescape.escaped_slashes = EscapedSlashes::kUnescape;
  EXPECT_EQ(norm("/public%2F..%2Fadmin", unescape), "/admin");  // CVE-2021-29492 (Envoy) shape
}

TEST(PathNormalize, OffLeavesThePathAlone) {
  PathNormalization off;
  off.normalize = false;
  EXPECT_EQ(norm("/a/../b%2e", off), "/a/../b%2e");
  EXPECT_EQ(norm("/a\\b", off), "/a\\b");
}

}  // namespace
}  // namespace aegis::route
