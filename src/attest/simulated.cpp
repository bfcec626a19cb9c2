// The simulated provider: lays out an SEV-SNP report at the ABI's offsets
// (the ones snp_report.cpp reads) and signs it with the TEST VCEK, with the
// GHCB certificate table a host would supply; or builds a TDX v4 quote
// (simulated_tdx.cpp). The keys come from a TEST roots directory.
#include "attest/simulated.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <string>
#include <vector>

#include "attest/simulated_roots.h"
#include "attest/simulated_wire.h"
#include "attest/snp_cert_table.h"
#include "attest/snp_vcek.h"

namespace aegis::attest {

namespace {

using simulated_wire::Bytes;

// SNP report fields this provider sets, by their ABI offsets.
constexpr std::size_t kVersion = 0x00, kPolicy = 0x08, kVmpl = 0x30, kSigAlgo = 0x34, kCurrentTcb = 0x38,
                      kPlatformInfo = 0x40, kReportData = 0x50, kMeasurement = 0x90, kReportId = 0x140,
                      kReportIdMa = 0x160, kReportedTcb = 0x180, kCpuidFamId = 0x188, kCpuidModId = 0x189,
                      kCpuidStep = 0x18A, kChipId = 0x1A0, kCommittedTcb = 0x1E0, kCurrentBuild = 0x1E8,
                      kCommittedBuild = 0x1EC, kLaunchTcb = 0x1F0, kSignatureR = 0x2A0, kSignatureS = 0x2E8;
constexpr std::size_t kSignatureComponent = 72;
constexpr std::uint32_t kReportVersion = 3;  // the first with CPUID_FAM_ID/MOD_ID, so the product is known
// Milan B0: family 19h, model 01h, stepping 1 (matches the VCEK's "Milan-B0").
constexpr std::uint8_t kMilanFamily = 0x19, kMilanModel = 0x01, kMilanStepping = 0x01;
constexpr std::uint64_t kPlatformInfoSmtEnabled = 0x1;
constexpr std::uint8_t kFirmwareBuild = 21, kFirmwareMinor = 55, kFirmwareMajor = 1;

Failure roots_failure(const tls::CertError& e) {
  return Failure{"simulated_roots",
                 e.message + " (create a TEST roots directory with `aegis-flow attest test-roots --out DIR`)"};
}

Failure sign_failure(std::string what) {
  ERR_clear_error();
  return Failure{"simulated_sign", std::move(what)};
}

std::optional<Bytes> cert_der(X509* cert) {
  unsigned char* raw = nullptr;
  const int n = i2d_X509(cert, &raw);
  const tls::OpensslBytesPtr<unsigned char> owned(raw);
  if (n <= 0 || raw == nullptr) return std::nullopt;
  const std::span<const unsigned char> der(raw, static_cast<std::size_t>(n));
  return Bytes(der.begin(), der.end());
}

// The GHCB table: {GUID, offset, length} per certificate, an all-zero
// terminator, then the DER certificates; offsets from the table's start.
Bytes cert_table(const std::vector<std::pair<std::string_view, Bytes>>& certs) {
  constexpr std::size_t kEntrySize = 24;
  std::size_t offset = (certs.size() + 1) * kEntrySize;
  simulated_wire::Writer table;
  for (const auto& [guid_text, der] : certs) {
    table.bytes(guid_from_text(guid_text));
    table.u32(static_cast<std::uint32_t>(offset));
    table.u32(static_cast<std::uint32_t>(der.size()));
    offset += der.size();
  }
  table.zeros(kEntrySize);
  for (const auto& [guid_text, der] : certs) table.bytes(der);
  return table.take();
}

// The VCEK for `tcb` and `chip_id`: the stored one when it states them,
// else a fresh one from the test ASK (as AMD's KDS issues one per TCB).
AttestResult<tls::X509Ptr> vcek_for(SimulatedSnpKeys& keys, const SimulatedOptions& o, SimulatedSnpTcb& tcb,
                                    ChipId& chip_id) {
  auto stored = read_cert_tcb(keys.vcek.get());
  if (!stored) return stored.error();
  const SimulatedSnpTcb stored_tcb{stored->bootloader.value_or(0), stored->tee.value_or(0), stored->snp.value_or(0),
                                   stored->microcode.value_or(0)};
  tcb = o.tcb.value_or(stored_tcb);
  chip_id = o.chip_id.value_or(stored->hwid.value_or(ChipId{}));
  if (tcb == stored_tcb && stored->hwid && *stored->hwid == chip_id) return std::move(keys.vcek);
  auto issued = issue_test_vcek(keys.ask, keys.vcek_key.get(), tcb, chip_id, kSimulatedLeafDays);
  if (!issued) return roots_failure(issued.error());
  return std::move(issued.value());
}

Bytes snp_report_body(const SimulatedOptions& o, const ReportData& report_data, const SimulatedSnpTcb& tcb,
                      const ChipId& chip_id) {
  Bytes r(kSnpReportSize, 0);
  using simulated_wire::put_le;
  put_le(r, kVersion, kReportVersion, 4);
  put_le(r, kPolicy, o.policy | (o.debug ? kSnpPolicyDebugBit : 0), 8);
  put_le(r, kVmpl, o.vmpl, 4);
  put_le(r, kSigAlgo, kSnpSigAlgoEcdsaP384Sha384, 4);
  put_le(r, kPlatformInfo, kPlatformInfoSmtEnabled, 8);
  // KEY_INFO stays 0: signed by the VCEK, no author key, chip key not masked.
  simulated_wire::put_bytes(r, kReportData, report_data);
  simulated_wire::put_bytes(r, kMeasurement, o.measurement.value_or(simulated_default_measurement()));
  std::array<std::uint8_t, 32> report_id{};
  if (RAND_bytes(report_id.data(), static_cast<int>(report_id.size())) == 1)
    simulated_wire::put_bytes(r, kReportId, report_id);
  std::fill_n(r.begin() + kReportIdMa, 32, 0xFF);  // no migration agent
  for (const std::size_t at : {kCurrentTcb, kReportedTcb, kCommittedTcb, kLaunchTcb}) put_le(r, at, tcb.raw(), 8);
  r.at(kCpuidFamId) = kMilanFamily;
  r.at(kCpuidModId) = kMilanModel;
  r.at(kCpuidStep) = kMilanStepping;
  simulated_wire::put_bytes(r, kChipId, chip_id);
  for (const std::size_t at : {kCurrentBuild, kCommittedBuild}) {
    r.at(at) = kFirmwareBuild;
    r.at(at + 1) = kFirmwareMinor;
    r.at(at + 2) = kFirmwareMajor;
  }
  return r;
}

// ECDSA P-384/SHA-384 over bytes 0x000..0x29F; r and s little-endian, 72 bytes each.
std::optional<Failure> sign_snp_report(Bytes& report, EVP_PKEY* vcek_key) {
  const auto signed_part = std::span(report).first(kSnpSignedSize);
  auto sig = simulated_wire::ecdsa_sign(vcek_key, EVP_sha384(), signed_part);
  if (!sig) return sign_failure("signing the SNP report with the TEST VCEK key");
  const auto r = std::span(report).subspan(kSignatureR, kSignatureComponent);
  const auto s = std::span(report).subspan(kSignatureS, kSignatureComponent);
  if (BN_bn2lebinpad(ECDSA_SIG_get0_r(sig->get()), r.data(), static_cast<int>(r.size())) !=
          static_cast<int>(r.size()) ||
      BN_bn2lebinpad(ECDSA_SIG_get0_s(sig->get()), s.data(), static_cast<int>(s.size())) != static_cast<int>(s.size()))
    return sign_failure("writing the SNP report signature");
  return std::nullopt;
}

}  // namespace

EvidenceResult read_simulated_snp(const std::filesystem::path& roots_dir, const ReportData& report_data,
                                  const SimulatedOptions& o) {
  auto keys = load_simulated_snp(roots_dir);
  if (!keys) return roots_failure(keys.error());
  SimulatedSnpTcb tcb;
  ChipId chip_id{};
  auto vcek = vcek_for(keys.value(), o, tcb, chip_id);
  if (!vcek) return vcek.error();
  RawEvidence ev;
  ev.tee = Tee::kSevSnp;
  ev.source = "simulated";
  ev.report = snp_report_body(o, report_data, tcb, chip_id);
  if (auto f = sign_snp_report(ev.report, keys->vcek_key.get())) return *f;
  auto vcek_der = cert_der(vcek->get());
  auto ask_der = cert_der(keys->ask.cert.get());
  auto ark_der = cert_der(keys->ark.get());
  if (!vcek_der || !ask_der || !ark_der) return sign_failure("DER-encoding the TEST certificates");
  ev.aux = cert_table(
      {{kSnpVcekGuid, std::move(*vcek_der)}, {kSnpAskGuid, std::move(*ask_der)}, {kSnpArkGuid, std::move(*ark_der)}});
  return ev;
}

Measurement simulated_default_measurement() {
  constexpr std::string_view kLabel = "aegis-flow TEST simulated measurement";
  Measurement m{};
  unsigned int len = 0;
  if (EVP_Digest(kLabel.data(), kLabel.size(), m.data(), &len, EVP_sha384(), nullptr) != 1) ERR_clear_error();
  return m;
}

EvidenceResult read_simulated(const std::filesystem::path& roots_dir, Tee tee, const ReportData& report_data,
                              const SimulatedOptions& o) {
  if (tee == Tee::kSevSnp) return read_simulated_snp(roots_dir, report_data, o);
  return read_simulated_tdx(roots_dir, report_data, o);
}

}  // namespace aegis::attest
