// A client of an edge through the relay, in C++ for tests, doing what the browser's transport does
// (docs/relay.md "Browser", "Tunnel"): connects to /v1/client of a relay node, waits for the edge to
// be online, pairs with a `callbridge pair` link (or says hello with the pinned edge key), then
// carries REST requests ({"t":"req"}) and event streams ({"t":"sub"}) sealed end to end with
// relay/e2e. Everything it opened is kept for the test to inspect (messages(), events()).
// All socket and session work runs on the IoThread; the test thread waits on conditions with
// deadlines, never sleeps. Test helper; header-only.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "relay/e2e/e2e.hpp"
#include "relay_harness.hpp"

namespace callbridge::relay::testing {

class E2eClient {
 public:
  struct Response {
    int status = 0;
    std::string body;
  };

  E2eClient(IoThread& io, std::string ca_file, std::string edge_id, std::string name)
      : io_(io), ca_file_(std::move(ca_file)), edge_id_(std::move(edge_id)), name_(std::move(name)),
        kp_(e2e::generate_key_pair()), id_(e2e::client_id(kp_.pk)) {}
  ~E2eClient() {
    io_.run([&] { ws_.reset(); });
  }
  E2eClient(const E2eClient&) = delete;
  E2eClient& operator=(const E2eClient&) = delete;

  const std::string& name() const { return name_; }
  const std::string& edge_id() const { return edge_id_; }
  const wire::ClientId& id() const { return id_; }
  std::uint16_t port() const { return port_; }

  // A new connection to the node on `port` for edge `edge` (default: its own), resuming after
  // `since`. True once the relay welcomed it; false when refused (closed_status/closed_body).
  bool connect(std::uint16_t port, std::string edge = {}, std::optional<std::uint64_t> since = std::nullopt) {
    if (edge.empty()) edge = edge_id_;
    std::string target = "/v1/client?edge=" + edge + "&client=" + wire::client_id_hex(id_);
    if (since) target += "&since=" + std::to_string(*since);
    {
      std::lock_guard lock(mu_);
      const int gen = conn_.gen + 1;
      conn_ = Conn{};
      conn_.gen = gen;
    }
    port_ = port;
    io_.run([&] {
      connected_edge_ = edge;
      const int gen = conn_gen_locked();
      edge::WsClientOptions o;
      o.url = edge::WssUrl{"127.0.0.1", std::to_string(port), target};
      o.ca_file = ca_file_;
      o.max_message_bytes = 1 << 20;
      ws_.emplace(io_.io(), o,
                  edge::WsClient::Handlers{
                      .opened = {},
                      .message = [this, gen](std::string_view m, bool text) { on_ws_message(gen, m, text); },
                      .closed =
                          [this, gen](const std::string& why, int status, const std::string& body) {
                            update(gen, [&](Conn& c) {
                              c.closed = true;
                              c.close_why = why;
                              c.close_status = status;
                              c.close_body = body;
                            });
                          },
                  });
      ws_->connect();
    });
    return wait([](const Conn& c, const State&) { return c.welcome || c.closed; }) && conn().welcome;
  }
  // After the connection was lost (a relay node died): a new connection to the node on `port`
  // resuming after the last edge frame this client opened, keeping its session, as the browser's
  // transport does. When the relay's welcome says `gap` (it could not serve the resume whole),
  // every event stream ends at once (unsub to the edge; later events of theirs are ignored), as the
  // browser's do; the test then opens them again with the API's own `since` (the page's event
  // stream client). False when refused.
  bool resume(std::uint16_t port) { return connect(port, {}, last_seq()); }
  // Whether the last welcome said `gap`; whether stream `id` ended (the edge's `end`, or a gap).
  bool gap() { return conn().gap; }
  bool stream_ended(std::int64_t id) {
    std::lock_guard lock(mu_);
    return state_.ended.contains(id);
  }
  // Until the relay says the edge is connected to some node (frames to an offline edge are lost).
  bool wait_edge_online() {
    return wait([](const Conn& c, const State&) { return c.edge_online || c.closed; }) && conn().edge_online;
  }
  bool wait_closed(std::chrono::milliseconds timeout = 20s) {
    return wait([](const Conn& c, const State&) { return c.closed; }, timeout);
  }

  // Pairs with the link's fragment (`pair=EDGE.SECRET.FINGERPRINT`), proving the secret to the edge
  // of the current connection. True once a session stands; false on a reject (rejects()).
  bool pair(const std::string& fragment) {
    auto link = e2e::parse_pairing_fragment(fragment);
    EXPECT_TRUE(link) << fragment;
    if (!link) return false;
    return handshake([&] {
      auto p = e2e::client_start_pair(connected_edge_, kp_, link->secret, link->edge_fingerprint);
      return std::make_pair(p.state, e2e::encode(p.msg));
    });
  }
  // A new session with the edge key pinned by an earlier pairing (a page load of a paired browser).
  bool hello() {
    return handshake([&] {
      auto h = e2e::client_start_hello(kp_, pinned_.value_or(e2e::Key{}));
      return std::make_pair(h.state, e2e::encode(h.msg));
    });
  }

  // One REST request through the tunnel; nullopt when no answer came within `timeout`.
  std::optional<Response> request(const std::string& method, const std::string& path, const std::string& body = {},
                                  const std::string& token = {}, std::chrono::milliseconds timeout = 20s) {
    boost::json::object headers;
    if (!token.empty()) headers["authorization"] = "Bearer " + token;
    if (!body.empty()) headers["content-type"] = "application/json";
    const std::int64_t id = next_id();
    send_message(boost::json::serialize(boost::json::object{
        {"t", "req"}, {"id", id}, {"method", method}, {"path", path}, {"headers", headers}, {"body", body}}));
    if (!wait([id](const Conn&, const State& s) { return s.responses.contains(id); }, timeout)) return std::nullopt;
    std::lock_guard lock(mu_);
    return state_.responses.at(id);
  }
  // Opens an event stream (path /api/v1/events?...); its id once the edge says it is open, else -1.
  std::int64_t subscribe(const std::string& path, const std::string& token) {
    const std::int64_t id = next_id();
    send_message(boost::json::serialize(boost::json::object{
        {"t", "sub"}, {"id", id}, {"path", path}, {"headers", boost::json::object{{"authorization", "Bearer " + token}}}}));
    if (!wait([id](const Conn&, const State& s) {
          return s.opened.contains(id) || s.ended.contains(id) || s.responses.contains(id);
        }))
      return -1;
    std::lock_guard lock(mu_);
    return state_.opened.contains(id) && !state_.ended.contains(id) ? id : -1;
  }
  // The events of stream `id` so far (the API's text messages).
  std::vector<std::string> events(std::int64_t id) {
    std::lock_guard lock(mu_);
    auto it = state_.events.find(id);
    return it == state_.events.end() ? std::vector<std::string>{} : it->second;
  }
  // Waits until `pred` holds over stream `id`'s events.
  bool wait_events(std::int64_t id, const std::function<bool(const std::vector<std::string>&)>& pred,
                   std::chrono::milliseconds timeout = 30s) {
    static const std::vector<std::string> none;
    return wait([&](const Conn&, const State& s) {
      auto it = s.events.find(id);
      return pred(it == s.events.end() ? none : it->second);
    }, timeout);
  }
  // Every whole message this client opened (answers and events), for scanning.
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return state_.messages;
  }
  std::vector<e2e::RejectCode> rejects() {
    std::lock_guard lock(mu_);
    return state_.rejects;
  }
  // Frames that did not open (none expected); seq of the last edge frame opened (for `since`).
  std::size_t open_failures() {
    std::lock_guard lock(mu_);
    return state_.open_failures;
  }
  std::uint64_t last_seq() {
    std::lock_guard lock(mu_);
    return state_.last_seq;
  }
  int closed_status() { return conn().close_status; }
  std::string closed_body() { return conn().close_body; }
  std::string closed_why() { return conn().close_why; }
  std::string error_code() { return conn().error_code; }

  // Sends raw bytes as a binary message on the current connection (refusal tests).
  bool send_raw(std::string data) {
    return io_.run([&] { return ws_ && ws_->send(std::move(data), false); });
  }
  // A data frame sealed with the current session, its header as given (client id, seq...).
  std::string seal_frame(wire::FrameHeader h, const std::string& json) {
    return io_.run([&] {
      std::string plain(1, '\0');
      plain += json;
      h.kind = wire::Kind::client_to_edge;
      h.payload_len = static_cast<std::uint32_t>(plain.size() + e2e::kSealOverhead);
      const auto hb = wire::encode_header(h);
      auto sealed = session_->seal(hb, h.seq, plain);
      return sealed ? wire::encode_frame(h, *sealed) : std::string();
    });
  }
  std::uint64_t next_seq() {
    return io_.run([&] { return ++seq_; });
  }

 private:
  struct Conn {
    int gen = 0;
    bool welcome = false;
    bool edge_online = false;
    bool closed = false;
    bool gap = false;  // the welcome said the resume could not be served whole
    std::string close_why, close_body;
    int close_status = 0;
    std::string error_code;  // the relay's `error` message before it closed the connection
  };
  struct State {
    std::map<std::int64_t, Response> responses;
    std::set<std::int64_t> opened, ended;
    std::map<std::int64_t, std::vector<std::string>> events;
    std::vector<std::string> messages;
    std::vector<e2e::RejectCode> rejects;
    std::uint64_t sessions = 0;
    std::size_t open_failures = 0;
    std::uint64_t last_seq = 0;
  };

  Conn conn() {
    std::lock_guard lock(mu_);
    return conn_;
  }
  int conn_gen_locked() {
    std::lock_guard lock(mu_);
    return conn_.gen;
  }
  std::int64_t next_id() {
    std::lock_guard lock(mu_);
    return ++next_id_;
  }
  bool wait(const std::function<bool(const Conn&, const State&)>& pred, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(conn_, state_); });
  }
  template <typename F>
  void update(int gen, F&& f) {
    {
      std::lock_guard lock(mu_);
      if (gen != conn_.gen) return;
      f(conn_);
    }
    cv_.notify_all();
  }
  template <typename F>
  void change(F&& f) {
    {
      std::lock_guard lock(mu_);
      f(state_);
    }
    cv_.notify_all();
  }

  // start() -> (client state, handshake payload), on the io thread.
  bool handshake(const std::function<std::pair<e2e::ClientStart, std::string>()>& start) {
    std::uint64_t sessions_before = 0;
    std::size_t rejects_before = 0;
    {
      std::lock_guard lock(mu_);
      sessions_before = state_.sessions;
      rejects_before = state_.rejects.size();
    }
    io_.run([&] {
      auto [st, payload] = start();
      pending_ = st;
      wire::FrameHeader h;
      h.kind = wire::Kind::client_to_edge;
      h.flags = wire::kFlagHandshake;
      h.client = id_;
      h.seq = ++seq_;
      pending_seq_ = h.seq;
      if (ws_) ws_->send(wire::encode_frame(h, payload), false);
    });
    wait([&](const Conn& c, const State& s) {
      return s.sessions > sessions_before || s.rejects.size() > rejects_before || c.closed;
    });
    std::lock_guard lock(mu_);
    return state_.sessions > sessions_before;
  }

  // io thread: the relay's gap ends every open stream (the browser's failInFlight).
  void end_streams() {
    std::vector<std::int64_t> ids;
    change([&](State& s) {
      for (auto id : s.opened)
        if (s.ended.insert(id).second) ids.push_back(id);
    });
    for (auto id : ids) send_here(boost::json::serialize(boost::json::object{{"t", "unsub"}, {"id", id}}));
  }

  void send_message(const std::string& json) {
    io_.run([&] { send_here(json); });
  }
  // io thread
  void send_here(const std::string& json) {
    {
      if (!session_ || !ws_) return;
      wire::FrameHeader h;
      h.client = id_;
      h.seq = ++seq_;
      std::string plain(1, '\0');  // a whole message (the tunnel's first byte)
      plain += json;
      h.kind = wire::Kind::client_to_edge;
      h.payload_len = static_cast<std::uint32_t>(plain.size() + e2e::kSealOverhead);
      const auto hb = wire::encode_header(h);
      auto sealed = session_->seal(hb, h.seq, plain);
      if (sealed) ws_->send(wire::encode_frame(h, *sealed), false);
    }
  }

  // io thread
  void on_ws_message(int gen, std::string_view m, bool text) {
    if (text) {
      auto c = wire::parse_control(m);
      if (!c) return;
      if (const auto* w = std::get_if<wire::Welcome>(&*c)) {
        if (w->gap.value_or(false) && session_) end_streams();
        update(gen, [&](Conn& x) {
          x.welcome = true;
          x.gap = w->gap.value_or(false);
          x.edge_online = x.edge_online || w->edge_online.value_or(false);
        });
      } else if (const auto* e = std::get_if<wire::EdgeState>(&*c)) {
        update(gen, [&](Conn& x) { x.edge_online = e->online; });
      } else if (const auto* err = std::get_if<wire::ErrorMessage>(&*c)) {
        update(gen, [&](Conn& x) { x.error_code = err->code; });
      }
      return;
    }
    auto f = wire::parse_frame(wire::as_bytes(m), 1 << 20);
    if (!f) {
      change([](State& s) { ++s.open_failures; });
      return;
    }
    const std::string_view payload(reinterpret_cast<const char*>(f->payload.data()), f->payload.size());
    if (f->header.handshake()) {
      auto hs = e2e::decode_handshake(f->payload);
      if (!hs) {
        change([](State& s) { ++s.open_failures; });
        return;
      }
      if (const auto* w = std::get_if<e2e::WelcomeMsg>(&*hs)) {
        if (!pending_) return;
        auto s = e2e::client_finish(connected_edge_, kp_, *pending_, *w, pending_seq_, f->header.seq);
        pending_.reset();
        if (!s) {
          change([](State& st) { ++st.open_failures; });
          return;
        }
        session_.emplace(std::move(*s));
        pinned_ = w->edge_pk;
        parts_.clear();
        change([&](State& st) {
          ++st.sessions;
          st.last_seq = f->header.seq;
        });
      } else if (const auto* r = std::get_if<e2e::RejectMsg>(&*hs)) {
        change([&](State& st) { st.rejects.push_back(r->code); });
      }
      return;
    }
    if (!session_) {
      change([](State& s) { ++s.open_failures; });
      return;
    }
    auto plain = session_->open(f->header_bytes, f->header.seq, payload);
    if (!plain || plain->empty()) {
      change([](State& s) { ++s.open_failures; });
      return;
    }
    const char kind = (*plain)[0];
    std::string_view body = std::string_view(*plain).substr(1);
    change([&](State& s) { s.last_seq = f->header.seq; });
    if (kind == 0) return on_whole(std::string(body));
    parts_.append(body);
    if (kind == 2) {
      std::string whole = std::move(parts_);
      parts_.clear();
      on_whole(std::move(whole));
    }
  }

  void on_whole(std::string text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    change([&](State& s) {
      s.messages.push_back(text);
      if (ec || !v.is_object()) return;
      const auto& o = v.as_object();
      const auto* t = o.if_contains("t");
      const auto* id = o.if_contains("id");
      if (!t || !t->is_string() || !id || !id->is_int64()) return;
      const std::int64_t rid = id->as_int64();
      if (t->as_string() == "res") {
        Response r;
        if (const auto* st = o.if_contains("status"); st && st->is_int64()) r.status = static_cast<int>(st->as_int64());
        if (const auto* b = o.if_contains("body"); b && b->is_string()) r.body = std::string(b->as_string());
        s.responses[rid] = std::move(r);
      } else if (t->as_string() == "open") {
        s.opened.insert(rid);
      } else if (t->as_string() == "end") {
        s.ended.insert(rid);
      } else if (t->as_string() == "ev") {
        if (s.ended.contains(rid)) return;  // a stream ended here (gap): the browser drops its events
        if (const auto* d = o.if_contains("data"); d && d->is_string()) s.events[rid].emplace_back(d->as_string());
      }
    });
  }

  IoThread& io_;
  const std::string ca_file_;
  const std::string edge_id_;
  const std::string name_;
  const e2e::KeyPair kp_;
  const wire::ClientId id_;
  std::uint16_t port_ = 0;

  // io thread only
  std::optional<edge::WsClient> ws_;
  std::string connected_edge_;
  std::optional<e2e::ClientStart> pending_;
  std::uint64_t pending_seq_ = 0;
  std::optional<e2e::Session> session_;
  std::optional<e2e::Key> pinned_;
  std::string parts_;
  std::uint64_t seq_ = 1'000;

  std::mutex mu_;
  std::condition_variable cv_;
  Conn conn_;
  State state_;
  std::int64_t next_id_ = 0;
};

}  // namespace callbridge::relay::testing
