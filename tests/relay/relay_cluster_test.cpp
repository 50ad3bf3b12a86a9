// The callbridge-relay program (label relay): its edge registry commands and --help, and two relay
// nodes joined by a real nats-server (started here on a free port, killed by PID): edges of two
// companies, clients on the other node than their edge, a node killed with SIGKILL while frames
// flow; every client resumes by seq on the surviving node and has every frame exactly once, and no
// frame crosses to the other company.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "relay/edge/relay_client.hpp"
#include "relay_harness.hpp"
#include "support/child_process.hpp"

namespace callbridge::relay::testing {
namespace {

using callbridge::testing::ChildProcess;
using callbridge::testing::TempDir;

struct CliResult {
  int code;
  std::string out;
};

CliResult relay_cli(std::vector<std::string> args) {
  ChildProcess p(CALLBRIDGE_RELAY_PATH, std::move(args));
  const int code = p.wait_exit();
  return {code, p.output()};
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

TEST(RelayProgram, HelpAndEdgeRegistryCommands) {
  TempDir dir("relay-cli");
  const std::string reg = dir / "edges.json";
  auto help = relay_cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("edge add acme"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("serve"), std::string::npos);
  auto serve_help = relay_cli({"serve", "--help"});
  EXPECT_NE(serve_help.out.find("--nats"), std::string::npos) << serve_help.out;

  auto add = relay_cli({"--registry", reg, "edge", "add", "acme"});
  ASSERT_EQ(add.code, 0) << add.out;
  const std::string token = first_line(add.out);
  EXPECT_EQ(token.size(), 43u) << add.out;  // base64url of 32 bytes
  std::ifstream in(reg);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(token), std::string::npos) << "only the digest is stored";

  auto again = relay_cli({"--registry", reg, "edge", "add", "acme"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.out.find("exists already"), std::string::npos) << again.out;
  auto bad = relay_cli({"--registry", reg, "edge", "add", "Acme Corp"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("is not an edge name"), std::string::npos) << bad.out;
  auto list = relay_cli({"--registry", reg, "edge", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_NE(list.out.find("acme"), std::string::npos);
  EXPECT_NE(list.out.find("not joined"), std::string::npos);
  auto reset = relay_cli({"--registry", reg, "edge", "reset", "acme"});
  EXPECT_EQ(reset.code, 0);
  EXPECT_NE(first_line(reset.out), token);
  EXPECT_EQ(relay_cli({"--registry", reg, "edge", "remove", "acme"}).code, 0);
  EXPECT_EQ(relay_cli({"--registry", reg, "edge", "remove", "acme"}).code, 1);
  auto bad_config = relay_cli({"--print-config"});
  EXPECT_NE(bad_config.out.find("[window]"), std::string::npos);
}

class RelayCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    make_certificate(dir_.path());
    nats_ = std::make_unique<ChildProcess>("/usr/sbin/nats-server", std::vector<std::string>{"-a", "127.0.0.1", "-p", "-1"});
    auto m = nats_->wait_for(std::regex(R"(Listening for client connections on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(m.empty()) << nats_->output();
    nats_url_ = "nats://127.0.0.1:" + m[1].str();
    std::ofstream(dir_ / "relay.toml") << "registry = \"" << (dir_ / "edges.json") << "\"\n"
                                       << "[tls]\ncert_file = \"" << (dir_ / "cert.pem") << "\"\nkey_file = \""
                                       << (dir_ / "key.pem") << "\"\n[limits]\nclient_frames_per_second = 10000\n"
                                       << "client_burst = 10000\n";
    for (const char* edge : {"acme", "globex"}) {
      auto add = relay_cli({"-c", dir_ / "relay.toml", "edge", "add", edge});
      ASSERT_EQ(add.code, 0) << add.out;
      tokens_[edge] = first_line(add.out);
    }
  }

  struct Node {
    std::unique_ptr<ChildProcess> proc;
    std::uint16_t port = 0;
  };
  Node node(const std::string& name) {
    Node n;
    n.proc = std::make_unique<ChildProcess>(
        CALLBRIDGE_RELAY_PATH, std::vector<std::string>{"-c", dir_ / "relay.toml", "serve", "--listen", "127.0.0.1:0", "--name",
                                                        name, "--nats", nats_url_, "--log-level", "warn"});
    auto m = n.proc->wait_for(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"));
    EXPECT_FALSE(m.empty()) << n.proc->output();
    if (!m.empty()) n.port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    return n;
  }

  struct Edge {
    Inbox inbox;
    std::map<std::uint8_t, std::vector<std::uint64_t>> sent;  // client -> seqs sent
    std::unique_ptr<edge::RelayClient> link;  // destroyed first
  };
  std::unique_ptr<Edge> edge(const std::string& id, std::uint16_t port, std::uint16_t fallback) {
    auto e = std::make_unique<Edge>();
    Edge* p = e.get();
    io_.run([&] {
      edge::RelayClientOptions o;
      o.url = "wss://127.0.0.1:" + std::to_string(port);
      o.fallback_urls = {"wss://127.0.0.1:" + std::to_string(fallback)};
      o.edge_id = id;
      o.keys = auth::generate_key_pair();
      o.join_token = tokens_[id];
      o.ca_file = dir_ / "cert.pem";
      o.backoff = net::BackoffPolicy{std::chrono::milliseconds(50), std::chrono::milliseconds(300), 2.0, 0.0};
      p->link = std::move(*edge::RelayClient::create(io_.io(), o));
      p->link->set_handlers(edge::EdgeLink::Handlers{
          .client_connected = [p](const wire::ClientId& c) { p->inbox.push({Inbox::Item::text, "connected " + wire::client_id_hex(c)}); },
          .client_gone = [p](const wire::ClientId& c) { p->inbox.push({Inbox::Item::text, "gone " + wire::client_id_hex(c)}); },
          .frame = [p](const wire::FrameHeader& h, auto, std::string_view payload) {
            p->inbox.push({Inbox::Item::binary, wire::encode_frame(h, payload)});
          },
          .link = [p](bool up) { p->inbox.push({Inbox::Item::text, up ? "up" : "down"}); },
      });
      p->link->start();
    });
    return e;
  }
  static bool has_text(Inbox& in, const std::string& text, int times = 1) {
    return in.wait([&](const auto& items) {
      return std::count_if(items.begin(), items.end(), [&](const auto& i) { return i.data == text; }) >= times;
    }, 20s);
  }
  void send(Edge& e, const std::string& edge_name, std::uint8_t c, int n, std::uint64_t tag) {
    io_.run([&] {
      for (int i = 0; i < n; ++i) {
        std::string payload = edge_name + " frame " + std::to_string(i);
        auto h = e.link->next_header(client_id(c), 0, tag, static_cast<std::uint32_t>(payload.size()));
        e.sent[c].push_back(h.seq);
        e.link->send(h, std::move(payload));
      }
    });
  }
  std::unique_ptr<TestClient> client(std::uint16_t port, const std::string& edge, std::uint8_t c,
                                     std::optional<std::uint64_t> since = std::nullopt) {
    std::string q = "/v1/client?edge=" + edge + "&client=" + wire::client_id_hex(client_id(c));
    if (since) q += "&since=" + std::to_string(*since);
    return std::make_unique<TestClient>(io_, dir_ / "cert.pem", port, q);
  }
  // Everything `clients` received over their connections, in order, for one client id.
  static std::vector<std::uint64_t> received(const std::vector<TestClient*>& clients, const std::string& prefix) {
    std::vector<std::uint64_t> out;
    for (auto* c : clients) {
      for (const auto& i : c->inbox.items()) {
        if (i.kind != Inbox::Item::binary) continue;
        auto v = wire::parse_frame(wire::as_bytes(i.data));
        EXPECT_TRUE(v);
        const std::string payload(v->payload.begin(), v->payload.end());
        EXPECT_TRUE(payload.starts_with(prefix)) << "a frame of another company: " << payload;
        out.push_back(v->header.seq);
      }
    }
    return out;
  }
  static bool wait_count(TestClient& c, std::size_t n) {
    return c.inbox.wait([n](const auto& items) { return binary_seqs(items).size() >= n; }, 20s);
  }

  void TearDown() override {
    io_.run([&] { edges_.clear(); });
  }

  TempDir dir_{"relay-cluster"};
  IoThread io_;
  std::vector<std::unique_ptr<Edge>> edges_;
  std::unique_ptr<ChildProcess> nats_;
  std::string nats_url_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(RelayCluster, ClientsOnTheOtherNodeAndANodeKilledMidStream) {
  Node n1 = node("n1");
  Node n2 = node("n2");
  ASSERT_NE(n1.port, 0);
  ASSERT_NE(n2.port, 0);
  EXPECT_TRUE(curl(n1.port, "/readyz").ends_with("200"));

  edges_.push_back(edge("acme", n1.port, n2.port));
  edges_.push_back(edge("globex", n2.port, n1.port));
  Edge* acme = edges_[0].get();
  Edge* globex = edges_[1].get();
  ASSERT_TRUE(has_text(acme->inbox, "up"));
  ASSERT_TRUE(has_text(globex->inbox, "up"));

  // acme's client 1 on node 2 (not its edge's), client 2 on node 1; globex's client with the
  // same id bytes as acme's client 1, on node 1 (not its edge's).
  auto a = client(n2.port, "acme", 1);
  auto b = client(n1.port, "acme", 2);
  auto g = client(n1.port, "globex", 1);
  ASSERT_TRUE(a->wait_open());
  ASSERT_TRUE(b->wait_open());
  ASSERT_TRUE(g->wait_open());
  ASSERT_TRUE(has_text(acme->inbox, "connected " + wire::client_id_hex(client_id(1))));
  ASSERT_TRUE(has_text(acme->inbox, "connected " + wire::client_id_hex(client_id(2))));
  ASSERT_TRUE(has_text(globex->inbox, "connected " + wire::client_id_hex(client_id(1))));

  for (int round = 0; round < 5; ++round) {
    send(*acme, "acme", 1, 10, 100 + round);
    send(*acme, "acme", 2, 10, 200 + round);
    send(*globex, "globex", 1, 10, 300 + round);
  }
  ASSERT_TRUE(wait_count(*a, 50));
  ASSERT_TRUE(wait_count(*b, 50));
  ASSERT_TRUE(wait_count(*g, 50));

  // Client to edge across nodes: a (node 2) -> acme's edge (node 1).
  ASSERT_TRUE(a->send(client_frame(client_id(1), 1, "command")));
  ASSERT_TRUE(acme->inbox.wait([](const auto& items) { return count_kind(items, Inbox::Item::binary) == 1; }, 20s));
  EXPECT_EQ(count_kind(globex->inbox.items(), Inbox::Item::binary), 0u);

  // Node 1 dies with acme's edge, client b and globex's client g on it.
  n1.proc->signal(SIGKILL);
  EXPECT_EQ(n1.proc->wait_exit(), -SIGKILL);
  send(*acme, "acme", 1, 10, 110);
  send(*acme, "acme", 2, 10, 210);
  send(*globex, "globex", 1, 10, 310);
  ASSERT_TRUE(b->wait_closed());
  ASSERT_TRUE(g->wait_closed());
  ASSERT_TRUE(has_text(acme->inbox, "up", 2)) << "acme's edge reconnects to node 2";
  EXPECT_EQ(io_.run([&] { return acme->link->status().node; }), "n2");

  // The clients come back on node 2 and resume after the last seq they have.
  auto b2 = client(n2.port, "acme", 2, binary_seqs(b->inbox.items()).back());
  auto g2 = client(n2.port, "globex", 1, binary_seqs(g->inbox.items()).back());
  ASSERT_TRUE(b2->wait_open());
  ASSERT_TRUE(g2->wait_open());
  ASSERT_TRUE(wait_count(*a, 60));
  ASSERT_TRUE(b2->inbox.wait([&](const auto& items) { return binary_seqs(b->inbox.items()).size() + binary_seqs(items).size() >= 60; }, 20s));
  ASSERT_TRUE(g2->inbox.wait([&](const auto& items) { return binary_seqs(g->inbox.items()).size() + binary_seqs(items).size() >= 60; }, 20s));

  // Every frame exactly once, in order, and only its own company's.
  EXPECT_EQ(received({a.get()}, "acme"), acme->sent[1]);
  EXPECT_EQ(received({b.get(), b2.get()}, "acme"), acme->sent[2]);
  EXPECT_EQ(received({g.get(), g2.get()}, "globex"), globex->sent[1]);

  // Commands still reach the moved edge.
  ASSERT_TRUE(b2->send(client_frame(client_id(2), 1, "after failover")));
  ASSERT_TRUE(acme->inbox.wait([](const auto& items) { return count_kind(items, Inbox::Item::binary) == 2; }, 20s));

  const std::string metrics = curl(n2.port, "/metrics");
  EXPECT_NE(metrics.find("relay_edges_connected 2"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("relay_duplicate_frames_total"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::relay::testing
