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

// Parses until the parser stops asking for more bytes: success (some
// progress: the header completed, body bytes were stored, the message ended),
// need_buffer (body buffer full), or an error. Returns the bytes consumed.
template <class Stream, bool isRequest>
boost::asio::awaitable<ReadResult> read_some(Stream& stream, boost::beast::flat_buffer& buffer,
                                             boost::beast::http::basic_parser<isRequest>& parser) {
  namespace bhttp = boost::beast::http;
  std::size_t consumed = 0;
  boost::system::error_code ec;
  for (;;) {
    if (buffer.size() != 0) {
      const auto used = parser.put(buffer.data(), ec);
      consumed += used;
      buffer.consume(used);
      if (ec != bhttp::error::need_more) co_return ReadResult{ec, consumed};
    }
    const auto size = boost::beast::read_size(buffer, 65536);
    if (size == 0) co_return ReadResult{bhttp::error::buffer_overflow, consumed};
    auto [rec, n] = co_await stream.async_read_some(buffer.prepare(size),
                                                    boost::asio::as_tuple(boost::asio::use_awaitable));
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
boost::asio::awaitable<ReadResult> read_header(Stream& stream, boost::beast::flat_buffer& buffer,
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
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace aegis::http {

// Writes what `serializer` has ready, the head and whatever body bytes are
// set, up to the point where it needs more body (need_buffer, as Beast's
// async_write reports it) or is done. Small messages go out as ONE
// contiguous buffer: a serialized head is a dozen small pieces, and copying
// them costs far less than handing the kernel a dozen-piece iovec per
// message. Pieces larger than kFlatLimit (bulk body data) are written in
// place by Beast instead of being copied. `header_only` stops after the head.
inline constexpr std::size_t kFlatLimit = 4096;

template <class Stream, bool isRequest, class Body, class Fields>
boost::asio::awaitable<boost::system::error_code> write_flat(
    Stream& stream, boost::beast::http::serializer<isRequest, Body, Fields>& serializer,
    boost::beast::flat_buffer& scratch, bool header_only = false) {
  namespace bhttp = boost::beast::http;
  constexpr auto kTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  scratch.clear();
  boost::system::error_code ec;
  bool too_big = false;
  if (header_only) serializer.split(true);
  while (!serializer.is_done() && !(header_only && serializer.is_header_done())) {
    serializer.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      const auto n = boost::asio::buffer_size(buffers);
      if (scratch.size() + n > kFlatLimit) {
        too_big = true;  // left in the serializer for the gathered write below
        return;
      }
      boost::asio::buffer_copy(scratch.prepare(n), buffers);
      scratch.commit(n);
      serializer.consume(n);
    });
    if (ec || too_big) break;  // need_buffer: the body set so far is taken
  }
  if (ec && ec != bhttp::error::need_buffer) co_return ec;
  if (scratch.size() != 0) {
    auto [wec, n] = co_await boost::asio::async_write(stream, scratch.data(), kTuple);
    if (wec) co_return wec;
  }
  if (too_big) {
    auto [wec, n] = header_only ? co_await bhttp::async_write_header(stream, serializer, kTuple)
                                : co_await bhttp::async_write(stream, serializer, kTuple);
    co_return wec;
  }
  co_return ec;  // success, or need_buffer like Beast's async_write
}

}  // namespace aegis::http
