// A request's hash key for consistent-hash load balancing, from its route's
// hash_policy (Envoy's RouteAction.hash_policy): the first rule that yields a
// value gives the key; none → no key, and the policy picks at random.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "config/types.h"
#include "route/router.h"  // HeaderLookup

namespace aegis::route {

std::optional<std::uint64_t> request_hash(std::span<const config::HashPolicy> rules, const HeaderLookup& header,
                                          std::string_view source_ip);

// The value of cookie `name` in a Cookie header ("a=1; session=xyz"), if set.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);

}  // namespace aegis::route
