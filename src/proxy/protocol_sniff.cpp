#include "proxy/protocol_sniff.h"

#include <array>

namespace aegis::proxy {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::array<std::string_view, 9> kMethods = {"GET ",   "POST ",    "PUT ",     "HEAD ", "DELETE ",
                                                      "PATCH ", "OPTIONS ", "CONNECT ", "TRACE "};

// kHttp1/kHttp2 when `text` starts with `token`; kNeedMore when `text` is a
// proper prefix of it; kOther when it differs.
Sniffed match_token(std::string_view text, std::string_view token, Sniffed on_match) {
  const std::size_t n = text.size() < token.size() ? text.size() : token.size();
  if (text.substr(0, n) != token.substr(0, n)) return Sniffed::kOther;
  return n == token.size() ? on_match : Sniffed::kNeedMore;
}

}  // namespace

Sniffed sniff_protocol(std::span<const std::uint8_t> b) {
  if (b.empty()) return Sniffed::kNeedMore;
  // TLS record header: handshake (22), legacy version 3.1-3.4 (3.0 too for
  // old ClientHellos), then a ClientHello (1) as the first handshake byte.
  if (b[0] == 0x16) {
    if (b.size() < 2) return Sniffed::kNeedMore;
    if (b[1] != 0x03) return Sniffed::kOther;
    if (b.size() < 3) return Sniffed::kNeedMore;
    if (b[2] > 0x04) return Sniffed::kOther;
    if (b.size() < 6) return Sniffed::kNeedMore;
    return b[5] == 0x01 ? Sniffed::kTls : Sniffed::kOther;
  }
  const std::string_view text(reinterpret_cast<const char*>(b.data()), b.size());
  bool more = false;
  if (auto r = match_token(text, kH2Preface, Sniffed::kHttp2); r != Sniffed::kOther) {
    if (r == Sniffed::kHttp2) return r;
    more = true;
  }
  for (auto method : kMethods) {
    const auto r = match_token(text, method, Sniffed::kHttp1);
    if (r == Sniffed::kHttp1) return r;
    more = more || r == Sniffed::kNeedMore;
  }
  return more ? Sniffed::kNeedMore : Sniffed::kOther;
}

std::string_view sniffed_name(Sniffed s) {
  switch (s) {
    case Sniffed::kHttp1:
      return "http1";
    case Sniffed::kHttp2:
      return "http2";
    case Sniffed::kTls:
      return "tls";
    default:
      return "tcp";
  }
}

}  // namespace aegis::proxy
