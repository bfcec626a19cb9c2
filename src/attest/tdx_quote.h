// Intel TDX DCAP quotes, versions 4 and 5, parsed from untrusted bytes with
// core::ByteReader only: header, TD report body (1.0 or 1.5), and the ECDSA
// quote signature data down to the PCK certificate chain. No crypto here;
// tdx_verify.h checks what this parser hands over.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attest/verdict.h"
#include "core/result.h"

namespace aegis::attest::tdx {

inline constexpr std::uint16_t kTdxAttKeyEcdsaP256 = 2;
inline constexpr std::uint32_t kTdxTeeType = 0x81;
inline constexpr std::uint16_t kTdxBody10 = 2;  // v5 body descriptor: TD report 1.0
inline constexpr std::uint16_t kTdxBody15 = 3;  // v5 body descriptor: TD report 1.5
inline constexpr std::size_t kTdxHeaderSize = 48;
inline constexpr std::size_t kTdxBody10Size = 584;
inline constexpr std::size_t kTdxBody15Size = 648;
inline constexpr std::size_t kSgxReportSize = 384;
// Limits on length fields: anything above is a corrupt quote (bad_length),
// anything below but beyond the input's end a cut one (truncated).
inline constexpr std::uint32_t kTdxMaxSignatureData = 64 * 1024;

using Bytes16 = std::array<std::uint8_t, 16>;
using Bytes32 = std::array<std::uint8_t, 32>;
using Bytes48 = std::array<std::uint8_t, 48>;
using Bytes64 = std::array<std::uint8_t, 64>;

struct TdxHeader {
  std::uint16_t version = 0;
  std::uint16_t att_key_type = 0;
  std::uint32_t tee_type = 0;
  std::uint16_t qe_svn = 0;   // reserved in v4/v5
  std::uint16_t pce_svn = 0;  // reserved in v4/v5
  Bytes16 qe_vendor_id{};
  std::array<std::uint8_t, 20> user_data{};
};

// TD report body; the last two fields exist only in TD report 1.5.
struct TdReportBody {
  Bytes16 tee_tcb_svn{};
  Bytes48 mrseam{};
  Bytes48 mrsignerseam{};
  std::array<std::uint8_t, 8> seam_attributes{};
  std::array<std::uint8_t, 8> td_attributes{};  // bit 0 of byte 0 = DEBUG
  std::array<std::uint8_t, 8> xfam{};
  Bytes48 mrtd{};
  Bytes48 mrconfigid{};
  Bytes48 mrowner{};
  Bytes48 mrownerconfig{};
  std::array<Bytes48, 4> rtmr{};
  Bytes64 report_data{};
  Bytes16 tee_tcb_svn2{};
  Bytes48 mr_servicetd{};
};

// The QE's SGX enclave report (384 bytes), signed by the PCK key.
struct SgxReportBody {
  Bytes16 cpusvn{};
  std::uint32_t miscselect = 0;
  Bytes16 attributes{};
  Bytes32 mrenclave{};
  Bytes32 mrsigner{};
  std::uint16_t isvprodid = 0;
  std::uint16_t isvsvn = 0;
  Bytes64 report_data{};
};

struct TdxQuote {
  TdxHeader header;
  std::uint16_t body_type = kTdxBody10;  // v4 always carries TD report 1.0
  TdReportBody body;
  std::vector<std::uint8_t> signed_data;    // header (+ v5 descriptor) + body
  Bytes64 signature{};                      // r || s, big-endian
  Bytes64 attestation_key{};                // x || y of a P-256 point
  std::vector<std::uint8_t> qe_report_raw;  // the 384 signed bytes
  SgxReportBody qe_report;
  Bytes64 qe_report_signature{};
  std::vector<std::uint8_t> qe_auth_data;
  std::string pck_chain_pem;       // certification data type 5, NULs stripped
  std::size_t trailing_bytes = 0;  // after the signature data (padding)

  bool debug() const { return (body.td_attributes[0] & 0x01) != 0; }
};

// Results of the TDX parsers and checks: a value or the Failure to report.
template <typename T>
using TdxResult = core::Result<T, Failure>;

// Parses a v4 or v5 quote. Codes: truncated, bad_length, unsupported_version
// (also a tee_type other than TDX), unsupported_key_type, bad_certificate
// (certification data other than QE report + PCK chain).
TdxResult<TdxQuote> parse_tdx_quote(std::span<const std::uint8_t> data);

}  // namespace aegis::attest::tdx
