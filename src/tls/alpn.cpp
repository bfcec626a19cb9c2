#include "tls/alpn.h"

#include <string>

namespace aegis::tls {

bool offer_alpn(SSL* ssl, std::string_view protocol) {
  if (protocol.empty() || protocol.size() > 255) return false;
  std::string wire(1, static_cast<char>(protocol.size()));  // RFC 7301 §3.1: length-prefixed names
  wire.append(protocol);
  return SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                             static_cast<unsigned>(wire.size())) == 0;
}

std::string_view selected_alpn(const SSL* ssl) {
  const unsigned char* chosen = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &chosen, &len);
  return chosen ? std::string_view(reinterpret_cast<const char*>(chosen), len) : std::string_view();
}

}  // namespace aegis::tls
