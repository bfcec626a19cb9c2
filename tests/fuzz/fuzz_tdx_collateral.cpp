// TDX collateral from arbitrary bytes: the QuoteCollateralV3 JSON
// (attest::parse_tdx_collateral), and the signed inner documents it carries
// (TCB Info, QE Identity) as well as the input itself parsed as each of them;
// plus the UTC time parser on the input's first bytes.
//
// Invariants: every refusal is collateral_invalid with a detail; a parsed
// document's issueDate/nextUpdate came through parse_utc_time, whose output
// formats back to its input.
#include <string>
#include <string_view>

#include "attest/tdx_collateral.h"
#include "fuzz_check.h"

namespace {

template <typename R>
void check_refusal(const R& result) {
  if (!result) {
    FUZZ_CHECK(result.error().code == "collateral_invalid");
    FUZZ_CHECK(!result.error().detail.empty());
  }
}

void inner_documents(std::string_view tcb_info, std::string_view qe_identity) {
  auto info = aegis::attest::tdx::parse_tdx_tcb_info(tcb_info);
  check_refusal(info);
  if (info) {
    FUZZ_CHECK(info->levels.size() <= 256);
    for (const auto& m : info->module_identities) FUZZ_CHECK(m.levels.size() <= 256);
  }
  auto qe = aegis::attest::tdx::parse_qe_identity(qe_identity);
  check_refusal(qe);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis::attest;
  using namespace aegis::attest::tdx;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto collateral = parse_tdx_collateral(text);
  check_refusal(collateral);
  if (collateral) inner_documents(collateral->tcb_info, collateral->qe_identity);
  inner_documents(text, text);
  const auto head = text.substr(0, 20);
  if (const auto t = parse_utc_time(head)) FUZZ_CHECK(format_utc_time(*t) == head);
  return 0;
}
