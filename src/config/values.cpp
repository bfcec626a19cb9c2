#include "config/values.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <memory>

namespace aegis::config {
namespace {

constexpr std::string_view kDurationForms =
    "expected a duration such as 250ms, 1s, 1.5s, 2m, 1h or 0";

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

core::Result<Millis> parse_duration(std::string_view text) {
  auto fail = [&](std::string_view why) {
    std::string msg(kDurationForms);
    msg += ", got '" + std::string(text) + "'";
    if (!why.empty()) msg += " (" + std::string(why) + ")";
    return core::Error{std::move(msg)};
  };
  if (text == "0") return Millis{0};
  std::size_t unit_at = 0;
  while (unit_at < text.size() && ((text[unit_at] >= '0' && text[unit_at] <= '9') || text[unit_at] == '.')) {
    ++unit_at;
  }
  const std::string_view number = text.substr(0, unit_at);
  const std::string_view unit = text.substr(unit_at);
  std::int64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit.empty() && all_digits(number)) return fail("missing unit");
  else return fail("");

  const auto dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : number.substr(dot + 1);
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac))) return fail("");
  if (whole.size() > 9) return fail("too large");
  if (frac.size() > 9) return fail("too many decimals");
  std::int64_t w = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), w);
  // value = (w + f / 10^len) * scale, which must be a whole number of ms.
  std::int64_t f = 0;
  std::int64_t denom = 1;
  for (char c : frac) {
    f = f * 10 + (c - '0');
    denom *= 10;
  }
  if ((f * scale) % denom != 0) return fail("finer than a millisecond");
  return Millis{w * scale + f * scale / denom};
}

std::string format_duration(Millis d) {
  const auto ms = d.count();
  if (ms == 0) return "0s";
  if (ms < 1000 && ms > -1000) return std::to_string(ms) + "ms";
  std::string out = std::to_string(ms / 1000);
  if (const auto rest = ms % 1000; rest != 0) {
    std::array<char, 4> buf{};
    const auto r = rest < 0 ? -rest : rest;
    buf[0] = static_cast<char>('0' + r / 100);
    buf[1] = static_cast<char>('0' + r / 10 % 10);
    buf[2] = static_cast<char>('0' + r % 10);
    std::string_view decimals(buf.data(), 3);
    while (!decimals.empty() && decimals.back() == '0') decimals.remove_suffix(1);
    out += '.';
    out += decimals;
  }
  return out + "s";
}

std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min, std::uint64_t max) {
  if (!all_digits(text)) return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  if (v < min || v > max) return std::nullopt;
  return v;
}

bool is_ipv6_literal(std::string_view text) {
  std::array<unsigned char, 16> buf{};
  const std::string t(text);
  return inet_pton(AF_INET6, t.c_str(), buf.data()) == 1;
}

std::optional<std::string> canonical_ip(std::string_view text) {
  if (text == "localhost") return "127.0.0.1";
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (!is_ipv6_literal(text)) return std::nullopt;
  }
  const std::string t(text);
  std::array<unsigned char, 16> bin{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, t.c_str(), bin.data()) == 1 &&
        inet_ntop(family, bin.data(), out.data(), out.size()) != nullptr) {
      return std::string(out.data());
    }
  }
  return std::nullopt;
}

std::optional<std::string> canonical_cidr(std::string_view text) {
  const auto slash = text.find('/');
  const std::string ip(text.substr(0, slash));
  std::array<unsigned char, 16> bin{};
  int family = 0;
  for (int f : {AF_INET, AF_INET6}) {
    if (inet_pton(f, ip.c_str(), bin.data()) == 1) {
      family = f;
      break;
    }
  }
  if (family == 0) return std::nullopt;
  const unsigned max_len = family == AF_INET ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    len = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      len = len * 10 + static_cast<unsigned>(c - '0');
    }
    if (len > max_len) return std::nullopt;
  }
  // Host bits are cleared: "10.1.2.3/8" is the network 10.0.0.0/8.
  for (unsigned bit = len; bit < max_len; ++bit) bin.at(bit / 8) &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (inet_ntop(family, bin.data(), out.data(), out.size()) == nullptr) return std::nullopt;
  return std::string(out.data()) + "/" + std::to_string(len);
}

bool is_dns_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  if (text.back() == '.') text.remove_suffix(1);
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    const auto label = text.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}

core::Result<HostPort> parse_host_port(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return core::Error{"expected \"host:port\" or \"[ipv6]:port\", got '" + std::string(text) + "'" +
                       (why.empty() ? "" : " (" + std::string(why) + ")")};
  };
  HostPort hp;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']'");
    hp.host = std::string(text.substr(1, close - 1));
    if (!is_ipv6_literal(hp.host)) return fail("not an IPv6 address inside [ ]");
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("missing port");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("missing port");
    hp.host = std::string(text.substr(0, colon));
    if (hp.host.find(':') != std::string::npos) return fail("write IPv6 addresses in brackets, e.g. [::1]:8080");
    if (hp.host.empty()) return fail("missing host");
    port = text.substr(colon + 1);
  }
  const auto p = parse_uint(port, 1, 65535);
  if (!p) return fail("port must be an integer 1-65535");
  hp.port = static_cast<std::uint16_t>(*p);
  return hp;
}

bool is_header_token(std::string_view text) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool is_safe_header_value(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

core::Result<std::string> resolve_with_getaddrinfo(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(raw, &freeaddrinfo);
  if (rc != 0) return core::Error{gai_strerror(rc)};
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    std::array<char, INET6_ADDRSTRLEN> out{};
    const void* bin = nullptr;
    if (ai->ai_family == AF_INET) bin = &reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr;
    if (ai->ai_family == AF_INET6) bin = &reinterpret_cast<const sockaddr_in6*>(ai->ai_addr)->sin6_addr;
    if (bin != nullptr && inet_ntop(ai->ai_family, bin, out.data(), out.size()) != nullptr) {
      return std::string(out.data());
    }
  }
  return core::Error{"no IPv4 or IPv6 address"};
}

const char* to_string(TransparentMode m) {
  return m == TransparentMode::kOutbound ? "outbound" : m == TransparentMode::kInbound ? "inbound" : "none";
}
const char* to_string(OutboundPolicy p) { return p == OutboundPolicy::kAllowAny ? "allow_any" : "registry_only"; }
const char* to_string(ServiceProtocol p) {
  static constexpr std::array<const char*, 4> kNames = {"auto", "http", "tcp", "tls"};
  return kNames.at(static_cast<std::size_t>(p));
}

const char* to_string(ListenerProtocol p) { return p == ListenerProtocol::kTcp ? "tcp" : "http"; }
const char* to_string(HttpCodec c) {
  return c == HttpCodec::kHttp1 ? "http1" : c == HttpCodec::kHttp2 ? "http2" : "auto";
}
std::optional<double> parse_decimal(std::string_view text, double min, double max) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  std::size_t dots = 0, digits = 0;
  for (char ch : text) {
    if (ch == '.') {
      ++dots;
    } else if (ch >= '0' && ch <= '9') {
      ++digits;
    } else {
      return std::nullopt;
    }
  }
  if (dots > 1 || digits == 0 || text.front() == '.' || text.back() == '.') return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !(v >= min && v <= max)) return std::nullopt;
  return v;
}

std::string fmt_decimal_range(double min, double max) {
  auto fmt1 = [](double d) {
    std::string s = std::to_string(d);  // "1.400000"
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  return "a decimal number " + fmt1(min) + "-" + fmt1(max);
}

const char* to_string(LbPolicy p) {
  switch (p) {
    case LbPolicy::kRoundRobin: return "round_robin";
    case LbPolicy::kRandom: return "random";
    case LbPolicy::kLeastRequest: return "least_request";
    case LbPolicy::kPeakEwma: return "peak_ewma";
    case LbPolicy::kRingHash: return "ring_hash";
    case LbPolicy::kMaglev: return "maglev";
    case LbPolicy::kCarbonAware: return "carbon_aware";
  }
  return "round_robin";  // unreachable: every enumerator handled above
}

}  // namespace aegis::config
