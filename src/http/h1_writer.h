// HTTP/1.1 message heads and body framing written straight into a byte
// buffer. The proxy forwards heads that Beast parsed and validated (no CR or
// LF can be in a name or value) after its own edits, so writing them is a
// plain copy; this replaces Beast's serializer on the hot path, whose
// buffer-sequence machinery cost more than the copy itself.
#pragma once

#include <boost/beast/http/message.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace aegis::http {

// "METHOD target HTTP/1.x\r\n" + fields + "\r\n"
void append_head(std::string& out, const boost::beast::http::request_header<>& head);
// "HTTP/1.x code reason\r\n" + fields + "\r\n"
void append_head(std::string& out, const boost::beast::http::response_header<>& head);

// How body bytes go on the wire for one message.
class BodyFramer {
 public:
  explicit BodyFramer(bool chunked) : chunked_(chunked) {}
  bool chunked() const { return chunked_; }
  // Appends `data` (chunked: as one chunk; empty data appends nothing).
  void append(std::string& out, std::string_view data) const;
  // Appends the end of the body (chunked: the last chunk; else nothing).
  void append_end(std::string& out) const;
  // For data too large to copy: the chunk-size line (empty when not chunked)
  // to write before `data`, and the CRLF to write after it.
  std::string_view size_line(std::size_t n, char (&scratch)[24]) const;
  std::string_view chunk_end() const { return chunked_ ? std::string_view("\r\n") : std::string_view(); }

 private:
  bool chunked_;
};

}  // namespace aegis::http
