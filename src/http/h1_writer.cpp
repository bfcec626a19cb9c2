#include "http/h1_writer.h"

#include <charconv>
#include <memory>
#include <span>

namespace aegis::http {

namespace {

void put(std::string& out, std::string_view s) { out.append(s); }

std::string_view version_text(unsigned v) { return v == 10 ? "HTTP/1.0" : "HTTP/1.1"; }

void append_fields(std::string& out, const boost::beast::http::fields& fields) {
  for (const auto& f : fields) {
    put(out, f.name_string());
    put(out, ": ");
    put(out, f.value());
    put(out, "\r\n");
  }
  put(out, "\r\n");
}

}  // namespace

void append_head(std::string& out, const boost::beast::http::request_header<>& head) {
  put(out, head.method_string());
  put(out, " ");
  put(out, head.target());
  put(out, " ");
  put(out, version_text(head.version()));
  put(out, "\r\n");
  append_fields(out, head);
}

void append_head(std::string& out, const boost::beast::http::response_header<>& head) {
  char code[4];
  const unsigned status = head.result_int();
  code[0] = static_cast<char>('0' + status / 100 % 10);
  code[1] = static_cast<char>('0' + status / 10 % 10);
  code[2] = static_cast<char>('0' + status % 10);
  code[3] = ' ';
  put(out, version_text(head.version()));
  put(out, " ");
  put(out, std::string_view(code, 4));
  put(out, head.reason());
  put(out, "\r\n");
  append_fields(out, head);
}

std::string_view BodyFramer::size_line(std::size_t n, char (&scratch)[24]) const {
  if (!chunked_) return {};
  const std::span<char, 24> buf(scratch);
  const auto digits = buf.first<20>();  // 16 hex digits at most, then CRLF
  const auto [end, ec] = std::to_chars(digits.data(), std::to_address(digits.end()), n, 16);
  const auto len = static_cast<std::size_t>(end - buf.data());
  buf[len] = '\r';
  buf[len + 1] = '\n';
  return {buf.data(), len + 2};
}

void BodyFramer::append(std::string& out, std::string_view data) const {
  if (data.empty()) return;
  char scratch[24];
  put(out, size_line(data.size(), scratch));
  put(out, data);
  put(out, chunk_end());
}

void BodyFramer::append_end(std::string& out) const {
  if (chunked_) put(out, "0\r\n\r\n");
}

}  // namespace aegis::http
