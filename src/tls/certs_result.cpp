#include "tls/certs_result.h"

#include <openssl/err.h>

#include <array>

namespace aegis::tls {

CertError invalid_input(std::string message) {
  return {CertError::Kind::invalid_input, std::move(message)};
}

CertError failure(std::string message) { return {CertError::Kind::failure, std::move(message)}; }

CertError openssl_failure(std::string_view what) {
  std::string msg(what);
  std::string details;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    if (!details.empty()) details += "; ";
    details += buf.data();
  }
  msg += details.empty() ? std::string(" (OpenSSL gave no reason)") : ": " + details;
  return failure(std::move(msg));
}

}  // namespace aegis::tls
