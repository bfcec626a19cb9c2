// HTTP/1.1 requests through the proxy's own codec, in the order
// proxy/http_session.cpp applies it: the Beast request parser with the
// listener's limits fed the way read_some feeds it (bytes arriving in
// pieces, parse_buffered over what the buffer holds), the total head bound,
// check_request_head, then the upstream rewrite (origin-form target,
// hop-by-hop removal, forwarding headers, framing re-derived by
// set_upstream_framing), append_head and the body relayed through
// BodyFramer with a fixed relay buffer. Pipelined requests in one input are
// served one after another, as on a keep-alive connection.
//
// Oracle against request smuggling: what the proxy would send upstream must
// parse again as exactly one request (nothing left over), with the same
// method, target and body, and pass check_request_head itself.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstring>
#include <array>
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

// The bytes one accepted request becomes upstream, parsed back.
void check_upstream_bytes(const std::string& wire, const bhttp::request_header<>& sent, const std::string& body,
                          bool client_spoke_10) {
  bhttp::request_parser<bhttp::string_body> p;
  p.header_limit(1u << 24);
  p.body_limit(boost::none);
  p.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < wire.size() && !p.is_done()) {
    const auto n = p.put(boost::asio::buffer(wire.data() + used, wire.size() - used), ec);
    used += n;
    if (ec) break;
  }
  if (!ec && !p.is_done()) {
    // A message delimited by the close of the connection ends here.
    p.put_eof(ec);
  }
  if (ec) std::fprintf(stderr, "upstream bytes do not parse: %s\n%s\n", ec.message().c_str(), wire.c_str());
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(p.is_done());
  FUZZ_CHECK(used == wire.size());  // exactly one request: nothing smuggled behind it
  const auto& m = p.get();
  FUZZ_CHECK(m.method_string() == sent.method_string());
  FUZZ_CHECK(m.target() == sent.target());
  FUZZ_CHECK(m.body() == body);
  const http::HeadLimits generous{1u << 20, 1u << 24};
  const auto rej = http::check_request_head(m.base(), generous);
  // An HTTP/1.0 request without Host goes upstream as HTTP/1.1 without Host
  // (see docs/security.md): the only rule a rewritten head may break.
  if (rej && !(client_spoke_10 && rej->reason == "invalid_host"))
    std::fprintf(stderr, "upstream head refused (%s): %s\n", rej->reason.c_str(), wire.c_str());
  FUZZ_CHECK(!rej || (client_spoke_10 && rej->reason == "invalid_host"));
}

// Serves one request out of `buf` (refilled from `in` the way the socket
// would). False: the connection would close.
bool serve_one(beast::flat_buffer& buf, std::string_view& in, std::size_t piece, std::size_t relay_size) {
  const config::HttpLimits limits;  // the listener defaults
  auto feed = [&] {
    if (in.empty()) return false;
    const auto n = std::min(piece, in.size());
    auto dst = buf.prepare(n);
    std::memcpy(dst.data(), in.data(), n);
    buf.commit(n);
    in.remove_prefix(n);
    return true;
  };
  if (buf.size() == 0 && !feed()) return false;

  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(limits.max_request_header_bytes);
  parser.body_limit(limits.max_request_body_bytes);
  // read_head: parse what is buffered, read more while the head is incomplete.
  auto [ec, head_bytes] = http::parse_buffered(buf, parser);
  while (ec == bhttp::error::need_more && !parser.is_header_done()) {
    if (buf.size() > 0 && beast::read_size(buf, 65536) == 0) {
      ec = bhttp::error::buffer_overflow;
      break;
    }
    if (!feed()) {
      ec = parser.got_some() ? bhttp::error::partial_message : bhttp::error::end_of_stream;
      break;
    }
    auto [ec2, n] = http::parse_buffered(buf, parser);
    ec = ec2;
    head_bytes += n;
  }
  if (ec == bhttp::error::need_more && parser.is_header_done()) ec = {};
  if (ec) {
    const auto rej = http::rejection_for_parse_error(ec);
    FUZZ_CHECK(rej.status >= 400 && rej.status < 600);
    return false;
  }
  if (head_bytes > limits.max_request_header_bytes) return false;  // 431
  auto& head = parser.get();
  const bool client_spoke_10 = head.version() == 10;
  const bool has_body = !parser.is_done();
  const bool keep_alive = head.keep_alive();
  if (auto rej = http::check_request_head(head, {limits.max_request_headers, limits.max_request_line_bytes})) {
    FUZZ_CHECK(rej->status >= 400 && rej->status < 600 && !rej->reason.empty());
    return false;
  }
  (void)http::request_authority(head);
  const auto upgrade = has_body ? std::string() : http::upgrade_protocol(head.base());

  // The upstream request head, rewritten in place.
  const bool chunked = parser.chunked();
  const auto content_length = parser.content_length();
  const auto target = http::origin_form(head.target());
  if (target != head.target()) {
    const std::string origin(target);
    head.target(origin);
  }
  head.version(11);
  http::remove_hop_by_hop(head.base());
  http::set_forwarding_headers(head.base(), "127.0.0.1", "http", /*trust_downstream=*/true);
  if (!upgrade.empty()) {
    head.set(bhttp::field::connection, "upgrade");
    head.set(bhttp::field::upgrade, upgrade);
  }
  http::set_upstream_framing(head, chunked,
                             content_length ? std::optional<std::uint64_t>(*content_length) : std::nullopt);
  std::string wire;
  http::append_head(wire, head);

  // pump_request: the body through the relay buffer, re-framed.
  const http::BodyFramer framer(has_body && chunked);
  std::string body;
  std::string relay(relay_size, '\0');
  bool complete = !has_body;
  while (!complete) {
    head.body().data = relay.data();
    head.body().size = relay.size();
    auto [bec, n] = http::parse_buffered(buf, parser);
    if (bec == bhttp::error::need_more) {
      if (!feed()) {
        boost::system::error_code eof;
        parser.put_eof(eof);
        if (eof || !parser.is_done()) return false;  // the client went away mid-body
        bec = {};
      } else {
        continue;
      }
    }
    if (bec && bec != bhttp::error::need_buffer) {
      const auto rej = http::rejection_for_parse_error(bec);
      FUZZ_CHECK(rej.status >= 400);
      return false;
    }
    const auto got = relay.size() - head.body().size;
    const std::string_view data(relay.data(), got);
    body.append(data);
    framer.append(wire, data);
    complete = parser.is_done();
  }
  if (has_body) framer.append_end(wire);
  check_upstream_bytes(wire, head, body, client_spoke_10);
  return keep_alive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  // First byte: how the bytes arrive (piece size) and the relay buffer size.
  const std::size_t piece = 1 + (data[0] & 0x3f) * 64;  // 1 .. 4033 bytes per read
  const std::size_t relay = (data[0] & 0x40) ? 7 : 16 * 1024;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  beast::flat_buffer buf;
  for (int i = 0; i < 16; ++i)
    if (!serve_one(buf, in, piece, relay)) break;
  return 0;
}
