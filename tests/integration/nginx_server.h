// nginx as an independent peer for the tests: a static-file origin over
// HTTP/1.1, h2c (prior knowledge) or TLS with ALPN h2/http/1.1, in its own
// prefix under the test's temp dir (config, logs, temp paths), run in the
// foreground so the Process owns and reaps it.
#pragma once

#include "harness.h"

#include <cstdint>
#include <memory>
#include <string>

namespace aegis::itest {

class NginxServer {
 public:
  struct Options {
    std::string name = "nginx";  // its prefix dir <dir>/<name> and process name
    bool http2 = false;  // plaintext: h2c prior knowledge only; with TLS: ALPN h2 and http/1.1
    fs::path cert;       // PEM certificate chain and key: TLS when set
    fs::path key;
    std::string server_conf;  // extra lines inside server { } (locations, limits)
  };
  // Starts nginx on 127.0.0.1:port and waits until it accepts (throws when
  // nginx is missing or does not start, with its error log).
  NginxServer(const TempDir& dir, std::uint16_t port) : NginxServer(dir, port, Options{}) {}
  NginxServer(const TempDir& dir, std::uint16_t port, const Options& o);
  ~NginxServer();  // SIGQUIT (graceful), SIGKILL after 5 s
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  std::uint16_t port() const { return port_; }
  const fs::path& www() const { return www_; }
  Process& process() { return *process_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  // Writes www/<name>, readable by nginx's workers (nobody when run as root).
  void put(const std::string& name, const std::string& content);
  void put_pattern(const std::string& name, std::uint64_t n);  // n bytes of pattern.h
  // One line per request: "$connection $request $status $server_protocol".
  std::string access_log() const { return read_file(access_log_); }
  std::string error_log() const { return read_file(error_log_); }

 private:
  std::uint16_t port_;
  fs::path www_;
  fs::path access_log_;
  fs::path error_log_;
  std::unique_ptr<Process> process_;
};

}  // namespace aegis::itest
