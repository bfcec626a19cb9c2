#include "harness.h"

#include "pattern.h"
#include "sha256.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <atomic>
#include <algorithm>
#include <regex>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace aegis::itest {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

// RAII file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int connect_loopback(std::uint16_t port, Millis timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = loopback(port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
    }
  }
  if (rc != 0) {
    ::close(fd);
    return -1;
  }
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

namespace {

int parse_status(const std::string& data) {
  if (data.rfind("HTTP/1.", 0) != 0 || data.size() < 12) return 0;
  return std::atoi(data.substr(9, 3).c_str());
}

std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}


}  // namespace

// ---- environment ---------------------------------------------------------

std::string proxy_binary() { return env_or("AEGIS_FLOW_BIN", AEGIS_FLOW_BIN_DEFAULT); }
fs::path testdata_dir() { return env_or("AEGIS_TESTDATA", AEGIS_TESTDATA_DEFAULT); }
std::string upstream_binary() {
  return env_or("AEGIS_TEST_UPSTREAM_BIN", AEGIS_TEST_UPSTREAM_BIN_DEFAULT);
}

std::string find_tool(const std::string& name) {
  std::stringstream path(env_or("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"));
  std::string dir;
  while (std::getline(path, dir, ':')) {
    const fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  for (const char* dir2 : {"/usr/sbin", "/sbin"}) {  // nginx lives here; PATH may omit it
    const fs::path candidate = fs::path(dir2) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

TempDir::TempDir(const std::string& tag) {
  std::string tmpl = (fs::path(env_or("TMPDIR", "/tmp")) / ("aegis-itest-" + tag + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  const bool keep = env_or("AEGIS_KEEP_TMP", "0") == "1" || ::testing::Test::HasFailure();
  if (keep) {
    // Keep configs and logs, drop the large payloads (64 MiB bodies).
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(path_, ec)) {
      std::error_code size_ec;
      if (entry.is_regular_file(size_ec) && entry.file_size(size_ec) > (1U << 20U)) {
        fs::remove(entry.path(), size_ec);
      }
    }
    std::fprintf(stderr, "[harness] kept test directory %s (files over 1 MiB removed)\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

// ---- processes -----------------------------------------------------------

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
}

Process::Process(std::string name, std::vector<std::string> argv, const fs::path& dir,
                 const std::vector<std::pair<std::string, std::string>>& extra_env, const fs::path& stdin_path)
    : name_(std::move(name)),
      stdout_path_(dir / (name_ + ".stdout")),
      stderr_path_(dir / (name_ + ".stderr")) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    const std::string key = kv.substr(0, kv.find('='));
    const bool overridden = std::any_of(extra_env.begin(), extra_env.end(),
                                        [&](const auto& p) { return p.first == key; });
    if (!overridden) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  const int rc = ::posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ > 0 && !status_) kill();
}

void Process::reap(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  status_ = s;
}

bool Process::running() {
  if (status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return true;
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::wait_for(Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

ExitStatus Process::kill() {
  if (!status_) {
    ::kill(-pid_, SIGKILL);  // the child's own process group (nginx workers too)
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reap(status);
  }
  return *status_;
}

std::string Process::stdout_text() const { return read_file(stdout_path_); }
std::string Process::stderr_text() const { return read_file(stderr_path_); }
std::string Process::stderr_tail(std::size_t max_bytes) const {
  std::string s = stderr_text();
  if (s.size() > max_bytes) s = "..." + s.substr(s.size() - max_bytes);
  return "--- " + name_ + " stderr (" + stderr_path_.string() + ") ---\n" + s;
}

CommandResult run_command(const std::string& name, const std::vector<std::string>& argv,
                          const fs::path& dir, Millis timeout, const fs::path& stdin_path) {
  Process p(name, argv, dir, {}, stdin_path);
  CommandResult r;
  if (auto st = p.wait_for(timeout)) {
    r.status = *st;
  } else {
    r.timed_out = true;
    r.status = p.kill();
  }
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

// ---- sockets and ports ---------------------------------------------------

std::uint16_t free_port() {
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  static std::set<std::uint16_t> handed_out;
  std::uniform_int_distribution<int> dist(20000, 32000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<std::uint16_t>(dist(rng));
    if (handed_out.count(port) != 0) continue;
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr = loopback(port);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) continue;
    if (port_accepts(port)) continue;  // someone listens with SO_REUSEPORT
    handed_out.insert(port);
    return port;
  }
  throw std::runtime_error("no free port found");
}

bool port_accepts(std::uint16_t port) {
  const int fd = connect_loopback(port, 500ms);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

bool wait_for_port(std::uint16_t port, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (port_accepts(port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

bool wait_until_port_refuses(std::uint16_t port, Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!port_accepts(port)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void write_file(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_pattern_file(const fs::path& path, std::uint64_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::vector<std::uint8_t> buf(1U << 20U);
  for (std::uint64_t off = 0; off < n;) {
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    fill_pattern(off, std::span(buf.data(), len));
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(len));
    off += len;
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string sha256_hex(const std::string& data) {
  Sha256 sha;
  sha.update(data.data(), data.size());
  return sha.hex();
}

std::string sha256_file(const fs::path& path) {
  Sha256 sha;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1U << 20U);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    sha.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return sha.hex();
}

std::string pattern_sha256(std::uint64_t n) {
  Sha256 sha;
  std::vector<std::uint8_t> buf(1U << 20U);
  for (std::uint64_t off = 0; off < n;) {
    const auto len = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), n - off));
    fill_pattern(off, std::span(buf.data(), len));
    sha.update(buf.data(), len);
    off += len;
  }
  return sha.hex();
}

int RawResult::response_count() const {
  int n = 0;
  for (std::size_t pos = 0; (pos = data.find("HTTP/1.", pos)) != std::string::npos; ++pos) {
    if (pos == 0 || data[pos - 1] == '\n') ++n;
  }
  return n;
}

RawResult raw_exchange(std::uint16_t port, const std::string& request, Millis timeout,
                       bool half_close) {
  RawResult r;
  Fd fd(connect_loopback(port, 2s));
  if (fd.get() < 0) throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the peer may close early on a bad request: read what it said
    sent += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd.get(), SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<char, 65536> buf{};
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n == 0) {
      r.peer_closed = true;
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      r.peer_closed = true;
      r.reset = errno == ECONNRESET;
      break;
    }
    r.data.append(buf.data(), static_cast<std::size_t>(n));
  }
  r.status = parse_status(r.data);
  return r;
}

std::pair<int, std::string> simple_get(std::uint16_t port, const std::string& path, Millis timeout) {
  const RawResult r = raw_exchange(
      port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
  const auto sep = r.data.find("\r\n\r\n");
  if (sep == std::string::npos) return {r.status, {}};
  const std::string head = lower(r.data.substr(0, sep));
  std::string body = r.data.substr(sep + 4);
  if (head.find("transfer-encoding: chunked") != std::string::npos) body = dechunk(body);
  return {r.status, body};
}

// ---- curl ----------------------------------------------------------------

std::optional<std::string> HttpResult::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string url(std::uint16_t port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

HttpResult curl(const fs::path& dir, const std::vector<std::string>& args, Millis timeout,
                const fs::path& body_file) {
  static std::atomic<int> counter{0};  // called from several test threads at once
  const std::string tag = "curl-" + std::to_string(++counter);
  const fs::path body = body_file.empty() ? dir / (tag + ".body") : body_file;
  const fs::path headers = dir / (tag + ".headers");
  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*",
                                   "--max-time", std::to_string(timeout.count() / 1000),
                                   "-o", body.string(), "-D", headers.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult c = run_command(tag, argv, dir, timeout + 5s);
  HttpResult r;
  r.curl_exit = c.status.exited ? c.status.code : -1;
  r.stdout_text = c.out;
  r.stderr_text = c.err;
  if (body_file.empty()) r.body = read_file(body);
  // The header dump holds every response (100 Continue, redirects): keep the last.
  std::istringstream hs(read_file(headers));
  std::string line;
  while (std::getline(hs, line)) {
    line = trim(line);
    if (line.rfind("HTTP/", 0) == 0) {
      r.headers.clear();
      const auto sp = line.find(' ');
      r.status = sp == std::string::npos ? 0 : std::atoi(line.c_str() + sp + 1);
    } else if (auto colon = line.find(':'); colon != std::string::npos) {
      r.headers.emplace(lower(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
  }
  return r;
}

// ---- metrics -------------------------------------------------------------

std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const Labels& labels) {
  std::optional<double> total;
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
    Labels found;
    std::size_t pos = name_end;
    if (line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const auto eq = line.find('=', pos);
        if (eq == std::string::npos) break;
        std::string key = trim(line.substr(pos, eq - pos));
        std::string value;
        pos = eq + 2;  // skip ="
        while (pos < line.size() && line[pos] != '"') {
          if (line[pos] == '\\' && pos + 1 < line.size()) {
            ++pos;
            value.push_back(line[pos] == 'n' ? '\n' : line[pos]);
          } else {
            value.push_back(line[pos]);
          }
          ++pos;
        }
        found[key] = value;
        ++pos;  // closing quote
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      ++pos;  // '}'
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = found.find(k);
      if (it == found.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    std::istringstream vs(line.substr(pos));
    double v = 0;
    if (vs >> v) total = total.value_or(0) + v;
  }
  return total;
}

// ---- TLS -----------------------------------------------------------------

std::string openssl_binary() {
  const std::string bin = env_or("AEGIS_OPENSSL_BIN", AEGIS_OPENSSL_BIN_DEFAULT);
  return ::access(bin.c_str(), X_OK) == 0 ? bin : std::string();
}

CommandResult certs_init_ca(const fs::path& dir, const fs::path& out, const std::string& trust_domain,
                            const std::string& key_type) {
  return run_command("certs-init-ca-" + out.filename().string(),
                     {proxy_binary(), "certs", "init-ca", "--trust-domain", trust_domain, "--key-type", key_type,
                      "--out", out.string()},
                     dir, 30s);
}

CommandResult certs_issue(const fs::path& dir, const fs::path& ca, const fs::path& out,
                          const std::string& spiffe_id, const std::string& key_type, int days,
                          const std::string& dns) {
  std::vector<std::string> argv = {proxy_binary(), "certs", "issue", "--ca", ca.string(), "--spiffe-id", spiffe_id,
                                   "--key-type", key_type, "--days", std::to_string(days), "--out", out.string()};
  if (!dns.empty()) {
    argv.push_back("--dns");
    argv.push_back(dns);
  }
  return run_command("certs-issue-" + out.filename().string(), argv, dir, 30s);
}

std::string TlsClientResult::body() const {
  const auto sep = response.find("\r\n\r\n");
  if (sep == std::string::npos) return {};
  // s_client prints session tickets and "read R BLOCK" after the data: cut
  // the body by its framing.
  std::string b = response.substr(sep + 4);
  const std::string head = lower(response.substr(0, sep));
  if (head.find("transfer-encoding: chunked") != std::string::npos) return dechunk(b);
  if (const auto cl = head.find("\ncontent-length:"); cl != std::string::npos) {
    const auto len = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    if (len <= b.size()) b.resize(len);
  }
  return b;
}

TlsClientResult s_client(const fs::path& dir, std::uint16_t port, const std::vector<std::string>& extra_args,
                         const std::string& input, Millis timeout) {
  static std::atomic<int> counter{0};  // called from several test threads at once
  const std::string tag = "s_client-" + std::to_string(++counter);
  const fs::path in = dir / (tag + ".in");
  write_file(in, input);
  // -brief: the connection summary goes to stderr, stdout holds only the
  // application data (without it, ticket dumps interleave with the data).
  std::vector<std::string> argv = {openssl_binary(), "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                   "-brief", "-ign_eof"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  TlsClientResult r;
  r.cmd = run_command(tag, argv, dir, timeout, in);
  const std::string& err = r.cmd.err;
  auto field = [&](const std::string& key) -> std::string {
    const auto pos = err.find("\n" + key);
    if (pos == std::string::npos) return {};
    const auto start = pos + 1 + key.size();
    const auto eol = err.find('\n', start);
    return trim(err.substr(start, eol == std::string::npos ? std::string::npos : eol - start));
  };
  r.handshake_done = err.find("CONNECTION ESTABLISHED") != std::string::npos;
  if (r.handshake_done) {
    r.group = field("Negotiated TLS1.3 group:");
    r.peer_sigalg = field("Signature type:");
  }
  r.response = r.cmd.out;
  r.status = parse_status(r.response);
  return r;
}

// ---- the processes under test --------------------------------------------

Upstream::Upstream(const fs::path& dir, const std::string& name, bool tcp_mode,
                   const std::vector<std::string>& extra_args, std::uint16_t port) {
  std::vector<std::string> argv = {upstream_binary(), "--port", std::to_string(port)};
  if (tcp_mode) argv.push_back("--tcp");
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>(name, argv, dir);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string out = process_->stdout_text();
    if (auto pos = out.find("listening 127.0.0.1:"); pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::atoi(out.c_str() + pos + 20));
      break;
    }
    if (!process_->running()) break;
    std::this_thread::sleep_for(10ms);
  }
  if (port_ == 0 || !wait_for_port(port_, 5s)) {
    throw std::runtime_error("test upstream did not start\n" + process_->stderr_tail());
  }
}

std::uint64_t Upstream::stat(const std::string& key) {
  auto [status, body] = simple_get(port_, "/stats");
  if (status != 200) throw std::runtime_error("upstream /stats failed");
  return nlohmann::json::parse(body).at(key).get<std::uint64_t>();
}

std::string with_test_process_section(const std::string& yaml) {
  const char* v = std::getenv("AEGIS_ITEST_SECCOMP");
  if (v == nullptr || std::string_view(v) != "1") return yaml;
  if (yaml.rfind("process:", 0) == 0 || yaml.find("\nprocess:") != std::string::npos) return yaml;
  return "process:\n  seccomp: true\n" + yaml;
}

Proxy::Proxy(const fs::path& dir, const std::string& config_yaml, std::uint16_t admin_port,
             std::vector<std::uint16_t> listener_ports, const std::string& name,
             std::vector<std::string> extra_args)
    : config_path_(dir / (name + ".yaml")), admin_port_(admin_port), listener_ports_(std::move(listener_ports)) {
  write_file(config_path_, with_test_process_section(config_yaml));
  std::vector<std::string> argv = {proxy_binary(), "run", "-c", config_path_.string()};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<Process>(name, argv, dir);
}

bool Proxy::wait_ready(Millis timeout, std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool ready = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!process_->running()) {
      *why = "aegis-flow exited early (" + process_->wait_for(0ms)->describe() + ")\n" + process_->stderr_tail();
      return false;
    }
    if (port_accepts(admin_port_) && simple_get(admin_port_, "/ready", 2s).first == 200) {
      ready = true;
      break;
    }
    std::this_thread::sleep_for(25ms);
  }
  if (!ready) {
    *why = "admin /ready on port " + std::to_string(admin_port_) + " not 200 in time\n" + process_->stderr_tail();
    return false;
  }
  for (auto port : listener_ports_) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (!wait_for_port(port, std::max(left, Millis(500)))) {
      *why = "listener port " + std::to_string(port) + " does not accept\n" + process_->stderr_tail();
      return false;
    }
  }
  return true;
}

std::string Proxy::metrics() {
  auto [status, body] = simple_get(admin_port_, "/stats/prometheus");
  if (status != 200) return {};
  return body;
}

std::optional<double> Proxy::metric(const std::string& name, const Labels& labels) {
  return metric_value(metrics(), name, labels);
}

bool Proxy::wait_metric_at_least(const std::string& name, const Labels& labels, double target,
                                 Millis timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (metric(name, labels).value_or(-1) >= target) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// ---- config generation ---------------------------------------------------

std::string http_proxy_config(const HttpProxyConfig& c) {
  std::ostringstream y;
  y << "admin:\n"
    << "  address: 127.0.0.1\n"
    << "  port: " << c.admin_port << "\n"
    << "access_log:\n"
    << "  path: \"" << c.access_log << "\"\n"
    << "drain_timeout: " << c.drain_timeout << "\n"
    << "listeners:\n"
    << "  - name: " << c.listener_name << "\n"
    << "    address: 127.0.0.1\n"
    << "    port: " << c.listener_port << "\n"
    << "    protocol: http\n"
    << "    route_config: main\n";
  if (!c.limits_yaml.empty()) y << "    limits:\n" << c.limits_yaml;
  y << c.listener_extra_yaml;
  y << "route_configs:\n"
    << "  - name: main\n"
    << "    virtual_hosts:\n"
    << "      - name: all\n"
    << "        domains: [\"*\"]\n"
    << "        routes:\n"
    << c.extra_routes_yaml
    << "          - name: default\n"
    << "            match:\n"
    << "              prefix: /\n"
    << "            route:\n"
    << "              cluster: " << c.cluster_name << "\n"
    << "              timeout: " << c.route_timeout << "\n"
    << c.route_extra_yaml
    << "clusters:\n"
    << "  - name: " << c.cluster_name << "\n"
    << "    connect_timeout: 1s\n";
  if (!c.cluster_yaml.empty()) {
    y << c.cluster_yaml;
  } else {
    y << "    lb_policy: round_robin\n"
      << "    endpoints: [";
    for (std::size_t i = 0; i < c.endpoints.size(); ++i) {
      y << (i ? ", " : "") << "\"" << c.endpoints[i] << "\"";
    }
    y << "]\n";
  }
  y << c.cluster_extra_yaml << c.top_yaml;
  return y.str();
}

HttpProxyConfig config_for(std::vector<std::string> endpoints) {
  HttpProxyConfig c;
  c.admin_port = free_port();
  c.listener_port = free_port();
  c.endpoints = std::move(endpoints);
  return c;
}

WrkSummary parse_wrk(const std::string& out) {
  WrkSummary s;
  s.raw = out;
  std::smatch m;
  if (std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) s.requests = std::stol(m[1]);
  if (std::regex_search(out, m, std::regex(R"(Non-2xx or 3xx responses: (\d+))"))) s.non_2xx = std::stol(m[1]);
  if (std::regex_search(out, m,
                        std::regex(R"(Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+))"))) {
    s.socket_errors = std::stol(m[1]) + std::stol(m[2]) + std::stol(m[3]) + std::stol(m[4]);
  }
  return s;
}

}  // namespace aegis::itest
