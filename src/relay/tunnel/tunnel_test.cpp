// relay/tunnel with a fake relay link and a fake API: pairing and hello through the real store,
// requests and event streams in both directions, the cookie kept at the edge, message parts,
// call tags, and what a relay or a bad client may try (no secret, unpaired key, tampering, replay,
// unknown session, revoked device, paths outside the API).
#include "relay/tunnel/tunnel.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <deque>

#include "identity/sqlite/paired_device_store.hpp"
#include "relay/pairing/pairing.hpp"

namespace callbridge::relay::tunnel {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Sent {
  wire::FrameHeader h;
  std::string payload;
};

class FakeLink final : public edge::EdgeLink {
 public:
  Handlers handlers;
  std::deque<Sent> sent;
  std::vector<std::pair<wire::ClientId, std::string>> dropped;
  std::map<wire::ClientId, std::uint64_t> seqs;
  void set_handlers(Handlers h) override { handlers = std::move(h); }
  wire::FrameHeader next_header(const wire::ClientId& c, std::uint16_t flags, std::uint64_t tag,
                                std::uint32_t len) override {
    wire::FrameHeader h;
    h.kind = wire::Kind::edge_to_client;
    h.flags = flags;
    h.call_tag = tag;
    h.payload_len = len;
    h.client = c;
    auto& s = seqs.try_emplace(c, 1'000'000).first->second;
    h.seq = ++s;
    return h;
  }
  void send(const wire::FrameHeader& h, std::string payload) override {
    EXPECT_EQ(h.payload_len, payload.size());
    sent.push_back({h, std::move(payload)});
  }
  void drop_client(const wire::ClientId& c, std::string reason) override { dropped.emplace_back(c, reason); }
  bool up() const override { return true; }
};

class FakeApi final : public LocalApi {
 public:
  struct Pending {
    ApiRequest req;
    std::function<void(base::Result<ApiResponse>)> done;
  };
  struct FakeStream final : Stream {
    bool* closed;
    explicit FakeStream(bool* c) : closed(c) {}
    void close() override { *closed = true; }
  };
  struct Sub {
    std::string target;
    Headers headers;
    std::function<void()> open;
    std::function<void(std::string)> message;
    std::function<void(int, std::string)> close;
    bool closed = false;
  };
  std::deque<Pending> requests;
  std::deque<Sub> subs;
  void request(ApiRequest req, std::function<void(base::Result<ApiResponse>)> done) override {
    requests.push_back({std::move(req), std::move(done)});
  }
  std::unique_ptr<Stream> subscribe(std::string target, Headers headers, std::function<void()> on_open,
                                    std::function<void(std::string)> on_message,
                                    std::function<void(int, std::string)> on_close) override {
    subs.push_back({std::move(target), std::move(headers), std::move(on_open), std::move(on_message), std::move(on_close)});
    return std::make_unique<FakeStream>(&subs.back().closed);
  }
};

class FixedClock final : public base::Clock {
 public:
  base::Timestamp t = base::from_micros(1'800'000'000'000'000);
  base::Timestamp now() const override { return t; }
};

std::string header_value(const Headers& hs, std::string_view name) {
  for (const auto& [k, v] : hs)
    if (k == name) return v;
  return {};
}

// A browser: its keys, its session, its frames.
struct Browser {
  e2e::KeyPair kp = e2e::generate_key_pair();
  wire::ClientId id = e2e::client_id(kp.pk);
  std::optional<e2e::Session> session;
  std::optional<e2e::ClientStart> pending;
  std::uint64_t seq = 5000, hello_seq = 0;
  std::string edge_id;
  std::optional<e2e::Key> pinned;
  std::string parts;

  void deliver(FakeLink& link, wire::FrameHeader h, const std::string& payload) {
    h.kind = wire::Kind::client_to_edge;
    h.client = id;
    h.payload_len = static_cast<std::uint32_t>(payload.size());
    const auto hb = wire::encode_header(h);
    link.handlers.frame(h, hb, payload);
  }
  void pair(FakeLink& link, const std::string& fragment) {
    auto l = e2e::parse_pairing_fragment(fragment).value();
    edge_id = l.edge_id;
    auto p = e2e::client_start_pair(l.edge_id, kp, l.secret, l.edge_fingerprint);
    pending = p.state;
    handshake(link, e2e::encode(p.msg));
  }
  void hello(FakeLink& link) {
    auto p = e2e::client_start_hello(kp, *pinned);
    pending = p.state;
    handshake(link, e2e::encode(p.msg));
  }
  void handshake(FakeLink& link, const std::string& payload) {
    wire::FrameHeader h;
    h.flags = wire::kFlagHandshake;
    h.seq = hello_seq = ++seq;
    deliver(link, h, payload);
  }
  // The edge's answer to a handshake: "session" or the reject code's name.
  std::string take_handshake(FakeLink& link) {
    if (link.sent.empty()) return "nothing";
    Sent s = link.sent.front();
    link.sent.pop_front();
    EXPECT_TRUE(s.h.handshake());
    auto m = e2e::decode_handshake(wire::as_bytes(s.payload)).value();
    if (auto* r = std::get_if<e2e::RejectMsg>(&m)) return std::string(e2e::to_string(r->code));
    auto& w = std::get<e2e::WelcomeMsg>(m);
    auto sess = e2e::client_finish(edge_id, kp, *pending, w, hello_seq, s.h.seq);
    if (!sess) return sess.error().message();
    session = *sess;
    pinned = w.edge_pk;
    return "session";
  }
  Sent seal(std::string_view json, std::uint8_t part = 0) {
    std::string plain(1, static_cast<char>(part));
    plain += json;
    wire::FrameHeader h;
    h.kind = wire::Kind::client_to_edge;
    h.client = id;
    h.seq = ++seq;
    h.payload_len = static_cast<std::uint32_t>(plain.size() + e2e::kSealOverhead);
    auto sealed = session->seal(wire::encode_header(h), h.seq, plain);
    EXPECT_TRUE(sealed.has_value());
    return {h, sealed.value_or(std::string())};
  }
  void send(FakeLink& link, std::string_view json) {
    Sent s = seal(json);
    link.handlers.frame(s.h, wire::encode_header(s.h), s.payload);
  }
  // The next whole message from the edge (reassembling parts); its frames' headers in `frames`.
  json::object take(FakeLink& link, std::vector<wire::FrameHeader>* frames = nullptr) {
    while (!link.sent.empty()) {
      Sent s = link.sent.front();
      link.sent.pop_front();
      if (frames) frames->push_back(s.h);
      auto plain = session->open(wire::encode_header(s.h), s.h.seq, s.payload);
      EXPECT_TRUE(plain.has_value()) << plain.error().to_string();
      if (!plain) return {};
      parts += plain->substr(1);
      if ((*plain)[0] == 1) continue;
      std::string whole = std::move(parts);
      parts.clear();
      return json::parse(whole).as_object();
    }
    ADD_FAILURE() << "no message from the edge";
    return {};
  }
};

struct Fixture : ::testing::Test {
  FakeLink link;
  FakeApi api;
  FixedClock clock;
  std::unique_ptr<identity::SqlitePairedDeviceStore> store = std::move(*identity::SqlitePairedDeviceStore::open(":memory:"));
  std::unique_ptr<Tunnel> tunnel;
  const base::TenantId acme{"acme"};

  void SetUp() override {
    TunnelOptions o;
    o.edge_id = "acme";
    o.max_frame_bytes = 1024;  // small, so answers come in parts
    tunnel = std::make_unique<Tunnel>(link, *store, api, store->edge_key().value(), o, clock);
    tunnel->attach();
  }
  std::string new_link() {
    auto p = pairing::create(*store, acme, "test", "cli", "acme", "wss://relay.example", clock.now());
    EXPECT_TRUE(p.has_value());
    return p->link.substr(p->link.find('#') + 1);
  }
  Browser paired() {
    Browser b;
    b.pair(link, new_link());
    EXPECT_EQ(b.take_handshake(link), "session");
    return b;
  }
};

TEST_F(Fixture, PairedClientMakesRequestsAndTheCookieStaysAtTheEdge) {
  Browser b = paired();
  EXPECT_EQ(tunnel->stats().pairings, 1u);
  b.send(link, R"({"t":"req","id":1,"method":"POST","path":"/api/v1/session","headers":{"Content-Type":"application/json","Host":"evil","Origin":"https://evil"},"body":"{\"token\":\"cb_x\"}"})");
  ASSERT_EQ(api.requests.size(), 1u);
  auto r = std::move(api.requests.front());
  api.requests.pop_front();
  EXPECT_EQ(r.req.method, "POST");
  EXPECT_EQ(r.req.target, "/api/v1/session");
  EXPECT_EQ(r.req.body, R"({"token":"cb_x"})");
  EXPECT_EQ(header_value(r.req.headers, "content-type"), "application/json");
  EXPECT_EQ(header_value(r.req.headers, "host"), "");    // the tunnel's own, set by LoopbackApi
  EXPECT_EQ(header_value(r.req.headers, "origin"), "");
  r.done(ApiResponse{200, {{"content-type", "application/json"}, {"set-cookie", "cb_session=s3cret; Path=/; HttpOnly"}}, R"({"user":"anna"})"});
  auto res = b.take(link);
  EXPECT_EQ(res.at("t"), "res");
  EXPECT_EQ(res.at("id"), 1);
  EXPECT_EQ(res.at("status"), 200);
  EXPECT_EQ(res.at("body"), R"({"user":"anna"})");
  EXPECT_FALSE(res.at("headers").as_object().contains("set-cookie"));
  // The next request carries the cookie; the client never saw it.
  b.send(link, R"({"t":"req","id":2,"method":"GET","path":"/api/v1/me","headers":{},"body":""})");
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(header_value(api.requests.front().req.headers, "cookie"), "cb_session=s3cret");
  api.requests.front().done(base::fail(base::Error::unavailable("connection refused")));
  auto err = b.take(link);
  EXPECT_EQ(err.at("status"), 502);
}

TEST_F(Fixture, NoPairingWithoutTheSecretAndOnlyOnce) {
  const std::string frag = new_link();
  auto l = e2e::parse_pairing_fragment(frag).value();
  Browser relay;  // knows the pairing id (it saw a pair message) but guesses the secret
  relay.edge_id = "acme";
  auto forged = e2e::client_start_pair("acme", relay.kp, e2e::new_secret(), l.edge_fingerprint);
  forged.msg.pair_id = e2e::pairing_id(l.secret);
  relay.pending = forged.state;
  relay.handshake(link, e2e::encode(forged.msg));
  EXPECT_EQ(relay.take_handshake(link), "bad-pairing");
  Browser b;
  b.pair(link, frag);
  EXPECT_EQ(b.take_handshake(link), "session");
  Browser second;
  second.pair(link, frag);
  EXPECT_EQ(second.take_handshake(link), "bad-pairing");
  // Expired links do not pair either.
  const std::string old = new_link();
  clock.t += 11min;
  Browser late;
  late.pair(link, old);
  EXPECT_EQ(late.take_handshake(link), "bad-pairing");
  EXPECT_EQ(tunnel->stats().pairing_refused, 3u);
}

TEST_F(Fixture, HelloNeedsAPairedKeyAndGivesANewSession) {
  Browser stranger;
  stranger.edge_id = "acme";
  stranger.pinned = store->edge_key()->pk;
  stranger.hello(link);
  EXPECT_EQ(stranger.take_handshake(link), "not-paired");
  Browser b = paired();
  b.hello(link);  // a page reload
  EXPECT_EQ(b.take_handshake(link), "session");
  b.send(link, R"({"t":"req","id":1,"method":"GET","path":"/api/v1/me","headers":{},"body":""})");
  EXPECT_EQ(api.requests.size(), 1u);
  // A data frame for a session the edge does not know: reject no-session (the browser says hello).
  Browser unknown;
  unknown.session = b.session;
  unknown.id = stranger.id;
  unknown.seq = b.seq;
  unknown.send(link, R"({"t":"req","id":1})");
  EXPECT_EQ(unknown.take_handshake(link), "no-session");
}

TEST_F(Fixture, TamperedReplayedAndBadMessagesDropTheClient) {
  Browser b = paired();
  Sent s = b.seal(R"({"t":"req","id":1,"method":"GET","path":"/api/v1/me","headers":{},"body":""})");
  std::string bad = s.payload;
  bad[bad.size() / 2] ^= 1;
  link.handlers.frame(s.h, wire::encode_header(s.h), bad);
  ASSERT_EQ(link.dropped.size(), 1u);
  EXPECT_EQ(link.dropped[0].first, b.id);
  EXPECT_TRUE(api.requests.empty());
  EXPECT_EQ(tunnel->stats().frames_rejected, 1u);
  EXPECT_EQ(tunnel->stats().sessions, 0u);

  Browser c = paired();
  Sent ok = c.seal(R"({"t":"req","id":1,"method":"GET","path":"/api/v1/me","headers":{},"body":""})");
  link.handlers.frame(ok.h, wire::encode_header(ok.h), ok.payload);
  link.handlers.frame(ok.h, wire::encode_header(ok.h), ok.payload);  // replayed by the relay
  EXPECT_EQ(api.requests.size(), 1u);
  ASSERT_EQ(link.dropped.size(), 2u);
  EXPECT_NE(link.dropped[1].second.find("replayed"), std::string::npos);

  Browser d = paired();
  d.send(link, "not json");
  EXPECT_EQ(link.dropped.size(), 3u);
}

TEST_F(Fixture, OnlyTheApiIsReachable) {
  Browser b = paired();
  b.send(link, R"({"t":"req","id":7,"method":"GET","path":"/metrics","headers":{},"body":""})");
  EXPECT_EQ(b.take(link).at("status"), 404);
  b.send(link, R"({"t":"req","id":8,"method":"CONNECT","path":"/api/v1/me","headers":{},"body":""})");
  EXPECT_EQ(b.take(link).at("status"), 405);
  b.send(link, R"({"t":"req","id":9,"method":"GET","path":"/api/v1/me\r\nX: y","headers":{},"body":""})");
  EXPECT_EQ(b.take(link).at("status"), 404);
  b.send(link, R"({"t":"sub","id":10,"path":"/api/v1/calls"})");
  EXPECT_EQ(b.take(link).at("status"), 400);
  EXPECT_TRUE(api.requests.empty());
  EXPECT_TRUE(api.subs.empty());
}

TEST_F(Fixture, LargeMessagesTravelInPartsBothWays) {
  Browser b = paired();
  const std::string big(5000, 'x');
  const std::string msg = R"({"t":"req","id":3,"method":"PUT","path":"/api/v1/me/settings","headers":{},"body":")" + big + "\"}";
  for (std::size_t off = 0; off < msg.size(); off += 900) {
    const bool last = off + 900 >= msg.size();
    Sent s = b.seal(msg.substr(off, 900), last ? 2 : 1);
    link.handlers.frame(s.h, wire::encode_header(s.h), s.payload);
  }
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(api.requests.front().req.body, big);
  api.requests.front().done(ApiResponse{200, {}, std::string(7000, 'y')});
  std::vector<wire::FrameHeader> frames;
  auto res = b.take(link, &frames);
  EXPECT_EQ(res.at("body").as_string().size(), 7000u);
  EXPECT_GE(frames.size(), 7u);
  for (const auto& f : frames) EXPECT_LE(f.payload_len + wire::kHeaderSize, 1024u);
}

TEST_F(Fixture, EventStreamsCarryCallTagsAndEndTheCall) {
  Browser b = paired();
  b.send(link, R"({"t":"sub","id":4,"path":"/api/v1/events?ticket=t1&scope=own","headers":{"Authorization":"Bearer x"}})");
  ASSERT_EQ(api.subs.size(), 1u);
  EXPECT_EQ(api.subs[0].target, "/api/v1/events?ticket=t1&scope=own");
  api.subs[0].open();
  EXPECT_EQ(b.take(link).at("t"), "open");
  std::vector<wire::FrameHeader> frames;
  api.subs[0].message(R"({"type":"call","seq":1,"event":"delivered","call":{"id":"c1","connections":[{"device":"100","state":"alerting"}]}})");
  api.subs[0].message(R"({"type":"line","seq":2})");
  api.subs[0].message(R"({"type":"call","seq":3,"event":"connectionCleared","call":{"id":"c1","connections":[{"device":"100","state":"null"}]}})");
  auto e1 = b.take(link, &frames);
  EXPECT_EQ(e1.at("t"), "ev");
  EXPECT_EQ(e1.at("id"), 4);
  EXPECT_NE(e1.at("data").as_string().find("delivered"), std::string_view::npos);
  b.take(link, &frames);
  b.take(link, &frames);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_NE(frames[0].call_tag, 0u);
  EXPECT_FALSE(frames[0].call_end());
  EXPECT_EQ(frames[1].call_tag, 0u);
  EXPECT_EQ(frames[2].call_tag, frames[0].call_tag);
  EXPECT_TRUE(frames[2].call_end());
  // The API ends the stream; then unsubscribe of another is harmless.
  api.subs[0].close(1008, "ticket expired");
  auto end = b.take(link);
  EXPECT_EQ(end.at("t"), "end");
  EXPECT_EQ(end.at("code"), 1008);
}

TEST_F(Fixture, RevokedDevicesAndLongGoneClientsEnd) {
  Browser b = paired();
  b.send(link, R"({"t":"sub","id":1,"path":"/api/v1/events?ticket=t","headers":{}})");
  ASSERT_EQ(api.subs.size(), 1u);
  tunnel->tick();
  EXPECT_TRUE(link.dropped.empty());
  auto devices = store->list(acme).value();
  ASSERT_TRUE(store->revoke(acme, devices.front().id, clock.now()).has_value());
  tunnel->tick();
  ASSERT_EQ(link.dropped.size(), 1u);
  EXPECT_TRUE(api.subs[0].closed);
  b.hello(link);
  EXPECT_EQ(b.take_handshake(link), "not-paired");

  Browser c = paired();
  c.send(link, R"({"t":"sub","id":1,"path":"/api/v1/events?ticket=t","headers":{}})");
  link.handlers.client_gone(c.id);
  clock.t += 60s;
  tunnel->tick();
  EXPECT_FALSE(api.subs[1].closed);  // still within the grace for a resume
  clock.t += 61s;
  tunnel->tick();
  EXPECT_TRUE(api.subs[1].closed);
  EXPECT_EQ(tunnel->stats().sessions, 0u);
}

}  // namespace
}  // namespace callbridge::relay::tunnel
