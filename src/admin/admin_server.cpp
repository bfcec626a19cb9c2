#include "admin/admin_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <exception>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "attest/board.h"
#include "stats/stats.h"

namespace aegis::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kTextType = "text/plain; charset=utf-8";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";
// After a refusal or "Connection: close", unread request bytes are drained this long so
// the client reads our response instead of a TCP reset.
constexpr std::chrono::milliseconds kLingerTimeout{1000};

struct Reply {
  http::status status;
  std::string_view content_type;
  std::string body;
};

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
};

// Completion handler for detached coroutines: nothing may escape silently.
void log_failure(const std::exception_ptr& error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("admin: connection coroutine failed: {}", e.what());
  }
}

}  // namespace

struct AdminServer::State {
  State(asio::io_context& ioc, AdminHandlers h, AdminLimits l)
      : strand(asio::make_strand(ioc)), handlers(std::move(h)), limits(l), acceptor(strand) {}

  void close_all() {
    stopping = true;
    error_code ignored;
    acceptor.close(ignored);
    for (auto& [id, weak] : connections) {
      if (auto conn = weak.lock()) conn->stream.close();
    }
  }

  asio::strand<asio::io_context::executor_type> strand;  // serialises everything below
  AdminHandlers handlers;
  AdminLimits limits;
  tcp::acceptor acceptor;
  std::map<std::uint64_t, std::weak_ptr<Connection>> connections;
  std::uint64_t next_connection_id = 0;
  bool stopping = false;
};

namespace {

using State = AdminServer::State;

// ---------------------------------------------------------------------------
// Endpoints: request path -> reply. Pure functions of State, tested over HTTP.

std::string stats_plain() {
  // Same samples as /stats/prometheus without the # HELP / # TYPE lines.
  const std::string text = stats::global().prometheus_text();
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string::npos ? text.size() : end + 1;
    if (text[pos] != '#') out.append(text, pos, end - pos);
    pos = end;
  }
  return out;
}

Reply from_handler(const std::function<std::string()>& handler, std::string_view content_type) {
  if (!handler) return {http::status::service_unavailable, kTextType, "handler not configured\n"};
  return {http::status::ok, content_type, handler()};
}

Reply index_reply(const State&);

struct Endpoint {
  std::string_view path;
  std::string_view description;
  Reply (*reply)(const State&);
};

const std::array<Endpoint, 10> kEndpoints{{
    {"/", "this list", index_reply},
    {"/ready", "200 LIVE when serving traffic, 503 while starting or draining",
     [](const State& s) -> Reply {
       if (!s.handlers.ready)
         return {http::status::service_unavailable, kTextType, "NOT CONFIGURED\n"};
       if (s.handlers.ready()) return {http::status::ok, kTextType, "LIVE\n"};
       return {http::status::service_unavailable, kTextType, "DRAINING\n"};
     }},
    {"/healthz", "200 OK while the process runs",
     [](const State&) -> Reply {
       return {http::status::ok, kTextType, "OK\n"};
     }},
    {"/config_dump", "the active configuration (JSON)",
     [](const State& s) { return from_handler(s.handlers.config_dump, kJsonType); }},
    {"/clusters", "clusters, endpoints, their state and counters (JSON)",
     [](const State& s) { return from_handler(s.handlers.clusters, kJsonType); }},
    {"/carbon", "grid carbon intensity per zone, carbon accounting per cluster (JSON)",
     [](const State& s) { return from_handler(s.handlers.carbon, kJsonType); }},
    {"/carbon.html", "the same as a page: intensities, traffic shares, grams avoided",
     [](const State& s) { return from_handler(s.handlers.carbon_html, kHtmlType); }},
    {"/attestation", "this sidecar's own evidence claims and the last verdict on each listener's and cluster's peers (JSON)",
     [](const State&) -> Reply {
       return {http::status::ok, kJsonType, attest::attestation_board().json() + "\n"};
     }},
    {"/stats", "all metrics, one sample per line",
     [](const State&) -> Reply {
       return {http::status::ok, kTextType, stats_plain()};
     }},
    {"/stats/prometheus", "all metrics, Prometheus text format 0.0.4",
     [](const State&) -> Reply {
       return {http::status::ok, kPrometheusType, stats::global().prometheus_text()};
     }},
}};

std::string endpoint_list() {
  std::string out;
  for (const auto& e : kEndpoints) {
    out += "  ";
    out += e.path;
    out.append(e.path.size() < 20 ? 20 - e.path.size() : 1, ' ');
    out += e.description;
    out += '\n';
  }
  return out;
}

Reply index_reply(const State&) {
  return {http::status::ok, kTextType, "aegis-flow admin; GET one of:\n" + endpoint_list()};
}

const Endpoint* find_endpoint(std::string_view path) {
  for (const auto& e : kEndpoints) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

// Requests by path; unknown paths share the label "other" so scanners cannot grow it.
// Looked up once: the store's registration lock stays off the per-request path.
stats::Counter& request_counter(const Endpoint* endpoint) {
  using Counters = std::array<stats::Counter*, kEndpoints.size() + 1>;  // last: "other"
  static const Counters counters = [] {
    auto series = [](std::string_view path) {
      return &stats::global().counter("aegis_admin_requests_total", "Admin HTTP requests by path.",
                                      {{"path", std::string(path)}});
    };
    Counters c{};
    for (std::size_t i = 0; const auto& e : kEndpoints) c.at(i++) = series(e.path);
    c.back() = series("other");
    return c;
  }();
  const auto index = endpoint == nullptr ? kEndpoints.size()
                                         : static_cast<std::size_t>(endpoint - kEndpoints.data());
  return *counters.at(index);
}

stats::Counter& refusal_counter(std::string_view reason) {
  return stats::global().counter(
      "aegis_admin_refusals_total",
      "Admin requests refused or connections closed by a limit, by reason.",
      {{"reason", std::string(reason)}});
}

void register_metrics() {
  request_counter(nullptr);
  for (auto reason :
       {"connection_limit", "header_too_large", "body_too_large", "bad_request", "read_timeout"}) {
    refusal_counter(reason);
  }
}

Reply handle(const State& state, http::verb method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  const Endpoint* endpoint = find_endpoint(path);
  request_counter(endpoint).inc();
  if (method != http::verb::get) {
    return {http::status::method_not_allowed, kTextType, "only GET is supported\n"};
  }
  if (endpoint == nullptr) {
    return {http::status::not_found, kTextType, "unknown path; endpoints:\n" + endpoint_list()};
  }
  try {
    return endpoint->reply(state);
  } catch (const std::exception& e) {
    spdlog::error("admin: {} failed: {}", path, e.what());
    return {http::status::internal_server_error, kTextType, std::string(e.what()) + "\n"};
  }
}

http::response<http::string_body> make_response(Reply reply, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{reply.status, version};
  res.set(http::field::server, "aegis-flow-admin");
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::cache_control, "no-store");
  // Admin pages load nothing from anywhere and run no script.
  if (reply.content_type == kHtmlType)
    res.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'");
  res.set("X-Content-Type-Options", "nosniff");
  if (reply.status == http::status::method_not_allowed) res.set(http::field::allow, "GET");
  res.keep_alive(keep_alive);
  res.body() = std::move(reply.body);
  res.prepare_payload();
  return res;
}

// Maps a failed read to the reply the client should get (if any) and counts it.
std::optional<Reply> refusal_for(const error_code& ec) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    refusal_counter("header_too_large").inc();
    return Reply{http::status::request_header_fields_too_large, kTextType,
                 "request headers exceed the admin header limit\n"};
  }
  if (ec == http::error::body_limit) {
    refusal_counter("body_too_large").inc();
    return Reply{http::status::payload_too_large, kTextType, "request body too large\n"};
  }
  if (ec == beast::error::timeout) {
    refusal_counter("read_timeout").inc();
    return std::nullopt;  // idle keep-alive or a slow client: just close
  }
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message) {
    refusal_counter("bad_request").inc();
    return Reply{http::status::bad_request, kTextType, "malformed HTTP request\n"};
  }
  return std::nullopt;  // client went away, or we are stopping
}

// ---------------------------------------------------------------------------
// Connections

asio::awaitable<void> close_politely(Connection& conn) {
  error_code ec;
  conn.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (!ec) {
    std::array<char, 4096> scratch{};
    conn.stream.expires_after(kLingerTimeout);
    while (!ec) {
      co_await conn.stream.async_read_some(asio::buffer(scratch),
                                           asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  conn.stream.close();
}

asio::awaitable<void> serve(std::shared_ptr<State> state, std::shared_ptr<Connection> conn,
                            std::uint64_t id) {
  const AdminLimits& limits = state->limits;
  beast::flat_buffer buffer(limits.header_limit + limits.body_limit);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.body_limit(limits.body_limit);
    error_code ec;
    conn->stream.expires_after(limits.read_timeout);
    co_await http::async_read(conn->stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping) break;
    std::optional<http::response<http::string_body>> res;
    if (ec) {
      if (auto refusal = refusal_for(ec)) res = make_response(std::move(*refusal), 11, false);
    } else {
      const auto& req = parser.get();
      res = make_response(handle(*state, req.method(), req.target()), req.version(),
                          req.keep_alive());
    }
    if (!res) break;
    conn->stream.expires_after(limits.write_timeout);
    co_await http::async_write(conn->stream, *res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res->keep_alive() || state->stopping) break;
  }
  if (!state->stopping) co_await close_politely(*conn);
  state->connections.erase(id);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. out of file descriptors: say so and back off instead of spinning
      spdlog::warn("admin: accept failed: {}", ec.message());
      asio::steady_timer backoff(state->strand, std::chrono::milliseconds(100));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->connections.size() >= state->limits.max_connections) {
      refusal_counter("connection_limit").inc();
      socket.close(ec);
      continue;
    }
    auto conn = std::make_shared<Connection>(std::move(socket));
    const std::uint64_t id = state->next_connection_id++;
    state->connections.emplace(id, conn);
    asio::co_spawn(state->strand, serve(state, std::move(conn), id), log_failure);
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// AdminServer

AdminServer::AdminServer(asio::io_context& ioc, AdminHandlers handlers, AdminLimits limits)
    : state_(std::make_shared<State>(ioc, std::move(handlers), limits)) {
  register_metrics();  // config time: every series exists (at 0) before the first scrape
}

AdminServer::~AdminServer() { stop(); }

core::Result<void> AdminServer::start(const std::string& address, std::uint16_t port) {
  error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    return core::Error{"admin: address '" + address +
                       "' is not an IP literal; use e.g. 127.0.0.1, ::1 or 0.0.0.0"};
  }
  if (started_ || stopped_) {
    return core::Error{"admin: server already started or stopped; create a new AdminServer"};
  }
  const tcp::endpoint endpoint(ip, port);
  const std::string where = "admin: cannot listen on " + address + ":" + std::to_string(port);
  auto fail = [&](std::string_view step) {
    error_code ignored;
    state_->acceptor.close(ignored);
    return core::Error{where + " (" + std::string(step) + "): " + ec.message() +
                       "; choose a free admin port or address"};
  };
  state_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  state_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("SO_REUSEADDR");
  state_->acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  state_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  port_ = state_->acceptor.local_endpoint(ec).port();
  if (ec) return fail("local_endpoint");
  started_ = true;
  asio::co_spawn(state_->strand, accept_loop(state_), log_failure);
  spdlog::info("admin: listening on {}:{}", address, port_);
  return {};
}

void AdminServer::stop() {
  stopped_ = true;
  asio::dispatch(state_->strand, [state = state_] { state->close_all(); });
}

std::uint16_t AdminServer::port() const { return port_; }

}  // namespace aegis::admin
