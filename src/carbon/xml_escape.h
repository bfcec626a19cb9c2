// Text for XML/HTML element content and attribute values (the SVG and HTML
// the carbon pages and the simulator draw).
#pragma once

#include <string>
#include <string_view>

namespace aegis::carbon {

inline std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace aegis::carbon
