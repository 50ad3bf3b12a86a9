#include "api/ws_frames.hpp"

#include <boost/uuid/detail/sha1.hpp>

namespace callbridge::api::ws {

namespace {

std::string base64(const unsigned char* p, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    unsigned v = p[i] << 16;
    if (i + 1 < n) v |= p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

ClientFrame protocol_error(std::uint16_t code, std::string_view why) {
  ClientFrame f;
  f.kind = ClientFrame::Kind::error;
  f.close_code = code;
  f.why = why;
  return f;
}

}  // namespace

std::string text_frame(std::string_view json) {
  std::string f;
  f.reserve(json.size() + 10);
  f += static_cast<char>(0x81);  // FIN + text
  const std::uint64_t n = json.size();
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  f += json;
  return f;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string f;
  f += static_cast<char>(0x88);
  f += static_cast<char>(2 + reason.size());  // reasons here are < 124 bytes
  f += static_cast<char>(code >> 8);
  f += static_cast<char>(code & 0xff);
  f += reason;
  return f;
}

std::string pong_frame(std::string_view payload) {
  std::string pong;
  pong += static_cast<char>(0x8A);
  pong += static_cast<char>(payload.size());
  pong += payload;
  return pong;
}

std::string accept_key(std::string_view key) {
  boost::uuids::detail::sha1 sha;
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha.process_bytes(s.data(), s.size());
  boost::uuids::detail::sha1::digest_type d;
  sha.get_digest(d);
  unsigned char bytes[20];
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) bytes[i * 4 + j] = static_cast<unsigned char>(d[i] >> (24 - 8 * j));
  return base64(bytes, 20);
}

bool header_has_token(std::string_view header, std::string_view token) {
  std::string h(header), t(token);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h.find(t) != std::string::npos;
}

std::string ClientFrame::unmasked() const {
  std::string out(length, '\0');
  for (std::size_t i = 0; i < length; ++i) out[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
  return out;
}

ClientFrame parse_client_frame(const char* data, std::size_t size, std::uint64_t max_payload) {
  ClientFrame f;
  if (size < 2) return f;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const unsigned char b0 = p[0], b1 = p[1];
  const bool masked = (b1 & 0x80) != 0;
  std::uint64_t len = b1 & 0x7f;
  std::size_t hdr = 2;
  if (len == 126) {
    if (size < 4) return f;
    len = (std::uint64_t{p[2]} << 8) | p[3];
    hdr = 4;
  } else if (len == 127) {
    if (size < 10) return f;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    hdr = 10;
  }
  f.opcode = b0 & 0x0f;
  f.fin = (b0 & 0x80) != 0;
  if (!masked) return protocol_error(1002, "client frames must be masked");
  if ((b0 & 0x70) != 0) return protocol_error(1002, "no extensions negotiated");
  if (len > max_payload) return protocol_error(1009, "message too big");
  if (f.opcode >= 0x8 && (len > 125 || !f.fin)) return protocol_error(1002, "bad control frame");
  if (size - hdr < 4 || size - hdr - 4 < len) return f;  // need_more
  f.kind = ClientFrame::Kind::frame;
  f.mask = p + hdr;
  f.payload = p + hdr + 4;
  f.length = len;
  f.size = hdr + 4 + static_cast<std::size_t>(len);
  return f;
}

bool Utf8Check::feed(std::string_view bytes) {
  for (char ch : bytes) {
    if (!ok_) return false;
    const auto b = static_cast<unsigned char>(ch);
    if (need_ > 0) {
      if (b < lo_ || b > hi_) return ok_ = false;
      lo_ = 0x80, hi_ = 0xBF;
      --need_;
      continue;
    }
    if (b < 0x80) continue;
    // Lead byte: how many continuation bytes follow, and the range of the first one (table 3-7
    // of the Unicode standard: excludes overlongs E0 80.., F0 80.., surrogates ED A0.., > F4 8F..).
    if (b >= 0xC2 && b <= 0xDF) need_ = 1;
    else if (b == 0xE0) need_ = 2, lo_ = 0xA0;
    else if (b == 0xED) need_ = 2, hi_ = 0x9F;
    else if (b >= 0xE1 && b <= 0xEF) need_ = 2;
    else if (b == 0xF0) need_ = 3, lo_ = 0x90;
    else if (b == 0xF4) need_ = 3, hi_ = 0x8F;
    else if (b >= 0xF1 && b <= 0xF3) need_ = 3;
    else return ok_ = false;  // 80..C1 (continuation or overlong lead), F5..FF
  }
  return ok_;
}

bool valid_close_code(std::uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

MessageRules::Verdict MessageRules::check(unsigned opcode, bool fin, std::string_view payload) {
  switch (opcode) {
    case 0x0:
      if (!in_message_) return {1002, "continuation frame without a message"};
      break;
    case 0x1: case 0x2:
      if (in_message_) return {1002, "new message inside a fragmented one"};
      in_message_ = true;
      text_ = opcode == 0x1;
      utf8_ = Utf8Check{};
      break;
    case 0x8: {
      if (payload.size() == 1) return {1002, "close frame with a 1-byte payload"};
      if (payload.size() >= 2) {
        const auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                     static_cast<unsigned char>(payload[1]));
        if (!valid_close_code(code)) return {1002, "invalid close code"};
        Utf8Check reason;
        if (!reason.feed(payload.substr(2)) || !reason.complete()) return {1007, "close reason is not UTF-8"};
      }
      return {};
    }
    default:
      return {};  // ping, pong (their rules are in parse_client_frame); unknown opcodes: the caller
  }
  if (text_ && !utf8_.feed(payload)) return {1007, "text message is not UTF-8"};
  if (fin) {
    in_message_ = false;
    if (text_ && !utf8_.complete()) return {1007, "text message is not UTF-8"};
  }
  return {};
}

}  // namespace callbridge::api::ws
