// configfs-tsm report entries (Linux Documentation/ABI/testing/
// configfs-tsm-report): one entry per request, inblob in, outblob/auxblob out,
// `generation` guarding against a concurrent writer to the same entry.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "attest/evidence.h"
#include "attest/file_io.h"
#include "config/values.h"

namespace aegis::attest {
namespace {

Failure io_failure(const std::filesystem::path& path, const std::string& what, int err) {
  return {"tsm_io", what + " " + path.string() + ": " + std::strerror(err)};
}

std::optional<std::uint64_t> parse_generation(const std::vector<std::uint8_t>& bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return config::parse_uint(text, 0, UINT64_MAX);
}

struct Generation {
  std::optional<std::uint64_t> value;
  Failure failure;
};

Generation read_generation(const std::filesystem::path& entry) {
  const auto r = read_whole_file(entry / "generation", 64);
  if (!r.ok()) return {std::nullopt, io_failure(entry / "generation", "cannot read", r.error)};
  auto v = parse_generation(r.bytes);
  if (!v) return {std::nullopt, {"tsm_io", (entry / "generation").string() + " is not a number"}};
  return {v, {}};
}

}  // namespace

EvidenceResult read_configfs_tsm(const TsmOptions& options, const ReportData& report_data) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.root, ec))
    return Failure{"tsm_unavailable", options.root.string() +
                                          " is not a directory (configfs-tsm needs Linux >= 6.7 "
                                          "in a TEE guest with "
                                          "configfs mounted)"};
  const std::string name = options.entry.empty() ? "aegis-flow-" + std::to_string(::getpid()) : options.entry;
  const auto entry = options.root / name;
  if (::mkdir(entry.c_str(), 0700) != 0 && errno != EEXIST) return io_failure(entry, "cannot create", errno);
  // The entry goes away with us; on configfs rmdir discards a populated
  // entry, on an ordinary (test) directory it fails harmlessly.
  struct RemoveEntry {
    std::filesystem::path path;
    ~RemoveEntry() { static_cast<void>(::rmdir(path.c_str())); }
  } remove_entry{entry};

  RawEvidence ev;
  ev.source = "configfs-tsm";
  for (int attempt = 0; attempt < std::max(options.max_attempts, 1); ++attempt) {
    if (options.privlevel != 0 && std::filesystem::exists(entry / "privlevel")) {
      const std::string level = std::to_string(options.privlevel);
      if (const int err = write_whole_file(entry / "privlevel",
                                           {reinterpret_cast<const std::uint8_t*>(level.data()), level.size()}))
        return io_failure(entry / "privlevel", "cannot write", err);
    }
    // Exactly 64 bytes in one write: the kernel takes the inblob as written.
    if (const int err = write_whole_file(entry / "inblob", report_data))
      return io_failure(entry / "inblob", "cannot write", err);
    const auto before = read_generation(entry);
    if (!before.value) return before.failure;
    const auto out = read_whole_file(entry / "outblob", kMaxEvidenceBytes);
    if (!out.ok()) return io_failure(entry / "outblob", "cannot read", out.error);
    if (options.after_outblob) options.after_outblob(attempt);
    const auto aux = read_whole_file(entry / "auxblob", kMaxEvidenceBytes);  // absent or empty for TDX
    const auto provider = read_whole_file(entry / "provider", 64);
    if (!provider.ok()) return io_failure(entry / "provider", "cannot read", provider.error);
    const auto after = read_generation(entry);
    if (!after.value) return after.failure;
    if (*before.value != *after.value) {  // someone wrote to the entry while we read it
      ++ev.retries;
      continue;
    }
    std::string p(provider.bytes.begin(), provider.bytes.end());
    while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
    if (p == "sev_guest") {
      ev.tee = Tee::kSevSnp;
    } else if (p == "tdx_guest") {
      ev.tee = Tee::kTdx;
    } else {
      return Failure{"tsm_provider", "unknown configfs-tsm provider '" + p + "' (expected sev_guest or tdx_guest)"};
    }
    if (out.bytes.empty()) return Failure{"tsm_io", (entry / "outblob").string() + " is empty"};
    ev.report = out.bytes;
    if (aux.ok()) ev.aux = aux.bytes;
    return ev;
  }
  return Failure{"tsm_busy", "the generation of " + entry.string() + " changed on each of " +
                                 std::to_string(options.max_attempts) + " attempts (another writer)"};
}

}  // namespace aegis::attest
