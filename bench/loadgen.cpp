// aegis-bench-loadgen: an open-loop, constant-rate HTTP load generator (a
// benchmark tool, not a test). Closed-loop tools (wrk, h2load) send the next
// request only when the previous one returned, so a slow server also slows the
// load and its queueing never shows up in their latencies (coordinated
// omission). Here request i of a connection is due at a fixed time; latency is
// measured from that intended time to the response's last byte, however late
// the request actually left. See docs/benchmark-methods.md, "Open-loop load generator".
//
//   aegis-bench-loadgen --url http://127.0.0.1:8080/ --rate 2000 --connections 16 --duration 10
//   aegis-bench-loadgen --url https://localhost:8443/ --http 2 --ca ca.pem --groups MLKEM1024 --json
//   aegis-bench-loadgen --self-test
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "loadgen_connection.h"
#include "loadgen_histogram.h"
#include "tls/tls_context.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC 12 and coroutine frames, see loadgen_connection.cpp
#endif

namespace {

namespace asio = boost::asio;
using aegis::bench::Clock;
using aegis::bench::Connection;
using aegis::bench::LatencyHistogram;
using aegis::bench::RunPlan;
using aegis::bench::Worker;
using aegis::bench::WorkerStats;

struct Options {
  std::string url;
  std::string http = "1.1";
  std::string ca_file, cert_file, key_file, groups;
  bool insecure = false;
  unsigned connections = 64;
  double rate = 1000;
  double duration = 10;
  double warmup = 2;
  double timeout = 10;
  unsigned threads = 1;
  bool json = false;
  bool self_test = false;
};

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path = "/";
};

std::optional<Url> parse_url(const std::string& url) {
  Url u;
  std::string_view rest(url);
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
    u.tls = true;
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
  u.port = u.tls ? "443" : "80";
  if (hostport.starts_with('[')) {  // [v6]:port
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (hostport.starts_with(':')) u.port = std::string(hostport.substr(1));
  } else {
    const auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(hostport.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty()) return std::nullopt;
  return u;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    if (!out.empty()) out += "; ";
    out += buf.data();
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// The client context: the server verified against --ca (or the system roots)
// unless --insecure; ALPN offers only the protocol asked for.
aegis::tls::SslCtxPtr make_tls_context(const Options& o) {
  aegis::tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) throw std::runtime_error("SSL_CTX_new: " + openssl_errors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!o.groups.empty() && SSL_CTX_set1_groups_list(ctx.get(), o.groups.c_str()) != 1)
    throw std::runtime_error("--groups " + o.groups + " not accepted: " + openssl_errors());
  if (o.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    const bool loaded = o.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get()) == 1
                                          : SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) == 1;
    if (!loaded) throw std::runtime_error("cannot load the CA file '" + o.ca_file + "': " + openssl_errors());
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1)
      throw std::runtime_error("client certificate --cert " + o.cert_file + " / --key " + o.key_file + ": " +
                               openssl_errors());
  }
  static constexpr std::array<unsigned char, 3> kH2{2, 'h', '2'};
  static constexpr std::array<unsigned char, 9> kH1{8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  const int alpn_rc = o.http == "2" ? SSL_CTX_set_alpn_protos(ctx.get(), kH2.data(), kH2.size())
                                    : SSL_CTX_set_alpn_protos(ctx.get(), kH1.data(), kH1.size());
  if (alpn_rc != 0) throw std::runtime_error("SSL_CTX_set_alpn_protos failed");
  return ctx;
}

// --self-test: the histogram's percentiles of known distributions are within
// its bucket precision (1/128 of the value), merging adds up, max is exact.
int self_test() {
  int failures = 0;
  auto expect_near = [&](const char* what, uint64_t got, double want) {
    const double tolerance = want / 128.0 + 1.0;
    const bool ok = std::abs(static_cast<double>(got) - want) <= tolerance;
    fmt::print("{} {}: got {}, want {} +- {:.0f}\n", ok ? "ok  " : "FAIL", what, got, want, tolerance);
    if (!ok) ++failures;
  };
  LatencyHistogram uniform;  // 1..100000 µs, each once
  for (uint64_t v = 1; v <= 100'000; ++v) uniform.record(v);
  expect_near("uniform p50", uniform.percentile(50), 50'000);
  expect_near("uniform p90", uniform.percentile(90), 90'000);
  expect_near("uniform p99", uniform.percentile(99), 99'000);
  expect_near("uniform p99.9", uniform.percentile(99.9), 99'900);
  expect_near("uniform max", uniform.max(), 100'000);
  LatencyHistogram small;  // below 256 µs every value has its own bucket
  for (uint64_t v = 1; v <= 200; ++v) small.record(v);
  expect_near("exact p50", small.percentile(50), 100);
  expect_near("exact p99", small.percentile(99), 198);
  LatencyHistogram bimodal_a, bimodal_b;  // 99 % at 500 µs, 1 % at 2 s, in two merged halves
  for (int i = 0; i < 9'900; ++i) (i % 2 == 0 ? bimodal_a : bimodal_b).record(500);
  for (int i = 0; i < 100; ++i) (i % 2 == 0 ? bimodal_a : bimodal_b).record(2'000'000);
  bimodal_a.merge(bimodal_b);
  expect_near("merged count", bimodal_a.count(), 10'000);
  expect_near("bimodal p50", bimodal_a.percentile(50), 500);
  expect_near("bimodal p99", bimodal_a.percentile(99), 500);
  expect_near("bimodal p99.9", bimodal_a.percentile(99.9), 2'000'000);
  LatencyHistogram clamp;  // beyond 60 s: clamped, not lost
  clamp.record(3'600'000'000);
  expect_near("clamped max", clamp.max(), 60'000'000);
  expect_near("empty p50", LatencyHistogram().percentile(50), 0);
  fmt::print("{}\n", failures == 0 ? "histogram self-test passed" : "histogram self-test FAILED");
  return failures == 0 ? 0 : 1;
}

// CPU seconds this process used (user + system): whether the generator itself was the limit.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

void report(const Options& o, const RunPlan& plan, const WorkerStats& s, const std::string& first_error) {
  const double achieved = static_cast<double>(s.completed_in_window) / o.duration;
  const double cpu = cpu_seconds();
  const double cpu_pct = 100.0 * cpu / (o.warmup + o.duration);
  const auto& h = s.latency;
  fmt::print("target   {} (HTTP/{}{}), {} connections, {} thread(s)\n", o.url, o.http, plan.tls ? ", TLS" : "",
             o.connections, o.threads);
  fmt::print("rate     {:.0f} req/s intended, {:.0f} req/s achieved (2xx responses in the {:.0f} s window)\n", o.rate,
             achieved, o.duration);
  fmt::print("requests {} answered, {} sent, {} late (> 1 ms after the intended time), {} unfinished\n", s.requests,
             s.sent, s.late, s.unfinished);
  fmt::print("errors   {} (connect {}, non-2xx {}, reset/closed {}, timeout {})\n", s.errors(), s.err_connect,
             s.err_status, s.err_reset, s.err_timeout);
  fmt::print("cpu      {:.2f} s of CPU for the whole run ({:.0f} % of one core, warm-up included)\n", cpu, cpu_pct);
  if (!first_error.empty()) fmt::print("first error: {}\n", first_error);
  fmt::print("latency from the intended send time (µs), {} recorded:\n", h.count());
  fmt::print("  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}\n", h.percentile(50), h.percentile(90), h.percentile(99),
             h.percentile(99.9), h.max());
  if (o.json) {
    fmt::print(
        "{{\"rate_target\": {:.1f}, \"rate_achieved\": {:.1f}, \"requests\": {}, \"errors\": {}, \"late\": {}, "
        "\"unfinished\": {}, \"p50_us\": {}, \"p90_us\": {}, \"p99_us\": {}, \"p999_us\": {}, \"max_us\": {}, "
        "\"connections\": {}, \"http\": \"{}\", \"tls\": {}, \"duration_s\": {}, \"cpu_pct\": {:.0f}}}\n",
        o.rate, achieved, s.requests, s.errors(), s.late, s.unfinished, h.percentile(50), h.percentile(90),
        h.percentile(99), h.percentile(99.9), h.max(), o.connections, o.http, plan.tls ? "true" : "false", o.duration,
        cpu_pct);
  }
}

int run(const Options& o) {
  const auto url = parse_url(o.url);
  if (!url) throw std::runtime_error("--url " + o.url + ": expected http://HOST:PORT/PATH or https://...");
  if (o.cert_file.empty() != o.key_file.empty()) throw std::runtime_error("--cert and --key go together");
  if (o.threads > o.connections) throw std::runtime_error("--threads must not exceed --connections");

  RunPlan plan;
  plan.tls = url->tls;
  plan.insecure = o.insecure;
  plan.http2 = o.http == "2";
  plan.host = url->host;
  plan.path = url->path;
  plan.authority = (url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host) + ":" + url->port;
  {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    plan.endpoint = *resolver.resolve(url->host, url->port).begin();
  }
  aegis::tls::SslCtxPtr ssl_ctx;
  if (plan.tls) ssl_ctx = make_tls_context(o);
  plan.ssl_ctx = ssl_ctx.get();
  plan.connections = o.connections;
  plan.rate_per_connection = o.rate / o.connections;
  plan.timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.timeout));
  // The schedule starts shortly after the threads do; connecting falls in the warm-up.
  plan.start = Clock::now() + std::chrono::milliseconds(50);
  plan.measure_start =
      plan.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  plan.end =
      plan.measure_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::vector<std::unique_ptr<Connection>>> connections(o.threads);
  for (unsigned t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>(plan));
  for (unsigned c = 0; c < o.connections; ++c) {
    const unsigned t = c % o.threads;
    connections.at(t).push_back(std::make_unique<Connection>(*workers.at(t), c));
  }
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      Worker& w = *workers.at(t);
      auto& conns = connections.at(t);
      for (auto& c : conns) c->spawn();
      asio::steady_timer finish(w.io, plan.end);
      finish.async_wait([&](const boost::system::error_code&) {
        w.stopped = true;
        for (auto& c : conns) c->stop();
      });
      w.io.run();
      conns.clear();  // sockets and timers go before their io_context
    });
  }
  for (auto& th : threads) th.join();

  WorkerStats total;
  std::string first_error;
  for (const auto& w : workers) {
    total.merge(w->stats);
    if (first_error.empty()) first_error = w->first_error;
  }
  report(o, plan, total, first_error);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // OpenSSL writes to the socket itself (net::Stream)
  Options o;
  CLI::App app{"aegis-bench-loadgen: open-loop constant-rate HTTP load (latency from the intended send time)"};
  app.add_option("--url", o.url, "http://HOST:PORT/PATH or https://HOST:PORT/PATH");
  app.add_option("--http", o.http, "1.1 or 2 (h2c prior knowledge on http, ALPN h2 on https)")
      ->check(CLI::IsMember({"1.1", "2"}));
  app.add_option("--ca", o.ca_file, "PEM roots that verify the server (default: the system's)");
  app.add_option("--cert", o.cert_file, "client certificate chain (PEM), with --key");
  app.add_option("--key", o.key_file, "client private key (PEM), with --cert");
  app.add_option("--groups", o.groups, "TLS key-exchange groups offered, e.g. MLKEM1024 or X25519MLKEM768:X25519");
  app.add_flag("--insecure", o.insecure, "do not verify the server's certificate");
  app.add_option("--connections", o.connections, "connections in total")->check(CLI::Range(1u, 100000u));
  app.add_option("--rate", o.rate, "requests per second in total (constant)")->check(CLI::PositiveNumber);
  app.add_option("--duration", o.duration, "measured seconds")->check(CLI::PositiveNumber);
  app.add_option("--warmup", o.warmup, "seconds at the same rate before measuring (not recorded)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--timeout", o.timeout, "seconds a connect or a request may take before it counts as an error")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", o.threads, "threads, each with its own io_context and share of connections")
      ->check(CLI::Range(1u, 256u));
  app.add_flag("--json", o.json, "also print one JSON line with the results");
  app.add_flag("--self-test", o.self_test, "check the latency histogram and exit");
  CLI11_PARSE(app, argc, argv);
  if (o.self_test) return self_test();
  if (o.url.empty()) {
    std::fprintf(stderr, "aegis-bench-loadgen: --url is required (or --self-test)\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "aegis-bench-loadgen: %s\n", e.what());
    return 1;
  }
}
