#include "http/h2_translate.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <charconv>
#include <memory>
#include <string>

namespace aegis::http::h2 {

namespace bhttp = boost::beast::http;

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
bool has_line_break(std::string_view s) { return s.find_first_of("\r\n", 0) != std::string_view::npos; }
}  // namespace

bool te_trailers(const bhttp::fields& fields) {
  for (auto [it, end] = fields.equal_range(bhttp::field::te); it != end; ++it) {
    for (const auto& token : bhttp::token_list(it->value()))
      if (boost::beast::iequals(token, "trailers")) return true;
  }
  return false;
}

Fields request_fields(const bhttp::request_header<>& head, std::string_view scheme, bool te_trailers) {
  Fields out;
  out.reserve(8 + static_cast<std::size_t>(std::distance(head.begin(), head.end())));
  out.push_back({":method", std::string(head.method_string())});
  out.push_back({":scheme", std::string(scheme)});
  out.push_back({":authority", std::string(head[bhttp::field::host])});
  out.push_back({":path", std::string(head.target())});
  if (te_trailers) out.push_back({"te", "trailers"});
  for (const auto& f : head) {
    switch (f.name()) {
      case bhttp::field::host:
      case bhttp::field::transfer_encoding:
      case bhttp::field::upgrade:
      case bhttp::field::keep_alive:
      case bhttp::field::proxy_connection:
      case bhttp::field::connection:
      case bhttp::field::te:  // only as te_trailers says
        continue;
      default:
        out.push_back({lower(f.name_string()), std::string(f.value())});
    }
  }
  return out;
}

std::optional<bhttp::response_header<>> response_head(const Fields& fields) {
  bhttp::response_header<> head;
  head.version(11);
  bool status = false;
  for (const auto& f : fields) {
    if (f.name == ":status") {
      unsigned code = 0;
      const char* const last = std::to_address(f.value.end());
      auto [end, ec] = std::from_chars(f.value.data(), last, code);
      if (ec != std::errc() || end != last || code < 200 || code > 999) return std::nullopt;
      head.result(code);
      status = true;
    } else if (!f.name.empty() && f.name.front() != ':') {
      head.insert(f.name, f.value);
    }
  }
  if (!status) return std::nullopt;
  return head;
}

std::string trailer_section(const Fields& trailers) {
  std::string out;
  for (const auto& f : trailers) {
    if (f.name.empty() || f.name.front() == ':' || has_line_break(f.name) || has_line_break(f.value)) continue;
    out.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  return out;
}

}  // namespace aegis::http::h2
