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

#include <thread>

#include "app/server.h"

namespace aegis::app {

const char* const kQuickstartConfig = R"(# aegis-flow quick start (embedded; see examples/aegis-flow.yaml for a file)
admin:
  address: 127.0.0.1
  port: 9901
access_log:
  path: stdout
drain_timeout: 5s
listeners:
  - name: ingress
    address: 127.0.0.1
    port: 10000
    protocol: http
    route_config: local
route_configs:
  - name: local
    virtual_hosts:
      - name: all
        domains: ["*"]
        routes:
          - name: demo
            match: {prefix: /}
            route:
              cluster: demo
              timeout: 15s
              response_headers_to_add: [{name: x-served-by, value: aegis-flow}]
clusters:
  - name: demo
    lb_policy: round_robin
    connect_timeout: 1s
    endpoints: ["127.0.0.1:18080"]
)";

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The demo upstream: answers every request with what it saw, so a new user
// can see the headers the proxy added (x-forwarded-for, x-request-id, ...).
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
    std::string body = fmt::format("Hello from the aegis-flow demo upstream (127.0.0.1:18080).\n\n{} {} HTTP/{}.{}\n",
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

}  // namespace

int run_quickstart(std::size_t concurrency) {
  asio::io_context demo_ioc{1};
  tcp::acceptor acceptor(demo_ioc);
  boost::system::error_code ec;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 18080);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    spdlog::error("quickstart: demo upstream cannot listen on 127.0.0.1:18080: {}", ec.message());
    return 1;
  }
  asio::co_spawn(demo_ioc, demo_accept(acceptor), asio::detached);
  std::thread demo([&] { demo_ioc.run(); });

  ServerOptions opts;
  opts.embedded = kQuickstartConfig;
  opts.concurrency = concurrency;
  opts.on_ready = [](const config::Config&) {
    fmt::print(stderr,
               "\n  aegis-flow quick start is running (Ctrl-C to stop).\n\n"
               "    curl -v http://127.0.0.1:10000/hello           proxied to the demo upstream\n"
               "    curl http://127.0.0.1:9901/stats/prometheus     metrics\n"
               "    curl http://127.0.0.1:9901/clusters             upstream endpoints and counters\n"
               "    curl http://127.0.0.1:9901/config_dump          the active configuration\n"
               "    curl http://127.0.0.1:9901/ready                readiness\n\n"
               "  The access log (one JSON line per request) follows on stdout.\n\n");
  };
  const int rc = run_server(opts);
  demo_ioc.stop();
  demo.join();
  return rc;
}

}  // namespace aegis::app
