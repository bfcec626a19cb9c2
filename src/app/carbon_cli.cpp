#include "app/carbon_cli.h"

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <vector>

#include "carbon/csv_trace.h"
#include "carbon/parsers.h"
#include "sim/report.h"
#include "sim/simulator.h"

namespace aegis::app {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitInvalid = 2;

int invalid(const std::string& message) {
  fmt::print(stderr, "aegis-flow carbon simulate: {}\n", message);
  return kExitInvalid;
}

std::optional<double> number(std::string_view s) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// NAME=TRACE.csv[,capacity=RPS][,rtt_ms=MS]
core::Result<sim::Region> parse_region(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    return core::Error{"--region '" + spec + "': expected NAME=TRACE.csv[,capacity=RPS][,rtt_ms=MS]"};
  sim::Region region;
  region.name = spec.substr(0, eq);
  std::string_view rest(spec);
  rest.remove_prefix(eq + 1);
  std::vector<std::string_view> parts;
  while (true) {
    const auto comma = rest.find(',');
    parts.push_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (parts[0].empty()) return core::Error{"--region '" + spec + "': no trace file after '='"};
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const auto kv = parts[i].find('=');
    const auto key = parts[i].substr(0, kv);
    const double value = kv == std::string_view::npos ? -1.0 : number(parts[i].substr(kv + 1)).value_or(-1.0);
    if (key == "capacity" && value > 0) {
      region.capacity = value;
    } else if (key == "rtt_ms" && value >= 0) {
      region.rtt_ms = value;
    } else {
      return core::Error{"--region '" + spec + "': expected capacity=RPS (> 0) or rtt_ms=MS (>= 0), got '" + std::string(parts[i]) +
                         "'"};
    }
  }
  auto trace = carbon::load_intensity_trace(std::string(parts[0]));
  if (!trace) return trace.error();
  region.intensity = std::move(trace.value());
  return region;
}

}  // namespace

CLI::App* add_carbon_command(CLI::App& app) {
  auto* carbon = app.add_subcommand("carbon", "Carbon-aware routing tools: simulate (replay grid-intensity traces "
                                              "and a workload through the load-balancing policies)");
  carbon->prefix_command();  // everything after `carbon` goes to run_carbon_command, --help included
  carbon->set_help_flag();
  return carbon;
}

int run_carbon_command(const CLI::App& carbon) {
  CLI::App app{"Carbon-aware routing tools", "aegis-flow carbon"};
  app.require_subcommand(1);
  std::vector<std::string> region_specs;
  std::string workload, start, end, policies = "random,round_robin,least_request,locality,carbon_aware,oracle", svg;
  double peak = 0.6, slo = 150, service = 20, joules = 1;
  std::int64_t delay = 60, step = 60;
  std::uint64_t seed = 1;
  bool json = false;
  auto* sim = app.add_subcommand(
      "simulate", "Replay grid-intensity traces and a workload through random, round_robin, least_request, "
                  "locality, carbon_aware (the policy's own shift plan) and the oracle; report gCO2 per request, "
                  "latency and violations per policy");
  sim->add_option("--region", region_specs,
                  "NAME=TRACE.csv[,capacity=RPS][,rtt_ms=MS]: a region, its intensity trace (`Time,Carbon "
                  "Intensity`, an Electricity Maps export or WattTime MOER CSV), capacity (default 1000 requests/s) and round trip (default 0 ms); 2-16 of them")
      ->required();
  sim->add_option("--workload", workload, "`ds,y` request counts (e.g. hourly); default: flat demand");
  sim->add_option("--peak-utilization", peak, "Peak demand / total capacity")->capture_default_str();
  sim->add_option("--slo-p99-ms", slo, "Latency objective (p99, ms)")->capture_default_str();
  sim->add_option("--service-ms", service, "Mean service time per request (ms)")->capture_default_str();
  sim->add_option("--joules-per-request", joules, "Energy per request (J)")->capture_default_str();
  sim->add_option("--data-delay-minutes", delay, "How late carbon_aware sees each intensity")->capture_default_str();
  sim->add_option("--start", start, "Start (ISO 8601, UTC); default: where every trace (and the workload) has begun");
  sim->add_option("--end", end, "End (ISO 8601, UTC); default: where the shortest trace (or the workload) ends");
  sim->add_option("--step-seconds", step, "Simulated step")->capture_default_str();
  sim->add_option("--seed", seed, "Seed of the random policies")->capture_default_str();
  sim->add_option("--policies", policies, "Comma-separated policies to report")->capture_default_str();
  sim->add_flag("--json", json, "Print JSON ({\"policies\": {NAME: {grams_per_request, reduction_vs_random, "
                                "share_of_oracle, p99_ms, slo_violation_minutes, capacity_violation_minutes, ...}}})");
  sim->add_option("--svg", svg, "Write a chart: intensity per region and traffic share per policy over time");

  std::vector<std::string> args = carbon.remaining();
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitInvalid;
  }

  sim::SimOptions o;
  for (const auto& spec : region_specs) {
    auto r = parse_region(spec);
    if (!r) return invalid(r.error().message);
    o.regions.push_back(std::move(r.value()));
  }
  if (!workload.empty()) {
    auto w = carbon::load_workload_trace(workload);
    if (!w) return invalid(w.error().message);
    o.workload = std::move(w.value());
  }
  o.policies.clear();
  std::string_view list(policies);
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto name = list.substr(0, comma);
    const auto kind = sim::parse_policy(name);
    if (!kind) {
      return invalid("--policies: unknown policy '" + std::string(name) +
                     "' (choose from random, round_robin, least_request, locality, carbon_aware, oracle)");
    }
    if (std::find(o.policies.begin(), o.policies.end(), *kind) == o.policies.end()) o.policies.push_back(*kind);
    list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
  }
  for (auto [text, out, flag] : {std::tuple{&start, &o.start, "--start"}, std::tuple{&end, &o.end, "--end"}}) {
    if (text->empty()) continue;
    const auto parsed = carbon::parse_timestamp(*text);
    if (parsed) *out = *parsed;
    if (!parsed) return invalid(std::string(flag) + ": expected an ISO 8601 UTC time like 2020-06-01T00:00:00Z, got '" + *text + "'");
  }
  if (delay < 0 || delay > std::int64_t{60} * 24 * 365) return invalid("--data-delay-minutes must be 0-525600");
  if (step < 1 || step > std::int64_t{86'400} * 7) return invalid("--step-seconds must be 1-604800");
  o.peak_utilization = peak;
  o.slo_p99_ms = slo;
  o.service_ms = service;
  o.joules_per_request = joules;
  o.data_delay = std::chrono::minutes(delay);
  o.step = std::chrono::seconds(step);
  o.seed = seed;
  o.carbon_aware.latency_slo =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::min(std::max(slo, 0.0), 1e9)));

  auto result = sim::simulate(o);
  if (!result) return invalid(result.error().message);
  if (!svg.empty()) {
    std::ofstream f(svg, std::ios::binary | std::ios::trunc);
    f << sim::to_svg(*result);
    if (!f.good()) {
      fmt::print(stderr, "aegis-flow carbon simulate: cannot write {}\n", svg);
      return kExitFailure;
    }
  }
  fmt::print("{}", json ? sim::to_json(o, *result) : sim::to_table(o, *result));
  return 0;
}

}  // namespace aegis::app
