// HTTP/1.1 responses from an upstream through the proxy's own codec, as
// proxy/http_session.cpp's relay_response applies it: the Beast response
// parser with the listener's max_response_header_bytes, no body limit, skip
// for HEAD, interim 1xx responses dropped (is_dropped_interim), then the
// downstream head (client's version, hop-by-hop removal, x-request-id,
// set_downstream_framing), append_head and the body relayed through
// BodyFramer with a fixed relay buffer.
//
// Oracle against response splitting/desync: what the client would get must
// parse as exactly one response to its request, with the upstream's status
// and body, and nothing left over.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "config/types.h"
#include "fuzz_check.h"
#include "http/h1_io.h"
#include "http/h1_rules.h"
#include "http/h1_writer.h"

namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace aegis;
using Parser = bhttp::response_parser<bhttp::buffer_body>;

struct Upstream {
  std::string_view in;
  std::size_t piece;
  beast::flat_buffer buf;
  bool feed() {
    if (in.empty()) return false;
    const auto n = std::min(piece, in.size());
    auto dst = buf.prepare(n);
    std::memcpy(dst.data(), in.data(), n);
    buf.commit(n);
    in.remove_prefix(n);
    return true;
  }
  // read_header / read_some: parse, read more while the parser wants more.
  // `stop_at_header`: return once the head is complete.
  boost::system::error_code parse(Parser& p, bool stop_at_header) {
    for (;;) {
      auto [ec, n] = http::parse_buffered(buf, p);
      if (ec != bhttp::error::need_more) return ec;
      if (stop_at_header && p.is_header_done()) return {};
      if (!feed()) {
        if (!p.got_some()) return bhttp::error::end_of_stream;
        boost::system::error_code eof;
        p.put_eof(eof);
        return eof;
      }
    }
  }
};

void check_downstream_bytes(const std::string& wire, bool head_request, unsigned status, const std::string& body,
                            bool delimited_by_close) {
  bhttp::response_parser<bhttp::string_body> p;
  p.header_limit(1u << 24);
  p.body_limit(boost::none);
  p.skip(head_request);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < wire.size() && !p.is_done()) {
    used += p.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
    if (ec) break;
  }
  if (!ec && !p.is_done() && delimited_by_close) p.put_eof(ec);
  if (ec) std::fprintf(stderr, "downstream bytes do not parse: %s\n%s\n", ec.message().c_str(), wire.c_str());
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(p.is_done());
  FUZZ_CHECK(used == wire.size());  // exactly one response
  FUZZ_CHECK(p.get().result_int() == status);
  FUZZ_CHECK(p.get().body() == body);
}

// One exchange on an upstream connection; false when the connection ends.
bool relay_one(Upstream& up, bool head_request, bool client_10, std::size_t relay_size) {
  const config::HttpLimits limits;
  std::optional<Parser> slot;
  for (int interim = 0;; ++interim) {
    auto& p = slot.emplace();
    p.header_limit(limits.max_response_header_bytes);
    p.body_limit(boost::none);
    if (head_request) p.skip(true);
    if (up.parse(p, /*stop_at_header=*/true)) return false;  // 502 upstream_invalid_response / reset
    if (!http::is_dropped_interim(p.get().result_int())) break;
    if (interim > 64) return false;
  }
  auto& parser = *slot;
  auto& head = parser.get();
  const unsigned status = head.result_int();
  if (status == 101) return false;  // a tunnel from here on (only when the client asked)
  const bool upstream_keep_alive = head.keep_alive();
  const bool has_body = !parser.is_done();
  const bool sized = parser.content_length().has_value();
  head.version(client_10 ? 10 : 11);
  http::remove_hop_by_hop(head.base());
  head.set("x-request-id", "fuzz-0001");
  bool keep_alive = true;
  const bool chunked = http::set_downstream_framing(head, has_body, sized, /*draining=*/false, keep_alive);
  FUZZ_CHECK(!(chunked && client_10));
  std::string wire;
  http::append_head(wire, head);

  const http::BodyFramer framer(chunked);
  std::string body, relay(relay_size, '\0');
  while (has_body) {
    std::string_view data;
    if (!parser.is_done()) {
      head.body().data = relay.data();
      head.body().size = relay.size();
      const auto ec = up.parse(parser, false);
      if (ec && ec != bhttp::error::need_buffer) return false;  // aborted mid-response: client sees a truncation
      data = std::string_view(relay.data(), relay.size() - head.body().size);
      if (data.empty() && !parser.is_done()) continue;
    }
    body.append(data);
    framer.append(wire, data);
    if (parser.is_done()) {
      framer.append_end(wire);
      break;
    }
  }
  check_downstream_bytes(wire, head_request, status, body, has_body && !sized && !chunked);
  return parser.is_done() && upstream_keep_alive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: the request was HEAD (bit 0), the client spoke HTTP/1.0
  // (bit 1), a 7-byte relay buffer instead of 16 KiB (bit 2), read size.
  const bool head_request = data[0] & 1;
  const bool client_10 = data[0] & 2;
  const std::size_t relay = (data[0] & 4) ? 7 : 16 * 1024;
  Upstream up{std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
              1 + static_cast<std::size_t>(data[0] >> 3) * 128, {}};
  for (int i = 0; i < 16; ++i)
    if (!relay_one(up, head_request, client_10, relay)) break;
  return 0;
}
