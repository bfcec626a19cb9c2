#include "tls/openssl_info.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>

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
  // Provider-backed algorithms (ML-DSA) are registered when a context is made.
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_method()));
  std::unique_ptr<char, OpensslFree> list(SSL_get1_builtin_sigalgs(nullptr));
  if (!list) return {};
  return split(list.get(), ':');
}

}  // namespace aegis::tls
