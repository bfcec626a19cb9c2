// `aegis-flow inject`: the command line of app/inject.h.
//
// Usage:
//   aegis-flow inject -f app.yaml | kubectl apply -f -
//   aegis-flow inject -f - -o injected.yaml [--image aegis-flow:0.1.0] [--proxy-uid 1337]
//       [--identity-secret NAME] [--config-map aegis-flow-mesh] [--runtime-class kata-qemu-snp]
//       [--exclude-inbound-ports 9090] [--exclude-outbound-ports 5432] [--exclude-outbound-cidrs 169.254.169.254/32]
// Exit status: 0 written; 2 usage or input errors (bad YAML with line:col, a pod
// kind without its template, an unknown kind), each on stderr, nothing written;
// 1 a file that cannot be read or written. Warnings go to stderr.
#pragma once

namespace CLI {
class App;
}

namespace aegis::app {

// Registers `inject` on the top-level app; its options are parsed by run_inject_command.
CLI::App* add_inject_command(CLI::App& app);

// Runs the parsed `inject` subcommand; returns the exit status.
int run_inject_command(const CLI::App& inject);

}  // namespace aegis::app
