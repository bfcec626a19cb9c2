#include "admin/admin_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "stats/stats.h"

namespace aegis::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// A blocking Beast client with a 5 s receive timeout, so a server bug fails the test
// instead of hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) : socket_(ioc_) {
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  http::response<http::string_body> get(const std::string& target,
                                        http::verb method = http::verb::get,
                                        unsigned version = 11) {
    http::request<http::string_body> req{method, target, version};
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(socket_, req);
    return read();
  }

  http::response<http::string_body> read() {
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }

  void send_raw(const std::string& bytes) { asio::write(socket_, asio::buffer(bytes)); }

  // True if the server closed the connection (EOF or reset) without sending anything.
  bool closed_by_peer() {
    std::array<char, 64> scratch{};
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(scratch), ec);
    return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::pair<int, std::string> run_command(const std::string& cmd) {
  std::string output;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) output += buf.data();
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }

  void start(AdminLimits limits) {
    AdminHandlers handlers;
    handlers.config_dump = [] { return std::string(R"({"listeners":[]})"); };
    handlers.clusters = [this] {
      if (clusters_throw_) throw std::runtime_error("cluster view unavailable");
      return std::string(R"({"clusters":[{"name":"backend","endpoints":[]}]})");
    };
    handlers.ready = [this] { return ready_.load(); };
    server_ = std::make_unique<AdminServer>(ioc_, std::move(handlers), limits);
    const auto started = server_->start("127.0.0.1", 0);
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    server_->stop();
    thread_.join();  // returns only once the acceptor and every connection are closed
  }

  void restart(AdminLimits limits) {
    TearDown();
    ioc_.restart();
    start(limits);
  }

  std::uint16_t port() const { return server_->port(); }

  asio::io_context ioc_;
  std::atomic<bool> ready_{true};
  std::atomic<bool> clusters_throw_{false};
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
};

TEST_F(AdminServerTest, HealthzAndReady) {
  Client c(port());
  auto res = c.get("/healthz");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res.body(), "OK\n");

  res = c.get("/ready");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res.body(), "LIVE\n");

  ready_ = false;
  res = c.get("/ready");
  EXPECT_EQ(res.result(), http::status::service_unavailable);
  EXPECT_EQ(res.body(), "DRAINING\n");
}

TEST_F(AdminServerTest, JsonDumps) {
  Client c(port());
  auto res = c.get("/config_dump");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res.body(), R"({"listeners":[]})");

  res = c.get("/clusters");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(res.body(), R"({"clusters":[{"name":"backend","endpoints":[]}]})");

  clusters_throw_ = true;
  res = c.get("/clusters");
  EXPECT_EQ(res.result(), http::status::internal_server_error);
  EXPECT_NE(res.body().find("cluster view unavailable"), std::string::npos);
}

TEST_F(AdminServerTest, IndexNotFoundAndMethodNotAllowed) {
  Client c(port());
  auto res = c.get("/");
  EXPECT_EQ(res.result(), http::status::ok);
  for (const char* path :
       {"/ready", "/healthz", "/config_dump", "/clusters", "/stats", "/stats/prometheus"}) {
    EXPECT_NE(res.body().find(path), std::string::npos) << path;
  }

  res = c.get("/nope");
  EXPECT_EQ(res.result(), http::status::not_found);
  EXPECT_NE(res.body().find("/stats/prometheus"), std::string::npos);
  EXPECT_TRUE(res.keep_alive());

  res = c.get("/healthz", http::verb::post);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET");

  res = c.get("/healthz?verbose=1");  // query strings are ignored
  EXPECT_EQ(res.result(), http::status::ok);
}

TEST_F(AdminServerTest, StatsEndpoints) {
  stats::global().gauge("aegis_admin_test_marker", "Marker for the admin test.").set(5);
  Client c(port());
  auto res = c.get("/stats/prometheus");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body().find("# TYPE aegis_admin_test_marker gauge\n"), std::string::npos);
  EXPECT_NE(res.body().find("\naegis_admin_test_marker 5\n"), std::string::npos);

  res = c.get("/stats");
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_NE(res.body().find("aegis_admin_test_marker 5\n"), std::string::npos);
  EXPECT_EQ(res.body().find('#'), std::string::npos);
}

TEST_F(AdminServerTest, RequestsAreCountedWithBoundedLabels) {
  auto& healthz = stats::global().counter("aegis_admin_requests_total",
                                          "Admin HTTP requests by path.", {{"path", "/healthz"}});
  auto& other = stats::global().counter("aegis_admin_requests_total",
                                        "Admin HTTP requests by path.", {{"path", "other"}});
  const auto healthz_before = healthz.value();
  const auto other_before = other.value();
  Client c(port());
  c.get("/healthz");
  for (int i = 0; i < 20; ++i) c.get("/scan/" + std::to_string(i));
  EXPECT_EQ(healthz.value(), healthz_before + 1);
  EXPECT_EQ(other.value(), other_before + 20);
  const std::string text = c.get("/stats/prometheus").body();
  EXPECT_EQ(text.find("/scan/"), std::string::npos);
}

TEST_F(AdminServerTest, PrometheusOutputPassesPromtool) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/promtool"))
      << "promtool not found: apt-get install prometheus";
  stats::global()
      .histogram("aegis_admin_test_duration_seconds", "Histogram for the admin test.",
                 {{"cluster", "a\"b"}})
      .observe(0.02);
  Client c(port());
  c.get("/nope");
  const std::string text = c.get("/stats/prometheus").body();
  const auto path = std::filesystem::temp_directory_path() /
                    ("aegis_admin_" + std::to_string(::getpid()) + ".prom");
  std::ofstream(path) << text;
  const auto [status, output] =
      run_command("/usr/bin/promtool check metrics < '" + path.string() + "' 2>&1");
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << output << "\n--- exposition ---\n" << text;
  EXPECT_EQ(output, "") << "--- exposition ---\n" << text;
}

TEST_F(AdminServerTest, KeepAliveAndClose) {
  Client c(port());
  for (int i = 0; i < 3; ++i) {
    auto res = c.get("/healthz");
    EXPECT_EQ(res.result(), http::status::ok);
    EXPECT_TRUE(res.keep_alive());
  }
  Client old(port());
  auto res = old.get("/healthz", http::verb::get, 10);  // HTTP/1.0 without keep-alive
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(old.closed_by_peer());
}

TEST_F(AdminServerTest, CurlReusesTheConnection) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/curl"));
  const std::string base = "http://127.0.0.1:" + std::to_string(port());
  const auto [status, output] = run_command(
      "/usr/bin/curl -sS -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\\n' " + base +
      "/healthz " + base + "/ready 2>&1");
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "200 1\n200 0\n");  // second request: no new connection
}

TEST_F(AdminServerTest, HeaderLimitGives431) {
  Client c(port());
  c.send_raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10 * 1024, 'a') +
             "\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result(), http::status::request_header_fields_too_large);
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(AdminServerTest, BodyLimitGives413) {
  Client c(port());
  c.send_raw("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
             std::string(100000, 'b'));
  auto res = c.read();
  EXPECT_EQ(res.result(), http::status::payload_too_large);
}

TEST_F(AdminServerTest, MalformedRequestGives400) {
  Client c(port());
  c.send_raw("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result(), http::status::bad_request);
}

TEST_F(AdminServerTest, ReadTimeoutClosesIdleConnections) {
  AdminLimits limits;
  limits.read_timeout = std::chrono::milliseconds(200);
  restart(limits);
  Client c(port());
  EXPECT_EQ(c.get("/healthz").result(), http::status::ok);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST_F(AdminServerTest, ConnectionLimit) {
  AdminLimits limits;
  limits.max_connections = 1;
  restart(limits);
  Client first(port());
  EXPECT_EQ(first.get("/healthz").result(), http::status::ok);
  Client second(port());
  EXPECT_TRUE(second.closed_by_peer());
  EXPECT_EQ(first.get("/healthz").result(), http::status::ok);
}

TEST_F(AdminServerTest, StopClosesOpenConnections) {
  Client c(port());
  EXPECT_EQ(c.get("/healthz").result(), http::status::ok);
  server_->stop();
  EXPECT_TRUE(c.closed_by_peer());
  // TearDown joins the io thread: it returns only if nothing is left open.
}

TEST(AdminServerStart, ReportsAddressInUseAndBadAddress) {
  asio::io_context ioc;
  AdminServer first(ioc, {});
  ASSERT_TRUE(first.start("127.0.0.1", 0).ok());
  AdminServer second(ioc, {});
  const auto in_use = second.start("127.0.0.1", first.port());
  ASSERT_FALSE(in_use.ok());
  EXPECT_NE(in_use.error().message.find("in use"), std::string::npos) << in_use.error().message;
  EXPECT_NE(in_use.error().message.find(std::to_string(first.port())), std::string::npos);

  AdminServer third(ioc, {});
  const auto bad = third.start("not-an-ip", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not-an-ip"), std::string::npos);

  EXPECT_FALSE(first.start("127.0.0.1", 0).ok());  // already started
  first.stop();
  ioc.run();  // the stop and the accept loop's cancellation complete
}

TEST(AdminServerStart, MissingHandlersGive503) {
  asio::io_context ioc;
  AdminServer server(ioc, {});
  ASSERT_TRUE(server.start("127.0.0.1", 0).ok());
  std::thread io([&] { ioc.run(); });
  {
    Client c(server.port());
    EXPECT_EQ(c.get("/config_dump").result(), http::status::service_unavailable);
    EXPECT_EQ(c.get("/ready").result(), http::status::service_unavailable);
    EXPECT_EQ(c.get("/healthz").result(), http::status::ok);
  }
  server.stop();
  io.join();
}

}  // namespace
}  // namespace aegis::admin
