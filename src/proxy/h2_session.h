// HTTP/2 downstream: one http::h2::Connection per client connection (after
// ALPN h2 or the h2c preface), one coroutine per request stream. Each
// stream goes through the same request path as HTTP/1.1 (proxy/request_path:
// checks, admission, forwarding headers, access log) and is forwarded to the
// cluster's endpoint over HTTP/1.1 (h2 → h1: Host from :authority, chunked
// when the client gave no content-length, hop-by-hop fields never cross) or,
// for a cluster with protocol: http2, over an upstream HTTP/2 stream
// (proxy/h2_upstream, trailers included), both directions streamed with
// back-pressure. An upstream failure resets only its own stream.
#pragma once

#include <array>
#include <functional>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/signal.h"
#include "http/h2_connection.h"
#include "net/stream.h"
#include "proxy/access_log.h"
#include "proxy/retry.h"
#include "proxy/snapshot.h"
#include "upstream/lb_policy.h"

namespace aegis::proxy {

class Worker;
struct UpstreamSlot;

// The downstream connection as the HTTP session established it.
struct Downstream {
  net::Stream& stream;
  std::string_view listener;
  std::string_view client_ip;  // for x-forwarded-for
  std::string_view client;     // "ip:port", for logs
  const std::optional<DownstreamTls>& tls;
  const std::optional<std::string>& peer_id;
};

// http::h2::Settings of a listener's http2 config.
http::h2::Settings h2_settings(const config::Http2Options& o);

class H2Session {
 public:
  H2Session(Worker& w, Downstream d, const ListenerRuntime& lr);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Serves until the connection ends and every stream's coroutine has
  // finished. `preread`: bytes already read (the h2c preface).
  core::Task<void> run(std::string preread);
  // Graceful GOAWAY: open streams finish, no new ones.
  void on_drain();
  // Idle and stalled-write timeouts of the connection, and each stream's
  // upstream deadlines.
  void on_tick(std::chrono::steady_clock::time_point now);

 private:
  struct StreamTask;
  class H2Half;
  core::Task<void> serve_stream(std::shared_ptr<http::h2::H2Stream> s);
  // A stream whose route's cluster speaks HTTP/2 (h2 → h2).
  core::Task<void> forward_h2(StreamTask& t, const ClusterRuntime& cluster, const config::RouteAction& action,
                              std::uint64_t body_limit, const upstream::PickContext& pick_ctx,
                              retry::RequestRetries& retries, bool has_body, const http::h2::Fields& fields);

  Worker& w_;
  Downstream d_;
  std::chrono::milliseconds idle_timeout_;
  // The listener's connection-level counters (registered for the life of the
  // process, so they outlive a reload that frees the ListenerRuntime).
  stats::Counter* resets_received_;
  stats::Counter* resets_sent_;
  stats::Counter* goaways_sent_;
  std::array<stats::Counter*, http::h2::kFloodKinds> floods_;
  stats::Counter* write_timeouts_;  // aegis_http_downstream_timeouts_total{kind="response_write"}
  bool write_timed_out_ = false;
  // aegis_http_malformed_requests_total{reason=h2_invalid_header|h2_invalid_message|h2_protocol_error}.
  std::array<stats::Counter*, 3> stream_errors_;
  http::h2::Connection conn_;
  std::unordered_set<UpstreamSlot*> slots_;  // the upstream of each stream in flight
  std::size_t tasks_ = 0;                    // stream coroutines not yet finished
  core::Signal tasks_done_;
};

}  // namespace aegis::proxy
