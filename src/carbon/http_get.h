// The HTTP/1.1 GET the provider feeds make: resolve, connect, TLS (HTTPS
// with certificate and host-name verification), one request, one response
// with a bounded body, the connection closed. The whole exchange is bounded
// by one deadline. Off the request path (feeds run on the main thread).
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "carbon/feed.h"
#include "config/carbon.h"
#include "core/io.h"
#include "tls/tls_context.h"

namespace aegis::carbon {

struct HttpGet {
  config::BaseUrl base;
  std::string target;  // path and query after base.prefix, e.g. "/v3/carbon-intensity/latest?zone=DE"
  std::vector<std::pair<std::string, std::string>> headers;  // values never logged
  std::chrono::milliseconds timeout{10'000};
  std::shared_ptr<tls::SslCtxPtr> tls;  // required for https
};

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

inline constexpr std::size_t kMaxProviderBody = std::size_t{1024} * 1024;

// Errors: kConnect (DNS, refused, reset), kTimeout, kTls (handshake,
// verification), kMalformed (not HTTP/1.x, body over kMaxProviderBody).
// Any status is a response; callers judge it.
core::Task<FeedResult<HttpResponse>> http_get(HttpGet request);

// The client context for a provider: TLS 1.2 or 1.3 (public APIs), the
// server verified against `ca_file` (empty: the system bundle).
core::Result<std::shared_ptr<tls::SslCtxPtr>> make_provider_tls(const std::string& ca_file);

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string query_escape(std::string_view s);

}  // namespace aegis::carbon
