// What a VCEK (or VLEK) certificate says about the chip and firmware it was
// issued for (AMD's extensions under 1.3.6.1.4.1.3704.1, VCEK specification),
// and the check that it describes the same TCB and chip as a report.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "attest/snp_report.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {

struct SnpCertTcb {
  std::optional<std::uint8_t> bootloader;            // .3.1 blSPL
  std::optional<std::uint8_t> tee;                   // .3.2 teeSPL
  std::optional<std::uint8_t> snp;                   // .3.3 snpSPL
  std::optional<std::uint8_t> microcode;             // .3.8 ucodeSPL
  std::optional<std::uint8_t> fmc;                   // .3.9 fmcSPL (Turin)
  std::optional<std::array<std::uint8_t, 64>> hwid;  // .4 hwID (VCEK only)
  std::string product_name;                          // .2 productName, e.g. "Milan-B0"
};

// The extensions present; a malformed or duplicated one is `bad_certificate`.
AttestResult<SnpCertTcb> read_cert_tcb(X509* cert);

// "Milan-B0" → kMilan; kUnknown for anything else.
SnpProduct product_from_name(std::string_view product_name);

// nullopt when the certificate's SPLs equal the report's REPORTED_TCB
// (decoded for `product`) and, when `check_hwid`, its hwID equals CHIP_ID;
// otherwise `tcb_mismatch` naming the first field that differs. A missing
// SPL extension (fmcSPL only matters on Turin) is also `tcb_mismatch`.
std::optional<Failure> match_tcb(const SnpReport& report, const SnpCertTcb& cert, SnpProduct product, bool check_hwid);

}  // namespace aegis::attest
