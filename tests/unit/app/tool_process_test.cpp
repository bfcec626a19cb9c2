// run_tool: a fixed argv, input on stdin, both outputs and the exit status
// back; a tool that cannot start is an error, not an exit status.
#include "app/tool_process.h"

#include <gtest/gtest.h>

#include <string>

namespace aegis::app {
namespace {

TEST(ToolProcess, FeedsStdinAndReadsStdout) {
  const std::string big(1 << 20, 'x');  // more than a pipe holds: input and output must interleave
  auto r = run_tool({"/bin/cat"}, big);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, big);
  EXPECT_EQ(r->err, "");
}

TEST(ToolProcess, ReportsExitStatusAndStderr) {
  auto r = run_tool({"/bin/ls", "/nonexistent-aegis-redirect"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("nonexistent-aegis-redirect"), std::string::npos) << r->err;
}

TEST(ToolProcess, ArgumentsAreNotShellWords) {
  auto r = run_tool({"/bin/echo", "a;b", "$(id)"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->out, "a;b $(id)\n");
}

TEST(ToolProcess, MissingToolIsAnError) {
  auto r = run_tool({"/nonexistent/iptables-restore", "--noflush"}, "*nat\nCOMMIT\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot start /nonexistent/iptables-restore"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(find_sbin_tool("no-such-tool-aegis"), "");
}

}  // namespace
}  // namespace aegis::app
