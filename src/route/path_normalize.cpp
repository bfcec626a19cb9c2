#include "route/path_normalize.h"

#include <cctype>
#include <string_view>
#include <vector>

namespace aegis::route {
namespace {

bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 §5.2.4 on a path that starts with '/', segment by segment.
std::string remove_dot_segments(const std::string& path, bool merge_slashes) {
  std::vector<std::string_view> out;
  std::string_view rest(path);
  rest.remove_prefix(1);  // the leading '/'
  bool trailing_slash = false;
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    const bool last = slash == std::string_view::npos;
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing_slash = last;
    } else if (seg.empty() && merge_slashes && !last) {
      // "//": dropped
    } else {
      out.push_back(seg);
      trailing_slash = false;
    }
    if (last) break;
    rest.remove_prefix(slash + 1);
  }
  std::string result;
  for (const auto& seg : out) {
    result += '/';
    result.append(seg);
  }
  if (trailing_slash || result.empty()) result += '/';
  return result;
}

}  // namespace

std::optional<std::string> normalize_target(std::string_view target, const PathNormalization& options) {
  if (target == "*") return std::string(target);
  if (target.find('#') != std::string_view::npos) return std::nullopt;
  if (target.empty() || target.front() != '/') return std::nullopt;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q);

  std::string p;
  p.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c != '%') {
      p += (c == '\\' && options.normalize) ? '/' : c;
      continue;
    }
    if (i + 2 >= path.size()) return std::nullopt;
    const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char decoded = static_cast<char>(hi * 16 + lo);
    i += 2;
    if (decoded == '/' || decoded == '\\') {
      if (options.escaped_slashes == EscapedSlashes::kReject) return std::nullopt;
      if (options.escaped_slashes == EscapedSlashes::kUnescape) {
        p += options.normalize ? '/' : decoded;
        continue;
      }
    }
    if (options.normalize && unreserved(decoded)) {
      p += decoded;
      continue;
    }
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    p += '%';
    p += options.normalize ? kHex[static_cast<std::size_t>(hi)] : path[i - 1];
    p += options.normalize ? kHex[static_cast<std::size_t>(lo)] : path[i];
  }
  if (options.normalize) {
    p = remove_dot_segments(p, options.merge_slashes);
  } else if (options.merge_slashes) {
    std::string merged;
    for (char c : p)
      if (c != '/' || merged.empty() || merged.back() != '/') merged += c;
    p.swap(merged);
  }
  p.append(query);
  return p;
}

PathNormalization path_normalization(const config::Listener& l) {
  PathNormalization p;
  p.normalize = l.normalize_path;
  p.merge_slashes = l.merge_slashes;
  switch (l.path_with_escaped_slashes_action) {
    case config::EscapedSlashesAction::kKeepUnchanged: p.escaped_slashes = EscapedSlashes::kKeep; break;
    case config::EscapedSlashesAction::kRejectRequest: p.escaped_slashes = EscapedSlashes::kReject; break;
    case config::EscapedSlashesAction::kUnescapeAndForward: p.escaped_slashes = EscapedSlashes::kUnescape; break;
  }
  return p;
}

}  // namespace aegis::route
