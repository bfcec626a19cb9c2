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
// L4 TCP proxy: accept → upstream pick → connect → splice.
boost::asio::awaitable<void> serve_tcp(Worker& worker, boost::asio::ip::tcp::socket socket,
                                       std::string listener);

}  // namespace aegis::proxy
