#include "relay/node/router.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "relay/wire/control.hpp"

namespace callbridge::relay::node {
namespace {

using namespace std::chrono_literals;

struct FakePeer : Peer {
  std::vector<std::string> texts;
  std::vector<FrameBytes> frames;
  bool closed = false;
  CloseCode code{};
  std::string error;
  void send_text(std::string text) override { texts.push_back(std::move(text)); }
  void send_binary(FrameBytes frame) override { frames.push_back(std::move(frame)); }
  void close(CloseCode c, std::string e, std::string) override {
    closed = true;
    code = c;
    error = std::move(e);
  }
  std::vector<std::uint64_t> seqs() const {
    std::vector<std::uint64_t> out;
    for (const auto& f : frames) out.push_back(wire::decode_header(wire::as_bytes(*f))->seq);
    return out;
  }
  template <typename T>
  std::vector<T> controls() const {
    std::vector<T> out;
    for (const auto& t : texts) {
      auto c = wire::parse_control(t);
      if (c && std::holds_alternative<T>(*c)) out.push_back(std::get<T>(*c));
    }
    return out;
  }
};

wire::ClientId cid(std::uint8_t n) {
  wire::ClientId id{};
  id[15] = n;
  return id;
}

std::string to_client(std::uint8_t c, std::uint64_t seq, std::uint64_t tag = 0, bool end = false, std::size_t size = 8) {
  wire::FrameHeader h;
  h.kind = wire::Kind::edge_to_client;
  h.client = cid(c);
  h.seq = seq;
  h.call_tag = tag;
  h.flags = end ? wire::kFlagCallEnd : 0;
  return wire::encode_frame(h, std::string(size, 'e'));
}

std::string to_edge(std::uint8_t c, std::uint64_t seq, std::size_t size = 8) {
  wire::FrameHeader h;
  h.kind = wire::Kind::client_to_edge;
  h.client = cid(c);
  h.seq = seq;
  return wire::encode_frame(h, std::string(size, 'c'));
}

const Clock::time_point t0 = Clock::time_point{} + 1000s;

// Several routers joined by an in-memory bus; pump() delivers queued messages in order.
struct FakeCluster {
  struct NodeBus : Bus {
    FakeCluster* cluster;
    Router* router = nullptr;
    std::set<std::string> watched, homes;
    void watch(const std::string& edge, bool on) override { on ? (void)watched.insert(edge) : (void)watched.erase(edge); }
    void home(const std::string& edge, bool on) override { on ? (void)homes.insert(edge) : (void)homes.erase(edge); }
    void publish(std::string subject, std::string data) override {
      cluster->queue.push_back({this, std::move(subject), std::move(data)});
    }
  };
  struct Msg {
    NodeBus* from;
    std::string subject, data;
  };
  std::deque<Msg> queue;
  std::vector<std::unique_ptr<NodeBus>> buses;
  std::set<NodeBus*> dead;

  NodeBus* bus() {
    buses.push_back(std::make_unique<NodeBus>());
    buses.back()->cluster = this;
    return buses.back().get();
  }
  void pump(Clock::time_point now = t0) {
    while (!queue.empty()) {
      Msg m = std::move(queue.front());
      queue.pop_front();
      if (dead.contains(m.from)) continue;
      for (auto& b : buses) {
        if (b.get() == m.from || dead.contains(b.get()) || b->router == nullptr) continue;
        const bool nodes = m.subject == "cbrelay.nodes";
        const auto dot = m.subject.rfind('.');
        const std::string edge = nodes ? "" : m.subject.substr(8, dot - 8);
        const bool toedge = m.subject.ends_with(".toedge");
        if (nodes || (toedge ? b->homes.contains(edge) : b->watched.contains(edge))) {
          b->router->bus_message(m.subject, m.data, now);
        }
      }
    }
  }
};

struct RouterTest : ::testing::Test {
  Metrics metrics;
  RouterOptions options() {
    RouterOptions o;
    o.node = "n1";
    o.max_frame_bytes = 1024;
    return o;
  }
};

TEST_F(RouterTest, EdgeLoginWelcomesAndTellsAboutClients) {
  Router r(options(), metrics);
  FakePeer client, edge;
  auto* conn = r.client_open("acme", cid(1), std::nullopt, &client, t0);
  ASSERT_NE(conn, nullptr);
  ASSERT_EQ(client.controls<wire::Welcome>().size(), 1u);
  EXPECT_EQ(client.controls<wire::Welcome>()[0].edge_online, false);

  r.edge_up("acme", &edge, t0);
  ASSERT_EQ(edge.controls<wire::Welcome>().size(), 1u);
  ASSERT_EQ(edge.controls<wire::ClientState>().size(), 1u);
  EXPECT_EQ(edge.controls<wire::ClientState>()[0], (wire::ClientState{cid(1), true}));
  EXPECT_EQ(client.controls<wire::EdgeState>().back(), wire::EdgeState{true});
  EXPECT_EQ(r.edges_connected(), 1u);

  r.client_closed(conn, t0);
  EXPECT_EQ(edge.controls<wire::ClientState>().back(), (wire::ClientState{cid(1), false}));
  r.edge_closed("acme", &edge, t0);
  EXPECT_EQ(r.edges_connected(), 0u);
}

TEST_F(RouterTest, FramesGoOnlyToTheirClientAndResumeBySince) {
  Router r(options(), metrics);
  FakePeer edge, a, b;
  r.edge_up("acme", &edge, t0);
  auto* ca = r.client_open("acme", cid(1), std::nullopt, &a, t0);
  r.client_open("acme", cid(2), std::nullopt, &b, t0);
  for (std::uint64_t s = 1; s <= 3; ++s) r.edge_binary("acme", &edge, to_client(1, s), t0);
  r.edge_binary("acme", &edge, to_client(2, 50), t0);
  EXPECT_EQ(a.seqs(), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(b.seqs(), (std::vector<std::uint64_t>{50}));

  // a loses its connection after seq 1 arrived; frames 4, 5 come while it is away.
  r.client_closed(ca, t0);
  r.edge_binary("acme", &edge, to_client(1, 4), t0);
  r.edge_binary("acme", &edge, to_client(1, 5), t0);
  FakePeer a2;
  r.client_open("acme", cid(1), 1, &a2, t0);
  EXPECT_EQ(a2.seqs(), (std::vector<std::uint64_t>{2, 3, 4, 5}));
  EXPECT_EQ(a2.controls<wire::Welcome>()[0].gap, false);
  // An edge replaying its outbox after a reconnect: nothing twice.
  r.edge_binary("acme", &edge, to_client(1, 5), t0);
  r.edge_binary("acme", &edge, to_client(1, 6), t0);
  EXPECT_EQ(a2.seqs(), (std::vector<std::uint64_t>{2, 3, 4, 5, 6}));
  EXPECT_EQ(metrics.duplicates, 1u);
  // Without since (a new session): live frames only.
  FakePeer a3;
  r.client_open("acme", cid(1), std::nullopt, &a3, t0);
  EXPECT_TRUE(a3.frames.empty());
  r.edge_binary("acme", &edge, to_client(1, 7), t0);
  EXPECT_EQ(a3.seqs(), (std::vector<std::uint64_t>{7}));
}

TEST_F(RouterTest, CallEndLeavesOnlyTheEndFrame) {
  Router r(options(), metrics);
  FakePeer edge;
  r.edge_up("acme", &edge, t0);
  r.edge_binary("acme", &edge, to_client(1, 1, 42), t0);
  r.edge_binary("acme", &edge, to_client(1, 2, 42), t0);
  r.edge_binary("acme", &edge, to_client(1, 3, 42, true), t0);
  FakePeer late;
  r.client_open("acme", cid(1), 0, &late, t0);
  EXPECT_EQ(late.seqs(), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(r.window_frames(), 1u);
}

TEST_F(RouterTest, ClientFramesReachTheEdgeAfterChecks) {
  Router r(options(), metrics);
  FakePeer edge, a;
  auto* ca = r.client_open("acme", cid(1), std::nullopt, &a, t0);
  r.client_binary(ca, to_edge(1, 1), t0);
  EXPECT_EQ(metrics.drops["edge-offline"], 1u);
  r.edge_up("acme", &edge, t0);
  r.client_binary(ca, to_edge(1, 2), t0);
  ASSERT_EQ(edge.frames.size(), 1u);
  EXPECT_EQ(*edge.frames[0], to_edge(1, 2));
  EXPECT_FALSE(a.closed);
}

TEST_F(RouterTest, AClientSendingAnotherClientsIdIsClosed) {
  Router r(options(), metrics);
  FakePeer edge, a;
  r.edge_up("acme", &edge, t0);
  auto* ca = r.client_open("acme", cid(1), std::nullopt, &a, t0);
  r.client_binary(ca, to_edge(2, 1), t0);
  EXPECT_TRUE(a.closed);
  EXPECT_EQ(a.code, CloseCode::policy);
  EXPECT_EQ(a.error, "wrong-client");
  EXPECT_TRUE(edge.frames.empty());
  EXPECT_EQ(metrics.rejected["wrong-client"], 1u);
}

TEST_F(RouterTest, BadFramesAreRejectedAndCounted) {
  Router r(options(), metrics);
  FakePeer edge;
  r.edge_up("acme", &edge, t0);
  {
    FakePeer a;
    auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
    r.client_binary(c, to_client(1, 1), t0);  // wrong direction
    EXPECT_EQ(a.error, "wrong-kind");
    r.client_closed(c, t0);
  }
  {
    FakePeer a;
    auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
    r.client_binary(c, to_edge(1, 1, 2000), t0);
    EXPECT_EQ(a.error, "oversized");
    EXPECT_EQ(a.code, CloseCode::too_big);
    r.client_closed(c, t0);
  }
  {
    FakePeer a;
    auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
    std::string bad = to_edge(1, 1);
    bad[0] = 9;
    r.client_binary(c, bad, t0);
    EXPECT_EQ(a.error, "malformed");
    r.client_closed(c, t0);
  }
  {
    FakePeer a;
    auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
    r.client_text(c, R"({"type":"edge","state":"online"})");
    EXPECT_EQ(a.error, "bad-control");
    r.client_closed(c, t0);
  }
  EXPECT_TRUE(edge.frames.empty());
  EXPECT_EQ(metrics.rejected["wrong-kind"], 1u);
  EXPECT_EQ(metrics.rejected["oversized"], 1u);
  EXPECT_EQ(metrics.rejected["malformed"], 1u);
  EXPECT_EQ(metrics.rejected["bad-control"], 1u);

  r.edge_binary("acme", &edge, to_edge(1, 1), t0);
  EXPECT_TRUE(edge.closed);
  EXPECT_EQ(edge.error, "wrong-kind");
  EXPECT_EQ(r.clients_connected(), 0u);
}

TEST_F(RouterTest, AFloodingClientIsDropped) {
  RouterOptions o = options();
  o.client_frames_per_second = 10;
  o.client_burst = 20;
  Router r(o, metrics);
  FakePeer edge, a;
  r.edge_up("acme", &edge, t0);
  auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
  std::uint64_t seq = 0;
  // 10 frames a second pass indefinitely.
  for (int i = 0; i < 100; ++i) r.client_binary(c, to_edge(1, ++seq), t0 + std::chrono::milliseconds(100 * i));
  EXPECT_FALSE(a.closed);
  // 40 at once: the burst passes, then the connection is closed.
  const auto later = t0 + 20s;
  for (int i = 0; i < 40 && !a.closed; ++i) r.client_binary(c, to_edge(1, ++seq), later);
  EXPECT_TRUE(a.closed);
  EXPECT_EQ(a.error, "flooding");
  EXPECT_EQ(metrics.drops["flood"], 1u);
  EXPECT_LE(edge.frames.size(), 100u + 21u);
}

TEST_F(RouterTest, ConnectionLimits) {
  RouterOptions o = options();
  o.max_clients = 5;
  o.max_connections_per_client = 2;
  Router r(o, metrics);
  FakePeer p[8];
  EXPECT_NE(r.client_open("acme", cid(1), std::nullopt, &p[0], t0), nullptr);
  EXPECT_NE(r.client_open("acme", cid(1), std::nullopt, &p[1], t0), nullptr);
  EXPECT_EQ(r.client_open("acme", cid(1), std::nullopt, &p[2], t0), nullptr);
  EXPECT_EQ(p[2].error, "too-many-connections");
  EXPECT_EQ(p[2].code, CloseCode::try_later);
  for (int i = 3; i < 6; ++i) EXPECT_NE(r.client_open("acme", cid(static_cast<std::uint8_t>(i)), std::nullopt, &p[i], t0), nullptr);
  EXPECT_EQ(r.client_open("globex", cid(9), std::nullopt, &p[6], t0), nullptr);
  EXPECT_EQ(p[6].error, "node-full");
  EXPECT_EQ(metrics.drops["client-limit"], 2u);
}

TEST_F(RouterTest, EdgesAreIsolated) {
  Router r(options(), metrics);
  FakePeer acme, globex, ca, cg;
  r.edge_up("acme", &acme, t0);
  r.edge_up("globex", &globex, t0);
  auto* a = r.client_open("acme", cid(1), std::nullopt, &ca, t0);
  r.client_open("globex", cid(1), std::nullopt, &cg, t0);  // the same client id at another edge
  r.edge_binary("acme", &acme, to_client(1, 1), t0);
  EXPECT_EQ(ca.frames.size(), 1u);
  EXPECT_TRUE(cg.frames.empty());
  r.client_binary(a, to_edge(1, 1), t0);
  EXPECT_EQ(acme.frames.size(), 1u);
  EXPECT_TRUE(globex.frames.empty());
  EXPECT_EQ(globex.controls<wire::ClientState>().size(), 1u);
  EXPECT_EQ(acme.controls<wire::ClientState>().size(), 1u);
}

TEST_F(RouterTest, DropClientClosesItsConnections) {
  Router r(options(), metrics);
  FakePeer edge, a, b;
  r.edge_up("acme", &edge, t0);
  r.client_open("acme", cid(1), std::nullopt, &a, t0);
  r.client_open("acme", cid(2), std::nullopt, &b, t0);
  r.edge_text("acme", &edge, wire::render_control(wire::DropClient{cid(1), "revoked"}));
  EXPECT_TRUE(a.closed);
  EXPECT_EQ(a.error, "dropped-by-edge");
  EXPECT_FALSE(b.closed);
  r.edge_text("acme", &edge, "{\"type\":\"welcome\",\"node\":\"x\"}");
  EXPECT_TRUE(edge.closed);
  EXPECT_EQ(edge.error, "bad-control");
}

TEST_F(RouterTest, AStrictEdgeShowsNothingAndItsSummariesAreNotKept) {
  Router r(options(), metrics);
  FakePeer edge, c;
  EXPECT_EQ(r.edge_diagnostics("acme", t0).answer, Router::EdgeDiagnostics::Answer::not_here);
  r.edge_up("acme", &edge, t0);  // privacy strict: the default
  r.client_open("acme", cid(1), std::nullopt, &c, t0);
  r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c1", "ringing", "default", "+4989555", "Zed", "100"}));
  EXPECT_FALSE(edge.closed);
  EXPECT_EQ(metrics.rejected["summary-strict"], 1u);
  EXPECT_EQ(metrics.call_summaries, 0u);
  auto d = r.edge_diagnostics("acme", t0);
  EXPECT_EQ(d.answer, Router::EdgeDiagnostics::Answer::strict);
  EXPECT_TRUE(d.json.empty());
}

TEST_F(RouterTest, ARelaxedEdgeShowsItsCallsUntilTheyEnd) {
  Router r(options(), metrics);
  FakePeer edge, other, c;
  r.edge_up("acme", &edge, t0, true);
  r.edge_up("globex", &other, t0);
  r.client_open("acme", cid(1), std::nullopt, &c, t0);
  r.edge_binary("acme", &edge, to_client(1, 1), t0);
  r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c1", "ringing", "default", "+4989555", "Zed Q", "100"}));
  r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c2", "ringing", "default", "+4989777", "", "101"}));
  r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c1", "connected", "default", "+4989555", "Zed Q", "100"}));
  auto d = r.edge_diagnostics("acme", t0 + 5s);
  ASSERT_EQ(d.answer, Router::EdgeDiagnostics::Answer::shown);
  EXPECT_NE(d.json.find(R"("privacy":"relaxed")"), std::string::npos) << d.json;
  EXPECT_NE(d.json.find(R"("call":"c1","state":"connected","tenant":"default","number":"+4989555","name":"Zed Q")"),
            std::string::npos)
      << d.json;
  EXPECT_NE(d.json.find("+4989777"), std::string::npos);
  EXPECT_NE(d.json.find(R"("connected_seconds":5)"), std::string::npos) << d.json;
  EXPECT_NE(d.json.find(R"("frames_to_clients":1)"), std::string::npos) << d.json;
  EXPECT_NE(d.json.find(wire::client_id_hex(cid(1))), std::string::npos) << d.json;
  // Another edge on the same node stays strict.
  EXPECT_EQ(r.edge_diagnostics("globex", t0).answer, Router::EdgeDiagnostics::Answer::strict);
  // A call's end drops its summary.
  r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c1", "ended", "default", "", "", ""}));
  d = r.edge_diagnostics("acme", t0);
  EXPECT_EQ(d.json.find("+4989555"), std::string::npos) << d.json;
  EXPECT_NE(d.json.find("+4989777"), std::string::npos);
  EXPECT_EQ(metrics.call_summaries, 4u);
  // The edge's connection ends: everything it showed is forgotten; a strict login shows nothing.
  r.edge_closed("acme", &edge, t0);
  EXPECT_EQ(r.edge_diagnostics("acme", t0).answer, Router::EdgeDiagnostics::Answer::not_here);
  FakePeer again;
  r.edge_up("acme", &again, t0);
  EXPECT_EQ(r.edge_diagnostics("acme", t0).answer, Router::EdgeDiagnostics::Answer::strict);
  FakePeer relaxed;
  r.edge_up("acme", &relaxed, t0, true);
  d = r.edge_diagnostics("acme", t0);
  EXPECT_EQ(d.json.find("+4989777"), std::string::npos) << d.json;
}

TEST_F(RouterTest, CallSummariesPerEdgeAreBounded) {
  Router r(options(), metrics);
  FakePeer edge;
  r.edge_up("acme", &edge, t0, true);
  for (std::size_t i = 0; i < Router::kMaxCallSummaries + 5; ++i) {
    r.edge_text("acme", &edge, wire::render_control(wire::CallSummary{"c" + std::to_string(i), "ringing", "t", "n", "", ""}));
  }
  auto d = r.edge_diagnostics("acme", t0);
  EXPECT_EQ(d.json.find(R"("call":"c4",)"), std::string::npos);  // the oldest went
  EXPECT_NE(d.json.find(R"("call":"c5",)"), std::string::npos);
  EXPECT_NE(d.json.find(R"("call":"c1004",)"), std::string::npos);
}

TEST_F(RouterTest, ASecondLoginOfTheSameEdgeReplacesTheFirst) {
  Router r(options(), metrics);
  FakePeer old_edge, new_edge, a;
  r.edge_up("acme", &old_edge, t0);
  auto* c = r.client_open("acme", cid(1), std::nullopt, &a, t0);
  r.edge_up("acme", &new_edge, t0);
  EXPECT_TRUE(old_edge.closed);
  EXPECT_EQ(old_edge.error, "replaced");
  r.edge_closed("acme", &old_edge, t0);  // the old one's close arrives later: no effect
  EXPECT_EQ(r.edges_connected(), 1u);
  r.client_binary(c, to_edge(1, 1), t0);
  EXPECT_EQ(new_edge.frames.size(), 1u);
}

TEST_F(RouterTest, IdleWindowsAreReleasedAndAgeExpires) {
  RouterOptions o = options();
  o.window.max_age = 30s;
  o.window_idle = 60s;
  Router r(o, metrics);
  FakePeer edge;
  r.edge_up("acme", &edge, t0);
  r.edge_binary("acme", &edge, to_client(1, 1), t0);
  r.tick(t0 + 29s);
  EXPECT_EQ(r.window_frames(), 1u);
  r.tick(t0 + 31s);
  EXPECT_EQ(r.window_frames(), 0u);
  r.edge_closed("acme", &edge, t0 + 40s);
  r.tick(t0 + 90s);
  EXPECT_EQ(r.windows(), 1u);
  r.tick(t0 + 101s);
  EXPECT_EQ(r.windows(), 0u);
}

// ------------------------------------------------------------------ several nodes, one bus

struct ClusterTest : RouterTest {
  FakeCluster cluster;
  Metrics m1, m2, m3;
  std::unique_ptr<Router> r1, r2, r3;
  void SetUp() override {
    auto mk = [&](const char* name, Metrics& m, std::unique_ptr<Router>& r) {
      auto* bus = cluster.bus();
      RouterOptions o = options();
      o.node = name;
      r = std::make_unique<Router>(o, m, bus);
      bus->router = r.get();
    };
    mk("n1", m1, r1);
    mk("n2", m2, r2);
    mk("n3", m3, r3);
  }
};

TEST_F(ClusterTest, AClientOnAnotherNodeGetsTheEdgesFramesAndViceVersa) {
  FakePeer edge, a;
  r1->edge_up("acme", &edge, t0);
  cluster.pump();
  auto* c = r2->client_open("acme", cid(1), std::nullopt, &a, t0);
  cluster.pump();
  EXPECT_EQ(a.controls<wire::EdgeState>().back(), wire::EdgeState{true});
  ASSERT_EQ(edge.controls<wire::ClientState>().size(), 1u);
  EXPECT_EQ(edge.controls<wire::ClientState>()[0], (wire::ClientState{cid(1), true}));

  r1->edge_binary("acme", &edge, to_client(1, 1), t0);
  r1->edge_binary("acme", &edge, to_client(1, 2), t0);
  cluster.pump();
  EXPECT_EQ(a.seqs(), (std::vector<std::uint64_t>{1, 2}));
  r2->client_binary(c, to_edge(1, 7), t0);
  cluster.pump();
  ASSERT_EQ(edge.frames.size(), 1u);
  EXPECT_EQ(*edge.frames[0], to_edge(1, 7));

  r2->client_closed(c, t0);
  cluster.pump();
  EXPECT_EQ(edge.controls<wire::ClientState>().back(), (wire::ClientState{cid(1), false}));
  // Node 3 never had anything of acme.
  EXPECT_EQ(r3->windows(), 0u);
}

TEST_F(ClusterTest, ClientsOnOtherNodesAreToldWhenTheEdgeComesAndGoes) {
  FakePeer a, edge;
  r2->client_open("acme", cid(1), std::nullopt, &a, t0);
  cluster.pump();
  EXPECT_EQ(a.controls<wire::Welcome>()[0].edge_online, false);
  r1->edge_up("acme", &edge, t0);
  cluster.pump();
  EXPECT_EQ(a.controls<wire::EdgeState>().back(), wire::EdgeState{true});
  // The edge learns of the client on node 2 from node 2's answer.
  ASSERT_FALSE(edge.controls<wire::ClientState>().empty());
  EXPECT_EQ(edge.controls<wire::ClientState>().back(), (wire::ClientState{cid(1), true}));
  r1->edge_closed("acme", &edge, t0);
  cluster.pump();
  EXPECT_EQ(a.controls<wire::EdgeState>().back(), wire::EdgeState{false});
}

TEST_F(ClusterTest, EdgeMovesToAnotherNodeAndReplaysItsOutbox) {
  FakePeer edge1, a;
  r1->edge_up("acme", &edge1, t0);
  cluster.pump();
  r2->client_open("acme", cid(1), std::nullopt, &a, t0);
  cluster.pump();
  for (std::uint64_t s = 1; s <= 3; ++s) r1->edge_binary("acme", &edge1, to_client(1, s), t0);
  cluster.pump();
  // Node 1 dies; the edge reconnects to node 3 and replays frames 2..5 from its outbox.
  cluster.dead.insert(cluster.buses[0].get());
  FakePeer edge3;
  r3->edge_up("acme", &edge3, t0 + 1s);
  cluster.pump(t0 + 1s);
  for (std::uint64_t s = 2; s <= 5; ++s) r3->edge_binary("acme", &edge3, to_client(1, s), t0 + 1s);
  cluster.pump(t0 + 1s);
  EXPECT_EQ(a.seqs(), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(m2.duplicates, 2u);
  // Node 3 learned of the client on node 2 when the edge came up there.
  ASSERT_FALSE(edge3.controls<wire::ClientState>().empty());
  EXPECT_EQ(edge3.controls<wire::ClientState>().back(), (wire::ClientState{cid(1), true}));
}

TEST_F(ClusterTest, AStaleEdgeConnectionIsClosedWhenTheEdgeLogsInElsewhere) {
  FakePeer edge1, edge2;
  r1->edge_up("acme", &edge1, t0);
  cluster.pump();
  r2->edge_up("acme", &edge2, t0);
  cluster.pump();
  EXPECT_TRUE(edge1.closed);
  EXPECT_EQ(edge1.error, "replaced");
  EXPECT_FALSE(edge2.closed);
  r1->edge_closed("acme", &edge1, t0);
  cluster.pump();
  EXPECT_TRUE(r2->edge_online("acme"));
}

TEST_F(ClusterTest, ADeadNodesClientsAreGoneAndItsEdgeOffline) {
  FakePeer edge, a, b;
  r1->edge_up("acme", &edge, t0);
  r2->client_open("acme", cid(1), std::nullopt, &a, t0);
  r3->client_open("acme", cid(2), std::nullopt, &b, t0);
  cluster.pump();
  for (int s = 0; s <= 4; ++s) {
    const auto now = t0 + std::chrono::seconds(2 * s);
    r1->tick(now);
    r2->tick(now);
    r3->tick(now);
    cluster.pump(now);
  }
  EXPECT_EQ(edge.controls<wire::ClientState>().back().connected, true);
  // Node 2 stops; 6 s later node 1 tells the edge its client is gone.
  cluster.dead.insert(cluster.buses[1].get());
  for (int s = 5; s <= 10; ++s) {
    const auto now = t0 + std::chrono::seconds(2 * s);
    r1->tick(now);
    r3->tick(now);
    cluster.pump(now);
  }
  auto states = edge.controls<wire::ClientState>();
  EXPECT_NE(std::find(states.begin(), states.end(), wire::ClientState{cid(1), false}), states.end());
  EXPECT_EQ(std::find(states.begin(), states.end(), wire::ClientState{cid(2), false}), states.end());
  // Node 1 stops: node 3's client hears the edge is offline.
  cluster.dead.insert(cluster.buses[0].get());
  for (int s = 11; s <= 16; ++s) {
    const auto now = t0 + std::chrono::seconds(2 * s);
    r3->tick(now);
    cluster.pump(now);
  }
  EXPECT_EQ(b.controls<wire::EdgeState>().back(), wire::EdgeState{false});
}

TEST_F(ClusterTest, AResumeOnANodeWithoutAWindowReportsAGap) {
  FakePeer edge, a;
  r1->edge_up("acme", &edge, t0);
  r1->edge_binary("acme", &edge, to_client(1, 1), t0);
  cluster.pump();
  // Node 3 never saw acme: a client resuming there cannot be served whole.
  r3->client_open("acme", cid(1), 1, &a, t0);
  cluster.pump();
  ASSERT_EQ(a.controls<wire::Welcome>().size(), 1u);
  EXPECT_EQ(a.controls<wire::Welcome>()[0].gap, true);
  // Node 1 has the window: no gap there.
  FakePeer b;
  r1->client_open("acme", cid(1), 1, &b, t0);
  EXPECT_EQ(b.controls<wire::Welcome>()[0].gap, false);
}

TEST_F(ClusterTest, DropClientReachesEveryNode) {
  FakePeer edge, a, b;
  r1->edge_up("acme", &edge, t0);
  r2->client_open("acme", cid(1), std::nullopt, &a, t0);
  r3->client_open("acme", cid(1), std::nullopt, &b, t0);
  cluster.pump();
  r1->edge_text("acme", &edge, wire::render_control(wire::DropClient{cid(1), "revoked"}));
  cluster.pump();
  EXPECT_TRUE(a.closed);
  EXPECT_TRUE(b.closed);
}

}  // namespace
}  // namespace callbridge::relay::node
