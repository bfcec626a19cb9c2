// TDX collateral as the verifier reads it: the QuoteCollateralV3 JSON
// (tdx-v4/collateral.json layout) and the two signed documents inside it,
// TDX TCB Info v3 and TD QE Identity v2, parsed with nlohmann without
// exceptions. Signatures and evaluation live in tdx_tcb.h.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/tdx_quote.h"

namespace aegis::attest::tdx {

struct TdxCollateral {
  std::string tcb_info_issuer_chain;  // PEM
  std::string tcb_info;               // the exact signed JSON bytes
  Bytes64 tcb_info_signature{};       // r || s
  std::string qe_identity_issuer_chain;
  std::string qe_identity;
  Bytes64 qe_identity_signature{};
  std::string pck_crl_issuer_chain;
  std::vector<std::uint8_t> root_ca_crl;  // DER
  std::vector<std::uint8_t> pck_crl;      // DER
};

struct TcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pcesvn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
  std::string status;
  std::string tcb_date;
  std::vector<std::string> advisories;
};

// A level of an enclave or TDX module identity: isvsvn → status.
struct IsvLevel {
  std::uint16_t isvsvn = 0;
  std::string status;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01": the TDX module's major version, tee_tcb_svn[1]
  Bytes48 mrsigner{};
  std::array<std::uint8_t, 8> attributes{};
  std::array<std::uint8_t, 8> attributes_mask{};
  std::vector<IsvLevel> levels;
};

struct TdxTcbInfo {
  std::string id;  // "TDX"
  int version = 0;
  std::time_t issue_date = 0;
  std::time_t next_update = 0;
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pce_id{};
  int tcb_type = 0;
  int tcb_evaluation_data_number = 0;
  TdxModuleIdentity module;  // "tdxModule": id empty, no levels
  std::vector<TdxModuleIdentity> module_identities;
  std::vector<TcbLevel> levels;
};

struct QeIdentity {
  std::string id;  // "TD_QE"
  int version = 0;
  std::time_t issue_date = 0;
  std::time_t next_update = 0;
  std::uint32_t miscselect = 0;
  std::uint32_t miscselect_mask = 0;
  Bytes16 attributes{};
  Bytes16 attributes_mask{};
  Bytes32 mrsigner{};
  std::uint16_t isvprodid = 0;
  std::vector<IsvLevel> levels;
};

// All parse failures are collateral_invalid, naming the field.
TdxResult<TdxCollateral> parse_tdx_collateral(std::string_view json);
TdxResult<TdxTcbInfo> parse_tdx_tcb_info(std::string_view json);
TdxResult<QeIdentity> parse_qe_identity(std::string_view json);

// "2025-06-19T10:16:03Z" (UTC only) → seconds since the epoch.
std::optional<std::time_t> parse_utc_time(std::string_view text);
std::string format_utc_time(std::time_t t);

}  // namespace aegis::attest::tdx
