// The relay's control messages (docs/relay.md "Control messages"): WebSocket text messages, one
// JSON object each with a "type". Parsing and rendering only, no I/O; the relay node, the edge
// transport and their tests share it. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/error.hpp"
#include "relay/wire/frame.hpp"

namespace callbridge::relay::wire {

// relay -> edge, first message on /v1/edge: sign "callbridge-relay-edge-v1" || nonce || edge id.
struct Challenge {
  std::string nonce;  // base64url of 32 random bytes
  std::string node;   // the answering node's name (diagnostics only)
  bool operator==(const Challenge&) const = default;
};

// edge -> relay, the answer to a challenge.
struct Hello {
  std::string edge;                 // edge id, valid_edge_id()
  std::string pk;                   // base64url Ed25519 public key
  std::string sig;                  // base64url Ed25519 signature (detached)
  std::optional<std::string> join;  // the one-time join token, first login only
  // The edge's privacy mode (docs/relay.md "Privacy mode"), set by the edge's admin in callbridged's
  // configuration: absent or "strict" = the relay gets ciphertext only; "relaxed" = the edge also
  // sends CallSummary messages for the relay's per-edge diagnostics. Nothing the relay can set.
  std::optional<std::string> privacy;
  bool operator==(const Hello&) const = default;
};

// relay -> edge after a good hello; relay -> client when its connection is accepted.
struct Welcome {
  std::string node;
  // To clients only: whether the edge is connected to some node, and whether a requested resume
  // (`since`) could not be served whole because the window no longer held the frames after it.
  std::optional<bool> edge_online;
  std::optional<bool> gap;
  bool operator==(const Welcome&) const = default;
};

// Either direction, before the sender closes the connection. `code` is stable (docs/relay.md).
struct ErrorMessage {
  std::string code;
  std::string message;
  bool operator==(const ErrorMessage&) const = default;
};

// relay -> edge: a client of this edge connected to some node, or its last connection is gone.
struct ClientState {
  ClientId client{};
  bool connected = false;
  bool operator==(const ClientState&) const = default;
};

// edge -> relay: close every connection of this client (unpaired, revoked, misbehaving).
struct DropClient {
  ClientId client{};
  std::string reason;
  bool operator==(const DropClient&) const = default;
};

// relay -> client: the edge went online or offline.
struct EdgeState {
  bool online = false;
  bool operator==(const EdgeState&) const = default;
};

// edge -> relay, only from an edge whose hello said privacy "relaxed": one call as its edge chooses
// to show it on the relay's diagnostics (plaintext). The relay keeps the newest summary per `call`
// in memory while the edge is connected and drops it when `state` is "ended".
struct CallSummary {
  std::string call;     // the edge's opaque id of the call (1..64 characters), not the PBX's
  std::string state;    // ringing, connected, held, ended (1..32 characters)
  std::string tenant;   // the edge's tenant of the call
  std::string number;   // the remote party as the edge shows it (E.164, extension), "" = unknown
  std::string name;     // the remote party's contact name (directory), "" = none
  std::string devices;  // the edge's devices in the call, comma-separated
  bool operator==(const CallSummary&) const = default;
};

using Control = std::variant<Challenge, Hello, Welcome, ErrorMessage, ClientState, DropClient, EdgeState, CallSummary>;

// Errc::protocol for anything but a JSON object of a known type with its fields (longer than
// kMaxControlBytes, bad JSON, unknown type, missing or mistyped field, bad client id or edge id).
// Unknown extra fields are ignored.
base::Result<Control> parse_control(std::string_view text);
std::string render_control(const Control& message);

// The privacy values of a hello.
inline constexpr std::string_view kPrivacyStrict = "strict";
inline constexpr std::string_view kPrivacyRelaxed = "relaxed";

// Edge ids: [a-z0-9][a-z0-9-]{0,62}.
bool valid_edge_id(std::string_view id);

}  // namespace callbridge::relay::wire
