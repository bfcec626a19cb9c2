// `aegis-flow quickstart` as a new user runs it: a two-sidecar mesh
// (client -> outbound :P -> mTLS MLKEM1024 + ML-DSA-65 -> inbound :M -> demo
// app :D) that answers through the mesh with the caller's SPIFFE ID, counts
// the post-quantum handshake, logs it, stops on Ctrl-C with exit 0 and
// reuses its certificates on the next run.
#include "harness.h"
#include "tls_helpers.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace aegis::itest {
namespace {

constexpr const char* kClientId = "spiffe://aegis.local/ns/demo/sa/client";
constexpr const char* kServerId = "spiffe://aegis.local/ns/demo/sa/demo-app";

struct Ports {
  std::uint16_t listen, admin, inbound_admin, mesh, demo;
};

Ports fresh_ports() {
  std::set<std::uint16_t> used;
  auto next = [&] {
    for (;;) {
      const auto p = free_port();
      if (used.insert(p).second) return p;
    }
  };
  return Ports{next(), next(), next(), next(), next()};
}

// Children of `pid` (the sidecars quickstart spawned), from /proc.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "children");
    pid_t child = 0;
    while (in >> child) out.push_back(child);
  }
  return out;
}

bool is_alive_aegis(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string state;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::getline(st, state);
  const auto paren = state.rfind(')');
  const bool zombie = paren != std::string::npos && paren + 2 < state.size() && state[paren + 2] == 'Z';
  return !zombie && cmd.find("run") != std::string::npos && cmd.find("-c") != std::string::npos;
}

// One `aegis-flow quickstart` run. The sidecars live in their own process
// groups, so the destructor also kills any still running (a failed test must
// not leave them holding ports).
class QuickstartRun {
 public:
  QuickstartRun(const fs::path& dir, const fs::path& state, const Ports& p, const std::string& name)
      : ports_(p),
        process_(name,
                 {proxy_binary(), "quickstart", "--state-dir", state.string(), "--port", std::to_string(p.listen),
                  "--admin-port", std::to_string(p.admin), "--inbound-admin-port", std::to_string(p.inbound_admin),
                  "--mesh-port", std::to_string(p.mesh), "--demo-port", std::to_string(p.demo), "--concurrency", "1"},
                 dir) {}
  ~QuickstartRun() {
    for (pid_t c : sidecars_)
      if (is_alive_aegis(c)) ::kill(c, SIGKILL);
  }

  Process& process() { return process_; }
  const std::vector<pid_t>& sidecars() const { return sidecars_; }

  // Both admin listeners answer /ready 200, the outbound port accepts and
  // quickstart printed its "Running (Ctrl-C to stop)" banner (a user hits
  // Ctrl-C after that).
  bool wait_ready(Millis timeout, std::string* why) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto st = process_.wait_for(0ms)) {
        *why = "quickstart exited (" + st->describe() + ")\n" + process_.stderr_tail();
        return false;
      }
      if (sidecars_.size() < 2) sidecars_ = children_of(process_.pid());
      if (port_accepts(ports_.admin) && port_accepts(ports_.inbound_admin) && port_accepts(ports_.listen) &&
          simple_get(ports_.admin, "/ready", 2s).first == 200 &&
          simple_get(ports_.inbound_admin, "/ready", 2s).first == 200 &&
          process_.stderr_text().find("Running (Ctrl-C to stop)") != std::string::npos) {
        sidecars_ = children_of(process_.pid());
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    *why = "not ready in time\n" + process_.stderr_tail();
    return false;
  }

 private:
  Ports ports_;
  Process process_;
  std::vector<pid_t> sidecars_;
};

// The JSON access-log lines on stdout whose listener is `listener`.
std::vector<nlohmann::json> access_log_lines(const std::string& out, const std::string& listener) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("listener", "") == listener) lines.push_back(std::move(j));
  }
  return lines;
}

std::string fingerprints(const fs::path& dir, const fs::path& state) {
  return tlsh::inspect_fingerprint(dir, state / "ca" / "ca.crt") + " " +
         tlsh::inspect_fingerprint(dir, state / "inbound" / "cert.pem") + " " +
         tlsh::inspect_fingerprint(dir, state / "outbound" / "cert.pem");
}

// Ctrl-C: exit code 0 within a few seconds, sidecars gone.
void expect_clean_stop(QuickstartRun& run) {
  const auto start = std::chrono::steady_clock::now();
  run.process().signal(SIGINT);
  const auto st = run.process().wait_for(10s);
  ASSERT_TRUE(st.has_value()) << "quickstart still running 10 s after SIGINT\n" << run.process().stderr_tail();
  const auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
  std::printf("quickstart stopped %lld ms after SIGINT\n", static_cast<long long>(took.count()));
  EXPECT_TRUE(st->ok()) << st->describe() << "\n" << run.process().stderr_tail();
  EXPECT_LT(took, 6s) << "stopping took too long";
  for (pid_t c : run.sidecars()) EXPECT_FALSE(is_alive_aegis(c)) << "sidecar " << c << " outlived quickstart";
}

TEST(Quickstart, MeshAnswersWithPeerIdentityAndReusesCertificates) {
  TempDir dir("quickstart");
  const fs::path state = dir / "state";
  std::string first_fps;
  {
    const Ports p = fresh_ports();
    QuickstartRun run(dir.path(), state, p, "quickstart-1");
    std::string why;
    ASSERT_TRUE(run.wait_ready(20s, &why)) << why;
    EXPECT_EQ(run.sidecars().size(), 2U) << "expected two sidecar processes";

    const auto r = curl(dir.path(), {"--max-time", "10", url(p.listen, "/hello?from=itest")}, 15s);
    ASSERT_EQ(r.status, 200) << r.stderr_text << r.body << run.process().stderr_tail();
    EXPECT_NE(r.body.find("Hello from the aegis-flow demo app."), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("GET /hello?from=itest HTTP/1.1"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(std::string("x-aegis-peer-identity: ") + kClientId + "\n"), std::string::npos)
        << "the demo app did not see the caller's SPIFFE ID\n"
        << r.body;
    EXPECT_EQ(r.header("x-served-by").value_or("<none>"), "aegis-flow") << "not through the inbound sidecar";

    // The inbound counted the post-quantum handshake (exact series as exposed).
    const std::string series =
        R"(aegis_tls_handshakes_total{group="MLKEM1024",listener="inbound",result="success",sigalg="mldsa65"})";
    std::string inbound_metrics;
    for (int i = 0; i < 40; ++i) {
      inbound_metrics = simple_get(p.inbound_admin, "/stats/prometheus").second;
      if (inbound_metrics.find(series) != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_NE(inbound_metrics.find(series + " "), std::string::npos) << inbound_metrics;
    EXPECT_GE(metric_value(inbound_metrics, "aegis_tls_handshakes_total",
                           {{"listener", "inbound"}, {"group", "MLKEM1024"}, {"sigalg", "mldsa65"},
                            {"result", "success"}})
                  .value_or(0),
              1);
    EXPECT_EQ(metric_value(inbound_metrics, "aegis_tls_handshakes_total", {{"result", "failure"}}).value_or(0), 0)
        << inbound_metrics;
    EXPECT_EQ(metric_value(inbound_metrics, "aegis_tls_classical_handshakes_total").value_or(0), 0);
    // ... and so did the outbound, as a client of cluster demo_inbound.
    const std::string outbound_metrics = simple_get(p.admin, "/stats/prometheus").second;
    EXPECT_GE(metric_value(outbound_metrics, "aegis_tls_handshakes_total",
                           {{"cluster", "demo_inbound"}, {"group", "MLKEM1024"}, {"result", "success"}})
                  .value_or(0),
              1)
        << outbound_metrics;

    // The inbound's access-log line (stdout) names the group and the peer.
    std::vector<nlohmann::json> inbound_lines;
    for (int i = 0; i < 50 && inbound_lines.empty(); ++i) {
      inbound_lines = access_log_lines(run.process().stdout_text(), "inbound");
      if (inbound_lines.empty()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(inbound_lines.empty()) << "no access-log line from the inbound sidecar on stdout\n"
                                        << run.process().stdout_text();
    const auto& line = inbound_lines.front();
    EXPECT_EQ(line.value("tls_group", ""), "MLKEM1024") << line.dump();
    EXPECT_EQ(line.value("tls_sigalg", ""), "mldsa65") << line.dump();
    EXPECT_EQ(line.value("peer_identity", ""), kClientId) << line.dump();
    EXPECT_EQ(line.value("path", ""), "/hello?from=itest") << line.dump();
    EXPECT_EQ(line.value("status", 0), 200) << line.dump();
    EXPECT_FALSE(access_log_lines(run.process().stdout_text(), "outbound").empty())
        << "no access-log line from the outbound sidecar";

    // The first run minted a CA and both leaves.
    const std::string err = run.process().stderr_text();
    EXPECT_NE(err.find("minted an ML-DSA-65 CA"), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("issued ") + kClientId), std::string::npos) << err;
    EXPECT_NE(err.find(std::string("issued ") + kServerId), std::string::npos) << err;
    expect_clean_stop(run);
    first_fps = fingerprints(dir.path(), state);
    ASSERT_EQ(first_fps.size(), 3 * 95U + 2) << "certs inspect failed on the state dir: " << first_fps;
  }
  {
    // Second run, same state directory (other ports): nothing is minted.
    const Ports p = fresh_ports();
    QuickstartRun run(dir.path(), state, p, "quickstart-2");
    std::string why;
    ASSERT_TRUE(run.wait_ready(20s, &why)) << why;
    const auto r = curl(dir.path(), {"--max-time", "10", url(p.listen, "/again")}, 15s);
    EXPECT_EQ(r.status, 200) << r.stderr_text << r.body;
    EXPECT_NE(r.body.find(std::string("x-aegis-peer-identity: ") + kClientId + "\n"), std::string::npos) << r.body;
    const std::string err = run.process().stderr_text();
    EXPECT_EQ(err.find("minted"), std::string::npos) << "the second run minted a new CA\n" << err;
    EXPECT_EQ(err.find("issued"), std::string::npos) << "the second run issued new certificates\n" << err;
    EXPECT_EQ(fingerprints(dir.path(), state), first_fps) << "certificates changed between runs";
    expect_clean_stop(run);
  }
}

// Ctrl-C while the sidecars are still starting (before the banner) must stop
// everything too. (It once did not: the signal mask was set after the demo
// app's thread started, so a SIGINT could land on that thread and kill the
// quick start, orphaning both sidecars with their ports.)
TEST(Quickstart, CtrlCDuringStartupStopsEverything) {
  TempDir dir("quickstart");
  const Ports p = fresh_ports();
  QuickstartRun run(dir.path(), dir / "state", p, "quickstart");
  std::vector<pid_t> sidecars;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (sidecars.size() < 2 && std::chrono::steady_clock::now() < deadline && run.process().running()) {
    sidecars = children_of(run.process().pid());
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(sidecars.size(), 2U) << run.process().stderr_tail();
  run.process().signal(SIGINT);
  const auto st = run.process().wait_for(10s);
  ASSERT_TRUE(st.has_value()) << "quickstart still running 10 s after SIGINT";
  EXPECT_TRUE(st->ok()) << st->describe() << "\n" << run.process().stderr_tail();
  std::this_thread::sleep_for(200ms);
  for (pid_t c : sidecars) EXPECT_FALSE(is_alive_aegis(c)) << "sidecar " << c << " outlived quickstart";
}

}  // namespace
}  // namespace aegis::itest
