// The legacy SNP guest device (/dev/sev-guest, Linux < 6.7 or without
// configfs-tsm): SNP_GET_EXT_REPORT returns the report and the host's
// certificate table; SNP_GET_REPORT only the report.
#include <fcntl.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "attest/evidence.h"
#include "attest/file_io.h"
#include "core/byte_reader.h"

namespace aegis::attest {
namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kMaxCertPages = 64;         // 256 KiB: far above any real VCEK+ASK+ARK table
constexpr std::uint32_t kInvalidLenVmmError = 1;  // SNP_GUEST_VMM_ERR_INVALID_LEN

// MSG_REPORT_RSP (SEV-SNP ABI): status u32, report_size u32, 24 reserved,
// report.
EvidenceResult report_from_response(std::span<const std::uint8_t> resp) {
  core::ByteReader r(resp);
  const auto status = r.u32_le();
  const auto size = r.u32_le();
  if (!status || !size || !r.skip(24)) return Failure{"truncated", "SNP report response shorter than its header"};
  if (*status != 0) return Failure{"sev_guest_ioctl", "firmware status " + std::to_string(*status)};
  const auto report = r.bytes(*size);
  if (!report) return Failure{"bad_length", "report_size " + std::to_string(*size) + " exceeds the response"};
  RawEvidence ev;
  ev.tee = Tee::kSevSnp;
  ev.source = "sev-guest";
  ev.report.assign(report->begin(), report->end());
  return ev;
}

}  // namespace

EvidenceResult read_sev_guest(const std::filesystem::path& device, const ReportData& report_data, std::uint32_t vmpl) {
  const FileDescriptor dev(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (dev.get() < 0)
    return Failure{"sev_guest_unavailable", "cannot open " + device.string() + ": " + std::strerror(errno)};
  snp_ext_report_req ext{};
  std::copy(report_data.begin(), report_data.end(), ext.data.user_data);
  ext.data.vmpl = vmpl;
  snp_report_resp resp{};
  std::vector<std::uint8_t> certs(4 * kPage);
  snp_guest_request_ioctl req{};
  for (;;) {
    ext.certs_address = reinterpret_cast<std::uintptr_t>(certs.data());
    ext.certs_len = static_cast<std::uint32_t>(certs.size());
    req = {};
    req.msg_version = 1;
    req.req_data = reinterpret_cast<std::uintptr_t>(&ext);
    req.resp_data = reinterpret_cast<std::uintptr_t>(&resp);
    if (::ioctl(dev.get(), SNP_GET_EXT_REPORT, &req) == 0) break;
    // The host's table is larger than our buffer: it told us how large.
    if (errno == EINVAL && req.vmm_error == kInvalidLenVmmError && ext.certs_len > certs.size() &&
        ext.certs_len <= kMaxCertPages * kPage) {
      certs.assign((ext.certs_len + kPage - 1) / kPage * kPage, 0);
      continue;
    }
    // No extended report on this host: the plain one, without certificates.
    snp_report_req plain{};
    std::copy(report_data.begin(), report_data.end(), plain.user_data);
    plain.vmpl = vmpl;
    req = {};
    req.msg_version = 1;
    req.req_data = reinterpret_cast<std::uintptr_t>(&plain);
    req.resp_data = reinterpret_cast<std::uintptr_t>(&resp);
    if (::ioctl(dev.get(), SNP_GET_REPORT, &req) != 0)
      return Failure{"sev_guest_ioctl", std::string("SNP_GET_REPORT: ") + std::strerror(errno) + " (firmware error " +
                                            std::to_string(req.fw_error) + ")"};
    certs.clear();
    break;
  }
  auto result = report_from_response(resp.data);
  if (auto* ev = std::get_if<RawEvidence>(&result)) ev->aux = std::move(certs);
  return result;
}

}  // namespace aegis::attest
