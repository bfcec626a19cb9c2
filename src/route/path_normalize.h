// Request path normalization before routing (Envoy's HttpConnectionManager
// normalize_path, merge_slashes and path_with_escaped_slashes_action): the
// router and the upstream must see the same path, so "/public/%2e%2e/admin"
// cannot match a /public/ route and then reach /admin on the upstream.
// Pure function on the origin-form target; the query string is kept as is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/types.h"

namespace aegis::route {

enum class EscapedSlashes { kKeep, kReject, kUnescape };

struct PathNormalization {
  bool normalize = true;        // RFC 3986 §6.2.2: percent-encoding case, unreserved decoding, dot segments
  bool merge_slashes = false;   // "//" → "/"
  EscapedSlashes escaped_slashes = EscapedSlashes::kKeep;  // %2F and %5C
};

// The normalized target, or nullopt when the request must be refused (400):
// a '%' not followed by two hex digits, a fragment ('#'), a path that does
// not start with '/', or (kReject) an escaped slash. "*" is left alone.
//   - %XX of an unreserved character (ALPHA DIGIT - . _ ~) is decoded;
//     other escapes get upper-case hex ("%2f" → "%2F");
//   - '\' becomes '/' (as Chromium's URL canonicalizer, which Envoy uses);
//   - "." and ".." segments are removed (RFC 3986 §5.2.4); ".." never goes
//     above the root.
std::optional<std::string> normalize_target(std::string_view target, const PathNormalization& options);

// A listener's settings (normalize_path, merge_slashes, path_with_escaped_slashes_action).
PathNormalization path_normalization(const config::Listener& listener);

}  // namespace aegis::route
