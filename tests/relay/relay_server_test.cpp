// The relay node in-process over real TLS WebSockets: Server + Router + Registry on 127.0.0.1:0, the
// edge's RelayClient and WsClient test clients (label relay). Login and its refusals, frames both
// ways, resume by since, HTTP refusals of bad client URLs, and every limit: oversized frames, another
// client's id, flooding, a client that does not read.
#include <gtest/gtest.h>

#include <fstream>

#include "relay/edge/relay_client.hpp"
#include "relay/node/registry.hpp"
#include "relay/node/server.hpp"
#include "relay_harness.hpp"

namespace callbridge::relay::testing {
namespace {

struct EdgeEvents {
  Inbox inbox;  // text: "connected HEX" / "gone HEX" / "up" / "down"; binary: client frames
};

class RelayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certificate(dir_.path());
    auto reg = node::Registry::load(dir_ / "edges.json");
    ASSERT_TRUE(reg);
    registry_.emplace(std::move(*reg));
    token_ = *registry_->add("acme");
    globex_token_ = *registry_->add("globex");
    ASSERT_TRUE(registry_->save());
  }
  void TearDown() override {
    io_.run([&] { edges_.clear(); });
    io_.run([&] {
      if (server_) server_->stop();
    });
    io_.run([&] { server_.reset(); });
  }

  void start(node::RouterOptions ro = {}, node::ServerOptions so = {}) {
    ro.node = "test-node";
    io_.run([&] {
      router_.emplace(ro, metrics_);
      so.host = "127.0.0.1";
      so.port = 0;
      so.tls_cert_file = dir_ / "cert.pem";
      so.tls_key_file = dir_ / "key.pem";
      server_.emplace(io_.io(), so, *router_, *registry_, metrics_);
      auto st = server_->start();
      ASSERT_TRUE(st) << st.error().to_string();
      port_ = server_->port();
    });
  }

  struct Edge {
    EdgeEvents events;
    std::unique_ptr<edge::RelayClient> link;  // destroyed first
  };
  Edge& edge(const std::string& id, const std::string& token, auth::KeyPair keys = auth::generate_key_pair(),
             bool privacy_relaxed = false) {
    auto e = std::make_unique<Edge>();
    Edge* p = e.get();
    io_.run([&] {
      edge::RelayClientOptions o;
      o.url = "wss://127.0.0.1:" + std::to_string(port_);
      o.edge_id = id;
      o.keys = keys;
      o.join_token = token;
      o.ca_file = dir_ / "cert.pem";
      o.privacy_relaxed = privacy_relaxed;
      o.backoff = net::BackoffPolicy{std::chrono::milliseconds(50), std::chrono::milliseconds(200), 2.0, 0.0};
      auto link = edge::RelayClient::create(io_.io(), o);
      ASSERT_TRUE(link);
      p->link = std::move(*link);
      p->link->set_handlers(edge::EdgeLink::Handlers{
          .client_connected = [p](const wire::ClientId& c) { p->events.inbox.push({Inbox::Item::text, "connected " + wire::client_id_hex(c)}); },
          .client_gone = [p](const wire::ClientId& c) { p->events.inbox.push({Inbox::Item::text, "gone " + wire::client_id_hex(c)}); },
          .frame = [p](const wire::FrameHeader& h, std::span<const std::uint8_t, wire::kHeaderSize> hb, std::string_view payload) {
            p->events.inbox.push({Inbox::Item::binary, wire::encode_frame(h, payload)});
            EXPECT_TRUE(std::equal(hb.begin(), hb.end(), wire::encode_header(h).begin()));
          },
          .link = [p](bool up) { p->events.inbox.push({Inbox::Item::text, up ? "up" : "down"}); },
      });
      p->link->start();
    });
    edges_.push_back(std::move(e));
    return *p;
  }
  bool wait_text(Inbox& in, const std::string& text, std::chrono::milliseconds t = 10s) {
    return in.wait([&](const auto& items) {
      for (const auto& i : items) {
        if (i.kind == Inbox::Item::text && i.data == text) return true;
      }
      return false;
    }, t);
  }
  void edge_send(Edge& e, const wire::ClientId& c, std::string payload, std::uint64_t tag = 0, std::uint16_t flags = 0) {
    io_.run([&] {
      auto h = e.link->next_header(c, flags, tag, static_cast<std::uint32_t>(payload.size()));
      e.link->send(h, std::move(payload));
    });
  }
  std::unique_ptr<TestClient> client(const std::string& query) {
    return std::make_unique<TestClient>(io_, dir_ / "cert.pem", port_, "/v1/client?" + query);
  }
  std::uint64_t metric(const std::function<std::uint64_t(const node::Metrics&)>& f) {
    return io_.run([&] { return f(metrics_); });
  }

  callbridge::testing::TempDir dir_{"relay-server"};
  IoThread io_;
  std::optional<node::Registry> registry_;
  node::Metrics metrics_;
  std::optional<node::Router> router_;
  std::optional<node::Server> server_;
  std::uint16_t port_ = 0;
  std::string token_, globex_token_;
  std::vector<std::unique_ptr<Edge>> edges_;
};

TEST_F(RelayServerTest, EdgeJoinsOnceThenLogsInWithItsKey) {
  start();
  const auth::KeyPair keys = auth::generate_key_pair();
  {
    Edge& e = edge("acme", token_, keys);
    ASSERT_TRUE(wait_text(e.events.inbox, "up"));
    EXPECT_EQ(io_.run([&] { return e.link->status().node; }), "test-node");
    io_.run([&] { edges_.clear(); });
  }
  std::ifstream in(dir_ / "edges.json");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find(auth::b64url(keys.public_key)), std::string::npos);
  EXPECT_EQ(text.find(token_), std::string::npos);
  Edge& again = edge("acme", "", keys);
  ASSERT_TRUE(wait_text(again.events.inbox, "up"));
  EXPECT_EQ(metric([](const auto& m) { return m.edge_logins.at("ok"); }), 2u);
}

TEST_F(RelayServerTest, LoginRefusals) {
  start();
  Edge& joined = edge("acme", token_);
  ASSERT_TRUE(wait_text(joined.events.inbox, "up"));
  Edge& thief = edge("acme", token_);  // the used token with another key
  Edge& stranger = edge("nobody", token_);
  Edge& no_token = edge("globex", "");
  Edge& wrong_token = edge("globex", token_);
  auto refused = [&](Edge& e, const std::string& code) {
    return io_.run([&] { return e.link->status().last_error; }).starts_with(code);
  };
  for (int i = 0; i < 200 && !(refused(thief, "join-used") && refused(stranger, "unknown-edge") &&
                               refused(no_token, "join-required") && refused(wrong_token, "bad-join-token"));
       ++i) {
    joined.events.inbox.wait([](const auto&) { return false; }, 50ms);
  }
  EXPECT_TRUE(refused(thief, "join-used")) << io_.run([&] { return thief.link->status().last_error; });
  EXPECT_TRUE(refused(stranger, "unknown-edge"));
  EXPECT_TRUE(refused(no_token, "join-required"));
  EXPECT_TRUE(refused(wrong_token, "bad-join-token"));
  EXPECT_FALSE(io_.run([&] { return thief.link->up(); }));
  EXPECT_GE(metric([](const auto& m) { return m.edge_logins.at("join-used"); }), 1u);
  EXPECT_GE(metric([](const auto& m) { return m.edge_logins.at("unknown-edge"); }), 1u);
  // The joined edge stays logged in throughout.
  EXPECT_TRUE(io_.run([&] { return joined.link->up(); }));
}

TEST_F(RelayServerTest, FramesBothWaysAndResumeBySince) {
  start();
  Edge& e = edge("acme", token_);
  ASSERT_TRUE(wait_text(e.events.inbox, "up"));
  const wire::ClientId id = client_id(1);
  auto c = client("edge=acme&client=" + wire::client_id_hex(id));
  ASSERT_TRUE(c->wait_open());
  ASSERT_TRUE(wait_text(e.events.inbox, "connected " + wire::client_id_hex(id)));
  ASSERT_TRUE(c->inbox.wait([](const auto& items) { return !controls<wire::Welcome>(items).empty(); }));
  auto welcome = controls<wire::Welcome>(c->inbox.items());
  ASSERT_EQ(welcome.size(), 1u);
  EXPECT_EQ(welcome[0].edge_online, true);

  for (int i = 0; i < 3; ++i) edge_send(e, id, "event " + std::to_string(i));
  ASSERT_TRUE(c->inbox.wait([](const auto& items) { return binary_seqs(items).size() == 3; }));
  const auto seqs = binary_seqs(c->inbox.items());
  EXPECT_LT(seqs[0], seqs[1]);
  EXPECT_LT(seqs[1], seqs[2]);

  ASSERT_TRUE(c->send(client_frame(id, 1, "command")));
  ASSERT_TRUE(e.events.inbox.wait([](const auto& items) { return count_kind(items, Inbox::Item::binary) == 1; }));
  const auto got = e.events.inbox.items();
  const auto it = std::find_if(got.begin(), got.end(), [](const auto& i) { return i.kind == Inbox::Item::binary; });
  EXPECT_EQ(it->data, client_frame(id, 1, "command"));

  // The client goes away after the first frame; two more arrive meanwhile; it resumes from seqs[0].
  c->close();
  ASSERT_TRUE(c->wait_closed());
  ASSERT_TRUE(wait_text(e.events.inbox, "gone " + wire::client_id_hex(id)));
  edge_send(e, id, "event 3");
  edge_send(e, id, "event 4");
  auto back = client("edge=acme&client=" + wire::client_id_hex(id) + "&since=" + std::to_string(seqs[0]));
  ASSERT_TRUE(back->wait_open());
  ASSERT_TRUE(back->inbox.wait([](const auto& items) { return binary_seqs(items).size() == 4; }));
  ASSERT_FALSE(controls<wire::Welcome>(back->inbox.items()).empty());
  const auto resumed = binary_seqs(back->inbox.items());
  EXPECT_EQ(resumed[0], seqs[1]);
  EXPECT_EQ(resumed[1], seqs[2]);
  EXPECT_EQ(controls<wire::Welcome>(back->inbox.items())[0].gap, false);
}

// Privacy mode (docs/relay.md): only an edge that relaxed its privacy shows anything on
// /v1/diagnostics/EDGE; its call summaries go when the call ends. A strict edge's RelayClient sends
// no summary at all.
TEST_F(RelayServerTest, OnlyARelaxedEdgeShowsItsCallsOnTheDiagnostics) {
  node::ServerOptions so;
  so.diagnostics_token = "diag-0123456789abcdef";
  start({}, so);
  Edge& acme = edge("acme", token_, auth::generate_key_pair(), true);
  Edge& globex = edge("globex", globex_token_);
  ASSERT_TRUE(wait_text(acme.events.inbox, "up"));
  ASSERT_TRUE(wait_text(globex.events.inbox, "up"));
  const wire::ClientId id = client_id(1);
  auto c = client("edge=acme&client=" + wire::client_id_hex(id));
  auto g = client("edge=globex&client=" + wire::client_id_hex(id));
  ASSERT_TRUE(c->wait_open());
  ASSERT_TRUE(g->wait_open());
  const std::string auth = "Authorization: Bearer diag-0123456789abcdef";
  // A summary, then a frame on the same connection: once the client has the frame, the relay has
  // handled the summary.
  auto summary_then_frame = [&](Edge& e, TestClient& to, const wire::CallSummary& s, std::size_t frames) {
    io_.run([&] { e.link->send_call_summary(s); });
    edge_send(e, id, "x");
    return to.inbox.wait([frames](const auto& items) { return binary_seqs(items).size() == frames; });
  };
  ASSERT_TRUE(summary_then_frame(acme, *c, {"c1", "ringing", "default", "+4989111222", "Zora Quendt", "100"}, 1));
  ASSERT_TRUE(summary_then_frame(globex, *g, {"c1", "ringing", "default", "+4930999888", "Kai Strikt", "200"}, 1));

  std::string d = curl(port_, "/v1/diagnostics/acme", auth);
  EXPECT_TRUE(d.ends_with("\n200")) << d;
  EXPECT_NE(d.find(R"("privacy":"relaxed")"), std::string::npos) << d;
  EXPECT_NE(d.find(R"("number":"+4989111222","name":"Zora Quendt","devices":"100")"), std::string::npos) << d;
  EXPECT_NE(d.find(wire::client_id_hex(id)), std::string::npos) << d;
  d = curl(port_, "/v1/diagnostics/globex", auth);
  EXPECT_TRUE(d.ends_with("\n403")) << d;
  EXPECT_NE(d.find("/problems/privacy-strict"), std::string::npos) << d;
  EXPECT_EQ(d.find("4930999888"), std::string::npos) << d;
  EXPECT_EQ(metric([](const auto& m) { return m.call_summaries; }), 1u);
  EXPECT_EQ(metric([](const auto& m) { return m.rejected.contains("summary-strict") ? 1u : 0u; }), 0u)
      << "a strict edge sends no summary at all";
  EXPECT_TRUE(curl(port_, "/v1/diagnostics/acme").ends_with("\n401"));
  EXPECT_TRUE(curl(port_, "/v1/diagnostics/acme", "Authorization: Bearer diag-0123456789abcdeX").ends_with("\n401"));
  EXPECT_TRUE(curl(port_, "/v1/diagnostics/nobody", auth).ends_with("\n404"));
  EXPECT_TRUE(curl(port_, "/v1/diagnostics/Bad_Edge", auth).ends_with("\n400"));
  EXPECT_NE(curl(port_, "/metrics").find("relay_call_summaries_total 1"), std::string::npos);

  ASSERT_TRUE(summary_then_frame(acme, *c, {"c1", "ended", "", "", "", ""}, 2));
  d = curl(port_, "/v1/diagnostics/acme", auth);
  EXPECT_TRUE(d.ends_with("\n200")) << d;
  EXPECT_EQ(d.find("+4989111222"), std::string::npos) << "the call ended: " << d;
  EXPECT_EQ(d.find("Zora"), std::string::npos) << d;
}

TEST_F(RelayServerTest, DiagnosticsAreOffWithoutAToken) {
  start();
  Edge& acme = edge("acme", token_, auth::generate_key_pair(), true);
  ASSERT_TRUE(wait_text(acme.events.inbox, "up"));
  const std::string d = curl(port_, "/v1/diagnostics/acme", "Authorization: Bearer anything-at-all-here");
  EXPECT_TRUE(d.ends_with("\n404")) << d;
  EXPECT_NE(d.find("/problems/diagnostics-off"), std::string::npos) << d;
}

TEST_F(RelayServerTest, BadClientUrlsAreRefusedWithProblems) {
  start();
  const std::string hex = wire::client_id_hex(client_id(1));
  auto unknown = client("edge=nobody&client=" + hex);
  ASSERT_TRUE(unknown->wait_closed());
  EXPECT_EQ(unknown->closed_status(), 404);
  EXPECT_NE(unknown->closed_why().find("/problems/unknown-edge"), std::string::npos) << unknown->closed_why();
  auto bad_client = client("edge=acme&client=xyz");
  ASSERT_TRUE(bad_client->wait_closed());
  EXPECT_EQ(bad_client->closed_status(), 400);
  EXPECT_NE(bad_client->closed_why().find("/problems/bad-client"), std::string::npos);
  auto bad_since = client("edge=acme&client=" + hex + "&since=-1");
  ASSERT_TRUE(bad_since->wait_closed());
  EXPECT_EQ(bad_since->closed_status(), 400);
  auto bad_edge = client("edge=ACME&client=" + hex);
  ASSERT_TRUE(bad_edge->wait_closed());
  EXPECT_EQ(bad_edge->closed_status(), 400);
}

TEST_F(RelayServerTest, ClientBreakingTheRulesIsClosedAndCounted) {
  node::RouterOptions ro;
  ro.max_frame_bytes = 4096;
  ro.client_frames_per_second = 5;
  ro.client_burst = 10;
  start(ro);
  Edge& e = edge("acme", token_);
  ASSERT_TRUE(wait_text(e.events.inbox, "up"));
  const wire::ClientId id = client_id(2);
  const std::string q = "edge=acme&client=" + wire::client_id_hex(id);

  auto big = client(q);
  ASSERT_TRUE(big->wait_open());
  big->send(client_frame(id, 1, std::string(5000, 'x')));
  ASSERT_TRUE(big->wait_closed());
  EXPECT_NE(big->closed_why().find("1009"), std::string::npos) << big->closed_why();

  auto impostor = client(q);
  ASSERT_TRUE(impostor->wait_open());
  impostor->send(client_frame(client_id(3), 1));
  ASSERT_TRUE(impostor->wait_closed());
  EXPECT_NE(impostor->closed_why().find("1008"), std::string::npos) << impostor->closed_why();
  auto errors = controls<wire::ErrorMessage>(impostor->inbox.items());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, "wrong-client");

  auto flood = client(q);
  ASSERT_TRUE(flood->wait_open());
  for (int i = 1; i <= 100; ++i) flood->send(client_frame(id, static_cast<std::uint64_t>(i)));
  ASSERT_TRUE(flood->wait_closed());
  EXPECT_EQ(controls<wire::ErrorMessage>(flood->inbox.items()).at(0).code, "flooding");

  auto text = client(q);
  ASSERT_TRUE(text->wait_open());
  text->send(R"({"type":"drop-client","client":")" + wire::client_id_hex(client_id(9)) + "\"}", true);
  ASSERT_TRUE(text->wait_closed());
  EXPECT_EQ(controls<wire::ErrorMessage>(text->inbox.items()).at(0).code, "bad-control");

  EXPECT_EQ(metric([](const auto& m) { return m.rejected.at("oversized"); }), 1u);
  EXPECT_EQ(metric([](const auto& m) { return m.rejected.at("wrong-client"); }), 1u);
  EXPECT_EQ(metric([](const auto& m) { return m.drops.at("flood"); }), 1u);
  // None of it reached the edge beyond the flood's burst.
  EXPECT_LE(count_kind(e.events.inbox.items(), Inbox::Item::binary), 11u);
  for (const auto& i : e.events.inbox.items()) {
    if (i.kind == Inbox::Item::binary) {
      EXPECT_EQ(wire::decode_header(wire::as_bytes(i.data))->client, id);
    }
  }
}

TEST_F(RelayServerTest, AClientThatDoesNotReadIsDroppedNotBuffered) {
  node::ServerOptions so;
  so.client_queue_bytes = 256 * 1024;
  start({}, so);
  Edge& e = edge("acme", token_);
  ASSERT_TRUE(wait_text(e.events.inbox, "up"));
  const wire::ClientId id = client_id(4);
  auto slow = client("edge=acme&client=" + wire::client_id_hex(id));
  ASSERT_TRUE(slow->wait_open());
  ASSERT_TRUE(wait_text(e.events.inbox, "connected " + wire::client_id_hex(id)));
  slow->set_reading(false);
  // Far more than the socket buffers and the queue bound hold.
  for (int i = 0; i < 2000 && !slow->wait_closed(0ms); ++i) edge_send(e, id, std::string(60000, 'p'));
  ASSERT_TRUE(wait_text(e.events.inbox, "gone " + wire::client_id_hex(id), 20s));
  EXPECT_EQ(metric([](const auto& m) { return m.drops.at("slow-client"); }), 1u);
  // The edge is logged in afterwards (under this flood its own bounded send queue may have made it
  // reconnect once, which is that bound working).
  for (int i = 0; i < 100 && !io_.run([&] { return e.link->up(); }); ++i) e.events.inbox.wait([](const auto&) { return false; }, 50ms);
  EXPECT_TRUE(io_.run([&] { return e.link->up(); }));
}

TEST_F(RelayServerTest, HealthReadinessMetricsAndNoPayloadsInMetrics) {
  start();
  Edge& e = edge("acme", token_);
  ASSERT_TRUE(wait_text(e.events.inbox, "up"));
  EXPECT_EQ(curl(port_, "/healthz"), "ok\n\n200");
  EXPECT_EQ(curl(port_, "/readyz"), "ready\n\n200");
  const std::string m = curl(port_, "/metrics");
  EXPECT_NE(m.find("relay_edges_connected 1"), std::string::npos) << m;
  EXPECT_NE(m.find("relay_edge_logins_total{result=\"ok\"} 1"), std::string::npos) << m;
  EXPECT_EQ(m.find("acme"), std::string::npos) << "no edge names in metrics";
  EXPECT_TRUE(curl(port_, "/nope").ends_with("404"));
  EXPECT_TRUE(curl(port_, "/v1/edge").ends_with("426"));
}

TEST_F(RelayServerTest, TheEdgeReconnectsAndReplaysItsOutbox) {
  start();
  Edge& e = edge("acme", token_);
  ASSERT_TRUE(wait_text(e.events.inbox, "up"));
  const wire::ClientId id = client_id(5);
  // Frames sent while the relay restarts wait in the outbox and arrive after the reconnect.
  const std::uint16_t port = port_;
  io_.run([&] {
    server_->stop();
    server_.reset();
    router_.reset();
  });
  ASSERT_TRUE(wait_text(e.events.inbox, "down"));
  edge_send(e, id, "while away 1");
  edge_send(e, id, "while away 2");
  // A call that ends while the edge is away: its frames stay in the outbox (no relay has them)
  // until the next login replayed them; only then the call's end removes them.
  edge_send(e, id, "call 7 rings", 7);
  edge_send(e, id, "call 7 talks", 7);
  edge_send(e, id, "call 7 ends", 7, wire::kFlagCallEnd);
  EXPECT_EQ(io_.run([&] { return e.link->status().outbox_frames; }), 5u);
  io_.run([&] {
    node::RouterOptions ro;
    ro.node = "test-node-2";
    router_.emplace(ro, metrics_);
    node::ServerOptions so;
    so.host = "127.0.0.1";
    so.port = port;
    so.tls_cert_file = dir_ / "cert.pem";
    so.tls_key_file = dir_ / "key.pem";
    server_.emplace(io_.io(), so, *router_, *registry_, metrics_);
    ASSERT_TRUE(server_->start());
  });
  ASSERT_TRUE(e.events.inbox.wait([](const auto& items) {
    return std::count_if(items.begin(), items.end(), [](const auto& i) { return i.data == "up"; }) == 2;
  }));
  // Replayed at the login (before the link said "up"): the ended call's earlier frames left.
  EXPECT_EQ(io_.run([&] { return e.link->status().outbox_frames; }), 3u);
  // The node's window removed the call's earlier frames at its end: a resume from before them is
  // not whole (gap), and the call's end frame is there. (since=1: the relay reports no gap from 0.)
  auto c = client("edge=acme&client=" + wire::client_id_hex(id) + "&since=1");
  ASSERT_TRUE(c->wait_open());
  ASSERT_TRUE(c->inbox.wait([](const auto& items) { return binary_seqs(items).size() == 3; }));
  ASSERT_FALSE(controls<wire::Welcome>(c->inbox.items()).empty());
  EXPECT_EQ(controls<wire::Welcome>(c->inbox.items())[0].gap, true);
  EXPECT_EQ(io_.run([&] { return e.link->status().logins; }), 2u);
}

}  // namespace
}  // namespace callbridge::relay::testing
