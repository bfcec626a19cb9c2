#include "app/quickstart.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <fmt/format.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "tls/certs.h"

namespace aegis::app {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The demo app (the inbound sidecar's upstream): answers every request with
// what it saw, so a new user can see the headers the mesh added
// (x-aegis-peer-identity, x-forwarded-for, x-request-id, ...).
asio::awaitable<void> demo_session(tcp::socket sock) {
  beast::tcp_stream stream(std::move(sock));
  beast::flat_buffer buf;
  for (;;) {
    bhttp::request<bhttp::string_body> req;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 20);
    stream.expires_after(std::chrono::seconds(60));
    if (auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, kTuple); ec) co_return;
    req = parser.release();
    std::string body = fmt::format("Hello from the aegis-flow demo app.\n\n{} {} HTTP/{}.{}\n",
                                   std::string(req.method_string()), std::string(req.target()),
                                   req.version() / 10, req.version() % 10);
    for (const auto& f : req) body += fmt::format("{}: {}\n", std::string(f.name_string()), std::string(f.value()));
    if (!req.body().empty()) body += fmt::format("\n({} body bytes)\n", req.body().size());
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    if (auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple); ec || !req.keep_alive()) co_return;
  }
}

asio::awaitable<void> demo_accept(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (ec) co_return;
    asio::co_spawn(acceptor.get_executor(), demo_session(std::move(sock)), asio::detached);
  }
}


// ---- the mesh ------------------------------------------------------------

// Certificates for the two sidecars, minted once into the state directory
// (re-issued when missing or within a day of expiry).
core::Result<void> ensure_credentials(const QuickstartOptions& o) {
  namespace fs = std::filesystem;
  const fs::path ca = o.state_dir / "ca";
  auto leaf_ok = [](const fs::path& dir) {
    auto info = tls::inspect_certificates(dir / tls::kLeafCertFile);
    return info && !info->empty() && info->front().days_left >= 1 && fs::exists(dir / tls::kLeafKeyFile);
  };
  auto ca_info = tls::inspect_certificates(ca / tls::kCaCertFile);
  const bool new_ca = !ca_info || ca_info->empty() || ca_info->front().days_left < 2 ||
                      !fs::exists(ca / tls::kCaKeyFile);
  if (new_ca) {
    tls::CaRequest req;
    req.trust_domain = std::string(kQuickstartTrustDomain);
    req.key_type = tls::KeyType::mldsa65;
    req.out_dir = ca;
    req.force = true;
    auto r = tls::init_ca(req);
    if (!r) return core::Error{"cannot create the quick start CA in " + ca.string() + ": " + r.error().message};
    fmt::print(stderr, "  minted an ML-DSA-65 CA for spiffe://{} in {}\n", kQuickstartTrustDomain, ca.string());
  }
  for (const auto& [name, id] : {std::pair{"outbound", kQuickstartClientId}, std::pair{"inbound", kQuickstartServerId}}) {
    const fs::path dir = o.state_dir / name;
    if (!new_ca && leaf_ok(dir)) continue;
    tls::LeafRequest req;
    req.ca_dir = ca;
    req.spiffe_id = std::string(id);
    req.dns_names = {"localhost"};
    req.key_type = tls::KeyType::mldsa65;
    req.days = 30;
    req.out_dir = dir;
    req.force = true;
    auto r = tls::issue_certificate(req);
    if (!r) return core::Error{"cannot issue the " + std::string(name) + " certificate: " + r.error().message};
    fmt::print(stderr, "  issued {} (ML-DSA-65) in {}\n", id, dir.string());
  }
  return {};
}

std::string outbound_config(const QuickstartOptions& o) {
  return fmt::format(R"(# aegis-flow quick start: the OUTBOUND sidecar (the client app's side).
# Plain HTTP from the app on 127.0.0.1:{listen}; every request leaves over
# mTLS (ML-KEM-1024, ML-DSA-65 certificates) to the inbound sidecar.
# Written by `aegis-flow quickstart` on every start; edit a copy, not this file.
admin: {{address: 127.0.0.1, port: {admin}}}
access_log: {{path: stdout}}
drain_timeout: 5s
listeners:
  - name: outbound
    address: 127.0.0.1
    port: {listen}
    protocol: http
    route_config: to_mesh
route_configs:
  - name: to_mesh
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: demo
            match: {{prefix: /}}
            route: {{cluster: demo_inbound, timeout: 15s}}
clusters:
  - name: demo_inbound
    connect_timeout: 2s
    endpoints: ["127.0.0.1:{mesh}"]
    tls:
      cert_file: outbound/cert.pem
      key_file: outbound/key.pem
      trust_bundle: ca/ca.crt
      pq_policy: pq_only_1024
      server_name: localhost
      allow_peers:
        - exact: {server_id}
)",
                     fmt::arg("listen", o.listen_port), fmt::arg("admin", o.admin_port), fmt::arg("mesh", o.mesh_port),
                     fmt::arg("server_id", kQuickstartServerId));
}

std::string inbound_config(const QuickstartOptions& o) {
  return fmt::format(R"(# aegis-flow quick start: the INBOUND sidecar (next to the demo app).
# Accepts only mTLS with ML-KEM-1024 (pq_only_1024) from workloads of
# spiffe://{td}/ns/demo/, and passes the caller's SPIFFE ID to the app in
# x-aegis-peer-identity. Written by `aegis-flow quickstart` on every start.
admin: {{address: 127.0.0.1, port: {admin}}}
access_log: {{path: stdout}}
drain_timeout: 5s
listeners:
  - name: inbound
    address: 127.0.0.1
    port: {mesh}
    protocol: http
    route_config: local_app
    tls:
      cert_file: inbound/cert.pem
      key_file: inbound/key.pem
      trust_bundle: ca/ca.crt
      require_client_cert: true
      pq_policy: pq_only_1024
      allow_peers:
        - prefix: spiffe://{td}/ns/demo/
route_configs:
  - name: local_app
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: demo
            match: {{prefix: /}}
            route:
              cluster: demo_app
              timeout: 15s
              response_headers_to_add: [{{name: x-served-by, value: aegis-flow}}]
clusters:
  - name: demo_app
    endpoints: ["127.0.0.1:{demo}"]
)",
                     fmt::arg("td", kQuickstartTrustDomain), fmt::arg("admin", o.inbound_admin_port),
                     fmt::arg("mesh", o.mesh_port), fmt::arg("demo", o.demo_port));
}

core::Result<void> write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return core::Error{"cannot write " + path.string()};
  return {};
}

// A sidecar: this binary, `run -c FILE`, in its own process group (so a
// terminal's Ctrl-C reaches only the quick start, which forwards SIGTERM once).
class Sidecar {
 public:
  Sidecar(std::string name, const std::filesystem::path& config, const QuickstartOptions& o) : name_(std::move(name)) {
    std::vector<std::string> args{"aegis-flow", "run", "-c", config.string(), "--log-level", o.log_level};
    if (o.concurrency) args.insert(args.end(), {"--concurrency", std::to_string(o.concurrency)});
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    const int rc = posix_spawn(&pid_, "/proc/self/exe", nullptr, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      pid_ = -1;
      spdlog::error("quickstart: cannot start the {} sidecar: {}", name_, std::strerror(rc));
    }
  }
  ~Sidecar() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  bool started() const { return pid_ > 0; }
  const std::string& name() const { return name_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Reaps the process if it ended; true while it runs.
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = status;
      return false;
    }
    return true;
  }
  int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_); }

 private:
  std::string name_;
  pid_t pid_ = -1;
  int status_ = 0;
};

// GET http://127.0.0.1:PORT/ready answers 200.
bool ready(std::uint16_t port) {
  asio::io_context ioc;
  tcp::socket sock(ioc);
  boost::system::error_code ec;
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  const std::string req = "GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  asio::write(sock, asio::buffer(req), ec);
  if (ec) return false;
  char buf[32] = {};
  const auto n = asio::read(sock, asio::buffer(buf), ec);
  return std::string_view(buf, n).substr(0, 12) == "HTTP/1.1 200";
}

}  // namespace

std::filesystem::path default_quickstart_state_dir() {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "aegis-flow" / "quickstart";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".local" / "state" / "aegis-flow" / "quickstart";
}

int run_quickstart(const QuickstartOptions& o) {
  namespace fs = std::filesystem;
  std::error_code fec;
  fs::create_directories(o.state_dir, fec);
  if (fec) {
    spdlog::error("quickstart: cannot create the state directory {}: {}", o.state_dir.string(), fec.message());
    return 1;
  }
  fmt::print(stderr, "\n  aegis-flow quick start: a two-sidecar mesh on 127.0.0.1 (state in {})\n",
             o.state_dir.string());
  if (auto r = ensure_credentials(o); !r) {
    spdlog::error("quickstart: {}", r.error().message);
    return 1;
  }
  const fs::path out_cfg = o.state_dir / "outbound.yaml", in_cfg = o.state_dir / "inbound.yaml";
  for (const auto& [path, text] : {std::pair{out_cfg, outbound_config(o)}, std::pair{in_cfg, inbound_config(o)}}) {
    if (auto r = write_file(path, text); !r) {
      spdlog::error("quickstart: {}", r.error().message);
      return 1;
    }
  }

  asio::io_context demo_ioc{1};
  tcp::acceptor acceptor(demo_ioc);
  boost::system::error_code ec;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), o.demo_port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("quickstart: demo upstream cannot listen on 127.0.0.1:{}: {}", o.demo_port, ec.message());
    return 1;
  }
  asio::co_spawn(demo_ioc, demo_accept(acceptor), asio::detached);
  // Signals are taken synchronously (sigtimedwait) from here on; the
  // sidecars get default dispositions and an empty mask.
  sigset_t waited;
  sigemptyset(&waited);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&waited, sig);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);
  std::thread demo([&] { demo_ioc.run(); });
  auto stop_demo = [&] {
    demo_ioc.stop();
    demo.join();
  };

  Sidecar inbound("inbound", in_cfg, o);
  Sidecar outbound("outbound", out_cfg, o);
  if (!inbound.started() || !outbound.started()) {
    stop_demo();
    return 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!(ready(o.admin_port) && ready(o.inbound_admin_port))) {
    if (!inbound.running() || !outbound.running() || std::chrono::steady_clock::now() > deadline) {
      spdlog::error("quickstart: the sidecars did not become ready (see the messages above)");
      stop_demo();
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  fmt::print(stderr,
             "\n  Running (Ctrl-C to stop):\n"
             "    app --http--> outbound sidecar 127.0.0.1:{listen} --mTLS: MLKEM1024 + ML-DSA-65--> "
             "inbound sidecar 127.0.0.1:{mesh} --http--> demo app 127.0.0.1:{demo}\n\n"
             "    curl -v http://127.0.0.1:{listen}/hello          through the mesh; the demo app echoes\n"
             "                                                     x-aegis-peer-identity (the caller's SPIFFE ID)\n"
             "    curl -s http://127.0.0.1:{in_admin}/stats/prometheus | grep aegis_tls_handshakes_total\n"
             "                                                     the negotiated group and signature (inbound)\n"
             "    curl -s http://127.0.0.1:{admin}/stats/prometheus   outbound sidecar metrics\n"
             "    curl http://127.0.0.1:{admin}/clusters   /config_dump   /ready      (inbound: port {in_admin})\n\n"
             "  Access log lines (JSON) follow on stdout: the inbound's carry tls_group, tls_sigalg and peer_identity.\n"
             "  Configs: {out_cfg} and {in_cfg}\n\n",
             fmt::arg("listen", o.listen_port), fmt::arg("mesh", o.mesh_port), fmt::arg("demo", o.demo_port),
             fmt::arg("admin", o.admin_port), fmt::arg("in_admin", o.inbound_admin_port),
             fmt::arg("out_cfg", out_cfg.string()), fmt::arg("in_cfg", in_cfg.string()));

  // Until Ctrl-C/SIGTERM (forwarded as SIGTERM: both drain) or a sidecar exits.
  int rc = 0;
  bool stopping = false;
  for (;;) {
    timespec tick{0, 200'000'000};
    const int sig = sigtimedwait(&waited, nullptr, &tick);
    if ((sig == SIGINT || sig == SIGTERM) && !stopping) {
      stopping = true;
      fmt::print(stderr, "\n  stopping: the sidecars drain, then exit\n");
      inbound.signal(SIGTERM);
      outbound.signal(SIGTERM);
    } else if (sig == SIGINT || sig == SIGTERM) {
      inbound.signal(SIGKILL);
      outbound.signal(SIGKILL);
    } else if (sig == SIGHUP) {
      inbound.signal(SIGHUP);
      outbound.signal(SIGHUP);
    }
    const bool in_up = inbound.running(), out_up = outbound.running();
    if (!in_up && !out_up) break;
    if (!stopping && (!in_up || !out_up)) {
      Sidecar& gone = in_up ? outbound : inbound;
      spdlog::error("quickstart: the {} sidecar exited (code {}); stopping", gone.name(), gone.exit_code());
      rc = 1;
      stopping = true;
      inbound.signal(SIGTERM);
      outbound.signal(SIGTERM);
    }
  }
  stop_demo();
  if (rc == 0 && (inbound.exit_code() != 0 || outbound.exit_code() != 0)) rc = 1;
  return rc;
}

}  // namespace aegis::app
