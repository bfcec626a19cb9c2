// SEV-SNP evidence off the wire: attest::parse_snp_report (the 1184-byte
// report a peer sends in its certificate or `attest verify` reads), the GHCB
// certificate table of `auxblob`, and verify_snp's path up to the chain.
//
// Input: the same bytes go to both parsers (a report is not a valid table
// and the other way round, but each must refuse the other cleanly).
// Invariants: a parsed report came from exactly 1184 bytes and has a version
// in [2, 5]; every table entry borrows a non-empty range inside the input;
// verify_snp never says verified without certificates.
#include <string_view>

#include "attest/snp_cert_table.h"
#include "attest/snp_report.h"
#include "attest/snp_verify.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis::attest;
  const std::span<const std::uint8_t> bytes(data, size);

  const auto report = parse_snp_report(bytes);
  if (report) {
    FUZZ_CHECK(size == kSnpReportSize);
    FUZZ_CHECK(report->version >= kSnpMinVersion && report->version <= kSnpMaxVersion);
    for (const auto p : {SnpProduct::kUnknown, SnpProduct::kMilan, SnpProduct::kTurin})
      FUZZ_CHECK(decode_tcb(report->reported_tcb, p).hex().size() == 16);
    const Claims c = snp_claims(*report, report->product());
    FUZZ_CHECK(c.measurement.size() == 48 && c.report_data.size() == 64);
  } else {
    FUZZ_CHECK(!report.error().code.empty());
  }
  const Verdict v = verify_snp(bytes, SnpVerifyInputs{});
  FUZZ_CHECK(!v.verified && !v.failure.code.empty());

  const auto table = parse_cert_table(bytes);
  if (table) {
    const auto* end = bytes.data() + bytes.size();
    for (const auto& e : *table) {
      FUZZ_CHECK(!e.der.empty());
      FUZZ_CHECK(e.der.data() >= bytes.data() && e.der.data() + e.der.size() <= end);
      FUZZ_CHECK(e.kind == cert_kind(e.guid));
    }
  }
  return 0;
}
