// The destination a client meant before netfilter redirected its connection
// to us (`aegis-flow redirect`: nat REDIRECT in PREROUTING / OUTPUT): what the
// outbound listener of a transparent sidecar connects to, like Envoy's
// original_dst listener filter. Reads SO_ORIGINAL_DST (IPv4, v4-mapped IPv6
// sockets included) or IP6T_SO_ORIGINAL_DST (IPv6) from conntrack.
#pragma once

#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace aegis::net {

// `native_fd`: an accepted TCP socket. nullopt with `ec` set when the
// connection was not redirected (no_such_file_or_directory: conntrack knows no
// translation, or the original destination is the socket's own local address)
// or on error (a bad fd, not a TCP/IP socket, a short answer from the kernel).
// An address of a v4-mapped socket comes back as plain IPv4.
std::optional<boost::asio::ip::tcp::endpoint> original_destination(int native_fd, boost::system::error_code& ec);

}  // namespace aegis::net
