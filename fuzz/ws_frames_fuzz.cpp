// libFuzzer target: the WebSocket client frames of the event stream (api/ws_frames, RFC 6455):
// the resumable frame parser on a client's bytes, the unmasking, and the handshake helpers on
// header values. Checks: a frame never claims more bytes than were given, its payload lies inside
// them, control frames stay within 125 bytes, the size limit holds, and the verdict does not depend
// on how the bytes arrived (a prefix of a frame is "need more", never a different frame).
// Input: byte 0 = max payload choice, rest = the bytes a client sent after the upgrade.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/ws_frames.hpp"
#include "fuzz_check.hpp"

namespace ws = callbridge::api::ws;
using callbridge::fuzz::check;
using Kind = ws::ClientFrame::Kind;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint64_t max_payload = data[0] & 1 ? 64 * 1024 : 16;
  const char* p = reinterpret_cast<const char*>(data) + 1;
  std::size_t n = size - 1;

  while (n > 0) {
    const ws::ClientFrame f = ws::parse_client_frame(p, n, max_payload);
    if (f.kind == Kind::need_more) break;
    if (f.kind == Kind::error) {
      check(f.close_code >= 1000 && f.close_code < 5000 && !f.why.empty(), "error without close code");
      break;
    }
    check(f.size > 0 && f.size <= n, "frame size outside the bytes given");
    check(f.length <= max_payload, "payload above the limit");
    const auto* begin = reinterpret_cast<const unsigned char*>(p);
    check(f.payload >= begin && f.payload + f.length == begin + f.size, "payload outside the frame");
    check(f.mask != nullptr && f.mask >= begin && f.mask + 4 <= f.payload, "mask outside the frame");
    if (f.opcode >= 8) check(f.length <= 125 && f.fin, "control frame too long or fragmented");
    check(f.unmasked().size() == f.length, "unmasked payload size");
    // Every strict prefix of a complete frame is incomplete.
    for (std::size_t cut : {std::size_t{0}, std::size_t{1}, f.size / 2, f.size - 1}) {
      if (cut >= f.size) continue;
      check(ws::parse_client_frame(p, cut, max_payload).kind == Kind::need_more,
            "a prefix of a frame is not need_more");
    }
    p += f.size;
    n -= f.size;
  }

  // The handshake helpers on header text from the same bytes.
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)ws::accept_key(text);
  const auto comma = text.find(',');
  (void)ws::header_has_token(text, comma == std::string_view::npos ? "upgrade" : text.substr(0, comma));
  const auto reason = text.substr(0, 123);
  check(ws::close_frame(1000, reason).size() <= 2 + 2 + 123, "close frame too long");
  if (text.size() <= 125) check(ws::pong_frame(text).size() == 2 + text.size(), "pong frame size");
  return 0;
}
