#include "net/original_dst.h"

#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace aegis::net {

namespace {

namespace ip = boost::asio::ip;

boost::system::error_code errno_code(int e) { return {e, boost::system::system_category()}; }

ip::tcp::endpoint from_v4(const sockaddr_in& sa) {
  return {ip::address_v4(ntohl(sa.sin_addr.s_addr)), ntohs(sa.sin_port)};
}

ip::tcp::endpoint from_v6(const sockaddr_in6& sa) {
  ip::address_v6::bytes_type bytes{};
  std::memcpy(bytes.data(), &sa.sin6_addr, bytes.size());  // both are 16 bytes
  const ip::address_v6 address(bytes, sa.sin6_scope_id);
  if (address.is_v4_mapped()) return {ip::make_address_v4(ip::v4_mapped, address), ntohs(sa.sin6_port)};
  return {address, ntohs(sa.sin6_port)};
}

}  // namespace

std::optional<ip::tcp::endpoint> original_destination(int native_fd, boost::system::error_code& ec) {
  ec.clear();
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (::getsockname(native_fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) {  // NOLINT: the sockets API
    ec = errno_code(errno);
    return std::nullopt;
  }

  ip::tcp::endpoint local_endpoint;
  bool ipv4 = false;
  if (local.ss_family == AF_INET && local_len >= sizeof(sockaddr_in)) {
    sockaddr_in sa{};
    std::memcpy(&sa, &local, sizeof(sa));
    local_endpoint = from_v4(sa);
    ipv4 = true;
  } else if (local.ss_family == AF_INET6 && local_len >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sa{};
    std::memcpy(&sa, &local, sizeof(sa));
    local_endpoint = from_v6(sa);
    ipv4 = local_endpoint.address().is_v4();  // a v4-mapped socket: conntrack holds an IPv4 flow
  } else {
    ec = errno_code(EAFNOSUPPORT);
    return std::nullopt;
  }

  ip::tcp::endpoint original;
  if (ipv4) {
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    if (::getsockopt(native_fd, SOL_IP, SO_ORIGINAL_DST, &sa, &len) != 0) {
      ec = errno_code(errno);
      return std::nullopt;
    }
    if (len < sizeof(sa) || sa.sin_family != AF_INET) {
      ec = errno_code(EPROTO);
      return std::nullopt;
    }
    original = from_v4(sa);
  } else {
    sockaddr_in6 sa{};
    socklen_t len = sizeof(sa);
    if (::getsockopt(native_fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &sa, &len) != 0) {
      ec = errno_code(errno);
      return std::nullopt;
    }
    if (len < sizeof(sa) || sa.sin6_family != AF_INET6) {
      ec = errno_code(EPROTO);
      return std::nullopt;
    }
    original = from_v6(sa);
  }
  // conntrack answers for every tracked flow; an untranslated one names ourselves.
  if (original == local_endpoint) {
    ec = errno_code(ENOENT);
    return std::nullopt;
  }
  return original;
}

}  // namespace aegis::net
