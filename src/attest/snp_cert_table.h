// The GHCB certificate table that comes with an extended SEV-SNP report
// (configfs-tsm `auxblob`, SNP_GET_EXT_REPORT): entries {GUID, offset,
// length} ending in an all-zero entry, each pointing at a DER certificate.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attest/snp_report.h"

namespace aegis::attest {

// RFC 4122 byte order, as the text reads (libuuid's uuid_parse, which AMD's
// tools and the Linux sev-guest ABI use for this table).
using Guid = std::array<std::uint8_t, 16>;

inline constexpr std::string_view kSnpVcekGuid = "63da758d-e664-4564-adc5-f4b93be8accd";
inline constexpr std::string_view kSnpVlekGuid = "a8074bc2-a25a-483e-aad0-ee3c5a6c1f0c";
inline constexpr std::string_view kSnpAskGuid = "4ab7b379-bbac-4fe4-a02f-05aef327c782";
inline constexpr std::string_view kSnpArkGuid = "c0b406a4-a803-4952-9743-3fb6014cd0ae";

enum class SnpCertKind { kVcek, kVlek, kAsk, kArk, kOther };

struct SnpCertEntry {
  Guid guid{};
  SnpCertKind kind = SnpCertKind::kOther;
  std::span<const std::uint8_t> der;  // borrows from the table's bytes
};

// "63da758d-e664-4564-adc5-f4b93be8accd" ⇄ its 16 bytes (all zero when the
// text is not a GUID).
Guid guid_from_text(std::string_view text);
std::string guid_text(const Guid& guid);
SnpCertKind cert_kind(const Guid& guid);

// Every entry up to the terminator. Offsets are from the table's start; an
// entry whose bytes fall outside `table` is `bad_length`, a table without a
// terminator is `truncated`.
AttestResult<std::vector<SnpCertEntry>> parse_cert_table(std::span<const std::uint8_t> table);

}  // namespace aegis::attest
