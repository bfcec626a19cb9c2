// HTTP/2 frames and HPACK for tests that talk to the proxy below the codec:
// frame bytes are built here by hand (so a test can send anything, valid or
// not), frames read back are parsed with bounds checks (core::ByteReader),
// header blocks go through nghttp2's HPACK deflater/inflater. The connection
// that sends and reads them is h2_client.h.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct nghttp2_hd_deflater;
struct nghttp2_hd_inflater;

namespace aegis::itest::h2 {

enum class FrameType : std::uint8_t {
  kData = 0x0,
  kHeaders = 0x1,
  kPriority = 0x2,
  kRstStream = 0x3,
  kSettings = 0x4,
  kPushPromise = 0x5,
  kPing = 0x6,
  kGoaway = 0x7,
  kWindowUpdate = 0x8,
  kContinuation = 0x9,
};
const char* frame_type_name(FrameType t);

namespace flag {
inline constexpr std::uint8_t kEndStream = 0x1;
inline constexpr std::uint8_t kAck = 0x1;
inline constexpr std::uint8_t kEndHeaders = 0x4;
inline constexpr std::uint8_t kPadded = 0x8;
inline constexpr std::uint8_t kPriority = 0x20;
}  // namespace flag

// RFC 9113 section 7 error codes (GOAWAY, RST_STREAM).
namespace err {
inline constexpr std::uint32_t kNoError = 0x0;
inline constexpr std::uint32_t kProtocolError = 0x1;
inline constexpr std::uint32_t kInternalError = 0x2;
inline constexpr std::uint32_t kFlowControlError = 0x3;
inline constexpr std::uint32_t kSettingsTimeout = 0x4;
inline constexpr std::uint32_t kStreamClosed = 0x5;
inline constexpr std::uint32_t kFrameSizeError = 0x6;
inline constexpr std::uint32_t kRefusedStream = 0x7;
inline constexpr std::uint32_t kCancel = 0x8;
inline constexpr std::uint32_t kCompressionError = 0x9;
inline constexpr std::uint32_t kConnectError = 0xa;
inline constexpr std::uint32_t kEnhanceYourCalm = 0xb;
inline constexpr std::uint32_t kInadequateSecurity = 0xc;
inline constexpr std::uint32_t kHttp11Required = 0xd;
}  // namespace err

// SETTINGS identifiers.
namespace setting {
inline constexpr std::uint16_t kHeaderTableSize = 0x1;
inline constexpr std::uint16_t kEnablePush = 0x2;
inline constexpr std::uint16_t kMaxConcurrentStreams = 0x3;
inline constexpr std::uint16_t kInitialWindowSize = 0x4;
inline constexpr std::uint16_t kMaxFrameSize = 0x5;
inline constexpr std::uint16_t kMaxHeaderListSize = 0x6;
}  // namespace setting

using Settings = std::vector<std::pair<std::uint16_t, std::uint32_t>>;
using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

// The first value of `name` in `h`, nullopt if absent.
std::optional<std::string> find_header(const Headers& h, std::string_view name);

inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr std::size_t kFrameHeaderSize = 9;
inline constexpr std::uint32_t kMaxFrameLength = (1U << 24U) - 1U;

// A frame as read off the wire. For HEADERS / PUSH_PROMISE / CONTINUATION
// that end a header block (END_HEADERS), `headers` holds the decoded block
// (the whole block, HEADERS plus its CONTINUATIONs); `hpack_error` is set
// when it did not decode.
struct Frame {
  FrameType type = FrameType::kData;
  std::uint8_t flags = 0;
  std::uint32_t stream_id = 0;
  std::string payload;
  std::optional<Headers> headers;
  bool hpack_error = false;

  bool has(std::uint8_t f) const { return (flags & f) != 0; }
  // "HEADERS stream=1 flags=0x5 len=12", for failure messages.
  std::string describe() const;
};

// ---- frame bytes (9-byte header + payload; nothing is validated) ----------

std::string frame_bytes(FrameType type, std::uint8_t flags, std::uint32_t stream_id,
                        std::string_view payload);
// A frame header with any 24-bit length, whatever the payload that follows
// (lying about the length is a test case).
std::string frame_header(std::uint32_t length, FrameType type, std::uint8_t flags, std::uint32_t stream_id);
std::string settings_payload(const Settings& s);
std::string u32_be(std::uint32_t v);

// Splits a complete frame off the front of `buf`: nullopt while fewer bytes
// than the frame header announces are there (buf unchanged).
std::optional<Frame> take_frame(std::string& buf);

// ---- payloads read back (bounds-checked; nullopt when too short) ----------

struct GoawayPayload {
  std::uint32_t last_stream_id = 0;
  std::uint32_t error_code = 0;
  std::string debug;
};
std::optional<GoawayPayload> parse_goaway(std::string_view payload);
std::optional<std::uint32_t> parse_rst_stream(std::string_view payload);
std::optional<std::uint32_t> parse_window_update(std::string_view payload);
std::optional<Settings> parse_settings(std::string_view payload);
// The header block fragment of a HEADERS frame (padding and priority
// fields removed) or its DATA content (padding removed).
std::optional<std::string> headers_fragment(const Frame& f);
std::optional<std::string> data_content(const Frame& f);

// ---- HPACK ------------------------------------------------------------------

// nghttp2's deflater: encodes whatever it is given (upper-case names,
// connection headers, missing pseudo-headers), so tests can send invalid
// header sets. One per connection: it keeps the dynamic table.
class HpackEncoder {
 public:
  HpackEncoder();
  ~HpackEncoder();
  HpackEncoder(const HpackEncoder&) = delete;
  HpackEncoder& operator=(const HpackEncoder&) = delete;
  // never_index: every field as "literal never indexed" (dynamic table untouched).
  std::string encode(const Headers& headers, bool never_index = false);

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
};

// nghttp2's inflater; nullopt when the block is not valid HPACK (then the
// decoder, like the connection, is unusable).
class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;
  std::optional<Headers> decode(std::string_view block);

 private:
  nghttp2_hd_inflater* inflater_ = nullptr;
};

}  // namespace aegis::itest::h2
