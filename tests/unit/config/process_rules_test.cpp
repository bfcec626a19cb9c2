// The `process:` section (runtime hardening): safe defaults (not dumpable,
// no privilege drop, no seccomp), every field read, errors at their position.
#include <gtest/gtest.h>

#include <algorithm>

#include "config_test_util.h"

namespace aegis::config {
namespace {

using testing::HasError;
using testing::kMinimal;
using testing::load;
using testing::LoadsCleanly;

LoadResult with_process(std::string_view section) {
  return load(std::string(kMinimal.substr(1)) + std::string(section));
}

TEST(ProcessRules, DefaultsAreHardened) {
  const auto r = with_process("");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_FALSE(r.config->process.dumpable);
  EXPECT_TRUE(r.config->process.user.empty());
  EXPECT_TRUE(r.config->process.group.empty());
  EXPECT_FALSE(r.config->process.seccomp);
}

TEST(ProcessRules, EveryFieldIsRead) {
  const auto r = with_process("process:\n  dumpable: true\n  user: nobody\n  group: nogroup\n  seccomp: true\n");
  ASSERT_TRUE(LoadsCleanly(r));
  EXPECT_TRUE(r.config->process.dumpable);
  EXPECT_EQ(r.config->process.user, "nobody");
  EXPECT_EQ(r.config->process.group, "nogroup");
  EXPECT_TRUE(r.config->process.seccomp);
  EXPECT_NE(to_json(*r.config).find("\"seccomp\": true"), std::string::npos);
}

TEST(ProcessRules, ErrorsNameTheirPosition) {
  const auto lines = static_cast<int>(std::count(kMinimal.begin(), kMinimal.end(), '\n'));
  const auto bad = with_process("process:\n  seccomp: sometimes\n  group: nogroup\n  core: 1\n");
  EXPECT_TRUE(HasError(bad, lines + 1, 12, "seccomp"));
  EXPECT_TRUE(HasError(bad, lines + 2, 10, "needs a user"));
  EXPECT_TRUE(HasError(bad, lines + 3, 3, "core"));
}

}  // namespace
}  // namespace aegis::config
