#include "upstream/health/grpc_probe.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <memory>
#include <string_view>
#include <vector>

#include "core/byte_reader.h"

// GCC 12 reports a false -Wmismatched-new-delete on this file's coroutine
// frames (Asio's awaitable frames pair a class operator new with its own
// operator delete), as in proxy/tcp_session.cpp. Clang builds keep the check.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace aegis::upstream::health {

namespace {

constexpr std::size_t kMaxResponseBody = 64 * 1024;  // a HealthCheckResponse is a few bytes

std::optional<std::uint64_t> read_varint(core::ByteReader& r) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const auto b = r.u8();
    if (!b) return std::nullopt;
    v |= std::uint64_t{*b & 0x7fu} << shift;
    if ((*b & 0x80u) == 0) return v;
  }
  return std::nullopt;  // longer than 10 bytes
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// One unary call on one nghttp2 client session. nghttp2 parses every frame;
// the callbacks only keep what the verdict needs.
class HealthCall {
 public:
  explicit HealthCall(std::string body) : body_(std::move(body)) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    const std::unique_ptr<nghttp2_session_callbacks, decltype(&nghttp2_session_callbacks_del)> owned(
        cbs, &nghttp2_session_callbacks_del);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &HealthCall::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &HealthCall::on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &HealthCall::on_close);
    nghttp2_session* s = nullptr;
    if (nghttp2_session_client_new(&s, cbs, this) == 0) session_.reset(s);
  }

  // Queues the preface, SETTINGS and the request; false on failure.
  bool start(const std::string& scheme, const std::string& authority) {
    if (!session_) return false;
    if (nghttp2_submit_settings(session_.get(), NGHTTP2_FLAG_NONE, nullptr, 0) != 0) return false;
    const std::array<std::pair<std::string_view, std::string_view>, 7> fields{{
        {":method", "POST"},
        {":scheme", scheme},
        {":path", "/grpc.health.v1.Health/Check"},
        {":authority", authority},
        {"content-type", "application/grpc"},
        {"te", "trailers"},
        {"user-agent", "aegis-flow-health-check"},
    }};
    std::array<nghttp2_nv, fields.size()> nva{};
    for (std::size_t i = 0; i < fields.size(); ++i) {
      nva[i] = nghttp2_nv{const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(fields[i].first.data())),
                          const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(fields[i].second.data())),
                          fields[i].first.size(), fields[i].second.size(), NGHTTP2_NV_FLAG_NONE};
    }
    nghttp2_data_provider provider{};
    provider.source.ptr = this;
    provider.read_callback = &HealthCall::read_body;
    stream_id_ = nghttp2_submit_request(session_.get(), nullptr, nva.data(), nva.size(), &provider, this);
    return stream_id_ > 0;
  }

  // Bytes nghttp2 wants sent; empty when nothing is pending. False on error.
  bool pending_output(std::string& out) {
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_.get(), &data);
      if (n < 0) return false;
      if (n == 0) return true;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
  }

  bool feed(std::span<const std::uint8_t> bytes) {
    const auto n = nghttp2_session_mem_recv(session_.get(), bytes.data(), bytes.size());
    return n >= 0 && static_cast<std::size_t>(n) == bytes.size();
  }

  bool done() const { return closed_; }

  // The verdict once done().
  ProbeResult result() const {
    if (stream_error_ != 0) return {false, false, fmt::format("HTTP/2 stream closed with error {}", stream_error_)};
    if (too_large_) return {false, false, "response body too large"};
    if (http_status_ != 200) return {false, false, fmt::format("HTTP status {}", http_status_)};
    if (!grpc_status_) return {false, false, "no grpc-status"};
    if (*grpc_status_ != 0) return {false, false, fmt::format("grpc-status {}", *grpc_status_)};
    const auto status = grpc_serving_status(response_);
    if (!status) return {false, false, "malformed HealthCheckResponse"};
    if (*status != kGrpcServing) return {false, false, fmt::format("serving status {} (not SERVING)", *status)};
    return {true, false, {}};
  }

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* user) {
    auto& self = *static_cast<HealthCall*>(user);
    if (frame->hd.stream_id != self.stream_id_) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), namelen);
    const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    unsigned parsed = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
    const bool number = ec == std::errc{} && ptr == v.data() + v.size();
    if (n == ":status" && number) self.http_status_ = parsed;
    if (n == "grpc-status") self.grpc_status_ = number ? parsed : 2u;  // 2: UNKNOWN
    return 0;
  }

  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                     std::size_t len, void* user) {
    auto& self = *static_cast<HealthCall*>(user);
    if (stream_id != self.stream_id_) return 0;
    if (self.response_.size() + len > kMaxResponseBody) {
      self.too_large_ = true;
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    self.response_.insert(self.response_.end(), data, data + len);
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* user) {
    auto& self = *static_cast<HealthCall*>(user);
    if (stream_id != self.stream_id_) return 0;
    self.closed_ = true;
    self.stream_error_ = error_code;
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* user) {
    auto& self = *static_cast<HealthCall*>(user);
    const std::size_t n = std::min(length, self.body_.size() - self.body_sent_);
    std::copy_n(self.body_.data() + self.body_sent_, n, buf);
    self.body_sent_ += n;
    if (self.body_sent_ == self.body_.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  struct SessionDeleter {
    void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
  };
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  std::string body_;
  std::size_t body_sent_ = 0;
  std::int32_t stream_id_ = -1;
  bool closed_ = false;
  bool too_large_ = false;
  std::uint32_t stream_error_ = 0;
  unsigned http_status_ = 0;
  std::optional<unsigned> grpc_status_;
  std::vector<std::uint8_t> response_;
};

}  // namespace

std::string grpc_health_request(const std::string& service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0a);  // field 1, length-delimited
    put_varint(message, service.size());
    message += service;
  }
  std::string out;
  out.push_back('\0');  // not compressed
  const auto len = static_cast<std::uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((len >> shift) & 0xff));
  return out + message;
}

std::optional<std::uint64_t> grpc_serving_status(std::span<const std::uint8_t> body) {
  core::ByteReader r(body);
  const auto compressed = r.u8();
  const auto length = r.u32_be();
  if (!compressed || !length || *compressed != 0) return std::nullopt;
  auto message = r.sub(*length);
  if (!message) return std::nullopt;
  std::uint64_t status = 0;
  while (!message->empty()) {
    const auto key = read_varint(*message);
    if (!key) return std::nullopt;
    const auto field = *key >> 3;
    switch (*key & 7) {
      case 0: {  // varint
        const auto v = read_varint(*message);
        if (!v) return std::nullopt;
        if (field == 1) status = *v;
        break;
      }
      case 1:  // 64-bit
        if (!message->skip(8)) return std::nullopt;
        break;
      case 2: {  // length-delimited
        const auto len = read_varint(*message);
        if (!len || !message->skip(*len)) return std::nullopt;
        break;
      }
      case 5:  // 32-bit
        if (!message->skip(4)) return std::nullopt;
        break;
      default:
        return std::nullopt;
    }
  }
  return status;
}

core::Task<ProbeResult> grpc_probe(ProbeConnection& conn, const ProbeTarget& t) {
  HealthCall call(grpc_health_request(t.check.service_name));
  const std::string scheme = t.tls ? "https" : "http";
  const std::string& authority = t.check.authority.empty() ? t.cluster : t.check.authority;
  if (!call.start(scheme, authority)) co_return ProbeResult{false, false, "cannot start an HTTP/2 session"};
  std::string out;
  std::array<std::uint8_t, 16 * 1024> in{};
  for (;;) {
    if (!call.pending_output(out)) co_return ProbeResult{false, false, "HTTP/2 session error"};
    if (!out.empty()) {
      auto [ec, n] = co_await boost::asio::async_write(conn.stream(), boost::asio::buffer(out), core::kAwait);
      if (ec) co_return ProbeResult{false, conn.timed_out(), fmt::format("sending: {}", ec.message())};
      out.clear();
    }
    if (call.done()) co_return call.result();
    auto [ec, n] = co_await conn.stream().async_read_some(boost::asio::buffer(in), core::kAwait);
    if (ec) co_return ProbeResult{false, conn.timed_out(), fmt::format("reading: {}", ec.message())};
    if (!call.feed(std::span<const std::uint8_t>(in.data(), n)))
      co_return ProbeResult{false, false, "HTTP/2 protocol error from the server"};
  }
}

}  // namespace aegis::upstream::health
