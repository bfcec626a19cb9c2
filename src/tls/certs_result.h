// Errors of the certificate tooling, split the way the CLI reports them:
// input the user can fix (exit 2) versus a refusal by OpenSSL or the file
// system (exit 1). Every message names the input or file it is about.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"

namespace aegis::tls {

struct CertError {
  enum class Kind { invalid_input, failure };
  Kind kind = Kind::failure;
  std::string message;
};

CertError invalid_input(std::string message);
CertError failure(std::string message);
// `what` failed inside OpenSSL: appends OpenSSL's queued error strings (and
// clears the queue, so the next failure reports only its own).
CertError openssl_failure(std::string_view what);

template <typename T>
using CertResult = core::Result<T, CertError>;

}  // namespace aegis::tls
