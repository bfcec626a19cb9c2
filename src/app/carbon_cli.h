// `aegis-flow carbon simulate`: the command line of the trace-driven carbon
// simulator (sim/simulator.h). Contract (other tools depend on these names):
//
//   aegis-flow carbon simulate
//     --region NAME=TRACE.csv[,capacity=RPS][,rtt_ms=MS] ...   (2..16 regions)
//     [--workload WORKLOAD.csv] [--peak-utilization 0.6] [--slo-p99-ms 150]
//     [--service-ms 20] [--joules-per-request 1] [--data-delay-minutes 60]
//     [--start ISO8601] [--end ISO8601] [--step-seconds 60] [--seed N]
//     [--policies random,round_robin,least_request,locality,carbon_aware,oracle]
//     [--json] [--svg FILE]
//
// Exit status: 0 success; 2 usage or invalid input (an unreadable or malformed
// trace included); 1 the SVG file could not be written.
#pragma once

namespace CLI {
class App;
}

namespace aegis::app {

CLI::App* add_carbon_command(CLI::App& app);
int run_carbon_command(const CLI::App& carbon);

}  // namespace aegis::app
