// configfs-tsm against a prepared directory laid out as the kernel's report
// entry: the inblob written is exactly the report data, the blobs and the
// provider come back, and a generation that moves forces a retry.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "attest/evidence.h"
#include "testdata.h"

namespace aegis::attest {
namespace {

namespace fs = std::filesystem;

class TsmDir {
 public:
  TsmDir() {
    char tmpl[] = "/tmp/aegis-tsm-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    fs::create_directories(entry());
  }
  ~TsmDir() { fs::remove_all(root_); }
  fs::path root() const { return root_; }
  fs::path entry() const { return root_ / "test-entry"; }
  void put(const std::string& name, const std::string& text) const {
    std::ofstream(entry() / name, std::ios::binary | std::ios::trunc) << text;
  }
  void put(const std::string& name, const std::vector<std::uint8_t>& bytes) const {
    std::ofstream(entry() / name, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::vector<std::uint8_t> get(const std::string& name) const { return test::read_vector_at(entry() / name); }

 private:
  fs::path root_;
};

ReportData sample_report_data() {
  ReportData d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return d;
}

TsmOptions options_for(const TsmDir& dir) {
  TsmOptions o;
  o.root = dir.root();
  o.entry = "test-entry";
  return o;
}

TEST(ConfigfsTsm, WritesTheReportDataAndReadsTheSnpReportAndCertificates) {
  AEGIS_READ_VECTOR(report, "snp-milan/report.bin");
  AEGIS_READ_VECTOR(vcek, "snp-milan/vcek.der");
  TsmDir dir;
  dir.put("provider", std::string("sev_guest\n"));
  dir.put("generation", std::string("7\n"));
  dir.put("outblob", report);
  dir.put("auxblob", vcek);
  const auto data = sample_report_data();
  const auto result = read_configfs_tsm(options_for(dir), data);
  ASSERT_TRUE(std::holds_alternative<RawEvidence>(result)) << std::get<Failure>(result).text();
  const auto& ev = std::get<RawEvidence>(result);
  EXPECT_EQ(ev.tee, Tee::kSevSnp);
  EXPECT_EQ(ev.source, "configfs-tsm");
  EXPECT_EQ(ev.report, report);
  EXPECT_EQ(ev.aux, vcek);
  EXPECT_EQ(ev.retries, 0);
  EXPECT_EQ(dir.get("inblob"), std::vector<std::uint8_t>(data.begin(), data.end()));  // exactly 64 bytes
}

TEST(ConfigfsTsm, TdxProviderWithoutAuxblob) {
  AEGIS_READ_VECTOR(quote, "tdx-v4/quote.bin");
  TsmDir dir;
  dir.put("provider", std::string("tdx_guest\n"));
  dir.put("generation", std::string("1\n"));
  dir.put("outblob", quote);
  const auto result = read_configfs_tsm(options_for(dir), sample_report_data());
  ASSERT_TRUE(std::holds_alternative<RawEvidence>(result)) << std::get<Failure>(result).text();
  EXPECT_EQ(std::get<RawEvidence>(result).tee, Tee::kTdx);
  EXPECT_EQ(std::get<RawEvidence>(result).report, quote);
  EXPECT_TRUE(std::get<RawEvidence>(result).aux.empty());
}

TEST(ConfigfsTsm, AGenerationThatMovesWhileReadingIsRetried) {
  TsmDir dir;
  dir.put("provider", std::string("sev_guest\n"));
  dir.put("generation", std::string("5\n"));
  dir.put("outblob", std::string("first"));
  auto o = options_for(dir);
  int calls = 0;
  o.after_outblob = [&](int attempt) {
    ++calls;
    if (attempt == 0) {  // another writer: new inblob, new outblob
      dir.put("generation", std::string("6\n"));
      dir.put("outblob", std::string("second"));
    }
  };
  const auto result = read_configfs_tsm(o, sample_report_data());
  ASSERT_TRUE(std::holds_alternative<RawEvidence>(result)) << std::get<Failure>(result).text();
  EXPECT_EQ(std::get<RawEvidence>(result).retries, 1);
  EXPECT_EQ(calls, 2);
  const std::string got(std::get<RawEvidence>(result).report.begin(), std::get<RawEvidence>(result).report.end());
  EXPECT_EQ(got, "second");  // the first read, taken under a moving generation,
                             // was discarded
}

TEST(ConfigfsTsm, AGenerationThatNeverSettlesIsRefused) {
  TsmDir dir;
  dir.put("provider", std::string("sev_guest\n"));
  dir.put("generation", std::string("0\n"));
  dir.put("outblob", std::string("x"));
  auto o = options_for(dir);
  o.max_attempts = 3;
  o.after_outblob = [&](int attempt) { dir.put("generation", std::to_string(attempt + 1) + "\n"); };
  const auto result = read_configfs_tsm(o, sample_report_data());
  ASSERT_TRUE(std::holds_alternative<Failure>(result));
  EXPECT_EQ(std::get<Failure>(result).code, "tsm_busy");
}

TEST(ConfigfsTsm, ClearErrors) {
  TsmDir dir;
  TsmOptions missing;
  missing.root = dir.root() / "no-such-dir";
  const auto none = read_configfs_tsm(missing, sample_report_data());
  ASSERT_TRUE(std::holds_alternative<Failure>(none));
  EXPECT_EQ(std::get<Failure>(none).code, "tsm_unavailable");

  dir.put("provider", std::string("arm_cca_guest\n"));
  dir.put("generation", std::string("1\n"));
  dir.put("outblob", std::string("x"));
  const auto unknown = read_configfs_tsm(options_for(dir), sample_report_data());
  ASSERT_TRUE(std::holds_alternative<Failure>(unknown));
  EXPECT_EQ(std::get<Failure>(unknown).code, "tsm_provider");

  dir.put("provider", std::string("sev_guest\n"));
  dir.put("generation", std::string("one\n"));
  const auto garbled = read_configfs_tsm(options_for(dir), sample_report_data());
  ASSERT_TRUE(std::holds_alternative<Failure>(garbled));
  EXPECT_EQ(std::get<Failure>(garbled).code, "tsm_io");
}

TEST(SevGuest, AMissingDeviceIsAClearError) {
  const auto r = read_sev_guest("/nonexistent/sev-guest", sample_report_data());
  ASSERT_TRUE(std::holds_alternative<Failure>(r));
  EXPECT_EQ(std::get<Failure>(r).code, "sev_guest_unavailable");
}

}  // namespace
}  // namespace aegis::attest
