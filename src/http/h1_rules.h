// HTTP/1.1 message rules a proxy must enforce between the Beast parser and the
// router: framing checks that stop request smuggling, header limits, hop-by-hop
// header removal (RFC 9110 §7.6.1) and forwarding headers. Pure functions on
// Beast header objects; no I/O.
#pragma once

#include <boost/beast/http.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aegis::http {

namespace bhttp = boost::beast::http;

// Why a request head is refused. `reason` is a short, stable metric label.
struct Rejection {
  unsigned status;      // 400, 413, 414, 431, 501
  std::string reason;   // e.g. "ambiguous_framing"
  std::string detail;   // human-readable, sent in the response body
};

struct HeadLimits {
  std::uint32_t max_headers;
  std::uint32_t max_request_line_bytes;
};

// Checks a parsed request head for what Beast accepts but a proxy must not
// forward: Transfer-Encoding other than exactly "chunked" (or in HTTP/1.0), Transfer-Encoding
// together with Content-Length, repeated Content-Length fields, too many
// header fields, an over-long target, a missing/duplicate Host on HTTP/1.1,
// control characters in field values.
std::optional<Rejection> check_request_head(const bhttp::request_header<>& head,
                                            const HeadLimits& limits);

// Whether `authority` (a Host field or :authority) is host[:port] as RFC 3986
// §3.2.2 spells it, nothing else: a reg-name of unreserved / sub-delims /
// pct-encoded characters at most 255 bytes long (RFC 1035), or an IP-literal
// in brackets (hex digits, ':' and '.', an RFC 6874 zone "%25..."), then an
// optional ":" and a port of at most 65535. No userinfo, no path, not empty.
bool valid_authority(std::string_view authority);

// RFC 9112 §3.2.2: a request with an absolute-form target is routed by the
// target's authority, which replaces Host (a Host that disagrees is ignored).
// Refuses (400) targets with a scheme other than http/https, userinfo or an
// empty authority. Origin-form targets are left alone.
std::optional<Rejection> adopt_absolute_form_authority(bhttp::request_header<>& head);

// Maps a Beast parse error to the response a client should get.
Rejection rejection_for_parse_error(const boost::system::error_code& ec);

// Removes hop-by-hop fields: Connection and every field it names, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, plus Expect (the
// proxy answers 100-continue itself). Framing is re-derived by the serializer.
// The protocol a request asks to switch to (RFC 9110 §7.8): the Upgrade
// field's value when Connection lists "upgrade"; empty otherwise.
std::string upgrade_protocol(const bhttp::fields& fields);

void remove_hop_by_hop(bhttp::fields& fields);

// Appends (or, if !trust_downstream, replaces) x-forwarded-for with the
// client's address; sets x-forwarded-proto.
void set_forwarding_headers(bhttp::fields& fields, std::string_view client_ip,
                            std::string_view proto, bool trust_downstream);

// The authority of a request: Host header, or the authority of an
// absolute-form target.
std::string_view request_authority(const bhttp::request_header<>& head);

// The upstream request's target: absolute-form (http://host/path) is
// forwarded as origin-form (/path); other forms unchanged.
std::string_view origin_form(std::string_view target);

// The upstream request's framing fields, re-derived from what the parser
// decided (the client's own were removed as hop-by-hop or are rewritten):
// "Transfer-Encoding: chunked" when chunked, and Content-Length from the
// parsed value ("5, 5" or "05", which Beast accepts, go upstream as "5").
void set_upstream_framing(bhttp::request_header<>& head, bool chunked,
                          std::optional<std::uint64_t> content_length);

// The downstream response's framing, after its hop-by-hop fields went: a
// body without a length is chunked for an HTTP/1.1 client and delimited by
// the close for HTTP/1.0 (keep_alive turns false); Connection says only what
// differs from the version's default. `draining` ends keep-alive. Returns
// whether the body must be chunked.
bool set_downstream_framing(bhttp::response_header<>& head, bool has_body, bool sized, bool draining,
                            bool& keep_alive);

// Status codes of interim (1xx) responses the proxy drops while it waits for
// the final one; 101 is final (an upgrade).
inline bool is_dropped_interim(unsigned status) { return status >= 100 && status < 200 && status != 101; }

// "2xx" etc. for a status code.
std::string_view status_class(unsigned status);

}  // namespace aegis::http
