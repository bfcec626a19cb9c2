// The gRPC test peers (tests/integration/grpc/*.py, Debian python3-grpcio)
// from C++: GrpcServer starts grpc_server.py and waits for its READY line;
// grpc_client() runs grpc_client.py scenarios and parses their JSON lines.
// The scenarios and their options are listed in README.md.
#pragma once

#include "harness.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace aegis::itest {

// The interpreter that sees python3-grpcio (AEGIS_GRPC_PYTHON, default
// /usr/bin/python3: a pyenv python3 earlier on PATH does not) and the
// scripts' directory (AEGIS_GRPC_DIR, default the source tree's grpc/).
std::string grpc_python();
fs::path grpc_scripts_dir();

class GrpcServer {
 public:
  struct Options {
    std::string name = "grpc-server";  // process name: <dir>/<name>.stdout etc.
    fs::path cert;                     // TLS when set (PEM chain + key)
    fs::path key;
    std::string health = "SERVING";    // SERVING | NOT_SERVING | HANG
    bool buffer_bidi = false;          // Bidi echoes only after the client half-closed
  };
  // Starts the server on a free port; throws (with its stderr) if it does
  // not print READY in time.
  explicit GrpcServer(const fs::path& dir) : GrpcServer(dir, Options{}) {}
  GrpcServer(const fs::path& dir, const Options& o);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  // What grpc.health.v1.Health/Check answers from now on (written to the
  // health file the server reads on every check).
  void set_health(const std::string& state);
  // Finished calls logged as "RPC <method> <status>" (status "" = any),
  // e.g. rpc_count("Check"), rpc_count("Slow", "CANCELLED").
  int rpc_count(const std::string& method, const std::string& status = "") const;
  // SIGTERM and wait: a clean shutdown exits 0 after printing STOPPED.
  std::optional<ExitStatus> stop(Millis timeout = 10s);

 private:
  fs::path health_file_;
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

struct GrpcClientRun {
  CommandResult cmd;
  std::vector<nlohmann::json> results;  // one object per test, in order
  // Exit 0 and every result "ok".
  bool ok() const;
  // The result of `test`, or an empty object.
  nlohmann::json result(const std::string& test) const;
  std::string describe() const;  // for failure messages: stdout and stderr
};
// grpc_client.py --target target ARGS... (e.g. {"--test", "unary,bidi"}).
GrpcClientRun grpc_client(const fs::path& dir, const std::string& target, const std::vector<std::string>& args,
                          Millis timeout = 60s);

}  // namespace aegis::itest
