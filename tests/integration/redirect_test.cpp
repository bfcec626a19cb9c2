// `aegis-flow redirect` against real netfilter (iptables-nft), each test in
// its own network namespace (aegis-rd-<pid>-<n>, deleted at the end): the
// rules install, install again to the same ruleset, and remove back to the
// exact prior tables; a redirected connection (outbound, and inbound from a
// peer namespace) reaches the sidecar port and
// net::original_destination names where it was going; the proxy's uid is not
// captured. Needs root; skips (saying why) only when not root or when network
// namespaces cannot be made here.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <regex>
#include <thread>

#include "harness.h"
#include "net/original_dst.h"

namespace aegis::itest {
namespace {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

constexpr std::uint16_t kOutboundPort = 16001;  // inside the namespace: no other test can hold it
constexpr std::uint32_t kProxyUid = 1337;

std::atomic<int> g_netns_counter{0};

class RedirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: network namespaces and netfilter rules";
    ip_ = find_tool("ip");
    if (ip_.empty()) GTEST_SKIP() << "no `ip` tool (iproute2): cannot make a network namespace";
    std::string why;
    ns_ = add_namespace(why);
    if (ns_.empty()) GTEST_SKIP() << "`ip netns add` is not possible here: " << why;
    for (const char* tool : {"iptables-save", "ip6tables-save", "iptables", "ip6tables"}) {
      ASSERT_FALSE(find_tool(tool).empty()) << tool << " missing: apt-get install iptables (scripts/bootstrap.sh)";
    }
    in_ns({ip_, "link", "set", "lo", "up"});
  }

  void TearDown() override {
    for (const auto& ns : created_) {
      static_cast<void>(run_command("netns-del", {ip_, "netns", "del", ns}, dir_.path(), 10s));
    }
  }

  // A new namespace (deleted in TearDown); empty, with `why`, when it cannot be made.
  std::string add_namespace(std::string& why) {
    std::string name = fmt_name();
    auto r = run_command("netns-add", {ip_, "netns", "add", name}, dir_.path(), 10s);
    if (!r.status.ok()) {
      why = r.err;
      return {};
    }
    created_.push_back(name);
    return name;
  }

  static std::string fmt_name() {
    return "aegis-rd-" + std::to_string(::getpid()) + "-" + std::to_string(g_netns_counter++);
  }

  // Runs argv inside the namespace; a failure fails the test unless allowed.
  CommandResult in_ns(const std::vector<std::string>& argv, bool must_succeed = true) {
    return in_named_ns(ns_, argv, must_succeed);
  }
  CommandResult in_named_ns(const std::string& ns, const std::vector<std::string>& argv, bool must_succeed = true) {
    std::vector<std::string> full = {ip_, "netns", "exec", ns};
    full.insert(full.end(), argv.begin(), argv.end());
    auto r = run_command("in-ns-" + std::to_string(commands_++), full, dir_.path(), 20s);
    if (must_succeed) {
      EXPECT_TRUE(r.status.ok()) << "in " << ns << ": " << argv[0] << " " << (argv.size() > 1 ? argv[1] : "") << " → "
                                 << r.status.describe() << "\n"
                                 << r.out << r.err;
    }
    return r;
  }

  CommandResult redirect(std::vector<std::string> args, bool must_succeed = true) {
    args.insert(args.begin(), {proxy_binary(), "redirect"});
    return in_ns(args, must_succeed);
  }

  // Every table of a family as iptables-save prints it, without its dated comments and counters.
  std::string tables(const std::string& save_tool) {
    auto r = in_ns({find_tool(save_tool)});
    std::string text = std::regex_replace(r.out, std::regex("^#[^\n]*\n", std::regex::multiline), "");
    return std::regex_replace(text, std::regex(R"(\[\d+:\d+\])"), "[0:0]");
  }

  // Runs fn on a thread inside the namespace (sockets made there stay there).
  void on_ns_thread(const std::function<void()>& fn) { on_named_ns_thread(ns_, fn); }
  void on_named_ns_thread(const std::string& name, const std::function<void()>& fn) {
    std::string failure;
    std::thread t([&] {
      Fd ns(::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
      if (ns.get() < 0 || ::setns(ns.get(), CLONE_NEWNET) != 0) {
        failure = std::string("cannot enter the namespace: ") + std::strerror(errno);
        return;
      }
      fn();
    });
    t.join();
    ASSERT_TRUE(failure.empty()) << failure;
  }

  TempDir dir_{"redirect"};
  std::string ip_;
  std::string ns_;
  std::vector<std::string> created_;
  int commands_ = 0;
};

// ---- sockets ---------------------------------------------------------------

sockaddr_storage sockaddr_of(const std::string& address, std::uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (::inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&ss, &v4, sizeof(v4));
    len = sizeof(v4);
  } else {
    EXPECT_EQ(::inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr), 1) << address;
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&ss, &v6, sizeof(v6));
    len = sizeof(v6);
  }
  return ss;
}

// A non-blocking connect, waited for up to `timeout`; true when it connected.
bool connect_within(int fd, const std::string& address, std::uint16_t port, Millis timeout) {
  socklen_t len = 0;
  const sockaddr_storage ss = sockaddr_of(address, port, len);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  int err = 0;
  socklen_t err_len = sizeof(err);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
  return err == 0;
}

// The connection waiting on `listener`, within `timeout`; -1 if none.
Fd accept_within(int listener, Millis timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return Fd{};
  return Fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

// A dual-stack listener on [::]:port (IPv4 connections arrive v4-mapped).
Fd dual_stack_listener(std::uint16_t port) {
  Fd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int off = 0, on = 1;
  ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_any;
  a.sin6_port = htons(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd.get(), 16) != 0) {
    ADD_FAILURE() << "listen on [::]:" << port << ": " << std::strerror(errno);
  }
  return fd;
}

std::string endpoint_text(const std::optional<boost::asio::ip::tcp::endpoint>& e) {
  if (!e) return "nullopt";
  const auto& a = e->address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e->port());
}

// ---- rules -----------------------------------------------------------------

TEST_F(RedirectTest, InstallTwiceSameRulesetRemoveRestoresPriorTables) {
  // Someone else's rules, which must survive untouched.
  in_ns({"iptables", "-t", "nat", "-N", "USER_CHAIN"});
  in_ns({"iptables", "-t", "nat", "-A", "USER_CHAIN", "-p", "tcp", "--dport", "9999", "-j", "RETURN"});
  in_ns({"iptables", "-t", "nat", "-A", "OUTPUT", "-d", "10.9.0.0/16", "-j", "USER_CHAIN"});
  in_ns({"iptables", "-t", "filter", "-A", "INPUT", "-p", "tcp", "--dport", "9998", "-j", "ACCEPT"});
  in_ns({"ip6tables", "-t", "nat", "-N", "USER_CHAIN6"});
  in_ns({"ip6tables", "-t", "nat", "-A", "OUTPUT", "-d", "fd09::/16", "-j", "USER_CHAIN6"});
  const std::string before4 = tables("iptables-save");
  const std::string before6 = tables("ip6tables-save");
  ASSERT_NE(before4.find("USER_CHAIN"), std::string::npos) << before4;

  auto installed = redirect({"install", "--ipv6", "on", "--exclude-outbound-cidrs", "10.0.0.0/8,fd00::/8"});
  EXPECT_NE(installed.out.find("redirect: installed IPv4 and IPv6 rules: outbound -> 15001, inbound -> 15006, "
                               "proxy uid 1337 excluded"),
            std::string::npos)
      << installed.out;
  const std::string once4 = tables("iptables-save");
  const std::string once6 = tables("ip6tables-save");
  for (const char* line :
       {":AEGIS_INBOUND - [0:0]", ":AEGIS_IN_REDIRECT - [0:0]", ":AEGIS_OUTPUT - [0:0]", ":AEGIS_REDIRECT - [0:0]",
        "-A PREROUTING -p tcp -j AEGIS_INBOUND", "-A OUTPUT -p tcp -j AEGIS_OUTPUT",
        "-A AEGIS_INBOUND -p tcp -m tcp --dport 15000 -j RETURN", "-A AEGIS_INBOUND -p tcp -j AEGIS_IN_REDIRECT",
        "-A AEGIS_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
        "-A AEGIS_OUTPUT -m owner --uid-owner 1337 -j RETURN", "-A AEGIS_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
        "USER_CHAIN"}) {
    EXPECT_NE(once4.find(line), std::string::npos) << line << " not in\n" << once4;
    EXPECT_NE(once6.find(line), std::string::npos) << line << " not in\n" << once6;
  }
  EXPECT_NE(once4.find("-A AEGIS_OUTPUT -d 127.0.0.1/32 -j RETURN"), std::string::npos) << once4;
  EXPECT_NE(once4.find("-A AEGIS_OUTPUT -d 10.0.0.0/8 -j RETURN"), std::string::npos) << once4;
  EXPECT_EQ(once4.find("fd00::"), std::string::npos) << once4;
  EXPECT_NE(once6.find("-A AEGIS_OUTPUT -d ::1/128 -j RETURN"), std::string::npos) << once6;
  EXPECT_NE(once6.find("-A AEGIS_OUTPUT -d fd00::/8 -j RETURN"), std::string::npos) << once6;
  EXPECT_EQ(once6.find("10.0.0.0"), std::string::npos) << once6;

  redirect({"install", "--ipv6", "on", "--exclude-outbound-cidrs", "10.0.0.0/8,fd00::/8"});
  EXPECT_EQ(tables("iptables-save"), once4);
  EXPECT_EQ(tables("ip6tables-save"), once6);

  auto removed = redirect({"remove", "--ipv6", "on"});
  EXPECT_NE(removed.out.find("removed IPv4 and IPv6 rules"), std::string::npos) << removed.out;
  EXPECT_EQ(tables("iptables-save"), before4);
  EXPECT_EQ(tables("ip6tables-save"), before6);

  auto again = redirect({"remove", "--ipv6", "on"});
  EXPECT_NE(again.out.find("nothing to remove"), std::string::npos) << again.out;
  EXPECT_EQ(tables("iptables-save"), before4);
}

TEST_F(RedirectTest, CapturesOutboundToOriginalDestinationExceptProxyUid) {
  // A veth pair inside the namespace (no dummy module everywhere): the test
  // subnets are on rd0, and nothing on the other end answers for .99 / ::99.
  in_ns({ip_, "link", "add", "rd0", "type", "veth", "peer", "name", "rd1"});
  in_ns({ip_, "link", "set", "rd0", "up"});
  in_ns({ip_, "link", "set", "rd1", "up"});
  in_ns({ip_, "addr", "add", "10.77.0.1/24", "dev", "rd0"});
  in_ns({ip_, "-6", "addr", "add", "fd77::1/64", "dev", "rd0", "nodad"});
  redirect({"install", "--ipv6", "on", "--outbound-port", std::to_string(kOutboundPort)});

  Fd listener, client4, client6, direct;
  int proxy_child_status = -1;
  on_ns_thread([&] {
    listener = dual_stack_listener(kOutboundPort);
    client4 = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    client6 = Fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    direct = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    // The proxy's own connections: a child that is uid 1337 before it makes its
    // sockets (the owner match reads the socket's credentials). Exit 0: neither
    // connect reached anything within 500 ms.
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(kProxyUid) != 0 || ::setuid(kProxyUid) != 0) ::_exit(10);
      const int s4 = ::socket(AF_INET, SOCK_STREAM, 0);
      const int s6 = ::socket(AF_INET6, SOCK_STREAM, 0);
      const bool c4 = connect_within(s4, "10.77.0.99", 8080, 500ms);
      const bool c6 = connect_within(s6, "fd77::99", 8080, 500ms);
      ::_exit((c4 ? 1 : 0) | (c6 ? 2 : 0));
    }
    ::waitpid(pid, &proxy_child_status, 0);
  });
  ASSERT_GE(listener.get(), 0);
  ASSERT_TRUE(WIFEXITED(proxy_child_status)) << proxy_child_status;
  EXPECT_EQ(WEXITSTATUS(proxy_child_status), 0) << "1: the proxy uid's IPv4 connect reached something, 2: IPv6, "
                                                   "10: could not become uid 1337";
  EXPECT_FALSE(accept_within(listener.get(), 0ms).get() >= 0) << "the proxy uid's connection was captured";

  // Root's connections to addresses nobody listens on land on the outbound port.
  ASSERT_TRUE(connect_within(client4.get(), "10.77.0.99", 8080, 2s)) << std::strerror(errno);
  Fd accepted4 = accept_within(listener.get(), 2s);
  ASSERT_GE(accepted4.get(), 0) << "the redirected IPv4 connection did not arrive on " << kOutboundPort;
  boost::system::error_code ec;
  const auto original4 = net::original_destination(accepted4.get(), ec);
  EXPECT_EQ(endpoint_text(original4), "10.77.0.99:8080") << ec.message();

  ASSERT_TRUE(connect_within(client6.get(), "fd77::99", 8080, 2s)) << std::strerror(errno);
  Fd accepted6 = accept_within(listener.get(), 2s);
  ASSERT_GE(accepted6.get(), 0) << "the redirected IPv6 connection did not arrive on " << kOutboundPort;
  const auto original6 = net::original_destination(accepted6.get(), ec);
  EXPECT_EQ(endpoint_text(original6), "[fd77::99]:8080") << ec.message();

  // Loopback is not captured: a direct connection has no original destination.
  ASSERT_TRUE(connect_within(direct.get(), "127.0.0.1", kOutboundPort, 2s)) << std::strerror(errno);
  Fd accepted_direct = accept_within(listener.get(), 2s);
  ASSERT_GE(accepted_direct.get(), 0);
  const auto none = net::original_destination(accepted_direct.get(), ec);
  EXPECT_FALSE(none.has_value()) << endpoint_text(none);
  EXPECT_EQ(ec.value(), ENOENT) << ec.message();

  redirect({"remove", "--ipv6", "on"});
}

TEST_F(RedirectTest, CapturesInboundToOriginalDestinationExceptExcludedPorts) {
  // A peer namespace on the other end of a veth pair sends to the pod's address.
  std::string why;
  const std::string peer = add_namespace(why);
  ASSERT_FALSE(peer.empty()) << why;
  in_ns({ip_, "link", "add", "rd0", "type", "veth", "peer", "name", "rd1", "netns", peer});
  in_ns({ip_, "addr", "add", "10.78.0.1/24", "dev", "rd0"});
  in_ns({ip_, "-6", "addr", "add", "fd78::1/64", "dev", "rd0", "nodad"});
  in_ns({ip_, "link", "set", "rd0", "up"});
  in_named_ns(peer, {ip_, "addr", "add", "10.78.0.2/24", "dev", "rd1"});
  in_named_ns(peer, {ip_, "-6", "addr", "add", "fd78::2/64", "dev", "rd1", "nodad"});
  in_named_ns(peer, {ip_, "link", "set", "rd1", "up"});
  constexpr std::uint16_t kInboundPort = 16006;
  redirect({"install", "--ipv6", "on", "--inbound-port", std::to_string(kInboundPort)});

  Fd listener, excluded_listener;
  on_ns_thread([&] {
    listener = dual_stack_listener(kInboundPort);
    excluded_listener = dual_stack_listener(15020);  // health: excluded by default
  });
  Fd client4, client6, client_excluded;
  on_named_ns_thread(peer, [&] {
    client4 = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    client6 = Fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    client_excluded = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  });
  ASSERT_GE(listener.get(), 0);

  ASSERT_TRUE(connect_within(client4.get(), "10.78.0.1", 8080, 3s)) << std::strerror(errno);
  Fd accepted4 = accept_within(listener.get(), 2s);
  ASSERT_GE(accepted4.get(), 0) << "the inbound IPv4 connection did not arrive on " << kInboundPort;
  boost::system::error_code ec;
  EXPECT_EQ(endpoint_text(net::original_destination(accepted4.get(), ec)), "10.78.0.1:8080") << ec.message();

  ASSERT_TRUE(connect_within(client6.get(), "fd78::1", 8080, 3s)) << std::strerror(errno);
  Fd accepted6 = accept_within(listener.get(), 2s);
  ASSERT_GE(accepted6.get(), 0) << "the inbound IPv6 connection did not arrive on " << kInboundPort;
  EXPECT_EQ(endpoint_text(net::original_destination(accepted6.get(), ec)), "[fd78::1]:8080") << ec.message();

  // An excluded port reaches its own listener, not the sidecar.
  ASSERT_TRUE(connect_within(client_excluded.get(), "10.78.0.1", 15020, 3s)) << std::strerror(errno);
  Fd accepted_excluded = accept_within(excluded_listener.get(), 2s);
  EXPECT_GE(accepted_excluded.get(), 0) << "the connection to excluded port 15020 did not arrive there";
  EXPECT_LT(accept_within(listener.get(), 0ms).get(), 0) << "the connection to excluded port 15020 was captured";
}

TEST_F(RedirectTest, RefusesWithoutPrivilegeAndBadOptions) {
  const std::string setpriv = find_tool("setpriv");
  ASSERT_FALSE(setpriv.empty()) << "setpriv (util-linux) missing";
  const std::string before = tables("iptables-save");
  auto unprivileged = in_ns(
      {setpriv, "--reuid", "1337", "--regid", "1337", "--clear-groups", proxy_binary(), "redirect", "install"}, false);
  EXPECT_EQ(unprivileged.status.code, 1) << unprivileged.status.describe();
  EXPECT_NE(unprivileged.err.find("aegis-flow redirect: changing netfilter rules needs root (CAP_NET_ADMIN)"),
            std::string::npos)
      << unprivileged.err;
  EXPECT_EQ(tables("iptables-save"), before);

  // show needs no privilege.
  auto shown = in_ns({setpriv, "--reuid", "1337", "--regid", "1337", "--clear-groups", proxy_binary(), "redirect",
                      "show", "--ipv6", "off", "--inbound-ports", "8080"},
                     false);
  EXPECT_TRUE(shown.status.ok()) << shown.err;
  EXPECT_NE(shown.out.find("-A AEGIS_INBOUND -p tcp --dport 8080 -j AEGIS_IN_REDIRECT"), std::string::npos)
      << shown.out;

  auto bad_port = redirect({"install", "--outbound-port", "0"}, false);
  EXPECT_EQ(bad_port.status.code, 2);
  EXPECT_NE(bad_port.err.find("--outbound-port: '0' is not a TCP port (1-65535)"), std::string::npos) << bad_port.err;
  auto bad_cidr = redirect({"install", "--exclude-outbound-cidrs", "10.0.0.0/40"}, false);
  EXPECT_EQ(bad_cidr.status.code, 2);
  EXPECT_NE(bad_cidr.err.find("'10.0.0.0/40' has a bad prefix length"), std::string::npos) << bad_cidr.err;
  auto unknown = redirect({"install", "--no-such-option"}, false);
  EXPECT_EQ(unknown.status.code, 2);
  EXPECT_EQ(tables("iptables-save"), before);
}

}  // namespace
}  // namespace aegis::itest
