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

// Incremental UTF-8 check (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) of bytes
// that may arrive split across frames at any byte.
class Utf8Check {
 public:
  // False once the bytes so far cannot start valid UTF-8 (stays false).
  bool feed(std::string_view bytes);
  // True when the bytes so far are valid and end on a character boundary.
  bool complete() const { return ok_ && need_ == 0; }

 private:
  bool ok_ = true;
  unsigned need_ = 0;                    // continuation bytes still expected
  unsigned char lo_ = 0x80, hi_ = 0xBF;  // range of the next continuation byte
};

// Is `code` one a peer may send in a close frame (RFC 6455 7.4.1/7.4.2, IANA registry)? Not 1004,
// 1005, 1006 or 1015 (reserved, never on the wire), not below 1000, not 1016..2999, not 5000 up.
bool valid_close_code(std::uint16_t code);

// The message-level rules over the frames of one connection that a single frame cannot show
// (RFC 6455 5.4, 5.5.1, 8.1): a continuation continues a started message, a new data frame does not
// start inside one, a text message (all its fragments) is UTF-8, a close frame's payload is empty
// or a valid code with a UTF-8 reason. One per connection, fed every frame in order.
class MessageRules {
 public:
  struct Verdict {
    std::uint16_t close_code = 0;  // 0: the frame is fine; else close the connection with it
    std::string_view why;
  };
  // `payload` is the frame's unmasked payload (only looked at for text messages and close frames).
  Verdict check(unsigned opcode, bool fin, std::string_view payload);
  // Whether check() needs the unmasked payload of a frame with this opcode (saves unmasking
  // binary data the API ignores).
  bool wants_payload(unsigned opcode) const { return opcode == 0x1 || opcode == 0x8 || (opcode == 0x0 && text_); }

 private:
  bool in_message_ = false;
  bool text_ = false;
  Utf8Check utf8_;
};

}  // namespace callbridge::api::ws
