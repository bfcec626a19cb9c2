#include "upstream/lb_least_request.h"

#include <algorithm>
#include <limits>

namespace aegis::upstream {
namespace {

bool eligible(const EndpointLoad& e) { return e.available && e.weight > 0; }

// Index of the n-th (0-based) eligible endpoint.
std::size_t nth_eligible(std::span<const EndpointLoad> endpoints, std::size_t n) {
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (eligible(endpoints[i]) && n-- == 0) return i;
  }
  return endpoints.size();  // unreachable when n < count of eligible
}

// a.active / a.weight < b.active / b.weight, without division (fits in 64 bits).
bool less_loaded(const EndpointLoad& a, const EndpointLoad& b) {
  return std::uint64_t{a.active_requests} * b.weight < std::uint64_t{b.active_requests} * a.weight;
}

}  // namespace

std::optional<std::size_t> LeastRequestPolicy::pick(std::span<const EndpointLoad> endpoints) {
  // Endpoint counts beyond 2^32 are not a thing; clamp to keep below() in range.
  const std::size_t n = std::min<std::size_t>(endpoints.size(), std::numeric_limits<std::uint32_t>::max());
  std::size_t count = 0;
  std::size_t only = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (eligible(endpoints[i])) {
      ++count;
      only = i;
    }
  }
  if (count == 0) return std::nullopt;
  if (count == 1) return only;

  const auto c = static_cast<std::uint32_t>(count);
  const std::uint32_t r1 = rng_.below(c);
  std::uint32_t r2 = rng_.below(c - 1);
  if (r2 >= r1) ++r2;  // distinct from r1, still uniform

  const auto sub = endpoints.first(n);
  const bool all = count == n;  // common case: no second scan
  const std::size_t i1 = all ? r1 : nth_eligible(sub, r1);
  const std::size_t i2 = all ? r2 : nth_eligible(sub, r2);
  return less_loaded(endpoints[i2], endpoints[i1]) ? i2 : i1;
}

}  // namespace aegis::upstream
