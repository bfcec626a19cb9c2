// GHCB certificate table parsing (GHCB specification, SNP Extended Guest
// Request; Linux include/uapi/linux/sev-guest.h): bounds-checked entries.
#include "attest/snp_cert_table.h"

#include <algorithm>
#include <string_view>

#include "core/byte_reader.h"
#include "core/hex.h"

namespace aegis::attest {

Guid guid_from_text(std::string_view text) {
  std::string digits;
  for (const char c : text)
    if (c != '-') digits.push_back(c);
  Guid out{};
  const auto raw = core::from_hex(digits);
  if (raw && raw->size() == out.size()) std::copy(raw->begin(), raw->end(), out.begin());
  return out;
}

std::string guid_text(const Guid& guid) {
  const std::string hex = core::to_hex(guid);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

SnpCertKind cert_kind(const Guid& guid) {
  if (guid == guid_from_text(kSnpVcekGuid)) return SnpCertKind::kVcek;
  if (guid == guid_from_text(kSnpVlekGuid)) return SnpCertKind::kVlek;
  if (guid == guid_from_text(kSnpAskGuid)) return SnpCertKind::kAsk;
  if (guid == guid_from_text(kSnpArkGuid)) return SnpCertKind::kArk;
  return SnpCertKind::kOther;
}

AttestResult<std::vector<SnpCertEntry>> parse_cert_table(std::span<const std::uint8_t> table) {
  core::ByteReader r(table);
  std::vector<SnpCertEntry> entries;
  while (true) {
    const auto guid = r.bytes(16);
    const auto offset = r.u32_le();
    const auto length = r.u32_le();
    if (!guid || !offset || !length)
      return Failure{"truncated", "GHCB certificate table ends before its all-zero terminator entry (after " +
                                      std::to_string(entries.size()) + " entries)"};
    const bool zero_guid = std::all_of(guid->begin(), guid->end(), [](std::uint8_t b) { return b == 0; });
    if (zero_guid && *offset == 0 && *length == 0) return entries;
    // The entry's bytes, through a reader of their own over the whole table.
    core::ByteReader at(table);
    const auto der = at.skip(*offset) ? at.bytes(*length) : std::nullopt;
    if (!der || der->empty())
      return Failure{"bad_length", "GHCB certificate table entry " + std::to_string(entries.size()) + " claims " +
                                       std::to_string(*length) + " bytes at offset " + std::to_string(*offset) +
                                       " of a " + std::to_string(table.size()) + "-byte table"};
    SnpCertEntry e;
    std::copy(guid->begin(), guid->end(), e.guid.begin());
    e.kind = cert_kind(e.guid);
    e.der = *der;
    entries.push_back(e);
  }
}

}  // namespace aegis::attest
