// Entry points of the two kinds of downstream connection a worker serves.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

#include "core/io.h"

namespace aegis::proxy {

class Worker;

// HTTP/1.1 reverse proxy: accept → codec → router → upstream pick → pool.
core::Task<void> serve_http(Worker& worker, core::Socket socket, std::string listener);
// L4 TCP proxy: accept → (TLS handshake, allow_peers) → upstream pick →
// connect (→ TLS) → splice.
core::Task<void> serve_tcp(Worker& worker, core::Socket socket, std::string listener);
// Transparent listener (netfilter REDIRECT): original destination → service
// table → mesh mTLS, plain passthrough or refusal (outbound), or → the local
// app at 127.0.0.1:<original port> after mesh mTLS (inbound).
core::Task<void> serve_transparent(Worker& worker, core::Socket socket, std::string listener);

}  // namespace aegis::proxy
