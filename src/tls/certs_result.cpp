#include "tls/certs_result.h"

#include "tls/openssl_info.h"

#include <openssl/err.h>

#include <array>

namespace aegis::tls {

CertError invalid_input(std::string message) {
  return {CertError::Kind::invalid_input, std::move(message)};
}

CertError failure(std::string message) { return {CertError::Kind::failure, std::move(message)}; }

CertError openssl_failure(std::string_view what) { return failure(with_openssl_errors(what)); }

}  // namespace aegis::tls
