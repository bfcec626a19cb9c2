// Errors of the certificate tooling, split the way the CLI reports them:
// input the user can fix (exit 2) versus a refusal by OpenSSL or the file
// system (exit 1). Every message names the input or file it is about.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

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
class [[nodiscard]] CertResult {
 public:
  CertResult(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  CertResult(CertError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const CertError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, CertError> v_;
};

template <>
class [[nodiscard]] CertResult<void> {
 public:
  CertResult() = default;
  CertResult(CertError error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const CertError& error() const { return error_; }

 private:
  CertError error_;
  bool ok_ = true;
};

}  // namespace aegis::tls
