// What a transparent outbound listener learns from the first bytes an app
// sends (like Envoy's http_inspector and tls_inspector): enough to tell an
// HTTP/1.1 request, the HTTP/2 connection preface and a TLS ClientHello
// apart. The bytes are peeked, never consumed.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace aegis::proxy {

enum class Sniffed {
  kNeedMore,  // a prefix of something recognisable: wait for more bytes
  kHttp1,     // "METHOD SP" of a known HTTP/1.x method
  kHttp2,     // "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
  kTls,       // a TLS handshake record (ClientHello) of TLS 1.0-1.3
  kOther,     // none of these: opaque TCP
};

Sniffed sniff_protocol(std::span<const std::uint8_t> first_bytes);

// The protocol label of metrics and access logs: "http1", "http2", "tls", "tcp".
std::string_view sniffed_name(Sniffed s);

}  // namespace aegis::proxy
