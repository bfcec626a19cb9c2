// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1):
// the platform's FMSPC, PCE-ID and TCB (16 CPU SVN components and PCE SVN),
// which the collateral's TCB Info is matched against.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>

#include "attest/tdx_quote.h"

namespace aegis::attest::tdx {

struct PckTcb {
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pce_id{};
  Bytes16 cpusvn{};
  std::array<std::uint8_t, 16> sgx_components{};  // SGX TCB comp01..16 SVN
  std::uint16_t pcesvn = 0;
};

// bad_certificate if the extension or one of its fields is missing or malformed.
TdxResult<PckTcb> parse_pck_extension(X509* pck_leaf);

}  // namespace aegis::attest::tdx
