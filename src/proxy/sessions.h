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

}  // namespace aegis::proxy
