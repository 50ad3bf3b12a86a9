// EdgeLink: what the edge (callbridged) offers the end-to-end layer on top of its relay connection:
// send a data frame to a client, receive the clients' frames, learn when clients come and go.
// The relay transport (`RelayClient`, relay_client.hpp) implements it; tests may use a fake.
// Everything runs on callbridged's io thread: calls must come from it and handlers are called on it.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "relay/wire/frame.hpp"

namespace callbridge::relay::edge {

class EdgeLink {
 public:
  struct Handlers {
    // A client of this edge connected to some relay node / its last connection is gone.
    std::function<void(const wire::ClientId&)> client_connected;
    std::function<void(const wire::ClientId&)> client_gone;
    // A client->edge data frame, its header already checked (version, kind, length, size limit).
    // `header_bytes` are the 40 bytes as received (the e2e layer's associated data).
    std::function<void(const wire::FrameHeader&, std::span<const std::uint8_t, wire::kHeaderSize> header_bytes,
                       std::string_view payload)>
        frame;
    // The relay connection is logged in (true) or lost (false). Frames sent while down wait in the
    // bounded outbox.
    std::function<void(bool up)> link;
  };

  virtual ~EdgeLink() = default;

  virtual void set_handlers(Handlers handlers) = 0;

  // The header of the next edge->client frame to `client`: kind edge_to_client, the given flags,
  // call tag and payload length, and the next seq for this client (strictly increasing; its origin
  // is time-based so a restarted edge never reuses a seq). Seal with encode_header(h) as associated
  // data, then send(h, ciphertext) with exactly `payload_len` bytes.
  virtual wire::FrameHeader next_header(const wire::ClientId& client, std::uint16_t flags, std::uint64_t call_tag,
                                        std::uint32_t payload_len) = 0;

  // Queues one frame for the relay: kept in the bounded outbox (replayed after a reconnect so a new
  // route's windows are whole again) and sent when the link is up. A header not matching the
  // payload's length is a programming error (aborts).
  virtual void send(const wire::FrameHeader& header, std::string payload) = 0;

  // Asks the relay to close every connection of this client (unpaired, revoked, misbehaving).
  virtual void drop_client(const wire::ClientId& client, std::string reason) = 0;

  // Whether the relay connection is currently logged in.
  virtual bool up() const = 0;
};

}  // namespace callbridge::relay::edge
