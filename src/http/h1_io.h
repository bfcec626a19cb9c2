// Reading HTTP/1.1 messages into a Beast parser from a stream, as Beast's
// async_read_some/async_read_header do, minus their detour through the
// executor when the buffer already holds what is needed: bytes already read
// are parsed in place, and the stream is read only when the parser needs
// more. On a keep-alive proxy path that is one fewer queued completion per
// read, per direction, per request.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <cstddef>
#include <utility>

namespace aegis::http {

using ReadResult = std::pair<boost::system::error_code, std::size_t>;

// Parses what `buffer` already holds, without I/O and without a coroutine
// frame: the fast path when a whole head or body piece arrived with an
// earlier read. need_more means the caller must read (read_some/read_header).
template <bool isRequest>
ReadResult parse_buffered(boost::beast::flat_buffer& buffer,
                          boost::beast::http::basic_parser<isRequest>& parser) {
  if (buffer.size() == 0) return {boost::beast::http::error::need_more, 0};
  boost::system::error_code ec;
  const auto used = parser.put(buffer.data(), ec);
  buffer.consume(used);
  return {ec, used};
}

// Parses until the parser stops asking for more bytes: success (some
// progress: the header completed, body bytes were stored, the message ended),
// need_buffer (body buffer full), or an error. Returns the bytes consumed.
template <class Stream>
using TaskFor = boost::asio::awaitable<ReadResult, typename Stream::executor_type>;
template <class Stream>
constexpr auto await_token() {
  return boost::asio::as_tuple(boost::asio::use_awaitable_t<typename Stream::executor_type>{});
}

// max_unparsed: buffer_overflow once the parser leaves that many bytes
// unconsumed and still needs more (a line that never ends).
template <class Stream, bool isRequest>
TaskFor<Stream> read_some(Stream& stream, boost::beast::flat_buffer& buffer,
                                             boost::beast::http::basic_parser<isRequest>& parser,
                                             std::size_t max_unparsed = static_cast<std::size_t>(-1)) {
  namespace bhttp = boost::beast::http;
  std::size_t consumed = 0;
  boost::system::error_code ec;
  for (;;) {
    if (buffer.size() != 0) {
      const auto used = parser.put(buffer.data(), ec);
      consumed += used;
      buffer.consume(used);
      if (ec != bhttp::error::need_more) co_return ReadResult{ec, consumed};
      if (buffer.size() >= max_unparsed) co_return ReadResult{bhttp::error::buffer_overflow, consumed};
    }
    const auto size = boost::beast::read_size(buffer, 65536);
    if (size == 0) co_return ReadResult{bhttp::error::buffer_overflow, consumed};
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(size), await_token<Stream>());
    buffer.commit(n);
    if (rec == boost::asio::error::eof) {
      if (parser.got_some()) {
        // A message delimited by the close of the connection ends here.
        ec = {};
        parser.put_eof(ec);
        co_return ReadResult{ec, consumed};
      }
      co_return ReadResult{bhttp::error::end_of_stream, consumed};
    }
    if (rec) co_return ReadResult{rec, consumed};
  }
}

// Reads until the message head is complete.
template <class Stream, bool isRequest>
TaskFor<Stream> read_header(Stream& stream, boost::beast::flat_buffer& buffer,
                                               boost::beast::http::basic_parser<isRequest>& parser) {
  std::size_t consumed = 0;
  while (!parser.is_header_done()) {
    auto [ec, n] = co_await read_some(stream, buffer, parser);
    consumed += n;
    if (ec) co_return ReadResult{ec, consumed};
  }
  co_return ReadResult{boost::system::error_code{}, consumed};
}

}  // namespace aegis::http

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <string>
#include <string_view>

#include "http/h1_writer.h"

namespace aegis::http {

// Pieces up to this size are copied next to what `pending` already holds
// (typically a message head) and go out in one contiguous write; larger ones
// (bulk body data) are written in place, gathered with the framing.
inline constexpr std::size_t kFlatLimit = 4096;

// Writes `pending` (may be empty, e.g. a head written earlier) followed by
// `data` framed by `framer`, and the end of the body if `last`, in one
// write. Clears `pending`.
template <class Stream>
boost::asio::awaitable<boost::system::error_code, typename Stream::executor_type> write_body_piece(
    Stream& stream, std::string& pending, const BodyFramer& framer,
    std::string_view data, bool last) {
  constexpr auto kTuple = await_token<Stream>();
  boost::system::error_code ec;
  if (data.size() <= kFlatLimit) {
    framer.append(pending, data);
    if (last) framer.append_end(pending);
    if (pending.size() != 0) {
      auto [wec, n] = co_await boost::asio::async_write(stream, boost::asio::buffer(pending), kTuple);
      ec = wec;
    }
  } else {
    char scratch[24];
    const auto line = framer.size_line(data.size(), scratch);
    const std::string_view tail =
        last ? (framer.chunked() ? std::string_view("\r\n0\r\n\r\n") : std::string_view())
             : framer.chunk_end();
    const std::array<boost::asio::const_buffer, 4> pieces{
        boost::asio::buffer(pending), boost::asio::buffer(line.data(), line.size()),
        boost::asio::buffer(data.data(), data.size()), boost::asio::buffer(tail.data(), tail.size())};
    auto [wec, n] = co_await boost::asio::async_write(stream, pieces, kTuple);
    ec = wec;
  }
  pending.clear();
  co_return ec;
}

}  // namespace aegis::http
