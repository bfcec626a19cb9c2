// Integration-test harness: real processes and sockets on 127.0.0.1.
// Spawns aegis-flow, the test upstream, nginx, curl and wrk as child
// processes (output captured under a per-test temp dir, always reaped),
// finds free ports, speaks raw HTTP for malformed requests and reads
// Prometheus counters from the admin listener.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace aegis::itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// ---- environment ---------------------------------------------------------

// Path of the proxy binary (AEGIS_FLOW_BIN) and the test upstream
// (AEGIS_TEST_UPSTREAM_BIN); fall back to the paths CMake compiled in.
std::string proxy_binary();
std::string upstream_binary();
// The real test data (AEGIS_TESTDATA, else the directory CMake found).
fs::path testdata_dir();
// Empty when the tool is not on PATH.
std::string find_tool(const std::string& name);

// A fresh directory per test (removed at the end unless AEGIS_KEEP_TMP=1 or
// the test failed, so its logs can be read).
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// ---- processes -----------------------------------------------------------

struct ExitStatus {
  bool exited = false;  // true: normal exit with code; false: killed by signal
  int code = -1;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  std::string describe() const;
};

// A child process in its own process group; stdout/stderr go to
// <dir>/<name>.stdout / .stderr. The destructor SIGKILLs the group and reaps.
class Process {
 public:
  // stdin_path: the child's standard input (default /dev/null).
  Process(std::string name, std::vector<std::string> argv, const fs::path& dir,
          const std::vector<std::pair<std::string, std::string>>& extra_env = {},
          const fs::path& stdin_path = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  bool running();
  void signal(int sig);
  // Waits up to timeout for exit; nullopt if still running.
  std::optional<ExitStatus> wait_for(Millis timeout);
  // SIGKILL the whole process group and reap.
  ExitStatus kill();
  std::string stdout_text() const;
  std::string stderr_text() const;
  fs::path stdout_path() const { return stdout_path_; }
  fs::path stderr_path() const { return stderr_path_; }
  // The last lines of stderr, for failure messages.
  std::string stderr_tail(std::size_t max_bytes = 4000) const;

 private:
  void reap(int status);
  std::string name_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  fs::path stdout_path_;
  fs::path stderr_path_;
};

// Runs a command to completion (bounded); returns exit status and output.
struct CommandResult {
  ExitStatus status;
  std::string out;
  std::string err;
  bool timed_out = false;
};
CommandResult run_command(const std::string& name, const std::vector<std::string>& argv,
                          const fs::path& dir, Millis timeout = 30s, const fs::path& stdin_path = {});

// ---- sockets and ports ---------------------------------------------------

// A port that is free right now on 127.0.0.1, chosen at random below the
// ephemeral range so parallel tests (and their clients) rarely collide.
std::uint16_t free_port();
// A blocking TCP socket connected to 127.0.0.1:port within timeout; -1 on
// failure. The caller closes it.
int connect_loopback(std::uint16_t port, Millis timeout);
bool port_accepts(std::uint16_t port);
bool wait_for_port(std::uint16_t port, Millis timeout = 10s);
bool wait_until_port_refuses(std::uint16_t port, Millis timeout);

// Writes the file atomically (temp + rename), as a config manager would.
void write_file(const fs::path& path, const std::string& content);
std::string read_file(const fs::path& path);
// Writes n bytes of the pattern (pattern.h) starting at offset 0.
void write_pattern_file(const fs::path& path, std::uint64_t n);
std::string sha256_hex(const std::string& data);
std::string sha256_file(const fs::path& path);
std::string pattern_sha256(std::uint64_t n);

// A raw-socket exchange: send bytes, read until the peer closes or timeout.
struct RawResult {
  std::string data;          // everything received
  bool peer_closed = false;  // EOF or RST seen before timeout
  bool reset = false;        // ECONNRESET seen
  int status = 0;            // status code of the first response, 0 if none
  // number of HTTP responses ("HTTP/1.1 " at a line start) in data
  int response_count() const;
};
// half_close: shutdown(SHUT_WR) after sending (the peer sees EOF).
RawResult raw_exchange(std::uint16_t port, const std::string& request, Millis timeout = 5s,
                       bool half_close = false);

// A plain HTTP/1.1 GET over a raw socket (Connection: close), for the
// admin listener and the upstream's /stats: returns {status, body}.
std::pair<int, std::string> simple_get(std::uint16_t port, const std::string& path,
                                       Millis timeout = 5s);

// ---- curl ----------------------------------------------------------------

struct HttpResult {
  int curl_exit = -1;
  int status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // lower-case names, final response
  std::string stdout_text;                          // -w output
  std::string stderr_text;
  std::optional<std::string> header(const std::string& name) const;
};
// Runs curl -sS with the given extra args and URL(s); the body goes to
// body_file (or a temp file read back when body_file is empty).
HttpResult curl(const fs::path& dir, const std::vector<std::string>& args, Millis timeout = 30s,
                const fs::path& body_file = {});
std::string url(std::uint16_t port, const std::string& path);

// ---- metrics -------------------------------------------------------------

using Labels = std::map<std::string, std::string>;
// Value of the sample `name` whose labels include all of `labels`, summed
// over every matching series; nullopt when no series matches.
std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const Labels& labels = {});

// ---- TLS -----------------------------------------------------------------

// The OpenSSL 3.5 CLI (ML-KEM groups, ML-DSA certificates): AEGIS_OPENSSL_BIN,
// else the one next to the OpenSSL CMake built against; empty if missing.
std::string openssl_binary();

// `aegis-flow certs init-ca` / `certs issue` (the CA dir gets ca.crt + ca.key,
// a leaf dir cert.pem + key.pem). Check `.status.ok()` (err holds the reason).
CommandResult certs_init_ca(const fs::path& dir, const fs::path& out, const std::string& trust_domain,
                            const std::string& key_type = "mldsa65");
CommandResult certs_issue(const fs::path& dir, const fs::path& ca, const fs::path& out,
                          const std::string& spiffe_id, const std::string& key_type = "mldsa65",
                          int days = 30, const std::string& dns = "localhost");

// One `openssl s_client` run (OpenSSL 3.5) against 127.0.0.1:port: sends
// `input` once the handshake is done and reads until the server closes
// (-ign_eof), so an HTTP request should carry `Connection: close`.
struct TlsClientResult {
  CommandResult cmd;
  std::string group;        // "Negotiated TLS1.3 group: X"; empty if no handshake
  std::string peer_sigalg;  // the server's CertificateVerify ("Signature type: X"); empty if no handshake
  bool handshake_done = false;  // the client finished its handshake (TLS 1.3: before the server checked a client cert)
  int status = 0;           // status of the HTTP response the server sent, 0 if none
  std::string response;     // everything the server sent (s_client's stdout)
  // The response body (after the blank line), de-chunked if chunked.
  std::string body() const;
};
// extra_args e.g. {"-groups", "MLKEM1024", "-cert", c, "-key", k, "-CAfile", ca}.
TlsClientResult s_client(const fs::path& dir, std::uint16_t port, const std::vector<std::string>& extra_args,
                         const std::string& input, Millis timeout = 10s);

// What a wrk run reports (its stdout): requests done, non-2xx/3xx answers
// and socket errors of every kind; requests is -1 if the summary is missing.
struct WrkSummary {
  long requests = -1;
  long non_2xx = 0;
  long socket_errors = 0;
  std::string raw;  // the whole output, for failure messages
};
WrkSummary parse_wrk(const std::string& out);

// ---- the processes under test --------------------------------------------

class Upstream {
 public:
  // Starts aegis-test-upstream on `port` (0: an OS-chosen one) and waits until it accepts.
  // extra_args: e.g. {"--fail-first", "2", "--fail-with", "reset"}.
  Upstream(const fs::path& dir, const std::string& name = "upstream", bool tcp_mode = false,
           const std::vector<std::string>& extra_args = {}, std::uint16_t port = 0);
  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  Process& process() { return *process_; }
  // GET /stats directly (not through the proxy).
  std::uint64_t stat(const std::string& key);

 private:
  std::unique_ptr<Process> process_;
  std::uint16_t port_ = 0;
};

// With AEGIS_ITEST_SECCOMP=1 (set by ctest for every integration test), a
// config without a `process:` section gets `process: {seccomp: true}`: the
// whole suite runs the proxy under its seccomp-bpf allow-list, so a syscall
// the list misses fails the test that needed it (SIGSYS).
std::string with_test_process_section(const std::string& yaml);

class Proxy {
 public:
  // Writes config to <dir>/<name>.yaml and starts `aegis-flow run -c`.
  Proxy(const fs::path& dir, const std::string& config_yaml, std::uint16_t admin_port,
        std::vector<std::uint16_t> listener_ports, const std::string& name = "aegis-flow",
        std::vector<std::string> extra_args = {"--concurrency", "2"});
  // Returns false (with the log in `why`) if it is not ready in time.
  bool wait_ready(Millis timeout, std::string* why);
  Process& process() { return *process_; }
  const fs::path& config_path() const { return config_path_; }
  std::uint16_t admin_port() const { return admin_port_; }
  void rewrite_config(const std::string& yaml) { write_file(config_path_, with_test_process_section(yaml)); }
  // Still running after a short grace period (a crash triggered by the last
  // request may land just after its response was sent).
  bool alive(Millis grace = 150ms) { return !process_->wait_for(grace).has_value(); }
  std::string metrics();
  std::optional<double> metric(const std::string& name, const Labels& labels = {});
  // Polls metrics until metric >= target (bounded).
  bool wait_metric_at_least(const std::string& name, const Labels& labels, double target,
                            Millis timeout);

 private:
  fs::path config_path_;
  std::uint16_t admin_port_;
  std::vector<std::uint16_t> listener_ports_;
  std::unique_ptr<Process> process_;
};

// ---- config generation ---------------------------------------------------

struct HttpProxyConfig {
  std::uint16_t admin_port = 0;
  std::uint16_t listener_port = 0;
  std::string listener_name = "ingress";
  std::vector<std::string> endpoints;  // "127.0.0.1:port"
  std::string cluster_name = "backend";
  std::string access_log = "stdout";  // stdout | stderr | file path
  std::string drain_timeout = "5s";
  std::string route_timeout = "30s";
  std::string limits_yaml;       // extra lines under listener.limits (6-space indent)
  std::string listener_extra_yaml;  // extra lines under the listener (4-space indent: codec, http2, tls)
  std::string route_extra_yaml;  // extra lines under routes[0].route (14-space indent)
  std::string extra_routes_yaml; // extra route entries before the catch-all (10-space indent)
  std::string top_yaml;          // extra top-level sections (e.g. node:), at column 0
  // Replaces the cluster's generated lb_policy and endpoints lines (4-space
  // indent): a load_assignment, another policy, locality_aware.
  std::string cluster_yaml;
  std::string cluster_extra_yaml;  // more fields of the cluster (4-space indent), after the endpoints
};
std::string http_proxy_config(const HttpProxyConfig& c);
// Fresh admin and listener ports in front of the given endpoints.
HttpProxyConfig config_for(std::vector<std::string> endpoints);

}  // namespace aegis::itest

// Fails the current test (fatally) unless the proxy is ready in time.
#define AEGIS_ASSERT_READY(proxy)                                   \
  do {                                                              \
    std::string aegis_why_;                                         \
    ASSERT_TRUE((proxy).wait_ready(20s, &aegis_why_)) << aegis_why_; \
  } while (0)

namespace aegis::itest {

// The common fixture: a temp dir, optionally a test upstream, and one
// aegis-flow in front of it; TearDown fails the test if the proxy died.
// A fatal failure while starting skips the test body (gtest checks after SetUp).
template <class Base = ::testing::Test>
class ProxyTest : public Base {
 protected:
  explicit ProxyTest(const std::string& tag) : dir_(tag) {}

  // A test upstream and the proxy in front of it, default config.
  void start_with_upstream() {
    upstream_ = std::make_unique<Upstream>(dir_.path());
    start_proxy(config_for({upstream_->endpoint()}));
  }
  void start_proxy(HttpProxyConfig cfg) {
    cfg_ = std::move(cfg);
    proxy_ = std::make_unique<Proxy>(dir_.path(), http_proxy_config(cfg_), cfg_.admin_port,
                                     std::vector<std::uint16_t>{cfg_.listener_port});
    AEGIS_ASSERT_READY(*proxy_);
  }
  void TearDown() override {
    if (proxy_) {
      EXPECT_TRUE(proxy_->alive()) << "aegis-flow died during the test\n"
                                   << proxy_->process().stderr_tail();
    }
  }
  std::string u(const std::string& path) const { return url(cfg_.listener_port, path); }

  TempDir dir_;
  std::unique_ptr<Upstream> upstream_;
  HttpProxyConfig cfg_;
  std::unique_ptr<Proxy> proxy_;
};

}  // namespace aegis::itest
