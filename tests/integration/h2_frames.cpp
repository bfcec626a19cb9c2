#include "h2_frames.h"

#include "core/byte_reader.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstdio>
#include <span>
#include <stdexcept>

namespace aegis::itest::h2 {

namespace {

core::ByteReader reader_of(std::string_view s) {
  return core::ByteReader(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

std::string to_string(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Strips the PADDED flag's pad-length byte and trailing padding, and `skip`
// more bytes after the pad length (HEADERS' priority fields).
std::optional<std::string> unpadded(const Frame& f, std::size_t skip) {
  auto r = reader_of(f.payload);
  std::size_t pad = 0;
  if (f.has(flag::kPadded)) {
    auto p = r.u8();
    if (!p) return std::nullopt;
    pad = *p;
  }
  if (!r.skip(skip) || r.remaining() < pad) return std::nullopt;
  auto body = r.bytes(r.remaining() - pad);
  if (!body) return std::nullopt;
  return to_string(*body);
}

}  // namespace

const char* frame_type_name(FrameType t) {
  switch (t) {
    case FrameType::kData: return "DATA";
    case FrameType::kHeaders: return "HEADERS";
    case FrameType::kPriority: return "PRIORITY";
    case FrameType::kRstStream: return "RST_STREAM";
    case FrameType::kSettings: return "SETTINGS";
    case FrameType::kPushPromise: return "PUSH_PROMISE";
    case FrameType::kPing: return "PING";
    case FrameType::kGoaway: return "GOAWAY";
    case FrameType::kWindowUpdate: return "WINDOW_UPDATE";
    case FrameType::kContinuation: return "CONTINUATION";
  }
  return "UNKNOWN";
}

std::optional<std::string> find_header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string Frame::describe() const {
  std::array<char, 128> buf{};
  std::snprintf(buf.data(), buf.size(), "%s(0x%x) stream=%u flags=0x%x len=%zu",
                frame_type_name(type), static_cast<unsigned>(type), stream_id,
                static_cast<unsigned>(flags), payload.size());
  return buf.data();
}

// ---- frame bytes ------------------------------------------------------------

std::string u32_be(std::uint32_t v) {
  return {static_cast<char>(v >> 24U), static_cast<char>(v >> 16U), static_cast<char>(v >> 8U),
          static_cast<char>(v)};
}

std::string frame_header(std::uint32_t length, FrameType type, std::uint8_t flags, std::uint32_t stream_id) {
  std::string h = u32_be(length).substr(1);  // 24-bit length
  h.push_back(static_cast<char>(type));
  h.push_back(static_cast<char>(flags));
  h += u32_be(stream_id & 0x7fffffffU);
  return h;
}

std::string frame_bytes(FrameType type, std::uint8_t flags, std::uint32_t stream_id, std::string_view payload) {
  if (payload.size() > kMaxFrameLength) throw std::invalid_argument("frame payload over 2^24-1 bytes");
  std::string f = frame_header(static_cast<std::uint32_t>(payload.size()), type, flags, stream_id);
  f.append(payload);
  return f;
}

std::string settings_payload(const Settings& s) {
  std::string p;
  for (const auto& [id, value] : s) {
    p.push_back(static_cast<char>(id >> 8U));
    p.push_back(static_cast<char>(id));
    p += u32_be(value);
  }
  return p;
}

std::optional<Frame> take_frame(std::string& buf) {
  auto r = reader_of(buf);
  auto len = r.bytes(3);
  auto type = r.u8();
  auto flags = r.u8();
  auto stream = r.u32_be();
  if (!len || !type || !flags || !stream) return std::nullopt;
  const std::size_t length = (std::size_t{(*len)[0]} << 16U) | (std::size_t{(*len)[1]} << 8U) | (*len)[2];
  auto payload = r.bytes(length);
  if (!payload) return std::nullopt;
  Frame f;
  f.type = static_cast<FrameType>(*type);
  f.flags = *flags;
  f.stream_id = *stream & 0x7fffffffU;
  f.payload = to_string(*payload);
  buf.erase(0, kFrameHeaderSize + length);
  return f;
}

// ---- payloads read back ---------------------------------------------------

std::optional<GoawayPayload> parse_goaway(std::string_view payload) {
  auto r = reader_of(payload);
  auto last = r.u32_be();
  auto code = r.u32_be();
  if (!last || !code) return std::nullopt;
  auto debug = r.bytes(r.remaining());
  return GoawayPayload{*last & 0x7fffffffU, *code, debug ? to_string(*debug) : std::string()};
}

std::optional<std::uint32_t> parse_rst_stream(std::string_view payload) {
  auto r = reader_of(payload);
  return r.u32_be();
}

std::optional<std::uint32_t> parse_window_update(std::string_view payload) {
  auto r = reader_of(payload);
  auto v = r.u32_be();
  if (!v) return std::nullopt;
  return *v & 0x7fffffffU;
}

std::optional<Settings> parse_settings(std::string_view payload) {
  if (payload.size() % 6 != 0) return std::nullopt;
  auto r = reader_of(payload);
  Settings s;
  while (!r.empty()) {
    auto id = r.u16_be();
    auto value = r.u32_be();
    if (!id || !value) return std::nullopt;
    s.emplace_back(*id, *value);
  }
  return s;
}

std::optional<std::string> headers_fragment(const Frame& f) {
  return unpadded(f, f.has(flag::kPriority) ? 5 : 0);
}

std::optional<std::string> data_content(const Frame& f) { return unpadded(f, 0); }

// ---- HPACK ------------------------------------------------------------------

HpackEncoder::HpackEncoder() {
  if (nghttp2_hd_deflate_new(&deflater_, 4096) != 0) throw std::runtime_error("nghttp2_hd_deflate_new failed");
}

HpackEncoder::~HpackEncoder() { nghttp2_hd_deflate_del(deflater_); }

std::string HpackEncoder::encode(const Headers& headers, bool never_index) {
  std::vector<nghttp2_nv> nva;
  nva.reserve(headers.size());
  for (const auto& [name, value] : headers) {
    // nghttp2 takes non-const pointers but does not write through them.
    nva.push_back(nghttp2_nv{const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
                             const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
                             name.size(), value.size(),
                             static_cast<std::uint8_t>(never_index ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE)});
  }
  std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
  const auto n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<std::uint8_t*>(out.data()), out.size(),
                                       nva.data(), nva.size());
  if (n < 0) throw std::runtime_error(std::string("nghttp2_hd_deflate_hd: ") + nghttp2_strerror(static_cast<int>(n)));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

HpackDecoder::HpackDecoder() {
  if (nghttp2_hd_inflate_new(&inflater_) != 0) throw std::runtime_error("nghttp2_hd_inflate_new failed");
}

HpackDecoder::~HpackDecoder() { nghttp2_hd_inflate_del(inflater_); }

std::optional<Headers> HpackDecoder::decode(std::string_view block) {
  Headers out;
  for (;;) {
    nghttp2_nv nv{};
    int flags = 0;
    const auto n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, reinterpret_cast<const std::uint8_t*>(block.data()),
                                          block.size(), 1);
    if (n < 0 || static_cast<std::size_t>(n) > block.size()) return std::nullopt;
    block.remove_prefix(static_cast<std::size_t>(n));
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
      out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_);
      return out;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && block.empty()) return std::nullopt;
  }
}

}  // namespace aegis::itest::h2
