// The RA-TLS evidence extension (attest/evidence_extension.h): the CBOR a peer
// puts in its certificate, read during the TLS handshake before anything in
// it is trusted.
//
// Input: the extension's value.
// Invariants: a refusal has a reason; a value that decodes re-encodes into
// one that decodes; and its claims bind no key but the one they hash.
#include <cstdint>
#include <span>
#include <variant>

#include "attest/evidence_extension.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis::attest;
  const auto decoded = decode_extension(std::span<const std::uint8_t>(data, size));
  const auto* ext = std::get_if<EvidenceExtension>(&decoded);
  if (!ext) {
    FUZZ_CHECK(!std::get<Failure>(decoded).code.empty());
    return 0;
  }
  const auto again = encode_extension(ext->tee, ext->evidence, ext->claims);
  FUZZ_CHECK(decode_extension(again).index() == 0);
  const auto rd = report_data_for(ext->claims);
  const std::vector<std::uint8_t> some_key = {0x30, 0x03, 0x02, 0x01, 0x00};
  const auto binding = check_binding(*ext, some_key, rd);
  FUZZ_CHECK(!binding || binding->code == "key_binding");
  return 0;
}
