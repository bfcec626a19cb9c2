// Resilience against real upstream processes: retries (5xx, reset, connect
// failure, per-try timeout, bodies within retry_buffer_limit, num_retries,
// retry budget), an upstream killed under load with zero client errors,
// circuit breakers opening exactly at their limit, the route idle timeout,
// and gRPC-shaped local replies (grpc-status 14 and 4) over HTTP/1.1.
// Counts come from the upstreams' /stats and the proxy's metrics; every
// wait is bounded and nothing asserts on timing.
#include "h2_tools.h"
#include "harness.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace aegis::itest {
namespace {

const std::vector<std::string> kFailAll503 = {"--fail-first", "all", "--fail-with", "503"};

class Retry : public ProxyTest<> {
 protected:
  Retry() : ProxyTest("retry") {}

  // A route retry_policy (14-space indent under routes[0].route).
  static std::string policy(const std::string& body) { return "              retry_policy:\n" + body; }

  double metric(const std::string& name, const Labels& labels) { return proxy_->metric(name, labels).value_or(0); }
  double retries(const std::string& result) {
    return metric("aegis_upstream_retries_total", {{"cluster", "backend"}, {"result", result}});
  }
  std::unique_ptr<Upstream> bad_;
  double overflow(const std::string& breaker) {
    return metric("aegis_upstream_overflow_total", {{"cluster", "backend"}, {"breaker", breaker}});
  }

  // A failing upstream (--fail-with `how`) and a healthy one, behind a
  // route with `retry_policy_yaml`.
  void start_failing_and_healthy(const std::string& how, const std::string& retry_policy_yaml) {
    bad_ = std::make_unique<Upstream>(dir_.path(), "bad", false,
                                      std::vector<std::string>{"--fail-first", "all", "--fail-with", how});
    upstream_ = std::make_unique<Upstream>(dir_.path(), "good");
    auto cfg = config_for({bad_->endpoint(), upstream_->endpoint()});
    cfg.route_extra_yaml = policy(retry_policy_yaml);
    start_proxy(cfg);
  }
  // Only an upstream that answers 503 to everything, behind a route with
  // `retry_policy_yaml` and a cluster with `cluster_yaml`.
  void start_failing(const std::string& retry_policy_yaml, const std::string& cluster_yaml = "") {
    bad_ = std::make_unique<Upstream>(dir_.path(), "bad", false, kFailAll503);
    auto cfg = config_for({bad_->endpoint()});
    cfg.route_extra_yaml = policy(retry_policy_yaml);
    cfg.cluster_extra_yaml = cluster_yaml;
    start_proxy(cfg);
  }
  // `n` requests, each answered 200 (extra_args go to curl before the URL).
  void expect_ok(int n, const std::string& path, const std::vector<std::string>& extra_args = {}) {
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args = extra_args;
      args.push_back(u(path));
      const auto r = curl(dir_.path(), args);
      EXPECT_EQ(r.status, 200) << r.stderr_text;
      EXPECT_FALSE(r.header("grpc-status").has_value()) << "a gRPC error was relayed";
    }
  }

  // Starts `n` GETs of `path` in the background (curl processes).
  std::vector<std::unique_ptr<Process>> start_gets(int n, const std::string& path,
                                                   const std::vector<std::string>& headers = {}) {
    std::vector<std::unique_ptr<Process>> out;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*", "--max-time", "30", "-o", "/dev/null", "-w",
                                       "%{http_code}"};
      for (const auto& h : headers) argv.insert(argv.end(), {"-H", h});
      argv.push_back(u(path));
      out.push_back(std::make_unique<Process>("curl-bg-" + std::to_string(i), argv, dir_.path()));
    }
    return out;
  }
  static void expect_all_ok(std::vector<std::unique_ptr<Process>>& procs) {
    for (auto& p : procs) {
      const auto st = p->wait_for(40s);
      ASSERT_TRUE(st.has_value()) << p->name() << " did not finish";
      EXPECT_EQ(p->stdout_text(), "200") << p->name() << ": " << p->stderr_text();
    }
  }
  // Polls until `pred` holds (bounded).
  template <class Pred>
  static bool eventually(Pred pred, Millis timeout = 15s) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return pred();
  }
};

TEST_F(Retry, On5xxGoesToTheHealthyUpstream) {
  Upstream bad(dir_.path(), "bad", false, kFailAll503);
  Upstream good(dir_.path(), "good");
  auto cfg = config_for({bad.endpoint(), good.endpoint()});
  cfg.access_log = (dir_ / "access.log").string();
  cfg.route_extra_yaml = policy("                retry_on: [5xx]\n");
  start_proxy(cfg);
  expect_ok(10, "/status/200");
  const auto failed = bad.stat("failed");
  EXPECT_GE(failed, 1u) << "round robin over two endpoints never tried the failing one";
  EXPECT_EQ(good.stat("requests"), 10u + 1u);  // + this /stats request
  EXPECT_EQ(retries("attempted"), static_cast<double>(failed));
  EXPECT_EQ(retries("succeeded"), static_cast<double>(failed));
  EXPECT_EQ(retries("exhausted"), 0);
  const std::string log = read_file(dir_ / "access.log");
  EXPECT_NE(log.find("\"retries\":1"), std::string::npos) << log;
}

TEST_F(Retry, OnResetGoesToTheHealthyUpstream) {
  start_failing_and_healthy("reset", "                retry_on: [reset]\n");
  expect_ok(8, "/status/200");
  EXPECT_GE(bad_->stat("failed"), 1u);
  EXPECT_EQ(retries("attempted"), static_cast<double>(bad_->stat("failed")));
}

TEST_F(Retry, OnConnectFailureGoesToTheHealthyUpstream) {
  const std::uint16_t dead = free_port();  // nothing listens here
  Upstream good(dir_.path(), "good");
  auto cfg = config_for({"127.0.0.1:" + std::to_string(dead), good.endpoint()});
  cfg.route_extra_yaml = policy("                retry_on: [connect-failure]\n");
  start_proxy(cfg);
  for (int i = 0; i < 8; ++i) {
    // POST: a connect failure sent nothing, so any method is retried.
    const auto r = curl(dir_.path(), {"-X", "POST", "--data-binary", "hello", u("/sha256")});
    EXPECT_EQ(r.status, 200) << r.stderr_text;
    EXPECT_EQ(r.header("x-body-sha256"), sha256_hex("hello"));
  }
  EXPECT_GE(metric("aegis_upstream_connect_failures_total", {{"cluster", "backend"}}), 1);
  EXPECT_EQ(retries("attempted"), metric("aegis_upstream_connect_failures_total", {{"cluster", "backend"}}));
}

TEST_F(Retry, NumRetriesIsRespected) {
  start_failing("                retry_on: [gateway-error]\n                num_retries: 3\n");
  const auto r = curl(dir_.path(), {u("/status/200")});
  EXPECT_EQ(r.status, 503);  // the last attempt's answer, relayed as it is
  EXPECT_EQ(r.body, "failed on purpose\n");
  EXPECT_EQ(bad_->stat("failed"), 4u);  // 1 + num_retries
  EXPECT_EQ(retries("attempted"), 3);
  EXPECT_EQ(retries("exhausted"), 1);
  EXPECT_EQ(retries("succeeded"), 0);
}

TEST_F(Retry, PostBodyIsReplayedOnlyWithinRetryBufferLimit) {
  Upstream bad(dir_.path(), "bad", false, kFailAll503);
  Upstream good(dir_.path(), "good");
  auto cfg = config_for({bad.endpoint(), good.endpoint()});
  cfg.route_extra_yaml = policy(
      "                retry_on: [5xx]\n"
      "                retry_non_idempotent: true\n"
      "                retry_buffer_limit: 65536\n");
  start_proxy(cfg);

  const fs::path small = dir_ / "small.bin", large = dir_ / "large.bin";
  write_pattern_file(small, 60000);
  write_pattern_file(large, 100000);
  for (int i = 0; i < 6; ++i) {
    const auto r = curl(dir_.path(), {"-X", "POST", "--data-binary", "@" + small.string(), u("/sha256")});
    ASSERT_EQ(r.status, 200) << r.stderr_text;
    // The upstream that answered saw exactly the body the client sent.
    EXPECT_EQ(r.header("x-body-sha256"), pattern_sha256(60000));
    EXPECT_EQ(r.header("x-body-length"), "60000");
  }
  const auto failed_small = bad.stat("failed");
  EXPECT_GE(failed_small, 1u);
  EXPECT_EQ(retries("attempted"), static_cast<double>(failed_small));

  // Over the limit the body is not kept: an attempt that fails is final.
  int refused = 0;
  for (int i = 0; i < 6; ++i) {
    const auto r = curl(dir_.path(), {"-X", "POST", "--data-binary", "@" + large.string(), u("/sha256")});
    if (r.status == 503) {
      ++refused;
    } else {
      EXPECT_EQ(r.status, 200) << r.stderr_text;
      EXPECT_EQ(r.header("x-body-sha256"), pattern_sha256(100000));
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_EQ(static_cast<std::uint64_t>(refused), bad.stat("failed") - failed_small);
  EXPECT_EQ(retries("attempted"), static_cast<double>(failed_small)) << "a body over the limit was retried";
}

TEST_F(Retry, PostIsNotRetriedWithoutRetryNonIdempotent) {
  start_failing("                retry_on: [5xx]\n");
  const auto post = curl(dir_.path(), {"-X", "POST", "--data-binary", "x", u("/sha256")});
  EXPECT_EQ(post.status, 503);
  EXPECT_EQ(bad_->stat("failed"), 1u);
  const auto put = curl(dir_.path(), {"-X", "PUT", "--data-binary", "x", u("/sha256")});
  EXPECT_EQ(put.status, 503);
  EXPECT_EQ(bad_->stat("failed"), 3u);  // PUT is idempotent: retried once
}

TEST_F(Retry, PerTryTimeoutThenSuccessOnTheNextTry) {
  start_failing_and_healthy("hang", "                retry_on: [5xx]\n                per_try_timeout: 300ms\n");
  expect_ok(4, "/status/200");
  const auto hung = bad_->stat("failed");
  EXPECT_GE(hung, 1u);
  EXPECT_EQ(metric("aegis_upstream_per_try_timeouts_total", {{"cluster", "backend"}}), static_cast<double>(hung));
  EXPECT_EQ(retries("succeeded"), static_cast<double>(hung));
}

TEST_F(Retry, RetryBudgetCapsRetries) {
  // 1% of a handful of requests in flight, no minimum: a budget of 0.
  start_failing("                retry_on: [5xx]\n                num_retries: 2\n",
                "    retry_budget: {budget_percent: 1, min_retry_concurrency: 0}\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(curl(dir_.path(), {u("/status/200")}).status, 503);
  EXPECT_EQ(bad_->stat("failed"), 3u);  // no retries
  EXPECT_EQ(retries("budget_exceeded"), 3);
  EXPECT_EQ(retries("attempted"), 0);
}

TEST_F(Retry, MaxRetriesBreakerStopsRetries) {
  start_failing("                retry_on: [5xx]\n", "    circuit_breakers: {max_retries: 0}\n");
  EXPECT_EQ(curl(dir_.path(), {u("/status/200")}).status, 503);  // the upstream's own answer
  EXPECT_EQ(bad_->stat("failed"), 1u);
  EXPECT_EQ(overflow("max_retries"), 1);
  EXPECT_EQ(retries("attempted"), 0);
}

TEST_F(Retry, OnGrpcStatusOfATrailersOnlyResponse) {
  start_failing_and_healthy("grpc-14", "                retry_on: [unavailable]\n");
  expect_ok(6, "/status/200", {"-H", "content-type: application/grpc"});
  EXPECT_GE(bad_->stat("failed"), 1u);
  EXPECT_EQ(retries("succeeded"), static_cast<double>(bad_->stat("failed")));
}

TEST_F(Retry, KillOneOfThreeUpstreamsUnderLoadNoClientErrors) {
  const std::string wrk = find_tool("wrk");
  ASSERT_FALSE(wrk.empty()) << "wrk is required (Debian package wrk)";
  Upstream a(dir_.path(), "a"), b(dir_.path(), "b"), c(dir_.path(), "c");
  auto cfg = config_for({a.endpoint(), b.endpoint(), c.endpoint()});
  cfg.access_log = "";
  cfg.route_extra_yaml = policy("                retry_on: [5xx, reset, connect-failure]\n                num_retries: 2\n");
  cfg.cluster_extra_yaml = "    circuit_breakers: {max_retries: 1000}\n";
  start_proxy(cfg);
  Process load("wrk", {wrk, "-t2", "-c8", "-d5s", "--timeout", "5s", u("/status/200")}, dir_.path());
  ASSERT_TRUE(eventually([&] { return b.stat("requests") > 200; })) << "no load reached upstream b";
  b.process().kill();
  const auto st = load.wait_for(30s);
  ASSERT_TRUE(st.has_value()) << "wrk did not finish";
  const WrkSummary s = parse_wrk(load.stdout_text());
  std::printf("wrk with one of three upstreams killed:\n%s\n", s.raw.c_str());
  ASSERT_GT(s.requests, 0) << s.raw;
  EXPECT_EQ(s.non_2xx, 0) << s.raw;
  EXPECT_EQ(s.socket_errors, 0) << s.raw;
  EXPECT_GT(a.stat("requests") + c.stat("requests"), 0u);
  EXPECT_GE(retries("attempted"), 1) << "the kill went unnoticed: no retry was needed";
}

TEST_F(Retry, MaxRequestsBreakerOpensExactlyAtItsLimit) {
  upstream_ = std::make_unique<Upstream>(dir_.path());
  auto cfg = config_for({upstream_->endpoint()});
  cfg.cluster_extra_yaml = "    circuit_breakers: {max_requests: 3}\n";
  start_proxy(cfg);
  auto slow = start_gets(3, "/slow?ms=4000");
  ASSERT_TRUE(eventually([&] { return upstream_->stat("inflight") == 3; })) << "the slow requests did not arrive";
  const auto over = curl(dir_.path(), {u("/status/200")});
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.header("x-aegis-overloaded"), "true");
  // A gRPC request over the limit gets the same refusal, gRPC-shaped.
  const auto grpc = curl(dir_.path(), {"-H", "content-type: application/grpc", u("/status/200")});
  EXPECT_EQ(grpc.status, 200);
  EXPECT_EQ(grpc.header("grpc-status"), "14");
  EXPECT_EQ(grpc.header("x-aegis-overloaded"), "true");
  EXPECT_EQ(overflow("max_requests"), 2);
  expect_all_ok(slow);
  EXPECT_EQ(curl(dir_.path(), {u("/status/200")}).status, 200);  // closed again
  EXPECT_EQ(overflow("max_requests"), 2);
}

TEST_F(Retry, MaxConnectionsBreakerOpensExactlyAtItsLimit) {
  upstream_ = std::make_unique<Upstream>(dir_.path());
  auto cfg = config_for({upstream_->endpoint()});
  cfg.cluster_extra_yaml = "    circuit_breakers: {max_connections: 2}\n";
  // One worker: idle connections count too, and with two workers the next
  // request could land on the worker whose pool is empty (correctly refused).
  cfg_ = cfg;
  proxy_ = std::make_unique<Proxy>(dir_.path(), http_proxy_config(cfg), cfg.admin_port,
                                   std::vector<std::uint16_t>{cfg.listener_port}, "aegis-flow",
                                   std::vector<std::string>{"--concurrency", "1"});
  AEGIS_ASSERT_READY(*proxy_);
  auto slow = start_gets(2, "/slow?ms=4000");
  ASSERT_TRUE(eventually([&] { return upstream_->stat("inflight") == 2; }));
  const auto over = curl(dir_.path(), {u("/status/200")});
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.header("x-aegis-overloaded"), "true");
  EXPECT_EQ(overflow("max_connections"), 1);
  EXPECT_EQ(metric("aegis_upstream_connections_total", {{"cluster", "backend"}}), 2);
  expect_all_ok(slow);
  // The two connections are idle in the worker's pool now and serve again.
  EXPECT_EQ(curl(dir_.path(), {u("/status/200")}).status, 200);
  EXPECT_EQ(overflow("max_connections"), 1);
}

// A TCP listener that never accepts: connects complete in the kernel and
// a TLS handshake on them waits forever (a pending request).
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("silent listener");
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() {
    for (int fd : accepted_) ::close(fd);
    ::close(fd_);
  }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  std::uint16_t port() const { return port_; }
  // Accepts one connection (kept open, never read), waiting up to `timeout`.
  bool accept_one(Millis timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
    const int fd = ::accept(fd_, nullptr, nullptr);
    if (fd < 0) return false;
    accepted_.push_back(fd);
    return true;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<int> accepted_;
};

TEST_F(Retry, MaxPendingRequestsBreakerOpensExactlyAtItsLimit) {
  const auto ca = certs_init_ca(dir_.path(), dir_ / "ca", "aegis.test");
  ASSERT_TRUE(ca.status.ok()) << ca.err;
  SilentListener silent;
  auto cfg = config_for({"127.0.0.1:" + std::to_string(silent.port())});
  cfg.cluster_extra_yaml = "    circuit_breakers: {max_pending_requests: 2}\n"
                           "    tls: {trust_bundle: \"" + (dir_ / "ca" / "ca.crt").string() + "\"}\n";
  std::string yaml = http_proxy_config(cfg);
  const auto at = yaml.find("connect_timeout: 1s");
  ASSERT_NE(at, std::string::npos);
  yaml.replace(at, 19, "connect_timeout: 20s");  // the handshakes stay pending through the test
  cfg_ = cfg;
  proxy_ = std::make_unique<Proxy>(dir_.path(), yaml, cfg.admin_port, std::vector<std::uint16_t>{cfg.listener_port});
  AEGIS_ASSERT_READY(*proxy_);

  auto pending = start_gets(2, "/status/200");
  ASSERT_TRUE(silent.accept_one(15s));
  ASSERT_TRUE(silent.accept_one(15s));
  const auto over = curl(dir_.path(), {u("/status/200")});
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.header("x-aegis-overloaded"), "true");
  EXPECT_EQ(overflow("max_pending_requests"), 1);
  EXPECT_FALSE(silent.accept_one(300ms)) << "the refused request still connected";
  for (auto& p : pending) p->kill();
}

TEST_F(Retry, RouteIdleTimeoutEndsAStalledExchange) {
  upstream_ = std::make_unique<Upstream>(dir_.path());
  auto cfg = config_for({upstream_->endpoint()});
  cfg.route_extra_yaml = "              idle_timeout: 500ms\n";
  start_proxy(cfg);
  const auto stalled = curl(dir_.path(), {u("/slow?ms=5000")});
  EXPECT_EQ(stalled.status, 504);
  // A response whose bytes keep moving is not idle, however long it takes.
  const auto paced = curl(dir_.path(), {u("/bytes/1048576?pace_ms=200")});
  EXPECT_EQ(paced.status, 200);
  EXPECT_EQ(paced.body.size(), 1048576u);
  EXPECT_EQ(paced.header("x-sha256"), pattern_sha256(1048576));
}

// The same policies for HTTP/2 clients (h2c, nghttp): a 5xx is retried on
// the healthy endpoint, a POST body is replayed, and the route idle timeout
// ends only the stalled stream.
TEST_F(Retry, Http2ClientsGetRetriesAndTheIdleTimeout) {
  Upstream bad(dir_.path(), "bad", false, kFailAll503);
  Upstream good(dir_.path(), "good");
  auto cfg = config_for({bad.endpoint(), good.endpoint()});
  cfg.route_extra_yaml = policy("                retry_on: [5xx]\n                retry_non_idempotent: true\n") +
                         "              idle_timeout: 500ms\n";
  start_proxy(cfg);
  for (int i = 0; i < 6; ++i) {
    const auto r = nghttp(dir_.path(), {u("/status/200")});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status(), 200) << r.describe();
  }
  const auto failed = bad.stat("failed");
  EXPECT_GE(failed, 1u) << "round robin over two endpoints never tried the failing one";
  EXPECT_EQ(retries("attempted"), static_cast<double>(failed));
  // A POST body (64 KiB, within retry_buffer_limit) replayed after the 503.
  write_pattern_file(dir_ / "body.bin", 65536);
  for (int i = 0; i < 4; ++i) {
    const auto r = nghttp(dir_.path(), {u("/sha256")}, {"-d", (dir_ / "body.bin").string()});
    ASSERT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(r.status(), 200) << r.describe();
    EXPECT_EQ(r.body, pattern_sha256(65536) + " 65536\n");
  }
  EXPECT_GT(bad.stat("failed"), failed) << "no POST went to the failing endpoint first";
  // Idle: the stalled stream gets 504; a paced one is not idle.
  const auto stalled = nghttp(dir_.path(), {u("/slow?ms=5000")});
  EXPECT_EQ(stalled.status(), 504) << stalled.describe();
  const auto paced = nghttp(dir_.path(), {u("/bytes/262144?pace_ms=200")});
  EXPECT_EQ(paced.status(), 200) << paced.describe();
  EXPECT_EQ(paced.body.size(), 262144u);
}

TEST_F(Retry, GrpcRequestToADeadClusterGetsUnavailable) {
  const std::uint16_t dead = free_port();
  start_proxy(config_for({"127.0.0.1:" + std::to_string(dead)}));
  const auto grpc = curl(dir_.path(), {"-X", "POST", "-H", "content-type: application/grpc+proto", "--data-binary",
                                       "", u("/pkg.Service/Method")});
  EXPECT_EQ(grpc.status, 200);
  EXPECT_EQ(grpc.header("content-type"), "application/grpc");
  EXPECT_EQ(grpc.header("grpc-status"), "14");
  EXPECT_TRUE(grpc.header("grpc-message").has_value());
  EXPECT_EQ(grpc.body, "");
  // The same request without gRPC's content type: a plain 503.
  const auto plain = curl(dir_.path(), {"-X", "POST", "--data-binary", "", u("/pkg.Service/Method")});
  EXPECT_EQ(plain.status, 503);
  EXPECT_FALSE(plain.header("grpc-status").has_value());
}

TEST_F(Retry, GrpcRequestOverARateLimitGetsUnavailable) {
  upstream_ = std::make_unique<Upstream>(dir_.path());
  auto cfg = config_for({upstream_->endpoint()});
  cfg.route_extra_yaml = "              rate_limit: {requests_per_second: 1, burst: 1}\n";
  start_proxy(cfg);
  int limited = 0;
  for (int i = 0; i < 5; ++i) {
    const auto r = curl(dir_.path(), {"-H", "content-type: application/grpc", u("/status/200")});
    EXPECT_EQ(r.status, 200);  // 429 → trailers-only UNAVAILABLE (grpc's HTTP mapping)
    if (r.header("grpc-status")) {
      ++limited;
      EXPECT_EQ(r.header("grpc-status"), "14");
      EXPECT_TRUE(r.header("retry-after").has_value());
    }
  }
  EXPECT_GE(limited, 1);
  EXPECT_EQ(metric("aegis_http_rate_limited_total", {{"route", "default"}}), limited);
}

TEST_F(Retry, GrpcTimeoutIsTheDeadline) {
  start_with_upstream();
  const auto late = curl(dir_.path(), {"-H", "content-type: application/grpc", "-H", "grpc-timeout: 200m",
                                       u("/slow?ms=5000")});
  EXPECT_EQ(late.status, 200);
  EXPECT_EQ(late.header("grpc-status"), "4");  // DEADLINE_EXCEEDED
  EXPECT_EQ(metric("aegis_upstream_timeouts_total", {{"cluster", "backend"}}), 1);
  // A malformed grpc-timeout is ignored (and counted): the request goes through.
  const auto bad = curl(dir_.path(), {"-H", "content-type: application/grpc", "-H", "grpc-timeout: 123456789m",
                                      u("/slow?ms=10")});
  EXPECT_EQ(bad.status, 200);
  EXPECT_FALSE(bad.header("grpc-status").has_value());
  EXPECT_EQ(metric("aegis_grpc_timeout_invalid_total", {{"listener", "ingress"}}), 1);
}

}  // namespace
}  // namespace aegis::itest
