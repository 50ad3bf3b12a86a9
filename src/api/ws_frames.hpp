// RFC 6455 wire format for the event stream, without I/O: server frames (text, close), the
// handshake's Sec-WebSocket-Accept, and a resumable parser of client frames that enforces the
// protocol's rules (masked, no extensions, bounded size, valid control frames). Pure functions;
// used by api/ws_event_stream (sessions) and api/ws_upgrade (handshake), any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace callbridge::api::ws {

// One JSON text as an unmasked, final text frame.
std::string text_frame(std::string_view json);
// A close frame with `code` and `reason` (< 124 bytes).
std::string close_frame(std::uint16_t code, std::string_view reason);
// A pong answering a ping's `payload` (<= 125 bytes).
std::string pong_frame(std::string_view payload);
// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2).
std::string accept_key(std::string_view key);
// Case-insensitive: does the comma-separated header value contain `token` ("keep-alive, Upgrade")?
bool header_has_token(std::string_view header, std::string_view token);

// One client frame found by parse_client_frame().
struct ClientFrame {
  enum class Kind {
    need_more,  // incomplete: call again with more bytes
    frame,      // a complete frame: opcode, payload (still masked), size
    error,      // protocol violation: close with `close_code` / `why`
  };
  Kind kind = Kind::need_more;
  unsigned opcode = 0;
  bool fin = false;
  const unsigned char* mask = nullptr;  // 4 bytes
  const unsigned char* payload = nullptr;
  std::uint64_t length = 0;
  std::size_t size = 0;  // bytes of the whole frame (header + mask + payload)
  std::uint16_t close_code = 0;
  std::string_view why;

  // The unmasked payload (control frames: at most 125 bytes).
  std::string unmasked() const;
};

// Parses the frame at the start of [data, data + size). Frames above max_payload are an error
// (1009) as soon as their header says so, before the payload arrives.
ClientFrame parse_client_frame(const char* data, std::size_t size, std::uint64_t max_payload);

}  // namespace callbridge::api::ws
