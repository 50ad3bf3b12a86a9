// Router: the relay node's routing state and rules, without sockets (docs/relay.md): which edges
// and clients are connected here, one Window per edge with local users, frame checks, delivery to
// local clients, the edge's client presence, and the cluster bus (other nodes, through NATS) for
// edges and clients on different nodes. The server (server.cpp) feeds it connections and messages;
// tests drive it with fake peers and a fake bus.
// Not thread-safe: everything runs on the node's io thread (the bus posts its deliveries there).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "relay/node/metrics.hpp"
#include "relay/node/window.hpp"
#include "relay/wire/control.hpp"
#include "relay/wire/frame.hpp"

namespace callbridge::relay::node {

// WebSocket close codes the relay uses (RFC 6455 section 7.4.1).
enum class CloseCode : std::uint16_t {
  normal = 1000,
  going_away = 1001,
  policy = 1008,    // a broken rule: wrong client id, wrong kind, flooding, refused login
  too_big = 1009,   // a message over its size limit
  try_later = 1013, // limits of this node reached
};

// One WebSocket connection as the router sees it. send_* and close never block and never call back
// into the router synchronously: a peer whose outgoing queue is over its bound closes itself later
// (its owner then tells the router, counted as a slow drop).
class Peer {
 public:
  virtual ~Peer() = default;
  virtual void send_text(std::string text) = 0;
  virtual void send_binary(FrameBytes frame) = 0;
  // Sends an error control message (when `code` is not empty), then closes. The owner still calls
  // the router's *_closed for it.
  virtual void close(CloseCode code, std::string error_code, std::string message) = 0;
};

// The cluster bus (NATS core in production, relay/node/nats_bus.hpp). Subjects per edge:
// cbrelay.<edge>.toclient, .toedge, .presence; node heartbeats on cbrelay.nodes.
class Bus {
 public:
  virtual ~Bus() = default;
  // Interest in an edge: toclient + presence (a node with the edge or its clients).
  virtual void watch(const std::string& edge, bool on) = 0;
  // The edge is connected here: toedge too.
  virtual void home(const std::string& edge, bool on) = 0;
  virtual void publish(std::string subject, std::string data) = 0;
};

struct RouterOptions {
  std::string node = "relay";
  std::size_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  WindowLimits window;
  // A window without a local edge or client is dropped after this long.
  std::chrono::seconds window_idle{120};
  std::size_t max_clients = 10000;             // client connections on this node
  std::size_t max_connections_per_client = 4;  // connections of one client id on this node
  double client_frames_per_second = 100;       // client -> relay messages (token bucket)
  double client_burst = 200;
  // Without a heartbeat for this long a node counts as dead (its clients gone, its edge offline).
  std::chrono::seconds node_timeout{6};
};

class Router {
 public:
  Router(RouterOptions options, Metrics& metrics, Bus* bus = nullptr);
  ~Router();

  const RouterOptions& options() const { return options_; }
  void set_bus(Bus* bus) { bus_ = bus; }

  // --- edges (the server did the challenge and checked the hello) ---
  // Sends welcome and the clients already connected (here or on other nodes); a previous
  // connection of the same edge on this node is closed ("replaced").
  // `relaxed`: the edge's hello said privacy "relaxed" (its admin's choice; docs/relay.md "Privacy
  // mode"): its call summaries are kept and edge_diagnostics() shows it.
  void edge_up(const std::string& edge, Peer* peer, Clock::time_point now, bool relaxed = false);
  void edge_closed(const std::string& edge, Peer* peer, Clock::time_point now);
  void edge_binary(const std::string& edge, Peer* peer, std::string_view message, Clock::time_point now);
  void edge_text(const std::string& edge, Peer* peer, std::string_view message);

  // --- clients ---
  struct ClientConn;
  // nullptr when refused (the peer was closed with the reason). `since`: resume after this seq.
  ClientConn* client_open(const std::string& edge, const wire::ClientId& client, std::optional<std::uint64_t> since,
                          Peer* peer, Clock::time_point now);
  void client_closed(ClientConn* conn, Clock::time_point now);
  void client_binary(ClientConn* conn, std::string_view message, Clock::time_point now);
  void client_text(ClientConn* conn, std::string_view message);

  // --- the bus's deliveries (already on the io thread) ---
  void bus_message(std::string_view subject, std::string_view data, Clock::time_point now);
  // Once a second: heartbeat, window expiry, idle windows, dead nodes.
  void tick(Clock::time_point now);

  // The per-edge diagnostics (GET /v1/diagnostics/EDGE): `not_here` when the edge is not connected
  // to this node, `strict` when it keeps privacy strict (nothing shown), else the JSON document.
  struct EdgeDiagnostics {
    enum class Answer { not_here, strict, shown } answer = Answer::not_here;
    std::string json;
  };
  EdgeDiagnostics edge_diagnostics(const std::string& edge, Clock::time_point now) const;
  // Call summaries kept per relaxed edge at most; beyond, the oldest goes.
  static constexpr std::size_t kMaxCallSummaries = 1000;

  std::size_t edges_connected() const;
  std::size_t clients_connected() const { return client_count_; }
  std::size_t window_frames() const;
  std::size_t window_bytes() const;
  std::size_t windows() const { return edges_.size(); }
  bool edge_online(const std::string& edge) const;

 private:
  struct EdgeState;
  EdgeState& state(const std::string& edge, Clock::time_point now);
  void deliver(EdgeState& st, const wire::FrameHeader& h, const FrameBytes& bytes);
  void call_summary(EdgeState& st, const wire::CallSummary& call, Clock::time_point now);
  void publish_presence(const std::string& edge, std::string json);
  void presence(const std::string& edge, std::string_view data, Clock::time_point now);
  void remote_client(EdgeState& st, const std::string& node, const wire::ClientId& client, bool connected);
  void tell_clients_edge(EdgeState& st, bool online);
  void drop_client_here(EdgeState& st, const wire::ClientId& client, const std::string& reason);
  void maybe_release(const std::string& edge, Clock::time_point now);

  RouterOptions options_;
  Metrics& metrics_;
  Bus* bus_;
  std::map<std::string, std::unique_ptr<EdgeState>, std::less<>> edges_;
  std::map<std::string, Clock::time_point, std::less<>> nodes_seen_;  // other nodes' last heartbeat
  std::size_t client_count_ = 0;
  Clock::time_point last_heartbeat_{};
};

}  // namespace callbridge::relay::node
