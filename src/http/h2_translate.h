// Messages between HTTP/1.1 and HTTP/2 (RFC 9113 §8): an HTTP/1.1 request
// head as HTTP/2 fields (pseudo-headers first, lower-case names, no
// connection-specific fields), and HTTP/2 response fields as an HTTP/1.1 head.
#pragma once

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string_view>

#include "http/h2_connection.h"

namespace aegis::http::h2 {

// :method, :scheme (`scheme`), :authority (from Host), :path, then the other
// fields lower-cased; Host, Connection, Keep-Alive, Proxy-Connection,
// Transfer-Encoding and Upgrade are dropped, and TE is kept only as
// "trailers" (§8.2.2). The fields Connection names must be gone already
// (http::remove_hop_by_hop, as the proxy's request rewrite does, which also
// drops TE): `te_trailers` adds "te: trailers" (gRPC servers require it).
Fields request_fields(const boost::beast::http::request_header<>& head, std::string_view scheme, bool te_trailers);
// Whether the client's TE lists "trailers" (read before the rewrite drops it).
bool te_trailers(const boost::beast::http::fields& fields);

// The response head of an HTTP/2 response: :status and the regular fields
// (values nghttp2 already validated). nullopt when :status is missing or not
// a number in 200..999 (1xx heads are interim and never reach here).
std::optional<boost::beast::http::response_header<>> response_head(const Fields& fields);

// Trailers as an HTTP/1.1 chunked-body trailer section ("name: value\r\n"...,
// no final CRLF); fields with a CR or LF in them are left out.
std::string trailer_section(const Fields& trailers);

}  // namespace aegis::http::h2
