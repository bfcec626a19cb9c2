// A directory of TEST roots for simulated evidence (machines without a TEE):
// an AMD-style ARK/ASK/VCEK and an Intel-style SGX root/PCK chain with their
// private keys, and roots.json naming the two root fingerprints that a
// verifier must be given explicitly. Never a vendor's root; everything says TEST.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "attest/simulated_certs.h"
#include "attest/snp_report.h"
#include "tls/certs_result.h"
#include "tls/ossl_ptr.h"

namespace aegis::attest {

// Files under the roots directory: certificates PEM (0644), keys PKCS#8 PEM (0600).
namespace simulated_files {
inline constexpr std::string_view kSnpArk = "TEST-snp-ark.pem";
inline constexpr std::string_view kSnpArkKey = "TEST-snp-ark.key.pem";
inline constexpr std::string_view kSnpAsk = "TEST-snp-ask.pem";
inline constexpr std::string_view kSnpAskKey = "TEST-snp-ask.key.pem";
inline constexpr std::string_view kSnpVcek = "TEST-snp-vcek.pem";
inline constexpr std::string_view kSnpVcekKey = "TEST-snp-vcek.key.pem";
inline constexpr std::string_view kTdxRoot = "TEST-tdx-root.pem";
inline constexpr std::string_view kTdxRootKey = "TEST-tdx-root.key.pem";
inline constexpr std::string_view kTdxPlatformCa = "TEST-tdx-pck-platform-ca.pem";
inline constexpr std::string_view kTdxPlatformCaKey = "TEST-tdx-pck-platform-ca.key.pem";
inline constexpr std::string_view kTdxPck = "TEST-tdx-pck.pem";
inline constexpr std::string_view kTdxPckKey = "TEST-tdx-pck.key.pem";
inline constexpr std::string_view kTdxAttestationKey = "TEST-tdx-attestation.key.pem";
inline constexpr std::string_view kRootsJson = "roots.json";
}  // namespace simulated_files

inline constexpr int kSimulatedRootDays = 3650;
inline constexpr int kSimulatedLeafDays = 365 * 7;

struct SimulatedRootFingerprints {
  std::string snp_ark_sha256;   // lower-case hex of the test ARK's DER
  std::string tdx_root_sha256;  // of the test SGX root CA's DER
};

// Generates a fresh TEST root set into `dir` (created 0700 if missing). An
// existing file is refused (invalid_input naming it and --force) unless `force`.
tls::CertResult<SimulatedRootFingerprints> generate_simulated_roots(const std::filesystem::path& dir, bool force);

// roots.json's fingerprints.
tls::CertResult<SimulatedRootFingerprints> read_simulated_fingerprints(const std::filesystem::path& dir);

struct SimulatedSnpKeys {
  tls::X509Ptr ark;
  TestCa ask;  // its key issues VCEKs for other TCBs or chip ids
  tls::PkeyPtr vcek_key;
  tls::X509Ptr vcek;  // issued for a random CHIP_ID and SimulatedSnpTcb{} at generation
};
struct SimulatedTdxKeys {
  tls::X509Ptr root;
  tls::X509Ptr platform_ca;
  TestCa pck;
  tls::PkeyPtr attestation_key;
};

tls::CertResult<SimulatedSnpKeys> load_simulated_snp(const std::filesystem::path& dir);
tls::CertResult<SimulatedTdxKeys> load_simulated_tdx(const std::filesystem::path& dir);

}  // namespace aegis::attest
