#include "tls/openssl_info.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <memory>
#include <sstream>

namespace aegis::tls {

namespace {
struct SslCtxFree { void operator()(SSL_CTX* c) const { SSL_CTX_free(c); } };
struct CstrStackFree {
  void operator()(STACK_OF(OPENSSL_CSTRING)* s) const { sk_OPENSSL_CSTRING_free(s); }
};
struct OpensslFree { void operator()(char* p) const { OPENSSL_free(p); } };

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, sep);)
    if (!item.empty()) out.push_back(item);
  return out;
}
}  // namespace

void init_openssl() {
  OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

std::string with_openssl_errors(std::string_view what) {
  std::string out(what);
  std::string details;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    if (!details.empty()) details += "; ";
    details += buf.data();
  }
  out += details.empty() ? std::string(" (OpenSSL gave no reason)") : ": " + details;
  return out;
}

std::vector<std::string> tls13_groups() {
  init_openssl();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_method()));
  std::unique_ptr<STACK_OF(OPENSSL_CSTRING), CstrStackFree> names(sk_OPENSSL_CSTRING_new_null());
  std::vector<std::string> out;
  if (!ctx || !names) return out;
  if (!SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION)) return out;
  if (SSL_CTX_get0_implemented_groups(ctx.get(), 0, names.get()) <= 0) return out;
  for (int i = 0; i < sk_OPENSSL_CSTRING_num(names.get()); ++i)
    out.emplace_back(sk_OPENSSL_CSTRING_value(names.get(), i));
  return out;
}

std::vector<std::string> signature_algorithms() {
  init_openssl();
  // Making a context activates the default provider.
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_method()));
  std::vector<std::string> out;
  if (std::unique_ptr<char, OpensslFree> list(SSL_get1_builtin_sigalgs(nullptr)); list)
    out = split(list.get(), ':');
  // Algorithms that providers add to TLS (ML-DSA in the default provider)
  // are announced as "TLS-SIGALG" capabilities, not in the built-in table.
  OSSL_PROVIDER_do_all(
      nullptr,
      [](OSSL_PROVIDER* prov, void* arg) -> int {
        OSSL_PROVIDER_get_capabilities(
            prov, "TLS-SIGALG",
            [](const OSSL_PARAM params[], void* a) -> int {
              // The IANA name is what `openssl list` and TLS metrics show (mldsa65).
              const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_SIGALG_IANA_NAME);
              if (!p) p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_SIGALG_NAME);
              const char* name = nullptr;
              if (p && OSSL_PARAM_get_utf8_string_ptr(p, &name) && name) {
                auto& v = *static_cast<std::vector<std::string>*>(a);
                if (std::find(v.begin(), v.end(), name) == v.end()) v.emplace_back(name);
              }
              return 1;
            },
            arg);
        return 1;
      },
      &out);
  return out;
}

}  // namespace aegis::tls
