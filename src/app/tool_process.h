// Runs a system tool (iptables-restore, iptables-save) with a fixed argv, no
// shell: posix_spawn with pipes for stdin, stdout and stderr. The tool's input
// is written and its output read in one poll loop, so neither side can block
// the other on a full pipe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace aegis::app {

struct ToolOutput {
  int exit_code = -1;  // the exit status, or 128 + signal when killed
  std::string out;
  std::string err;
};

// argv[0] is an absolute path. Fails only when the tool could not be started
// or its pipes broke; a tool exiting non-zero is a ToolOutput.
core::Result<ToolOutput> run_tool(const std::vector<std::string>& argv, std::string_view input = {});

// The absolute path of an administration tool in /usr/sbin or /sbin (in that
// order); empty when neither has an executable of that name.
std::string find_sbin_tool(std::string_view name);

}  // namespace aegis::app
