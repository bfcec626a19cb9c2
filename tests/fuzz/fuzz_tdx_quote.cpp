// Intel TDX DCAP quotes (v4/v5) from arbitrary bytes: attest::parse_tdx_quote
// (the bounds-checked layout parser) and verify_tdx (PEM chain, SGX
// extension, ECDSA checks) at a fixed evaluation time.
//
// Invariants: a parsed quote's signed region is header (+ v5 descriptor) +
// body and ends where the input's signature data length sits; every refusal
// has a code; a verified quote carries a 48-byte MRTD and 64-byte report data.
#include <ctime>
#include <span>

#include "attest/tdx_quote.h"
#include "attest/tdx_verify.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis::attest;
  using namespace aegis::attest::tdx;
  const std::span<const std::uint8_t> bytes(data, size);
  auto quote = parse_tdx_quote(bytes);
  if (quote) {
    const std::size_t body = quote->body_type == kTdxBody15 ? kTdxBody15Size : kTdxBody10Size;
    const std::size_t descriptor = quote->header.version == 5 ? 6 : 0;
    FUZZ_CHECK(quote->signed_data.size() == kTdxHeaderSize + descriptor + body);
    FUZZ_CHECK(quote->qe_report_raw.size() == kSgxReportSize);
    FUZZ_CHECK(quote->trailing_bytes <= size);
    FUZZ_CHECK(quote->header.version == 4 || quote->header.version == 5);
  } else {
    FUZZ_CHECK(!quote.error().code.empty());
  }
  TdxVerifyOptions options;
  options.at = std::time_t{1751328000};  // 2025-07-01T00:00:00Z
  const Verdict v = verify_tdx(bytes, options);
  FUZZ_CHECK(v.verified == v.failure.code.empty());
  if (v.verified) {
    FUZZ_CHECK(quote.ok());
    FUZZ_CHECK(v.claims.measurement.size() == 48);
    FUZZ_CHECK(v.claims.report_data.size() == 64);
  }
  return 0;
}
