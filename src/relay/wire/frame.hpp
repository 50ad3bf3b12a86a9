// The relay's binary data frame (docs/relay.md "Data frames"): a fixed 40-byte header, then an opaque
// payload. Encoding and checks only, no I/O; shared by the relay node, the edge transport and the
// end-to-end layer (which seals the payload with the encoded header as associated data).
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace callbridge::relay::wire {

inline constexpr std::size_t kHeaderSize = 40;
inline constexpr std::uint8_t kVersion = 1;
// Header + payload of one data frame unless configured otherwise (relay node `max_frame_bytes`).
inline constexpr std::size_t kDefaultMaxFrameBytes = 64 * 1024;
// A control message (WebSocket text) is never longer than this.
inline constexpr std::size_t kMaxControlBytes = 4 * 1024;

enum class Kind : std::uint8_t {
  edge_to_client = 1,
  client_to_edge = 2,
};

// Flag bits (big-endian u16 at offset 2). Unknown bits are rejected: a peer speaking a later
// version must say so in the version byte.
inline constexpr std::uint16_t kFlagCallEnd = 1u << 0;    // last frame of call `call_tag`
inline constexpr std::uint16_t kFlagHandshake = 1u << 1;  // payload is an e2e handshake/pairing message
inline constexpr std::uint16_t kKnownFlags = kFlagCallEnd | kFlagHandshake;

// First 16 bytes of BLAKE2b(client's X25519 public key); hex (32 lower-case digits) in URLs and JSON.
using ClientId = std::array<std::uint8_t, 16>;
using HeaderBytes = std::array<std::uint8_t, kHeaderSize>;

struct FrameHeader {
  Kind kind = Kind::edge_to_client;
  std::uint16_t flags = 0;
  std::uint32_t payload_len = 0;
  ClientId client{};
  // Per (edge, client, direction), strictly increasing, chosen by the sender.
  std::uint64_t seq = 0;
  // Opaque per-call number chosen by the edge; 0 = not part of a call.
  std::uint64_t call_tag = 0;

  bool call_end() const { return (flags & kFlagCallEnd) != 0; }
  bool handshake() const { return (flags & kFlagHandshake) != 0; }
  bool operator==(const FrameHeader&) const = default;
};

// The 40 header bytes exactly as they travel (and as the e2e layer authenticates them).
HeaderBytes encode_header(const FrameHeader& h);

// Decodes the first 40 bytes of `bytes`. Errc::protocol when shorter, version != 1, unknown kind
// or unknown flag bits. Does not compare payload_len with anything (parse_frame does).
base::Result<FrameHeader> decode_header(std::span<const std::uint8_t> bytes);

// One whole binary WebSocket message: header checks as decode_header, plus the total size limit
// (`max_frame_bytes`, header included) and payload_len == bytes after the header.
struct FrameView {
  FrameHeader header;
  std::span<const std::uint8_t> header_bytes;  // the 40 bytes, for AEAD associated data
  std::span<const std::uint8_t> payload;
};
base::Result<FrameView> parse_frame(std::span<const std::uint8_t> message,
                                    std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

// Header (payload_len taken from `payload`) + payload, ready to send as one binary message.
std::string encode_frame(FrameHeader h, std::string_view payload);

std::string client_id_hex(const ClientId& id);
// Exactly 32 hex digits (either case). Errc::invalid_argument otherwise.
base::Result<ClientId> parse_client_id_hex(std::string_view hex);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace callbridge::relay::wire
