#include "grpc_peers.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace aegis::itest {

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : fallback;
}

}  // namespace

std::string grpc_python() { return env_or("AEGIS_GRPC_PYTHON", "/usr/bin/python3"); }
fs::path grpc_scripts_dir() { return env_or("AEGIS_GRPC_DIR", AEGIS_GRPC_DIR_DEFAULT); }

GrpcServer::GrpcServer(const fs::path& dir, const Options& o) : health_file_(dir / (o.name + ".health")) {
  std::vector<std::string> argv = {grpc_python(), (grpc_scripts_dir() / "grpc_server.py").string(), "--port", "0",
                                   "--health", o.health, "--health-file", health_file_.string()};
  if (!o.cert.empty()) argv.insert(argv.end(), {"--tls", o.cert.string(), o.key.string()});
  if (o.buffer_bidi) argv.push_back("--buffer-bidi");
  process_ = std::make_unique<Process>(o.name, argv, dir);
  // A python start on a loaded machine can take seconds.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline && process_->running()) {
    const std::string out = process_->stdout_text();
    if (auto pos = out.find("READY "); pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::atoi(out.c_str() + pos + 6));
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  if (port_ == 0) throw std::runtime_error("grpc_server.py did not print READY\n" + process_->stderr_tail());
}

GrpcServer::~GrpcServer() {
  if (process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait_for(5s)) process_->kill();
  }
}

void GrpcServer::set_health(const std::string& state) { write_file(health_file_, state + "\n"); }

int GrpcServer::rpc_count(const std::string& method, const std::string& status) const {
  std::istringstream in(process_->stdout_text());
  const std::string prefix = "RPC " + method + " ";
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0 && (status.empty() || line.substr(prefix.size()) == status)) ++n;
  }
  return n;
}

std::optional<ExitStatus> GrpcServer::stop(Millis timeout) {
  process_->signal(SIGTERM);
  return process_->wait_for(timeout);
}

bool GrpcClientRun::ok() const {
  if (!cmd.status.ok() || results.empty()) return false;
  for (const auto& r : results) {
    if (!r.value("ok", false)) return false;
  }
  return true;
}

nlohmann::json GrpcClientRun::result(const std::string& test) const {
  for (const auto& r : results) {
    if (r.value("test", "") == test) return r;
  }
  return nlohmann::json::object();
}

std::string GrpcClientRun::describe() const {
  return "grpc_client.py " + cmd.status.describe() + (cmd.timed_out ? " (timed out)" : "") + "\n--- stdout ---\n" +
         cmd.out + "--- stderr ---\n" + cmd.err;
}

GrpcClientRun grpc_client(const fs::path& dir, const std::string& target, const std::vector<std::string>& args,
                          Millis timeout) {
  static std::atomic<int> counter{0};  // clients may run on several test threads at once
  std::vector<std::string> argv = {grpc_python(), (grpc_scripts_dir() / "grpc_client.py").string(), "--target", target};
  argv.insert(argv.end(), args.begin(), args.end());
  GrpcClientRun r;
  r.cmd = run_command("grpc-client-" + std::to_string(++counter), argv, dir, timeout);
  std::istringstream in(r.cmd.out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) r.results.push_back(std::move(j));
  }
  return r;
}

}  // namespace aegis::itest
