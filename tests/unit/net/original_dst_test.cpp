// net::original_destination's error paths; the redirected cases need netfilter
// and run in a network namespace (tests/integration/redirect_test.cpp).
#include "net/original_dst.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace aegis::net {
namespace {

TEST(OriginalDst, BadDescriptor) {
  boost::system::error_code ec;
  EXPECT_FALSE(original_destination(-1, ec).has_value());
  EXPECT_EQ(ec.value(), EBADF);
}

TEST(OriginalDst, NotAnIpSocket) {
  std::array<int, 2> fds{};
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()), 0);
  boost::system::error_code ec;
  EXPECT_FALSE(original_destination(fds[0], ec).has_value());
  EXPECT_EQ(ec.value(), EAFNOSUPPORT);
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace aegis::net
