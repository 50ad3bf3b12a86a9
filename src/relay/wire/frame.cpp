#include "relay/wire/frame.hpp"

#include <fmt/format.h>

namespace callbridge::relay::wire {
namespace {

void put_be(std::uint8_t* p, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

std::uint64_t get_be(const std::uint8_t* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

HeaderBytes encode_header(const FrameHeader& h) {
  HeaderBytes b{};
  b[0] = kVersion;
  b[1] = static_cast<std::uint8_t>(h.kind);
  put_be(&b[2], h.flags, 2);
  put_be(&b[4], h.payload_len, 4);
  for (std::size_t i = 0; i < h.client.size(); ++i) b[8 + i] = h.client[i];
  put_be(&b[24], h.seq, 8);
  put_be(&b[32], h.call_tag, 8);
  return b;
}

base::Result<FrameHeader> decode_header(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) {
    return base::fail(base::Error::protocol(
        fmt::format("data frame of {} bytes is shorter than its {}-byte header", bytes.size(), kHeaderSize)));
  }
  const std::uint8_t* p = bytes.data();
  if (p[0] != kVersion) {
    return base::fail(base::Error::protocol(fmt::format("data frame version {} (this relay speaks {})", p[0], kVersion)));
  }
  if (p[1] != static_cast<std::uint8_t>(Kind::edge_to_client) && p[1] != static_cast<std::uint8_t>(Kind::client_to_edge)) {
    return base::fail(base::Error::protocol(fmt::format("data frame kind {} is neither 1 nor 2", p[1])));
  }
  FrameHeader h;
  h.kind = static_cast<Kind>(p[1]);
  h.flags = static_cast<std::uint16_t>(get_be(p + 2, 2));
  if ((h.flags & ~kKnownFlags) != 0) {
    return base::fail(base::Error::protocol(fmt::format("data frame has unknown flag bits {:#06x}", h.flags & ~kKnownFlags)));
  }
  h.payload_len = static_cast<std::uint32_t>(get_be(p + 4, 4));
  for (std::size_t i = 0; i < h.client.size(); ++i) h.client[i] = p[8 + i];
  h.seq = get_be(p + 24, 8);
  h.call_tag = get_be(p + 32, 8);
  return h;
}

base::Result<FrameView> parse_frame(std::span<const std::uint8_t> message, std::size_t max_frame_bytes) {
  if (message.size() > max_frame_bytes) {
    return base::fail(base::Error::protocol(
        fmt::format("data frame of {} bytes exceeds the limit of {} bytes", message.size(), max_frame_bytes)));
  }
  auto h = decode_header(message);
  if (!h) return base::fail(h.error());
  if (h->payload_len != message.size() - kHeaderSize) {
    return base::fail(base::Error::protocol(fmt::format("data frame header says {} payload bytes, the message carries {}",
                                                        h->payload_len, message.size() - kHeaderSize)));
  }
  return FrameView{*h, message.first(kHeaderSize), message.subspan(kHeaderSize)};
}

std::string encode_frame(FrameHeader h, std::string_view payload) {
  CB_CHECK(payload.size() <= UINT32_MAX, "payload larger than 4 GiB");
  h.payload_len = static_cast<std::uint32_t>(payload.size());
  const HeaderBytes b = encode_header(h);
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
  out.append(payload);
  return out;
}

std::string client_id_hex(const ClientId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(id.size() * 2);
  for (std::uint8_t v : id) {
    s.push_back(kDigits[v >> 4]);
    s.push_back(kDigits[v & 0xf]);
  }
  return s;
}

base::Result<ClientId> parse_client_id_hex(std::string_view hex) {
  ClientId id{};
  if (hex.size() != id.size() * 2) {
    return base::fail(base::Error::invalid_argument(
        fmt::format("a client id is {} hex digits, got {} characters", id.size() * 2, hex.size())));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return base::fail(base::Error::invalid_argument("a client id has only hex digits"));
    id[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace callbridge::relay::wire
