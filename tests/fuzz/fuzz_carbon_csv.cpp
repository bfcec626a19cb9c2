// CSV traces of the `file` feed (carbon/parsers.h parse_intensity_csv: the
// lets-wait-awhile, Electricity Maps export and WattTime formats) and the
// simulator's series (carbon/csv_trace.h). Files a user downloads and
// points the proxy at: untrusted bytes.
//
// Input: the first byte picks the parser (and the Electricity Maps column),
// the rest is the file.
// Invariants: a trace that parses has strictly increasing times and finite,
// non-negative values.
#include <cmath>
#include <string_view>

#include "carbon/csv_trace.h"
#include "carbon/parsers.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace aegis::carbon;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
    case 1: {
      const auto r = parse_intensity_csv(text, data[0] % 4 == 0 ? EmissionFactor::kDirect : EmissionFactor::kLifecycle);
      if (!r) return 0;
      for (std::size_t i = 0; i < r->points.size(); ++i) {
        FUZZ_CHECK(std::isfinite(r->points[i].gco2_per_kwh) && r->points[i].gco2_per_kwh >= 0);
        if (i > 0) FUZZ_CHECK(r->points[i - 1].at < r->points[i].at);
      }
      break;
    }
    default: {
      const auto r = data[0] % 4 == 2 ? parse_intensity_trace(text) : parse_workload_trace(text);
      if (!r) return 0;
      for (std::size_t i = 0; i < r->size(); ++i) {
        FUZZ_CHECK(std::isfinite((*r)[i].value) && (*r)[i].value >= 0);
        if (i > 0) FUZZ_CHECK((*r)[i - 1].at < (*r)[i].at);
      }
      break;
    }
  }
  return 0;
}
