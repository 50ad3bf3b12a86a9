// Tunnel: the edge's end of the end-to-end channel (docs/relay.md "Tunnel"). It answers the
// clients' handshakes (pairing with a one-time secret, hello of a paired device), opens and seals
// their data frames (relay/e2e) and turns their messages into calls of callbridged's own API:
// {"t":"req"} → a REST request, {"t":"sub"} → the event stream; answers and events go back sealed
// to that client alone. The user's sign-in (token, session cookie) travels only inside; a session
// cookie the API sets is kept here per client, never sent to the relay in clear.
// Runs on callbridged's io thread over an edge::EdgeLink (the relay connection); not thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/time.hpp"
#include "ports/paired_devices.hpp"
#include "relay/e2e/e2e.hpp"
#include "relay/edge/edge_link.hpp"
#include "relay/tunnel/local_api.hpp"

namespace callbridge::relay::tunnel {

struct TunnelOptions {
  std::string edge_id;
  // The largest frame the relay carries (header + payload); messages are cut into parts below it.
  std::size_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  // A client's message (all its parts) and an answer's body: larger ones are refused / answered 502.
  std::size_t max_message_bytes = 1024 * 1024;
  std::size_t max_requests_in_flight = 32;  // per client; more: 429
  std::size_t max_streams = 4;              // event streams per client
  std::size_t max_sessions = 2000;          // clients with a session; the longest unseen goes first
  // A client gone from the relay keeps its session and streams this long (resume), then both end.
  std::chrono::seconds gone_grace{120};
};

class Tunnel {
 public:
  struct Stats {
    std::uint64_t pairings = 0;
    std::uint64_t pairing_refused = 0;
    std::uint64_t handshakes = 0;
    std::uint64_t handshake_refused = 0;
    std::uint64_t frames_in = 0;
    std::uint64_t frames_out = 0;
    std::uint64_t frames_rejected = 0;  // failed open (tampered, replayed, reordered) or bad message
    std::uint64_t clients_dropped = 0;
    std::uint64_t requests = 0;
    std::uint64_t streams_opened = 0;
    std::size_t sessions = 0;
  };

  Tunnel(edge::EdgeLink& link, ports::PairedDeviceStore& devices, LocalApi& api, ports::EdgeKeyPair key,
         TunnelOptions options, const base::Clock& clock);
  ~Tunnel();
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;

  // Installs the link's handlers (once).
  void attach();
  // Housekeeping, every few seconds: ends sessions of revoked devices and of clients gone longer
  // than gone_grace.
  void tick();

  // Any thread (the daemon's diagnostics read it): the counters are atomic.
  Stats stats() const;
  // The pinned edge key's fingerprint (what pairing links show).
  ports::Key32 edge_public_key() const { return key_.pk; }

 private:
  struct Client;
  void on_frame(const wire::FrameHeader& h, std::span<const std::uint8_t, wire::kHeaderSize> hb, std::string_view payload);
  void on_handshake(const wire::FrameHeader& h, std::string_view payload);
  void on_message(const wire::ClientId& id, Client& c, std::string_view json);
  void handle_request(const wire::ClientId& id, Client& c, std::int64_t rid, ApiRequest req);
  void handle_subscribe(const wire::ClientId& id, Client& c, std::int64_t rid, std::string target, Headers headers);
  void send_handshake(const wire::ClientId& id, const e2e::Handshake& msg);
  void send_message(const wire::ClientId& id, const std::string& json, std::uint64_t call_tag = 0, bool call_end = false);
  void send_error(const wire::ClientId& id, std::int64_t rid, int status, std::string_view code, std::string_view detail);
  void drop(const wire::ClientId& id, std::string reason);
  void end_session(const wire::ClientId& id);
  void forward_event(const wire::ClientId& id, std::int64_t sid, std::string data);

  edge::EdgeLink& link_;
  ports::PairedDeviceStore& devices_;
  LocalApi& api_;
  ports::EdgeKeyPair key_;
  TunnelOptions options_;
  const base::Clock& clock_;
  std::map<wire::ClientId, std::unique_ptr<Client>> clients_;
  struct Counters {
    std::atomic<std::uint64_t> pairings{0}, pairing_refused{0}, handshakes{0}, handshake_refused{0}, frames_in{0},
        frames_out{0}, frames_rejected{0}, clients_dropped{0}, requests{0}, streams_opened{0};
    std::atomic<std::size_t> sessions{0};  // clients_.size(), set where it changes
  };
  Counters stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace callbridge::relay::tunnel
