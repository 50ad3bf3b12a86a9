#include "relay/node/router.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "relay/wire/control.hpp"

namespace callbridge::relay::node {
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "cbrelay.";
constexpr std::string_view kNodesSubject = "cbrelay.nodes";
constexpr auto kHeartbeatEvery = std::chrono::seconds(2);

std::string subject(std::string_view edge, std::string_view leaf) {
  std::string s(kPrefix);
  s.append(edge).append(".").append(leaf);
  return s;
}

FrameBytes copy_bytes(std::string_view message) { return std::make_shared<const std::string>(message); }

}  // namespace

struct Router::ClientConn {
  std::string edge;
  wire::ClientId id{};
  Peer* peer = nullptr;
  std::uint64_t last_seq = 0;  // newest seq written to this connection
  double tokens = 0;
  Clock::time_point refilled{};
};

struct Router::EdgeState {
  explicit EdgeState(const WindowLimits& limits) : window(limits) {}
  Peer* edge = nullptr;   // the edge's connection when it is on this node
  std::string edge_node;  // the node holding the edge when it is elsewhere ("" = not known online)
  Window window;
  std::unordered_multimap<wire::ClientId, ClientConn*, ClientIdHash> clients;  // local connections
  // When the edge is here: the other nodes holding connections of each client.
  std::unordered_map<wire::ClientId, std::set<std::string>, ClientIdHash> remote;
  Clock::time_point idle_since{};
  // Privacy relaxed by the edge (its hello): what the diagnostics show. All of it is forgotten when
  // the edge's connection here ends (forget_relaxed()).
  bool relaxed = false;
  Clock::time_point connected_at{};
  std::uint64_t frames_to_clients = 0, bytes_to_clients = 0, frames_to_edge = 0, bytes_to_edge = 0;
  struct Call {
    wire::CallSummary summary;
    Clock::time_point since{};
    std::uint64_t order = 0;
  };
  std::map<std::string, Call, std::less<>> calls;  // by the edge's call id
  std::uint64_t next_order = 0;
  void forget_relaxed() {
    relaxed = false;
    calls.clear();
    frames_to_clients = bytes_to_clients = frames_to_edge = bytes_to_edge = 0;
  }
};

Router::Router(RouterOptions options, Metrics& metrics, Bus* bus)
    : options_(std::move(options)), metrics_(metrics), bus_(bus) {}

Router::~Router() {
  for (auto& [edge, st] : edges_) {
    for (auto& [id, conn] : st->clients) delete conn;
  }
}

Router::EdgeState& Router::state(const std::string& edge, Clock::time_point now) {
  auto it = edges_.find(edge);
  if (it != edges_.end()) return *it->second;
  auto& st = edges_[edge];
  st = std::make_unique<EdgeState>(options_.window);
  st->idle_since = now;
  if (bus_) {
    bus_->watch(edge, true);
    // Whoever holds the edge answers with edge-up, so our clients learn that it is online.
    publish_presence(edge, json::serialize(json::object{{"node", options_.node}, {"event", "hello"}}));
  }
  return *st;
}

void Router::publish_presence(const std::string& edge, std::string data) {
  if (!bus_) return;
  ++metrics_.bus_published;
  bus_->publish(subject(edge, "presence"), std::move(data));
}

bool Router::edge_online(const std::string& edge) const {
  auto it = edges_.find(edge);
  return it != edges_.end() && (it->second->edge != nullptr || !it->second->edge_node.empty());
}

std::size_t Router::edges_connected() const {
  std::size_t n = 0;
  for (const auto& [id, st] : edges_) n += st->edge != nullptr;
  return n;
}

std::size_t Router::window_frames() const {
  std::size_t n = 0;
  for (const auto& [id, st] : edges_) n += st->window.frames();
  return n;
}

std::size_t Router::window_bytes() const {
  std::size_t n = 0;
  for (const auto& [id, st] : edges_) n += st->window.bytes();
  return n;
}

// ---------------------------------------------------------------------------------------- edges

void Router::edge_up(const std::string& edge, Peer* peer, Clock::time_point now, bool relaxed) {
  EdgeState& st = state(edge, now);
  if (st.edge != nullptr && st.edge != peer) {
    Peer* old = st.edge;
    st.edge = nullptr;
    old->close(CloseCode::policy, "replaced", "another connection of this edge logged in");
  }
  const bool was_online = !st.edge_node.empty();
  st.edge = peer;
  st.edge_node.clear();
  st.remote.clear();
  st.forget_relaxed();
  st.relaxed = relaxed;
  st.connected_at = now;
  if (bus_) bus_->home(edge, true);
  publish_presence(edge, json::serialize(json::object{{"node", options_.node}, {"event", "edge-up"}}));
  peer->send_text(wire::render_control(wire::Welcome{options_.node, std::nullopt, std::nullopt}));
  std::set<wire::ClientId> told;
  for (const auto& [id, conn] : st.clients) {
    if (told.insert(id).second) peer->send_text(wire::render_control(wire::ClientState{id, true}));
  }
  if (!was_online) tell_clients_edge(st, true);
}

void Router::edge_closed(const std::string& edge, Peer* peer, Clock::time_point now) {
  auto it = edges_.find(edge);
  if (it == edges_.end() || it->second->edge != peer) return;  // replaced, already forgotten
  EdgeState& st = *it->second;
  st.edge = nullptr;
  st.remote.clear();
  st.forget_relaxed();
  if (bus_) bus_->home(edge, false);
  publish_presence(edge, json::serialize(json::object{{"node", options_.node}, {"event", "edge-down"}}));
  tell_clients_edge(st, false);
  maybe_release(edge, now);
}

void Router::edge_binary(const std::string& edge, Peer* peer, std::string_view message, Clock::time_point now) {
  auto it = edges_.find(edge);
  if (it == edges_.end() || it->second->edge != peer) return;
  EdgeState& st = *it->second;
  auto frame = wire::parse_frame(wire::as_bytes(message), options_.max_frame_bytes);
  if (!frame) {
    const bool big = message.size() > options_.max_frame_bytes;
    ++metrics_.rejected[big ? "oversized" : "malformed"];
    peer->close(big ? CloseCode::too_big : CloseCode::policy, big ? "oversized" : "malformed", frame.error().message());
    return;
  }
  if (frame->header.kind != wire::Kind::edge_to_client) {
    ++metrics_.rejected["wrong-kind"];
    peer->close(CloseCode::policy, "wrong-kind", "an edge sends edge-to-client frames (kind 1) only");
    return;
  }
  FrameBytes bytes = copy_bytes(message);
  if (st.window.add(frame->header, bytes, now) == Window::Added::duplicate) {
    ++metrics_.duplicates;
    return;
  }
  ++metrics_.frames_to_clients;
  metrics_.bytes_to_clients += message.size();
  ++st.frames_to_clients;
  st.bytes_to_clients += message.size();
  deliver(st, frame->header, bytes);
  if (bus_) {
    ++metrics_.bus_published;
    bus_->publish(subject(edge, "toclient"), std::string(message));
  }
}

void Router::edge_text(const std::string& edge, Peer* peer, std::string_view message) {
  auto it = edges_.find(edge);
  if (it == edges_.end() || it->second->edge != peer) return;
  auto control = wire::parse_control(message);
  if (const auto* call = control ? std::get_if<wire::CallSummary>(&*control) : nullptr) {
    return call_summary(*it->second, *call, Clock::now());
  }
  const auto* drop = control ? std::get_if<wire::DropClient>(&*control) : nullptr;
  if (drop == nullptr) {
    ++metrics_.rejected["bad-control"];
    peer->close(CloseCode::policy, "bad-control",
                control ? "an edge sends drop-client and call control messages only" : control.error().message());
    return;
  }
  drop_client_here(*it->second, drop->client, drop->reason);
  publish_presence(edge, json::serialize(json::object{{"node", options_.node},
                                                      {"event", "drop"},
                                                      {"client", wire::client_id_hex(drop->client)},
                                                      {"reason", drop->reason}}));
}

void Router::call_summary(EdgeState& st, const wire::CallSummary& call, Clock::time_point now) {
  if (!st.relaxed) {
    // The edge keeps privacy strict: whatever it sent is not kept (an edge never does this).
    ++metrics_.rejected["summary-strict"];
    return;
  }
  ++metrics_.call_summaries;
  if (call.state == "ended") {
    if (auto c = st.calls.find(call.call); c != st.calls.end()) st.calls.erase(c);
    return;
  }
  auto [c, fresh] = st.calls.try_emplace(call.call);
  if (fresh) {
    c->second.since = now;
    c->second.order = st.next_order++;
    if (st.calls.size() > kMaxCallSummaries) {
      auto oldest = st.calls.begin();
      for (auto i = st.calls.begin(); i != st.calls.end(); ++i) {
        if (i->second.order < oldest->second.order) oldest = i;
      }
      st.calls.erase(oldest);
      c = st.calls.find(call.call);
    }
  }
  c->second.summary = call;
}

Router::EdgeDiagnostics Router::edge_diagnostics(const std::string& edge, Clock::time_point now) const {
  EdgeDiagnostics d;
  auto it = edges_.find(edge);
  if (it == edges_.end() || it->second->edge == nullptr) return d;
  const EdgeState& st = *it->second;
  if (!st.relaxed) {
    d.answer = EdgeDiagnostics::Answer::strict;
    return d;
  }
  d.answer = EdgeDiagnostics::Answer::shown;
  auto seconds = [&](Clock::time_point t) { return std::chrono::duration_cast<std::chrono::seconds>(now - t).count(); };
  json::array clients;
  std::map<std::string, std::int64_t> local;
  for (const auto& [id, conn] : st.clients) ++local[wire::client_id_hex(id)];
  for (const auto& [hex, n] : local) clients.push_back(json::object{{"client", hex}, {"connections", n}, {"node", options_.node}});
  for (const auto& [id, nodes] : st.remote) {
    for (const auto& n : nodes) clients.push_back(json::object{{"client", wire::client_id_hex(id)}, {"node", n}});
  }
  std::vector<const EdgeState::Call*> calls;
  for (const auto& [id, c] : st.calls) calls.push_back(&c);
  std::sort(calls.begin(), calls.end(), [](auto* a, auto* b) { return a->order < b->order; });
  json::array call_list;
  for (const auto* c : calls) {
    call_list.push_back(json::object{{"call", c->summary.call},
                                     {"state", c->summary.state},
                                     {"tenant", c->summary.tenant},
                                     {"number", c->summary.number},
                                     {"name", c->summary.name},
                                     {"devices", c->summary.devices},
                                     {"seconds", seconds(c->since)}});
  }
  d.json = json::serialize(json::object{
      {"edge", edge},
      {"node", options_.node},
      {"privacy", "relaxed"},
      {"connected_seconds", seconds(st.connected_at)},
      {"clients", std::move(clients)},
      {"frames_to_clients", st.frames_to_clients},
      {"bytes_to_clients", st.bytes_to_clients},
      {"frames_to_edge", st.frames_to_edge},
      {"bytes_to_edge", st.bytes_to_edge},
      {"window", json::object{{"frames", st.window.frames()}, {"bytes", st.window.bytes()}}},
      {"calls", std::move(call_list)}});
  return d;
}

void Router::deliver(EdgeState& st, const wire::FrameHeader& h, const FrameBytes& bytes) {
  auto [from, to] = st.clients.equal_range(h.client);
  for (auto it = from; it != to;) {
    ClientConn* conn = (it++)->second;  // send_binary may close (not erase) the connection
    if (h.seq <= conn->last_seq) continue;
    conn->last_seq = h.seq;
    ++metrics_.frames_delivered;
    conn->peer->send_binary(bytes);
  }
}

void Router::tell_clients_edge(EdgeState& st, bool online) {
  const std::string text = wire::render_control(wire::EdgeState{online});
  for (auto& [id, conn] : st.clients) conn->peer->send_text(text);
}

void Router::drop_client_here(EdgeState& st, const wire::ClientId& client, const std::string& reason) {
  std::vector<Peer*> peers;
  auto [from, to] = st.clients.equal_range(client);
  for (auto it = from; it != to; ++it) peers.push_back(it->second->peer);
  for (Peer* p : peers) {
    ++metrics_.drops["dropped-by-edge"];
    p->close(CloseCode::policy, "dropped-by-edge", reason.empty() ? "the edge closed this client" : reason);
  }
}

// -------------------------------------------------------------------------------------- clients

Router::ClientConn* Router::client_open(const std::string& edge, const wire::ClientId& client,
                                        std::optional<std::uint64_t> since, Peer* peer, Clock::time_point now) {
  if (client_count_ >= options_.max_clients) {
    ++metrics_.drops["client-limit"];
    peer->close(CloseCode::try_later, "node-full", "this relay node serves its maximum of clients; try again");
    return nullptr;
  }
  const bool fresh = !edges_.contains(edge);  // this node has no window of the edge yet
  EdgeState& st = state(edge, now);
  if (st.clients.count(client) >= options_.max_connections_per_client) {
    ++metrics_.drops["client-limit"];
    peer->close(CloseCode::try_later, "too-many-connections", "this client has its maximum of connections on this node");
    maybe_release(edge, now);
    return nullptr;
  }
  auto* conn = new ClientConn{edge, client, peer, 0, options_.client_burst, now};
  // A resume on a node that had no window of this edge (its edge and clients were elsewhere)
  // cannot be known to be whole: say so, the client then fetches afresh (docs/relay.md).
  const bool gap = since && *since > 0 && (fresh || st.window.gap_after(client, *since));
  peer->send_text(wire::render_control(wire::Welcome{options_.node, st.edge != nullptr || !st.edge_node.empty(), gap}));
  if (since) {
    conn->last_seq = *since;
    st.window.for_client(client, *since, [&](const wire::FrameHeader& h, const FrameBytes& bytes) {
      conn->last_seq = h.seq;
      ++metrics_.frames_delivered;
      peer->send_binary(bytes);
    });
  } else {
    // A new session: frames sealed for an earlier one would not open.
    conn->last_seq = st.window.newest_seq(client);
  }
  const bool first = !st.clients.contains(client);
  st.clients.emplace(client, conn);
  ++client_count_;
  ++metrics_.client_connections;
  if (first) {
    publish_presence(edge, json::serialize(json::object{{"node", options_.node},
                                                        {"event", "client"},
                                                        {"client", wire::client_id_hex(client)},
                                                        {"state", "connected"}}));
    auto r = st.remote.find(client);
    if (st.edge != nullptr && (r == st.remote.end() || r->second.empty())) {
      st.edge->send_text(wire::render_control(wire::ClientState{client, true}));
    }
  }
  return conn;
}

void Router::client_closed(ClientConn* conn, Clock::time_point now) {
  auto it = edges_.find(conn->edge);
  CB_CHECK(it != edges_.end(), "a client connection outlived its edge's state");
  EdgeState& st = *it->second;
  auto [from, to] = st.clients.equal_range(conn->id);
  for (auto c = from; c != to; ++c) {
    if (c->second == conn) {
      st.clients.erase(c);
      break;
    }
  }
  --client_count_;
  if (!st.clients.contains(conn->id)) {
    publish_presence(conn->edge, json::serialize(json::object{{"node", options_.node},
                                                              {"event", "client"},
                                                              {"client", wire::client_id_hex(conn->id)},
                                                              {"state", "gone"}}));
    auto r = st.remote.find(conn->id);
    if (st.edge != nullptr && (r == st.remote.end() || r->second.empty())) {
      st.edge->send_text(wire::render_control(wire::ClientState{conn->id, false}));
    }
  }
  const std::string edge = conn->edge;
  delete conn;
  maybe_release(edge, now);
}

void Router::client_binary(ClientConn* conn, std::string_view message, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - conn->refilled).count();
  conn->refilled = now;
  conn->tokens = std::min(options_.client_burst, conn->tokens + elapsed * options_.client_frames_per_second);
  if (conn->tokens < 1) {
    ++metrics_.drops["flood"];
    conn->peer->close(CloseCode::policy, "flooding", "more messages than this relay accepts from a client");
    return;
  }
  conn->tokens -= 1;
  auto frame = wire::parse_frame(wire::as_bytes(message), options_.max_frame_bytes);
  if (!frame) {
    const bool big = message.size() > options_.max_frame_bytes;
    ++metrics_.rejected[big ? "oversized" : "malformed"];
    conn->peer->close(big ? CloseCode::too_big : CloseCode::policy, big ? "oversized" : "malformed",
                      frame.error().message());
    return;
  }
  if (frame->header.kind != wire::Kind::client_to_edge) {
    ++metrics_.rejected["wrong-kind"];
    conn->peer->close(CloseCode::policy, "wrong-kind", "a client sends client-to-edge frames (kind 2) only");
    return;
  }
  if (frame->header.client != conn->id) {
    ++metrics_.rejected["wrong-client"];
    conn->peer->close(CloseCode::policy, "wrong-client", "a frame must carry the client id of its connection");
    return;
  }
  EdgeState& st = *edges_.find(conn->edge)->second;
  if (st.edge != nullptr) {
    ++metrics_.frames_to_edges;
    metrics_.bytes_to_edges += message.size();
    ++st.frames_to_edge;
    st.bytes_to_edge += message.size();
    st.edge->send_binary(copy_bytes(message));
  } else if (bus_ != nullptr && !st.edge_node.empty()) {
    ++metrics_.frames_to_edges;
    metrics_.bytes_to_edges += message.size();
    ++metrics_.bus_published;
    bus_->publish(subject(conn->edge, "toedge"), std::string(message));
  } else {
    ++metrics_.drops["edge-offline"];
  }
}

void Router::client_text(ClientConn* conn, std::string_view message) {
  ++metrics_.rejected["bad-control"];
  conn->peer->close(CloseCode::policy, "bad-control", "clients send data frames only");
}

// ------------------------------------------------------------------------------------ the bus

void Router::bus_message(std::string_view subj, std::string_view data, Clock::time_point now) {
  ++metrics_.bus_received;
  if (subj == kNodesSubject) {
    boost::system::error_code ec;
    json::value v = json::parse(data, ec);
    const json::value* node = !ec && v.is_object() ? v.as_object().if_contains("node") : nullptr;
    if (node != nullptr && node->is_string() && node->as_string() != options_.node) {
      nodes_seen_[std::string(node->as_string())] = now;
    }
    return;
  }
  if (!subj.starts_with(kPrefix)) return;
  subj.remove_prefix(kPrefix.size());
  const auto dot = subj.rfind('.');
  if (dot == std::string_view::npos) return;
  const std::string edge(subj.substr(0, dot));
  const std::string_view leaf = subj.substr(dot + 1);
  auto it = edges_.find(edge);
  if (it == edges_.end()) return;
  EdgeState& st = *it->second;
  if (leaf == "presence") return presence(edge, data, now);
  auto frame = wire::parse_frame(wire::as_bytes(data), options_.max_frame_bytes);
  if (!frame) {
    ++metrics_.rejected["malformed"];
    return;
  }
  if (leaf == "toclient" && frame->header.kind == wire::Kind::edge_to_client) {
    FrameBytes bytes = copy_bytes(data);
    if (st.window.add(frame->header, bytes, now) == Window::Added::duplicate) {
      ++metrics_.duplicates;
      return;
    }
    ++metrics_.frames_to_clients;
    metrics_.bytes_to_clients += data.size();
    deliver(st, frame->header, bytes);
  } else if (leaf == "toedge" && frame->header.kind == wire::Kind::client_to_edge) {
    if (st.edge == nullptr) {
      ++metrics_.drops["edge-offline"];
      return;
    }
    st.edge->send_binary(copy_bytes(data));
  }
}

void Router::presence(const std::string& edge, std::string_view data, Clock::time_point now) {
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object()) return;
  const json::object& o = v.as_object();
  auto str = [&](std::string_view key) -> std::string {
    const json::value* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  const std::string node = str("node");
  const std::string event = str("event");
  if (node.empty() || node == options_.node) return;
  nodes_seen_[node] = now;
  EdgeState& st = *edges_.find(edge)->second;

  if (event == "edge-up") {
    if (st.edge != nullptr) {
      // The edge reconnected to another node; this connection is stale.
      Peer* old = st.edge;
      st.edge = nullptr;
      st.remote.clear();
      st.forget_relaxed();
      if (bus_) bus_->home(edge, false);
      old->close(CloseCode::policy, "replaced", "this edge logged in on another relay node");
    }
    const bool was_online = !st.edge_node.empty();
    st.edge_node = node;
    if (!was_online) tell_clients_edge(st, true);
    if (!st.clients.empty()) {
      json::array ids;
      std::set<wire::ClientId> seen;
      for (const auto& [id, conn] : st.clients) {
        if (seen.insert(id).second) ids.push_back(json::value(wire::client_id_hex(id)));
      }
      publish_presence(edge, json::serialize(
                                 json::object{{"node", options_.node}, {"event", "clients"}, {"clients", std::move(ids)}}));
    }
  } else if (event == "edge-down") {
    if (st.edge_node == node) {
      st.edge_node.clear();
      tell_clients_edge(st, false);
    }
  } else if (event == "hello") {
    if (st.edge != nullptr) {
      publish_presence(edge, json::serialize(json::object{{"node", options_.node}, {"event", "edge-here"}}));
    }
  } else if (event == "edge-here") {
    // An answer to our hello; unlike edge-up it never replaces a connection of ours (it may be older).
    if (st.edge == nullptr && st.edge_node != node) {
      const bool was_online = !st.edge_node.empty();
      st.edge_node = node;
      if (!was_online) tell_clients_edge(st, true);
    }
  } else if (event == "client") {
    auto id = wire::parse_client_id_hex(str("client"));
    if (id) remote_client(st, node, *id, str("state") == "connected");
  } else if (event == "clients") {
    const json::value* list = o.if_contains("clients");
    if (list == nullptr || !list->is_array()) return;
    for (const json::value& c : list->as_array()) {
      if (!c.is_string()) continue;
      auto id = wire::parse_client_id_hex(c.as_string());
      if (id) remote_client(st, node, *id, true);
    }
  } else if (event == "drop") {
    auto id = wire::parse_client_id_hex(str("client"));
    if (id) drop_client_here(st, *id, str("reason"));
  }
}

void Router::remote_client(EdgeState& st, const std::string& node, const wire::ClientId& client, bool connected) {
  if (st.edge == nullptr) return;
  auto& nodes = st.remote[client];
  const bool before = !nodes.empty() || st.clients.contains(client);
  if (connected) {
    nodes.insert(node);
  } else {
    nodes.erase(node);
  }
  const bool after = !nodes.empty() || st.clients.contains(client);
  if (nodes.empty()) st.remote.erase(client);
  if (before != after) st.edge->send_text(wire::render_control(wire::ClientState{client, after}));
}

// ------------------------------------------------------------------------------------ the clock

void Router::maybe_release(const std::string& edge, Clock::time_point now) {
  auto it = edges_.find(edge);
  if (it != edges_.end() && it->second->edge == nullptr && it->second->clients.empty()) it->second->idle_since = now;
}

void Router::tick(Clock::time_point now) {
  if (bus_ && now - last_heartbeat_ >= kHeartbeatEvery) {
    last_heartbeat_ = now;
    ++metrics_.bus_published;
    bus_->publish(std::string(kNodesSubject), json::serialize(json::object{{"node", options_.node}}));
  }
  for (auto n = nodes_seen_.begin(); n != nodes_seen_.end();) {
    if (now - n->second <= options_.node_timeout) {
      ++n;
      continue;
    }
    // A node stopped answering: its edges are offline and its clients gone, as far as we know.
    for (auto& [edge, st] : edges_) {
      if (st->edge_node == n->first) {
        st->edge_node.clear();
        tell_clients_edge(*st, false);
      }
      std::vector<wire::ClientId> ids;
      for (const auto& [id, nodes] : st->remote) {
        if (nodes.contains(n->first)) ids.push_back(id);
      }
      for (const auto& id : ids) remote_client(*st, n->first, id, false);
    }
    n = nodes_seen_.erase(n);
  }
  for (auto it = edges_.begin(); it != edges_.end();) {
    EdgeState& st = *it->second;
    st.window.expire(now);
    if (st.edge == nullptr && st.clients.empty() && now - st.idle_since > options_.window_idle) {
      if (bus_) bus_->watch(it->first, false);
      it = edges_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace callbridge::relay::node
