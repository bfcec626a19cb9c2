// ALPN on a client connection: offer one protocol, then read what the server
// selected (the upstream HTTP/2 pool and the gRPC health check use it).
#pragma once

#include <openssl/ssl.h>

#include <string_view>

namespace aegis::tls {

// Offers `protocol` (e.g. "h2") in the ClientHello. False if it cannot be
// encoded (longer than 255 bytes, empty) or OpenSSL refused it.
bool offer_alpn(SSL* ssl, std::string_view protocol);
// The protocol the server selected; empty when none.
std::string_view selected_alpn(const SSL* ssl);

}  // namespace aegis::tls
