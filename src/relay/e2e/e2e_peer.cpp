// relay_e2e_peer: the C++ e2e layer as a line-driven peer, for the cross-implementation test with
// the browser's twin (web/tests/interop/relay_e2e_interop.test.ts, ctest relay_e2e_interop).
// One command per stdin line, one answer per stdout line; frames travel as hex of header and payload.
//   edge-init EDGE            -> ok FRAGMENT            (new edge key pair and pairing secret)
//   client-init FRAGMENT      -> ok                     (new client key pair, the link's edge and secret)
//   client-pair | client-hello -> frame HEADER PAYLOAD  (handshake frame to the edge)
//   edge-recv H P             -> frame H P (welcome/reject) | plain HEX | error MESSAGE
//   client-recv H P           -> session | reject CODE | plain HEX | error MESSAGE
//   edge-send HEX | client-send HEX -> frame H P        (sealed data frame)
// Test tool only: keys live in memory for the process's life.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "relay/e2e/e2e.hpp"
#include "relay/wire/frame.hpp"

namespace e2e = callbridge::relay::e2e;
namespace wire = callbridge::relay::wire;

namespace {

std::string from_hex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}
std::string to_hex(std::string_view s) { return e2e::hex(wire::as_bytes(s)); }

struct Edge {
  std::string id;
  e2e::KeyPair kp;
  std::optional<e2e::Key> secret;  // one-time
  std::optional<e2e::Key> pinned;
  std::optional<e2e::Session> session;
  wire::ClientId client{};
  std::uint64_t seq = 1'000'000;
};
struct Client {
  std::string edge_id;
  e2e::KeyPair kp;
  e2e::PairingLink link;
  std::optional<e2e::Key> pinned;
  std::optional<e2e::ClientStart> pending;
  std::uint64_t pending_seq = 0;
  std::optional<e2e::Session> session;
  std::uint64_t seq = 1;
};

std::string frame_line(wire::FrameHeader h, const std::string& payload) {
  h.payload_len = static_cast<std::uint32_t>(payload.size());
  const auto hb = wire::encode_header(h);
  return "frame " + e2e::hex(hb) + " " + to_hex(payload);
}

std::string edge_reply(Edge& edge, wire::FrameHeader h, const e2e::Handshake& msg) {
  h.kind = wire::Kind::edge_to_client;
  h.flags = wire::kFlagHandshake;
  h.seq = ++edge.seq;
  return frame_line(h, e2e::encode(msg));
}

std::string edge_recv(Edge& edge, const std::string& hh, const std::string& ph) {
  const std::string hb = from_hex(hh), payload = from_hex(ph);
  auto h = wire::decode_header(wire::as_bytes(hb));
  if (!h) return "error " + h.error().to_string();
  if (!h->handshake()) {
    if (!edge.session) return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::no_session});
    auto plain = edge.session->open(wire::as_bytes(hb), h->seq, payload);
    return plain ? "plain " + to_hex(*plain) : "error " + plain.error().to_string();
  }
  auto msg = e2e::decode_handshake(wire::as_bytes(payload));
  if (!msg) return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::malformed});
  const std::uint64_t welcome_seq = edge.seq + 1;
  std::optional<e2e::EdgeAccept> acc;
  e2e::Key client_pk{};
  if (const auto* p = std::get_if<e2e::PairMsg>(&*msg)) {
    if (!edge.secret) return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::bad_pairing});
    auto r = e2e::edge_accept_pair(edge.id, edge.kp, *edge.secret, *p, h->seq, welcome_seq);
    if (!r) return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::bad_pairing});
    edge.secret.reset();
    edge.pinned = p->client_pk;
    acc = std::move(*r);
    client_pk = p->client_pk;
  } else if (const auto* hello = std::get_if<e2e::HelloMsg>(&*msg)) {
    if (!edge.pinned || *edge.pinned != hello->client_pk)
      return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::not_paired});
    auto r = e2e::edge_accept_hello(edge.id, edge.kp, *hello, h->seq, welcome_seq);
    if (!r) return "error " + r.error().to_string();
    acc = std::move(*r);
    client_pk = hello->client_pk;
  } else {
    return edge_reply(edge, *h, e2e::RejectMsg{e2e::RejectCode::malformed});
  }
  if (h->client != e2e::client_id(client_pk)) return "error client id is not the key's";
  edge.session = acc->session;
  edge.client = h->client;
  return edge_reply(edge, *h, acc->welcome);
}

std::string client_handshake(Client& c, bool pair) {
  wire::FrameHeader h;
  h.kind = wire::Kind::client_to_edge;
  h.flags = wire::kFlagHandshake;
  h.client = e2e::client_id(c.kp.pk);
  h.seq = ++c.seq;
  std::string payload;
  if (pair) {
    auto p = e2e::client_start_pair(c.link.edge_id, c.kp, c.link.secret, c.link.edge_fingerprint);
    c.pending = p.state;
    payload = e2e::encode(p.msg);
  } else {
    if (!c.pinned) return "error not paired";
    auto p = e2e::client_start_hello(c.kp, *c.pinned);
    c.pending = p.state;
    payload = e2e::encode(p.msg);
  }
  c.pending_seq = h.seq;
  return frame_line(h, payload);
}

std::string client_recv(Client& c, const std::string& hh, const std::string& ph) {
  const std::string hb = from_hex(hh), payload = from_hex(ph);
  auto h = wire::decode_header(wire::as_bytes(hb));
  if (!h) return "error " + h.error().to_string();
  if (h->handshake()) {
    auto msg = e2e::decode_handshake(wire::as_bytes(payload));
    if (!msg) return "error " + msg.error().to_string();
    if (const auto* r = std::get_if<e2e::RejectMsg>(&*msg)) return "reject " + std::string(e2e::to_string(r->code));
    const auto* w = std::get_if<e2e::WelcomeMsg>(&*msg);
    if (!w || !c.pending) return "error unexpected handshake";
    auto s = e2e::client_finish(c.link.edge_id, c.kp, *c.pending, *w, c.pending_seq, h->seq);
    if (!s) return "error " + s.error().to_string();
    c.session = *s;
    c.pinned = w->edge_pk;
    c.pending.reset();
    return "session";
  }
  if (!c.session) return "error no session";
  auto plain = c.session->open(wire::as_bytes(hb), h->seq, payload);
  return plain ? "plain " + to_hex(*plain) : "error " + plain.error().to_string();
}

template <typename S>
std::string seal(S& session, wire::FrameHeader h, const std::string& text) {
  h.payload_len = static_cast<std::uint32_t>(text.size() + e2e::kSealOverhead);
  const auto hb = wire::encode_header(h);
  auto sealed = session.seal(hb, h.seq, text);
  if (!sealed) return "error " + sealed.error().to_string();
  return "frame " + e2e::hex(hb) + " " + to_hex(*sealed);
}

}  // namespace

int main() {
  if (!e2e::ready()) return 1;
  Edge edge;
  Client client;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, a, b;
    in >> cmd >> a >> b;
    std::string out;
    if (cmd == "edge-init") {
      edge = Edge{};
      edge.id = a;
      edge.kp = e2e::generate_key_pair();
      edge.secret = e2e::new_secret();
      out = "ok " + e2e::pairing_fragment({a, *edge.secret, e2e::fingerprint(edge.kp.pk)});
    } else if (cmd == "client-init") {
      auto link = e2e::parse_pairing_fragment(a);
      if (!link) {
        out = "error " + link.error().to_string();
      } else {
        client = Client{};
        client.kp = e2e::generate_key_pair();
        client.link = *link;
        out = "ok";
      }
    } else if (cmd == "client-pair" || cmd == "client-hello") {
      out = client_handshake(client, cmd == "client-pair");
    } else if (cmd == "edge-recv") {
      out = edge_recv(edge, a, b);
    } else if (cmd == "client-recv") {
      out = client_recv(client, a, b);
    } else if (cmd == "edge-send") {
      if (!edge.session) {
        out = "error no session";
      } else {
        wire::FrameHeader h;
        h.kind = wire::Kind::edge_to_client;
        h.client = edge.client;
        h.seq = ++edge.seq;
        out = seal(*edge.session, h, from_hex(a));
      }
    } else if (cmd == "client-send") {
      if (!client.session) {
        out = "error no session";
      } else {
        wire::FrameHeader h;
        h.kind = wire::Kind::client_to_edge;
        h.client = e2e::client_id(client.kp.pk);
        h.seq = ++client.seq;
        out = seal(*client.session, h, from_hex(a));
      }
    } else {
      out = "error unknown command " + cmd;
    }
    std::cout << out << std::endl;
  }
  return 0;
}
