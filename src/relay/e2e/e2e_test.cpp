// relay/e2e: pairing, sessions and sealed frames, including what a relay in the middle may try
// (pair without the secret, swap keys, replay, reorder, tamper).
#include "relay/e2e/e2e.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace callbridge::relay::e2e {
namespace {

constexpr std::string_view kEdge = "acme-edge";

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The 40 header bytes in relay/wire's layout (version, kind, flags, length, client id, seq, call tag);
// e2e treats them as opaque associated data, so a local encoder keeps this test free of relay/wire.
std::array<std::uint8_t, 40> header(std::uint8_t kind, std::uint16_t flags, std::uint32_t len, const ClientId& cid,
                                    std::uint64_t seq, std::uint64_t call_tag = 0) {
  std::array<std::uint8_t, 40> h{};
  h[0] = 1;
  h[1] = kind;
  h[2] = flags >> 8;
  h[3] = flags & 0xff;
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<std::uint8_t>(len >> (24 - 8 * i));
  std::memcpy(h.data() + 8, cid.data(), 16);
  for (int i = 0; i < 8; ++i) h[24 + i] = static_cast<std::uint8_t>(seq >> (56 - 8 * i));
  for (int i = 0; i < 8; ++i) h[32 + i] = static_cast<std::uint8_t>(call_tag >> (56 - 8 * i));
  return h;
}

struct Paired {
  KeyPair edge = generate_key_pair();
  KeyPair client = generate_key_pair();
  Key secret = new_secret();
  std::optional<Session> edge_session;
  std::optional<Session> client_session;
};

Paired pair_ok() {
  Paired p;
  auto start = client_start_pair(kEdge, p.client, p.secret, fingerprint(p.edge.pk));
  // Through the wire format both ways, as the relay carries it.
  auto decoded = decode_handshake(bytes(encode(start.msg)));
  EXPECT_TRUE(decoded.has_value());
  auto accepted = edge_accept_pair(kEdge, p.edge, p.secret, std::get<PairMsg>(*decoded), 100, 5000);
  EXPECT_TRUE(accepted.has_value()) << accepted.error().to_string();
  auto welcome = decode_handshake(bytes(encode(accepted->welcome)));
  EXPECT_TRUE(welcome.has_value());
  auto session = client_finish(kEdge, p.client, start.state, std::get<WelcomeMsg>(*welcome), 100, 5000);
  EXPECT_TRUE(session.has_value()) << session.error().to_string();
  p.edge_session = accepted->session;
  p.client_session = *session;
  return p;
}

// Client -> edge frame: header (AD) and sealed payload.
struct Frame {
  std::array<std::uint8_t, 40> h;
  std::uint64_t seq;
  std::string payload;
};
Frame seal_c2e(Session& s, const Key& client_pk, std::uint64_t seq, std::string_view text) {
  Frame f{header(2, 0, static_cast<std::uint32_t>(text.size() + kSealOverhead), client_id(client_pk), seq), seq, {}};
  auto sealed = s.seal(f.h, seq, text);
  EXPECT_TRUE(sealed.has_value());
  f.payload = *sealed;
  return f;
}

TEST(E2ePairing, ClientAndEdgeAgreeOnKeysBothWays) {
  Paired p = pair_ok();
  Frame up = seal_c2e(*p.client_session, p.client.pk, 101, R"({"t":"req","id":1})");
  auto opened = p.edge_session->open(up.h, up.seq, up.payload);
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  EXPECT_EQ(*opened, R"({"t":"req","id":1})");

  const std::string down_text = R"({"t":"res","id":1,"status":200})";
  auto h = header(1, 0, down_text.size() + kSealOverhead, client_id(p.client.pk), 5001, 77);
  auto down = p.edge_session->seal(h, 5001, down_text);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->size(), down_text.size() + kSealOverhead);
  EXPECT_EQ(down->find("status"), std::string::npos);  // ciphertext, not text
  auto back = p.client_session->open(h, 5001, *down);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(*back, down_text);
}

TEST(E2ePairing, RelayWithoutTheSecretCannotPair) {
  Paired p;
  // The relay saw a real client's pair message (so the pairing id) but not the secret: it guesses.
  KeyPair relay = generate_key_pair();
  const Key guess = new_secret();
  auto forged = client_start_pair(kEdge, relay, guess, fingerprint(p.edge.pk));
  forged.msg.pair_id = pairing_id(p.secret);
  auto r = edge_accept_pair(kEdge, p.edge, p.secret, forged.msg, 1, 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), base::Errc::protocol);
  EXPECT_NE(r.error().message().find("MAC"), std::string::npos);

  // It takes a real client's pair message and puts its own key in: the MAC covers the client key.
  auto real = client_start_pair(kEdge, p.client, p.secret, fingerprint(p.edge.pk));
  PairMsg swapped = real.msg;
  swapped.client_pk = relay.pk;
  EXPECT_FALSE(edge_accept_pair(kEdge, p.edge, p.secret, swapped, 1, 2).has_value());
  // ... or sends it to another edge id.
  EXPECT_FALSE(edge_accept_pair("other-edge", p.edge, p.secret, real.msg, 1, 2).has_value());
  // A pairing id of another secret never matches.
  EXPECT_FALSE(edge_accept_pair(kEdge, p.edge, new_secret(), real.msg, 1, 2).has_value());
  // The untouched message still pairs (the checks above are not just always failing).
  EXPECT_TRUE(edge_accept_pair(kEdge, p.edge, p.secret, real.msg, 1, 2).has_value());
}

TEST(E2ePairing, RelayCannotImpersonateTheEdge) {
  Paired p;
  auto start = client_start_pair(kEdge, p.client, p.secret, fingerprint(p.edge.pk));
  // A relay that answers with its own key fails the fingerprint check ...
  KeyPair relay = generate_key_pair();
  auto as_relay = edge_accept_pair(kEdge, relay, p.secret, start.msg, 1, 2);
  ASSERT_FALSE(as_relay.has_value());  // (its fingerprint differs, so even the client MAC fails here)
  auto fake = edge_accept_hello(kEdge, relay, HelloMsg{p.client.pk, start.state.client_nonce}, 1, 2);
  ASSERT_TRUE(fake.has_value());
  auto r = client_finish(kEdge, p.client, start.state, fake->welcome, 1, 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("fingerprint"), std::string::npos);

  // ... and the real edge's key in a welcome the relay built itself fails the key confirmation.
  WelcomeMsg w = fake->welcome;
  w.edge_pk = p.edge.pk;
  r = client_finish(kEdge, p.client, start.state, w, 1, 2);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("confirmation"), std::string::npos);

  // A welcome without the pairing MAC (the edge never saw the secret) is refused while pairing.
  auto real = edge_accept_pair(kEdge, p.edge, p.secret, start.msg, 1, 2);
  ASSERT_TRUE(real.has_value());
  WelcomeMsg no_mac = real->welcome;
  no_mac.pair_mac.reset();
  EXPECT_FALSE(client_finish(kEdge, p.client, start.state, no_mac, 1, 2).has_value());
  EXPECT_TRUE(client_finish(kEdge, p.client, start.state, real->welcome, 1, 2).has_value());
}

TEST(E2eSession, HelloWithPinnedKeysGivesFreshKeysPerSession) {
  Paired p = pair_ok();
  auto h1 = client_start_hello(p.client, p.edge.pk);
  auto h2 = client_start_hello(p.client, p.edge.pk);
  EXPECT_NE(h1.state.client_nonce, h2.state.client_nonce);
  auto a1 = edge_accept_hello(kEdge, p.edge, h1.msg, 10, 20);
  auto a2 = edge_accept_hello(kEdge, p.edge, h2.msg, 10, 20);
  ASSERT_TRUE(a1 && a2);
  auto s1 = client_finish(kEdge, p.client, h1.state, a1->welcome, 10, 20);
  auto s2 = client_finish(kEdge, p.client, h2.state, a2->welcome, 10, 20);
  ASSERT_TRUE(s1 && s2);
  // A frame of session 1 does not open in session 2 (fresh nonces -> different keys).
  Frame f = seal_c2e(*s1, p.client.pk, 11, "hello");
  EXPECT_TRUE(a1->session.open(f.h, f.seq, f.payload).has_value());
  EXPECT_FALSE(a2->session.open(f.h, f.seq, f.payload).has_value());
  // A welcome answering another hello is refused.
  EXPECT_FALSE(client_finish(kEdge, p.client, h1.state, a2->welcome, 10, 20).has_value());
  // A hello finishing against a different pinned key is refused.
  auto h3 = client_start_hello(p.client, generate_key_pair().pk);
  auto a3 = edge_accept_hello(kEdge, p.edge, h3.msg, 10, 20);
  EXPECT_FALSE(client_finish(kEdge, p.client, h3.state, a3->welcome, 10, 20).has_value());
}

TEST(E2eSession, ReplayedAndReorderedFramesAreRejected) {
  Paired p = pair_ok();
  Session& c = *p.client_session;
  Session& e = *p.edge_session;
  Frame f1 = seal_c2e(c, p.client.pk, 101, "one");
  Frame f2 = seal_c2e(c, p.client.pk, 102, "two");
  Frame f3 = seal_c2e(c, p.client.pk, 110, "three");  // gaps are fine
  ASSERT_TRUE(e.open(f1.h, f1.seq, f1.payload).has_value());
  auto replay = e.open(f1.h, f1.seq, f1.payload);
  ASSERT_FALSE(replay.has_value());
  EXPECT_NE(replay.error().message().find("replayed"), std::string::npos);
  ASSERT_TRUE(e.open(f3.h, f3.seq, f3.payload).has_value());
  EXPECT_FALSE(e.open(f2.h, f2.seq, f2.payload).has_value());  // came late: reordered
  EXPECT_EQ(e.last_rx(), 110u);
  // The handshake's seq is the floor: nothing at or below it opens.
  Paired q = pair_ok();
  Frame low = seal_c2e(*q.client_session, q.client.pk, 101, "x");
  auto hs = header(2, 0, 1 + kSealOverhead, client_id(q.client.pk), 100);
  EXPECT_FALSE(q.client_session->seal(hs, 100, "x").has_value());  // sender refuses too
  EXPECT_TRUE(q.edge_session->open(low.h, low.seq, low.payload).has_value());
}

TEST(E2eSession, TamperedFramesAreRejectedAndLeaveNoTrace) {
  Paired p = pair_ok();
  Session& e = *p.edge_session;
  Frame f = seal_c2e(*p.client_session, p.client.pk, 101, R"({"t":"req","path":"/api/v1/calls"})");
  for (std::size_t i = 0; i < f.payload.size(); i += 7) {
    std::string bad = f.payload;
    bad[i] ^= 0x01;
    EXPECT_FALSE(e.open(f.h, f.seq, bad).has_value()) << "payload byte " << i;
  }
  for (std::size_t i = 0; i < f.h.size(); ++i) {
    auto bad = f.h;
    bad[i] ^= 0x80;
    EXPECT_FALSE(e.open(bad, f.seq, f.payload).has_value()) << "header byte " << i;
  }
  EXPECT_FALSE(e.open(f.h, f.seq, f.payload.substr(0, kSealOverhead - 1)).has_value());
  EXPECT_FALSE(e.open(f.h, f.seq, f.payload + "x").has_value());
  EXPECT_FALSE(e.open(std::span<const std::uint8_t>(f.h.data(), 39), f.seq, f.payload).has_value());
  // Failures did not move the replay floor; the genuine frame still opens once.
  EXPECT_EQ(e.last_rx(), 100u);
  EXPECT_TRUE(e.open(f.h, f.seq, f.payload).has_value());
  // A frame sealed for edge->client does not open as client->edge (own key per direction).
  auto h = header(1, 0, 3 + kSealOverhead, client_id(p.client.pk), 6000);
  auto down = e.seal(h, 6000, "abc");
  ASSERT_TRUE(down.has_value());
  EXPECT_FALSE(e.open(h, 6000, *down).has_value());
}

TEST(E2eHandshake, DecodeChecksSizesAndTypes) {
  PairMsg pm;
  pm.client_pk[0] = 7;
  const std::string enc = encode(pm);
  EXPECT_EQ(enc.size(), 1 + 32 + 32 + 16 + 32u);
  EXPECT_FALSE(decode_handshake(bytes(enc.substr(0, enc.size() - 1))).has_value());
  EXPECT_FALSE(decode_handshake(bytes(enc + "x")).has_value());
  EXPECT_FALSE(decode_handshake({}).has_value());
  std::string unknown = enc;
  unknown[0] = 9;
  EXPECT_FALSE(decode_handshake(bytes(unknown)).has_value());
  auto rj = decode_handshake(bytes(encode(RejectMsg{RejectCode::no_session})));
  ASSERT_TRUE(rj.has_value());
  EXPECT_EQ(std::get<RejectMsg>(*rj).code, RejectCode::no_session);
  EXPECT_FALSE(decode_handshake(bytes(std::string("\x04\x09", 2))).has_value());
  WelcomeMsg w;
  EXPECT_EQ(encode(w).size(), 1 + 32 * 4u);
  w.pair_mac = Mac{};
  EXPECT_EQ(encode(w).size(), 1 + 32 * 5u);
}

TEST(E2eLink, FragmentRoundTripsAndRejectsJunk) {
  PairingLink link{"acme", new_secret(), fingerprint(generate_key_pair().pk)};
  const std::string frag = pairing_fragment(link);
  EXPECT_TRUE(frag.starts_with("pair=acme."));
  EXPECT_EQ(frag.find('='), 4u);  // no base64 padding
  auto back = parse_pairing_fragment("#" + frag);
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(back->edge_id, "acme");
  EXPECT_EQ(back->secret, link.secret);
  EXPECT_EQ(back->edge_fingerprint, link.edge_fingerprint);
  EXPECT_FALSE(parse_pairing_fragment("pair=acme.abc.def").has_value());
  EXPECT_FALSE(parse_pairing_fragment("pair=Acme." + frag.substr(10)).has_value());
  EXPECT_FALSE(parse_pairing_fragment("x=1").has_value());
  EXPECT_FALSE(parse_pairing_fragment(frag + "+").has_value());
  EXPECT_TRUE(valid_edge_id("a"));
  EXPECT_TRUE(valid_edge_id("acme-1"));
  EXPECT_FALSE(valid_edge_id("-acme"));
  EXPECT_FALSE(valid_edge_id(std::string(64, 'a')));
  EXPECT_FALSE(valid_edge_id("a.b"));
}

TEST(E2eKeys, LoadedSecretKeyGivesItsPublicKey) {
  KeyPair kp = generate_key_pair();
  EXPECT_EQ(public_key_of(kp.sk), kp.pk);
  EXPECT_EQ(client_id(kp.pk).size(), 16u);
  EXPECT_NE(fingerprint(kp.pk), fingerprint(generate_key_pair().pk));
  EXPECT_EQ(b64url_decode(b64url(kp.pk)).value(), std::string(kp.pk.begin(), kp.pk.end()));
}

}  // namespace
}  // namespace callbridge::relay::e2e
