// ECDSA P-256 checks with raw signatures and Intel PKI chain checks, all
// through OpenSSL 3 (EVP, X509_STORE) with RAII handles.
#include "attest/tdx_pki.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <numeric>

#include "attest/tdx_ossl.h"
#include "core/hex.h"
#include "tls/x509_inspect.h"

namespace aegis::attest::tdx {

Bytes32 sha256(std::span<const std::uint8_t> data) {
  Bytes32 out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes32 sha256(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  Bytes32 out{};
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(md.get(), a.data(), a.size()) != 1 ||
      EVP_DigestUpdate(md.get(), b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(md.get(), out.data(), nullptr) != 1) {
    return Bytes32{};  // all zero: never a QE report's binding by accident
  }
  return out;
}

tls::PkeyPtr p256_key_from_xy(std::span<const std::uint8_t, 64> xy) {
  std::array<std::uint8_t, 65> point{};
  point[0] = 0x04;  // uncompressed
  std::copy(xy.begin(), xy.end(), point.begin() + 1);
  char group[] = "prime256v1";
  std::array<OSSL_PARAM, 3> params = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  tls::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.data()) != 1) {
    return nullptr;
  }
  return tls::PkeyPtr(raw);
}

namespace {

bool is_p256(EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) return false;
  std::array<char, 64> name{};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key, name.data(), name.size(), &len) != 1) return false;
  const std::string_view group(name.data(), len);
  return group == "prime256v1" || group == "P-256";
}

Failure bad_cert(std::string_view what, std::string detail) {
  return {"bad_certificate", std::string(what) + ": " + std::move(detail)};
}

bool in_order(const CertChain& chain, const std::vector<std::size_t>& order) {
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    if (X509_check_issued(chain[order[i + 1]].get(), chain[order[i]].get()) != X509_V_OK) {
      return false;
    }
  }
  X509* last = chain[order.back()].get();
  return X509_check_issued(last, last) == X509_V_OK;
}

}  // namespace

bool ecdsa_p256_verify(EVP_PKEY* key, std::span<const std::uint8_t> message,
                       std::span<const std::uint8_t, 64> sig) {
  if (!is_p256(key)) return false;
  EcdsaSigPtr ecdsa(ECDSA_SIG_new());
  tls::BignumPtr r(BN_bin2bn(sig.data(), 32, nullptr));
  tls::BignumPtr s(BN_bin2bn(sig.subspan<32>().data(), 32, nullptr));
  if (!ecdsa || !r || !s || ECDSA_SIG_set0(ecdsa.get(), r.get(), s.get()) != 1) return false;
  (void)r.release();  // owned by `ecdsa` from here on
  (void)s.release();
  unsigned char* der_raw = nullptr;
  const int der_len = i2d_ECDSA_SIG(ecdsa.get(), &der_raw);
  if (der_len <= 0) return false;
  const tls::OpensslBytesPtr<unsigned char> der(der_raw);
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(md.get(), der.get(), static_cast<std::size_t>(der_len), message.data(),
                          message.size()) == 1;
}

TdxResult<CertChain> load_chain(std::string_view pem, std::string_view what) {
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return bad_cert(what, "no PEM certificate");
  }
  auto certs = tls::parse_certificates(pem, what);
  if (!certs) return bad_cert(what, certs.error().message);
  if (certs->empty()) return bad_cert(what, "no certificate");
  return std::move(*certs);
}

std::optional<Failure> check_chain_order(const CertChain& chain, std::string_view what) {
  if (chain.size() > 8) return bad_cert(what, "more than 8 certificates");
  std::vector<std::size_t> order(chain.size());
  std::iota(order.begin(), order.end(), 0);
  if (in_order(chain, order)) return std::nullopt;
  while (std::next_permutation(order.begin(), order.end())) {
    if (in_order(chain, order)) {
      return Failure{"chain_order", std::string(what) +
                                        ": certificates are not in leaf-to-root order (each "
                                        "must be issued by the next)"};
    }
  }
  return bad_cert(what, "certificates do not form a chain to a self-issued root");
}

std::string cert_sha256_hex(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) return {};
  return core::to_hex(std::span<const std::uint8_t>(md.data(), len));
}

std::optional<Failure> check_pinned_root(const CertChain& chain,
                                         const std::vector<std::string>& fingerprints,
                                         std::string_view what) {
  const std::string fp = cert_sha256_hex(chain.back().get());
  for (const auto& pinned : fingerprints) {
    std::string lower = pinned;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!fp.empty() && fp == lower) return std::nullopt;
  }
  return Failure{"untrusted_root",
                 std::string(what) + ": root certificate SHA-256 " + fp + " is not pinned"};
}

namespace {

Failure chain_error(int err, std::string_view what) {
  std::string detail = std::string(what) + ": " + X509_verify_cert_error_string(err);
  switch (err) {
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
      return {"collateral_expired", std::move(detail)};
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
      return {"collateral_signature", std::move(detail)};
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
      return {"collateral_invalid", std::move(detail)};
    default:
      return {"bad_certificate", std::move(detail)};
  }
}

}  // namespace

std::optional<Failure> verify_chain_at(const CertChain& chain, std::time_t at,
                                       const std::vector<X509_CRL*>& crls, std::string_view what) {
  if (chain.empty()) return bad_cert(what, "empty chain");
  tls::X509StorePtr store(X509_STORE_new());
  tls::X509StackPtr untrusted(sk_X509_new_null());
  tls::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx || X509_STORE_add_cert(store.get(), chain.back().get()) != 1) {
    return bad_cert(what, "OpenSSL could not set up the chain check");
  }
  for (std::size_t i = 1; i + 1 < chain.size(); ++i) {
    if (sk_X509_push(untrusted.get(), chain[i].get()) <= 0) return bad_cert(what, "out of memory");
    X509_up_ref(chain[i].get());
  }
  for (X509_CRL* crl : crls) {
    if (X509_STORE_add_crl(store.get(), crl) != 1) return bad_cert(what, "could not add a CRL");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain.front().get(), untrusted.get()) != 1) {
    return bad_cert(what, "OpenSSL could not set up the chain check");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, at);
  unsigned long flags = X509_V_FLAG_X509_STRICT;
  if (!crls.empty()) flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  X509_VERIFY_PARAM_set_flags(param, flags);
  if (X509_verify_cert(ctx.get()) != 1)
    return chain_error(X509_STORE_CTX_get_error(ctx.get()), what);
  return std::nullopt;
}

}  // namespace aegis::attest::tdx
