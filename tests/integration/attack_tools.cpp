#include "attack_tools.h"

#include "h2_client.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

namespace aegis::itest::attack {

bool wait_until(const std::function<bool()>& pred, Millis timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

RawConn::RawConn(std::uint16_t port, int rcvbuf) {
  if (rcvbuf <= 0) {
    fd_ = connect_loopback(port, 5s);
    return;
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawConn::~RawConn() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConn::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool RawConn::read_once(Millis timeout) {
  if (fd_ < 0 || closed_) return false;
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return false;
  std::array<char, 65536> buf{};
  const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  in_.append(buf.data(), static_cast<std::size_t>(n));
  return true;
}

void RawConn::pump(Millis timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!closed_) {
    const auto left = std::chrono::duration_cast<Millis>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    read_once(left);
  }
}

bool RawConn::read_until(const std::function<bool(const std::string&)>& pred, Millis timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred(in_)) {
    if (closed_) return pred(in_);
    const auto left = std::chrono::duration_cast<Millis>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    read_once(left);
  }
  return true;
}

bool RawConn::wait_closed(Millis timeout) {
  read_until([](const std::string&) { return false; }, timeout);
  return closed_;
}

int RawConn::status() const {
  if (in_.size() < 12 || in_.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(in_.substr(9, 3).c_str());
}

int RawConn::responses() const {
  int n = 0;
  for (std::size_t pos = 0; (pos = in_.find("HTTP/1.1 ", pos)) != std::string::npos; pos += 9)
    if (pos == 0 || in_[pos - 1] == '\n') ++n;
  return n;
}

std::vector<std::string> SeenRequest::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) out.push_back(v);
  return out;
}

std::string SeenRequest::describe() const {
  std::ostringstream o;
  o << "#" << conn << " " << method << " " << target << " {";
  for (const auto& [k, v] : headers) o << k << ": " << v << "; ";
  o << "} body " << body_bytes << " bytes";
  if (!body.empty()) o << " \"" << body.substr(0, 200) << "\"";
  return o.str();
}

std::vector<SeenRequest> upstream_seen(std::uint16_t upstream_port) {
  const auto [status, body] = simple_get(upstream_port, "/seen", 10s);
  if (status != 200) throw std::runtime_error("GET /seen from the test upstream: status " + std::to_string(status));
  std::vector<SeenRequest> out;
  for (const auto& j : nlohmann::json::parse(body)) {
    SeenRequest r;
    r.conn = j.at("conn").get<std::uint64_t>();
    r.method = j.at("method").get<std::string>();
    r.target = j.at("target").get<std::string>();
    for (const auto& h : j.at("headers")) r.headers.emplace_back(h.at(0).get<std::string>(), h.at(1).get<std::string>());
    r.body = j.at("body").get<std::string>();
    r.body_bytes = j.at("body_bytes").get<std::uint64_t>();
    out.push_back(std::move(r));
  }
  return out;
}

bool upstream_saw(const std::vector<SeenRequest>& seen, std::string_view needle) {
  for (const auto& r : seen) {
    if (r.target.find(needle) != std::string::npos || r.body.find(needle) != std::string::npos) return true;
    for (const auto& [k, v] : r.headers)
      if (k.find(needle) != std::string::npos || v.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string describe(const std::vector<SeenRequest>& seen) {
  std::string out = std::to_string(seen.size()) + " request(s) at the upstream:";
  for (const auto& r : seen) out += "\n  " + r.describe();
  return out;
}

bool bystander_served(std::uint16_t port, const std::string& path) {
  return simple_get(port, path, 10s).first == 200;
}

std::uint64_t rss_kib(pid_t pid) { return vm_rss_kib(pid).value_or(0); }

}  // namespace aegis::itest::attack
