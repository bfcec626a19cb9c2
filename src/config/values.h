// Parsers for the scalar forms a config file uses (durations, sizes, ports,
// addresses, header names). Pure functions with no YAML in sight, so the
// loader, the CLI and tests share one definition of what each form accepts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/types.h"
#include "core/result.h"

namespace aegis::config {

// "250ms", "1s", "1.5s", "2m", "1h" or "0". Sub-millisecond precision and
// bare numbers other than 0 are errors.
core::Result<Millis> parse_duration(std::string_view text);
// Inverse of parse_duration, Envoy style: "250ms" below a second, else
// seconds with up to three decimals ("1.5s", "300s"); 0 is "0s".
std::string format_duration(Millis d);
// A plain decimal integer in [min, max] (no sign, no exponent, no hex).
std::optional<std::uint64_t> parse_uint(std::string_view text, std::uint64_t min,
                                        std::uint64_t max);
// A plain decimal number ("1.4", "2", "0.25": digits, at most one '.', no
// sign or exponent) in [min, max].
std::optional<double> parse_decimal(std::string_view text, double min, double max);
// "a decimal number 1-10" for messages (trailing zeros trimmed).
std::string fmt_decimal_range(double min, double max);

// An IPv4 or IPv6 literal ("[::1]" brackets accepted), or "localhost"
// (→ "127.0.0.1"); returns the canonical literal (inet_ntop form, unbracketed).
std::optional<std::string> canonical_ip(std::string_view text);
bool is_ipv6_literal(std::string_view text);
// RFC 1123 host name syntax (labels of letters, digits and '-', ≤ 253 chars).
bool is_dns_name(std::string_view text);

struct HostPort {
  std::string host;  // unbracketed
  std::uint16_t port = 0;
};
// "host:port" or "[v6]:port"; the error names the accepted forms.
core::Result<HostPort> parse_host_port(std::string_view text);

// RFC 9110 token (the characters allowed in a header field name).
bool is_header_token(std::string_view text);
// No CR, LF or NUL (a header value must not smuggle in another header).
bool is_safe_header_value(std::string_view text);
std::string to_lower(std::string_view text);

// Turns a DNS name into an IP literal at config load time.
using HostResolver = std::function<core::Result<std::string>(const std::string& host)>;
// getaddrinfo(AF_UNSPEC, SOCK_STREAM); the first address it returns.
core::Result<std::string> resolve_with_getaddrinfo(const std::string& host);

// "10.1.0.0/16", "fd00::1" (a /128), "10.1.2.3/8" (→ "10.0.0.0/8"): the
// network in canonical form "ADDRESS/LENGTH", or nullopt.
std::optional<std::string> canonical_cidr(std::string_view text);

const char* to_string(ListenerProtocol p);
const char* to_string(TransparentMode m);
const char* to_string(OutboundPolicy p);
const char* to_string(ServiceProtocol p);
const char* to_string(HttpCodec c);
const char* to_string(LbPolicy p);

}  // namespace aegis::config
