// The TEST certificate authorities behind simulated evidence: an AMD-style
// ARK → ASK → VCEK chain (RSASSA-PSS/SHA-384, the VCEK carrying AMD's TCB and
// hwID extensions) and an Intel-style SGX root → PCK platform CA → PCK leaf
// (with the SGX extension). Every name says TEST; none of it is a vendor's.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "tls/certs_result.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {

// A TCB_VERSION's security patch levels as a Milan VCEK states them.
struct SimulatedSnpTcb {
  std::uint8_t bootloader = 3;  // the defaults are the Milan vector's REPORTED_TCB
  std::uint8_t tee = 0;
  std::uint8_t snp = 8;
  std::uint8_t microcode = 0x73;
  // The report's 64-bit field, Milan/Genoa layout (bootloader byte 0, tee
  // byte 1, snp byte 6, microcode byte 7).
  std::uint64_t raw() const;
  bool operator==(const SimulatedSnpTcb&) const = default;
};

using ChipId = std::array<std::uint8_t, 64>;

struct TestCa {
  tls::PkeyPtr key;
  tls::X509Ptr cert;
};

// Test ARK: RSA, self-signed with RSASSA-PSS/SHA-384 (salt 48, MGF1-SHA-384)
// like AMD's; valid `days`.
tls::CertResult<TestCa> make_test_ark(int days);
// Test ASK, signed by `ark` the same way.
tls::CertResult<TestCa> make_test_ask(const TestCa& ark, int days);
// A P-384 key for the test VCEK.
tls::CertResult<tls::PkeyPtr> make_test_vcek_key();
// The VCEK certificate for `vcek_key`, issued by `ask`: CN "SEV-VCEK" and the
// extensions in the order and encoding AMD's KDS uses (structVersion 0,
// productName IA5String "Milan-B0", blSPL/teeSPL/spl_4..7/snpSPL/ucodeSPL as
// DER INTEGERs, hwID as the 64 raw bytes).
tls::CertResult<tls::X509Ptr> issue_test_vcek(const TestCa& ask, EVP_PKEY* vcek_key, const SimulatedSnpTcb& tcb,
                                              const ChipId& chip_id, int days);

// Test SGX root (EC P-256, self-signed, CN "Aegis-Flow TEST SGX Root CA")
// and the PCK platform CA it signs.
tls::CertResult<TestCa> make_test_sgx_root(int days);
tls::CertResult<TestCa> make_test_pck_platform_ca(const TestCa& root, int days);
// PCK leaf with the SGX extension 1.2.840.113741.1.13.1 {TCB (16 component
// SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC}.
struct TestPckPlatform {
  std::array<std::uint8_t, 16> sgx_components{};
  unsigned pcesvn = 0;
  std::array<std::uint8_t, 2> pce_id{};
  std::array<std::uint8_t, 6> fmspc = {0x00, 0x90, 0x6e, 0xa1, 0x00, 0x00};
};
tls::CertResult<TestCa> make_test_pck(const TestCa& platform_ca, const TestPckPlatform& platform, int days);

}  // namespace aegis::attest
