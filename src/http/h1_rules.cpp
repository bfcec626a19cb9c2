#include "http/h1_rules.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace aegis::http {

namespace beast = boost::beast;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_control_chars(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

Rejection bad_request(std::string reason, std::string detail) {
  return Rejection{400, std::move(reason), std::move(detail)};
}

}  // namespace

std::optional<Rejection> check_request_head(const bhttp::request_header<>& head,
                                            const HeadLimits& limits) {
  if (head.target().size() > limits.max_request_line_bytes)
    return Rejection{414, "uri_too_long", "request target exceeds max_request_line_bytes"};

  std::size_t count = 0, te_count = 0, cl_count = 0, host_count = 0;
  std::string_view te_value;
  for (const auto& f : head) {
    ++count;
    const auto value = f.value();
    if (has_control_chars(value))
      return bad_request("invalid_header_value", "control character in a header value");
    switch (f.name()) {
      case bhttp::field::transfer_encoding:
        ++te_count;
        te_value = value;
        break;
      case bhttp::field::content_length:
        ++cl_count;
        break;
      case bhttp::field::host:
        ++host_count;
        break;
      default:
        break;
    }
  }
  if (count > limits.max_headers)
    return Rejection{431, "too_many_headers", "request has more header fields than max_request_headers"};
  if (te_count > 0 && cl_count > 0)
    return bad_request("ambiguous_framing", "both Transfer-Encoding and Content-Length are present");
  if (te_count > 1)
    return bad_request("ambiguous_framing", "Transfer-Encoding appears more than once");
  // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
  if (te_count > 0 && head.version() < 11)
    return bad_request("ambiguous_framing", "Transfer-Encoding in an HTTP/1.0 request");
  if (te_count == 1 && !iequals(trim(te_value), "chunked"))
    return bad_request("unsupported_transfer_encoding",
                       "only 'Transfer-Encoding: chunked' is accepted");
  if (cl_count > 1)
    return bad_request("ambiguous_framing", "Content-Length appears more than once");
  if (head.version() >= 11 && host_count != 1)
    return bad_request("invalid_host", host_count == 0 ? "HTTP/1.1 request without Host"
                                                       : "more than one Host header");
  if (host_count == 1 && !valid_authority(head[bhttp::field::host]))
    return bad_request("invalid_host", "Host is not a valid host[:port]");
  if (head.method() == bhttp::verb::unknown)
    return Rejection{501, "unknown_method", "request method is not supported"};
  if (head.method() == bhttp::verb::connect)
    return Rejection{501, "connect_not_supported", "CONNECT is not supported on this listener"};
  return std::nullopt;
}

bool valid_authority(std::string_view a) {
  const auto is_hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  const auto is_unreserved = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
  };
  std::string_view host = a;
  std::string_view port;
  if (!a.empty() && a.front() == '[') {
    const auto close = a.find(']');
    if (close == std::string_view::npos) return false;
    host = a.substr(0, close + 1);
    const auto rest = a.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
    // IPv6address (or IPv4-mapped) and an optional zone: "%25" + unreserved.
    std::string_view literal = host.substr(1, host.size() - 2);
    if (const auto zone = literal.find("%25"); zone != std::string_view::npos) {
      const auto id = literal.substr(zone + 3);
      if (id.empty() || !std::all_of(id.begin(), id.end(), is_unreserved)) return false;
      literal = literal.substr(0, zone);
    }
    if (literal.find(':') == std::string_view::npos ||
        !std::all_of(literal.begin(), literal.end(), [&](char c) { return is_hex(c) || c == ':' || c == '.'; }))
      return false;
  } else {
    const auto colon = a.find(':');
    if (colon != std::string_view::npos) {
      host = a.substr(0, colon);
      port = a.substr(colon + 1);
    }
    if (host.empty() || host.size() > 255) return false;
    for (std::size_t i = 0; i < host.size(); ++i) {
      const char c = host[i];
      if (is_unreserved(c) || std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos) continue;
      if (c == '%' && i + 2 < host.size() && is_hex(host[i + 1]) && is_hex(host[i + 2])) {
        i += 2;
        continue;
      }
      return false;
    }
  }
  // port = *DIGIT (RFC 3986); an empty port is allowed, a number above 65535 is not.
  if (port.size() > 5) return false;
  std::uint32_t n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return n <= 65535;
}

std::optional<Rejection> adopt_absolute_form_authority(bhttp::request_header<>& head) {
  const std::string_view target = head.target();
  // CONNECT's authority-form is refused later (501), by check_request_head.
  if (target.empty() || target.front() == '/' || target == "*" || head.method() == bhttp::verb::connect)
    return std::nullopt;
  const auto sep = target.find("://");
  if (sep == std::string_view::npos)
    return bad_request("bad_target", "request target is neither origin-form nor absolute-form");
  const auto scheme = target.substr(0, sep);
  if (!iequals(scheme, "http") && !iequals(scheme, "https"))
    return bad_request("bad_target", "absolute-form target with a scheme other than http or https");
  const auto rest = target.substr(sep + 3);
  const std::string authority(rest.substr(0, rest.find_first_of("/?#")));
  if (authority.empty() || authority.find('@') != std::string::npos)
    return bad_request("bad_target", "absolute-form target without a host, or with userinfo");
  head.set(bhttp::field::host, authority);
  return std::nullopt;
}

Rejection rejection_for_parse_error(const boost::system::error_code& ec) {
  using E = bhttp::error;
  if (ec == E::header_limit)
    return Rejection{431, "header_too_large", "request head exceeds max_request_header_bytes"};
  if (ec == E::body_limit)
    return Rejection{413, "body_too_large", "request body exceeds max_request_body_bytes"};
  if (ec == E::bad_content_length || ec == E::multiple_content_length)
    return bad_request("ambiguous_framing", "invalid or conflicting Content-Length");
  if (ec == E::bad_transfer_encoding)
    return bad_request("ambiguous_framing", "invalid or conflicting Transfer-Encoding");
  if (ec == E::bad_chunk || ec == E::bad_chunk_extension)
    return bad_request("invalid_chunk", "invalid chunk size or chunk extension");
  if (ec == E::bad_method) return bad_request("bad_method", "invalid request method");
  if (ec == E::bad_target) return bad_request("bad_target", "invalid request target");
  if (ec == E::bad_version) return bad_request("bad_version", "invalid HTTP version");
  if (ec == E::bad_field) return bad_request("bad_field", "invalid header field name");
  if (ec == E::bad_value) return bad_request("bad_value", "invalid header field value");
  if (ec == E::bad_line_ending) return bad_request("bad_line_ending", "invalid line ending");
  if (ec == E::partial_message) return bad_request("partial_message", "connection closed mid-message");
  return bad_request("malformed", "malformed request: " + ec.message());
}

std::string upgrade_protocol(const bhttp::fields& fields) {
  const auto upgrade = fields.find(bhttp::field::upgrade);
  if (upgrade == fields.end() || upgrade->value().empty() || has_control_chars(upgrade->value())) return {};
  for (auto it = fields.find(bhttp::field::connection); it != fields.end() && it->name() == bhttp::field::connection;
       ++it) {
    for (auto token : bhttp::token_list{it->value()})
      if (beast::iequals(token, "upgrade")) return std::string(upgrade->value());
  }
  return {};
}

void remove_hop_by_hop(bhttp::fields& fields) {
  // One pass, erasing by position (no name lookups); fields named by
  // Connection (RFC 9110 §7.6.1) are collected on the way and erased after.
  std::vector<std::string> named;
  for (auto it = fields.begin(); it != fields.end();) {
    switch (it->name()) {
      case bhttp::field::connection:
        for (auto token : bhttp::token_list{it->value()})
          if (!beast::iequals(token, "close") && !beast::iequals(token, "keep-alive"))
            named.emplace_back(token);
        [[fallthrough]];
      case bhttp::field::keep_alive:
      case bhttp::field::proxy_connection:
      case bhttp::field::te:
      case bhttp::field::trailer:
      case bhttp::field::transfer_encoding:
      case bhttp::field::upgrade:
      case bhttp::field::expect:
        it = fields.erase(it);
        break;
      default:
        ++it;
    }
  }
  for (const auto& n : named) fields.erase(n);
}

void set_forwarding_headers(bhttp::fields& fields, std::string_view client_ip,
                            std::string_view proto, bool trust_downstream) {
  std::string xff;
  if (trust_downstream) {
    for (const auto& f : fields) {
      if (!iequals(f.name_string(), "x-forwarded-for")) continue;
      if (!xff.empty()) xff += ", ";
      xff.append(trim(f.value()));
    }
  }
  if (!xff.empty()) xff += ", ";
  xff.append(client_ip);
  fields.set("x-forwarded-for", xff);
  fields.set("x-forwarded-proto", proto);
}

std::string_view request_authority(const bhttp::request_header<>& head) {
  auto host = head[bhttp::field::host];
  if (!host.empty()) return host;
  std::string_view t = head.target();
  auto scheme = t.find("://");
  if (scheme == std::string_view::npos) return {};
  t.remove_prefix(scheme + 3);
  return t.substr(0, t.find_first_of("/?#"));
}

std::string_view origin_form(std::string_view target) {
  if (target.empty() || target.front() == '/') return target;
  const auto scheme = target.find("://");
  if (scheme == std::string_view::npos) return target;
  const auto slash = target.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
}

void set_upstream_framing(bhttp::request_header<>& head, bool chunked,
                          std::optional<std::uint64_t> content_length) {
  // Set directly: Beast's chunked()/content_length() setters re-parse token lists.
  if (chunked) head.set(bhttp::field::transfer_encoding, "chunked");
  if (content_length) {
    const fmt::format_int digits(*content_length);  // no allocation
    head.set(bhttp::field::content_length, std::string_view(digits.data(), digits.size()));
  }
}

bool set_downstream_framing(bhttp::response_header<>& head, bool has_body, bool sized, bool draining,
                            bool& keep_alive) {
  bool chunked = false;
  if (has_body && !sized) {
    if (head.version() == 11) {
      head.set(bhttp::field::transfer_encoding, "chunked");
      chunked = true;
    } else {
      keep_alive = false;  // HTTP/1.0 client: body delimited by close
    }
  }
  if (draining) keep_alive = false;
  // Connection was removed with the other hop-by-hop fields.
  if (head.version() == 11 && !keep_alive)
    head.set(bhttp::field::connection, "close");
  else if (head.version() == 10 && keep_alive)
    head.set(bhttp::field::connection, "keep-alive");
  return chunked;
}

std::string_view status_class(unsigned status) {
  static constexpr std::array<std::string_view, 6> kClasses = {"other", "1xx", "2xx",
                                                               "3xx", "4xx", "5xx"};
  const auto c = status / 100;
  return c >= 1 && c <= 5 ? kClasses[c] : kClasses[0];  // NOLINT(cppcoreguidelines-pro-bounds-constant-array-index): c is checked
}

}  // namespace aegis::http
