// Cluster mode end to end (docs/cluster.md): one real `nats-server -js`, a real PostgreSQL ([cluster]
// postgres), the PBX simulator (callbridge-pbxsim) and three callbridged nodes with one [[pbx]] link.
// Each node reaches the simulator through its own TcpProxy, which counts what the node sends.
//   - exactly one node owns the link and connects to the simulator; the diagnostics of every node
//     name the owner; kill -9 of the owner: another node (one) owns the link and is up again, within
//     the lease's TTL plus a retry (the failover time is printed);
//   - SIGSTOP of the owner past its lease: another node takes over; once resumed, the old owner
//     declares the loss and sends not one byte more to the PBX (it had events waiting to be read:
//     its session ends on them, unprocessed).
//   - call events on every node (docs/cluster.md "Call events on every node"): WebSocket clients
//     on nodes that do not own the link get every event with the tenant's one sequence; a client
//     resumes with ?since= on another node and gets exactly what it missed; after kill -9 of the
//     owner the sequence goes on.
// Waits are on the nodes' output and HTTP answers with deadlines; figures are printed, not asserted.
#include <gtest/gtest.h>

#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/time.hpp"
#include "support/child_process.hpp"
#include "support/http_get.hpp"
#include "support/nats_server.hpp"
#include "support/tcp_proxy.hpp"
#include "support/temp_dir.hpp"
#include "support/ws_text_client.hpp"

namespace cluster_e2e {
std::shared_ptr<void> start_postgres(std::string& conninfo, std::string& error);  // cluster_e2e_pg.cpp
}

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using callbridge::testing::ChildProcess;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::regex kListening(R"(HTTP API listening on 127\.0\.0\.1:(\d+))");
const std::regex kLinkUp(R"(AMI link to 127\.0\.0\.1:\d+ up)");
const std::regex kOwns(R"(cluster: node (\S+) owns pbx lab)");
const std::regex kLost(R"(cluster: node (\S+) lost the lease of pbx lab)");
const std::regex kFenced(R"(no longer owns the link \(lease lost\))");

struct Node {
  std::string name;
  std::string config;
  std::unique_ptr<callbridge::testing::TcpProxy> proxy;
  std::unique_ptr<ChildProcess> proc;
  int http = 0;
  std::string token;
  bool has(const std::regex& re) const { return std::regex_search(proc->output(), re); }
};


// A WebSocket client of GET /api/v1/events whose frames a thread reads as they come (the test's
// thread meanwhile reads the nodes' output). Frames: seq and the JSON text, heartbeats skipped.
struct EventClient {
  callbridge::testing::WsTextClient ws;
  std::thread reader;
  std::atomic<bool> stop{false};
  std::atomic<bool> ended{false};
  mutable std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::string>> frames;  // in arrival order, snapshot included
  int status = 0;

  EventClient(int port, const std::string& query, const std::string& token) {
    status = ws.connect(static_cast<std::uint16_t>(port), query, token);
    if (status != 101) return;
    reader = std::thread([this] {
      while (!stop) {
        auto m = ws.next();
        if (!m) break;
        std::lock_guard lk(mu);
        frames.emplace_back(m->at("seq").to_number<std::uint64_t>(), json::serialize(*m));
      }
      ended = true;
    });
  }
  ~EventClient() { finish(); }
  // Stops reading after the frame being read (the client goes away there).
  void finish() {
    stop = true;
    if (reader.joinable()) reader.join();
  }
  std::vector<std::pair<std::uint64_t, std::string>> got() const {
    std::lock_guard lk(mu);
    return frames;
  }
  std::size_t count(std::string_view type) const {
    std::lock_guard lk(mu);
    std::size_t n = 0;
    for (const auto& [seq, f] : frames) n += f.find("\"type\":\"" + std::string(type) + "\"") != std::string::npos;
    return n;
  }
  std::uint64_t last_seq() const {
    std::lock_guard lk(mu);
    return frames.empty() ? 0 : frames.back().first;
  }
};

// The frames of `reference` with a seq in (after, upto].
std::vector<std::pair<std::uint64_t, std::string>> between(const std::vector<std::pair<std::uint64_t, std::string>>& f,
                                                           std::uint64_t after, std::uint64_t upto) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (const auto& x : f)
    if (x.first > after && x.first <= upto && x.second.find("\"type\":\"snapshot\"") == std::string::npos)
      out.push_back(x);
  return out;
}

class ClusterE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.ok()) << nats_.log();
    std::string error;
    pg_ = cluster_e2e::start_postgres(pg_conninfo_, error);
    ASSERT_TRUE(pg_) << error;
    // Steady traffic: two new calls a second, 6 s talks on average: events flow at every moment and
    // calls are in progress at any failover.
    sim_ = std::make_unique<ChildProcess>(
        CALLBRIDGE_PBXSIM_PATH,
        std::vector<std::string>{"--listen", "127.0.0.1:0", "--user", "cti", "--secret", "cti-secret", "--seats",
                                 "30", "--cps", "2", "--talk-mean", "6", "--seed", "19"});
    auto m = sim_->wait_for(std::regex(R"(AMI on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(m.empty()) << sim_->output();
    sim_port_ = std::stoi(m[1].str());
  }

  void start_nodes(int n) {
    for (int i = 1; i <= n; ++i) {
      Node node;
      node.name = "n" + std::to_string(i);
      node.proxy = std::make_unique<callbridge::testing::TcpProxy>(sim_port_);
      ASSERT_GT(node.proxy->port(), 0);
      fs::create_directories(dir_ / node.name);
      node.config = dir_ / (node.name + ".toml");
      std::ofstream(node.config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << (dir_ / node.name)
                                 << "/data\"\n\n[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = "
                                 << node.proxy->port()
                                 << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\n"
                                    "connect_timeout_s = 5\nreconnect_min_ms = 20\nreconnect_max_ms = 200\n\n"
                                    "[cluster]\nnode = \""
                                 << node.name << "\"\nnats_url = \"" << nats_.url() << "\"\npostgres = \""
                                 << pg_conninfo_ << "\"\n";
      node.token = admin_token(node.config);
      node.proc = std::make_unique<ChildProcess>(CALLBRIDGED_PATH, std::vector<std::string>{"--config", node.config});
      nodes_.push_back(std::move(node));
    }
    for (auto& node : nodes_) {
      auto m = node.proc->wait_for(kListening);
      ASSERT_FALSE(m.empty()) << node.proc->output();
      node.http = std::stoi(m[1].str());
    }
  }

  // `callbridge token create` with the node's configuration (its identity store, whichever).
  static std::string admin_token(const std::string& config) {
    ChildProcess p(CALLBRIDGE_CLI_PATH, {"token", "create", "--config", config, "--tenant", "default", "--user",
                                         "admin", "--role", "admin"});
    p.wait_exit();
    std::smatch m;
    std::string out = p.output();
    if (!std::regex_search(out, m, std::regex("cbt_[A-Za-z0-9_]+"))) return {};
    return m[0].str();
  }

  // Reads every live node's output until `pred` holds (at most `limit`).
  bool until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 20s) {
    auto end = Clock::now() + limit;
    while (!pred()) {
      if (Clock::now() > end) return false;
      for (auto& n : nodes_)
        if (n.proc->running()) n.proc->pump(10);
    }
    return true;
  }

  bool ready(const Node& n) { return callbridge::testing::http_get(n.http, "/readyz").find(" 200 ") != std::string::npos; }

  Node* owner_up() {
    Node* found = nullptr;
    for (auto& n : nodes_)
      if (n.proc->running() && n.has(kLinkUp)) found = &n;
    return found;
  }

  // The journal as `callbridge journal --config` of node `n` shows it (JSON lines).
  static std::vector<json::object> journal(const Node& n) {
    ChildProcess p(CALLBRIDGE_CLI_PATH, {"journal", "--config", n.config, "--format", "json", "--limit", "1000"});
    p.wait_exit();
    std::vector<json::object> out;
    std::istringstream in(p.output());
    std::string line;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!ec && v.is_object()) out.push_back(v.as_object());
    }
    return out;
  }

  json::object diagnostics(const Node& n) {
    auto raw = callbridge::testing::http_get(n.http, "/api/v1/diagnostics", n.token);
    auto at = raw.find("\r\n\r\n");
    if (at == std::string::npos) return {};
    boost::system::error_code ec;
    auto v = json::parse(raw.substr(at + 4), ec);
    return ec || !v.is_object() ? json::object{} : v.as_object();
  }

  callbridge::testing::NatsServer nats_;
  callbridge::testing::TempDir dir_{"cb-cluster"};
  std::shared_ptr<void> pg_;  // a real PostgreSQL ([cluster] postgres)
  std::string pg_conninfo_;
  std::unique_ptr<ChildProcess> sim_;
  int sim_port_ = 0;
  std::vector<Node> nodes_;  // last: the nodes go first
};

TEST_F(ClusterE2E, OneOwnerConnectsAndAKilledOwnerIsReplaced) {
  start_nodes(3);
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; })) << nodes_[0].proc->output();
  Node* owner = owner_up();
  // Give the others a few lease retries: none of them may start the link.
  auto settle = Clock::now() + 1500ms;
  until([&] { return Clock::now() > settle; });
  int connected = 0, owning = 0;
  for (auto& n : nodes_) {
    connected += n.proxy->connections() > 0;
    owning += n.has(kOwns);
  }
  EXPECT_EQ(connected, 1) << "exactly one node connects to the PBX";
  EXPECT_EQ(owning, 1);

  // Every node's diagnostics name the owner; only the owner has the link (connected) and a token.
  std::uint64_t first_token = 0;
  for (auto& n : nodes_) {
    auto d = diagnostics(n);
    ASSERT_TRUE(d.contains("cluster")) << n.name << ": " << json::serialize(d);
    const auto& c = d.at("cluster").as_object();
    EXPECT_EQ(c.at("node").as_string(), n.name);
    EXPECT_EQ(c.at("nats").at("state").as_string(), "connected");
    const auto& link = c.at("links").as_array().at(0).as_object();
    EXPECT_EQ(link.at("name").as_string(), "lab");
    EXPECT_EQ(link.at("owner").as_string(), owner->name) << n.name;
    const bool ours = &n == owner;
    EXPECT_EQ(link.at("ours").as_bool(), ours) << n.name;
    EXPECT_EQ(d.at("pbx").as_array().size(), ours ? 1u : 0u) << n.name;
    if (ours) {
      first_token = link.at("token").to_number<std::uint64_t>();
      EXPECT_TRUE(d.at("pbx").as_array().at(0).at("connected").as_bool());
    }
    EXPECT_NE(callbridge::testing::http_get(n.http, "/readyz").find(" 200 "), std::string::npos) << n.name;
  }
  EXPECT_GT(first_token, 0u);

  const auto killed_at = Clock::now();
  owner->proc->signal(SIGKILL);
  owner->proc->wait_exit();
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; })) << nodes_[1].proc->output();
  const auto up_at = Clock::now();
  Node* next = owner_up();
  ASSERT_NE(next, owner);
  std::printf("kill -9 of the owner -> the link is up on %s after %lld ms (lease ttl 3000 ms)\n", next->name.c_str(),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(up_at - killed_at).count()));
  owning = 0;
  for (auto& n : nodes_)
    if (&n != owner) owning += n.has(kOwns);
  EXPECT_EQ(owning, 1) << "one node took over";
  auto d = diagnostics(*next);
  const auto& link = d.at("cluster").at("links").as_array().at(0).as_object();
  EXPECT_TRUE(link.at("ours").as_bool());
  EXPECT_GT(link.at("token").to_number<std::uint64_t>(), first_token);
}

TEST_F(ClusterE2E, StoppedOwnerDoesNotActAfterTheTakeover) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; }));
  Node* owner = owner_up();
  Node* other = owner == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  // The owner follows the traffic for a moment.
  auto settle = Clock::now() + 1000ms;
  until([&] { return Clock::now() > settle; });

  owner->proc->signal(SIGSTOP);
  const auto stopped_at = Clock::now();
  ASSERT_TRUE(until([&] { return other->has(kLinkUp); })) << other->proc->output();
  const auto taken_at = Clock::now();
  // Events of the running traffic reach the stopped owner's socket meanwhile.
  auto more = Clock::now() + 1000ms;
  until([&] { return Clock::now() > more; });
  const std::uint64_t sent_before = owner->proxy->to_upstream();
  owner->proc->signal(SIGCONT);
  ASSERT_TRUE(until([&] { return owner->has(kLost); })) << owner->proc->output();
  auto after = Clock::now() + 1000ms;  // anything it would still send has been sent by now
  until([&] { return Clock::now() > after; });

  EXPECT_EQ(owner->proxy->to_upstream(), sent_before) << "the old owner wrote to the PBX after it lost the lease";
  EXPECT_TRUE(owner->proc->running());
  EXPECT_TRUE(other->has(kOwns));
  std::printf("SIGSTOP of the owner -> the other node up after %lld ms; the old owner sent 0 bytes after resuming%s\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(taken_at - stopped_at).count()),
              owner->has(kFenced) ? " (its session ended on the events it had not read: fenced)" : "");
  // The old owner stays out: it sees the other node's lease.
  auto d = diagnostics(*owner);
  const auto& link = d.at("cluster").at("links").as_array().at(0).as_object();
  EXPECT_FALSE(link.at("ours").as_bool());
  EXPECT_EQ(link.at("owner").as_string(), other->name);
  EXPECT_EQ(d.at("pbx").as_array().size(), 0u);
}


// REST on any node (issue 19: "clients connect to any node"): GET /api/v1/calls and /calls/{id} on
// a node that does not own the link show the calls the owner shows (the cluster's mirror of the
// logged call events), not an empty list.
TEST_F(ClusterE2E, TheCallListIsTheSameOnANodeThatDoesNotOwnTheLink) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; })) << nodes_[0].proc->output();
  Node* own = owner_up();
  Node* other = own == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  auto ids = [&](const Node& n) {
    std::set<std::string> out;
    auto raw = callbridge::testing::http_get(n.http, "/api/v1/calls", n.token);
    auto at = raw.find("\r\n\r\n");
    boost::system::error_code ec;
    auto v = at == std::string::npos ? json::value() : json::parse(raw.substr(at + 4), ec);
    if (ec || !v.is_object()) return out;
    for (const auto& c : v.at("calls").as_array()) out.insert(std::string(c.at("id").as_string()));
    return out;
  };
  std::string shared;
  ASSERT_TRUE(until([&] {
    auto a = ids(*own), b = ids(*other);
    for (const auto& id : b)
      if (a.contains(id)) shared = id;
    return !shared.empty();
  })) << "the steady traffic's calls never showed on the other node";
  auto one = callbridge::testing::http_get(other->http, "/api/v1/calls/" + shared, other->token);
  EXPECT_NE(one.find(" 200 "), std::string::npos) << one;
  EXPECT_NE(one.find("\"" + shared + "\""), std::string::npos) << one;
  auto none = callbridge::testing::http_get(other->http, "/api/v1/calls/no-such-call", other->token);
  EXPECT_NE(none.find(" 404 "), std::string::npos) << none;
}

// GET /api/v1/lines on a node that does not own the link shows the line states the owner shows (the
// mirror of the logged line messages), not an empty list; under the steady traffic the two agree at
// some moment (each answer is one instant of a changing picture).
TEST_F(ClusterE2E, TheLinesAreTheSameOnANodeThatDoesNotOwnTheLink) {
  start_nodes(2);
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; })) << nodes_[0].proc->output();
  Node* own = owner_up();
  Node* other = own == &nodes_[0] ? &nodes_[1] : &nodes_[0];
  auto lines = [&](const Node& n) {
    std::map<std::string, std::string> out;
    auto raw = callbridge::testing::http_get(n.http, "/api/v1/lines", n.token);
    auto at = raw.find("\r\n\r\n");
    boost::system::error_code ec;
    auto v = at == std::string::npos ? json::value() : json::parse(raw.substr(at + 4), ec);
    if (ec || !v.is_object()) return out;
    for (const auto& l : v.at("lines").as_array())
      out[std::string(l.at("device").as_string())] = std::string(l.at("state").as_string());
    return out;
  };
  std::map<std::string, std::string> a, b;
  bool busy_seen = false;
  ASSERT_TRUE(until([&] {
    a = lines(*own);
    b = lines(*other);
    for (const auto& [d, st] : b) busy_seen |= st != "idle" && st != "offline";
    return !a.empty() && a == b && busy_seen;
  })) << "owner " << a.size() << " lines, other node " << b.size();
}

// Diagnostics show PostgreSQL's health (issue 19: "NATS and PostgreSQL health; /readyz on each node
// reflects it"): the node checks the server on its own connection every 2 s; with the server gone
// the diagnostics say unreachable with libpq's words and /readyz answers 503 naming it.
TEST_F(ClusterE2E, DiagnosticsAndReadyzShowWhetherPostgresAnswers) {
  start_nodes(1);
  Node& n = nodes_[0];
  auto pg_state = [&] {
    auto d = diagnostics(n);
    if (!d.contains("cluster") || !d.at("cluster").as_object().contains("postgres")) return std::string();
    return std::string(d.at("cluster").at("postgres").at("state").as_string());
  };
  ASSERT_TRUE(until([&] { return pg_state() == "ok" && ready(n); })) << json::serialize(diagnostics(n));
  auto d = diagnostics(n);
  const auto& p = d.at("cluster").at("postgres").as_object();
  EXPECT_NE(p.at("server").as_string().find("postgresql://postgres@127.0.0.1:"), std::string::npos) << json::serialize(p);
  EXPECT_GE(p.at("checks").to_number<std::int64_t>(), 1);
  EXPECT_EQ(p.at("failures").to_number<std::int64_t>(), 0);

  pg_.reset();  // pg_ctl stop -m immediate
  std::string readyz;
  ASSERT_TRUE(until([&] {
    readyz = callbridge::testing::http_get(n.http, "/readyz");
    return readyz.find(" 503 ") != std::string::npos && readyz.find("PostgreSQL") != std::string::npos;
  })) << readyz;  // within one check interval (2 s)
  EXPECT_NE(readyz.find("unreachable"), std::string::npos) << readyz;
  // The admin still asks: a token verified a moment ago is answered from the cache (the
  // diagnostics then say unreachable with libpq's words); once the node cannot tell whether it was
  // revoked, 503 store-unavailable. Never 401 or 429: the store's outage is nobody's failed guess.
  for (int i = 0; i < 12; ++i) {
    auto raw = callbridge::testing::http_get(n.http, "/api/v1/diagnostics", n.token);
    if (raw.find(" 200 ") != std::string::npos) {
      auto d = diagnostics(n);
      EXPECT_EQ(d.at("cluster").at("postgres").at("state").as_string(), "unreachable") << raw;
      EXPECT_FALSE(d.at("cluster").at("postgres").at("last_error").as_string().empty());
    } else {
      EXPECT_NE(raw.find(" 503 "), std::string::npos) << raw;
      EXPECT_NE(raw.find("store-unavailable"), std::string::npos) << raw;
    }
  }
}

// docs/cluster.md "Call events on every node". Three nodes; Z, a supervisor's stream (scope tenant:
// every message of the tenant) on a node that does not own the link, is the reference: its seq
// goes up by exactly one from its snapshot to the end, through the kill -9 of the owner.
TEST_F(ClusterE2E, CallEventsReachEveryNodeAndAClientResumesOnAnotherNode) {
  start_nodes(3);
  ASSERT_TRUE(until([&] { return owner_up() != nullptr; })) << nodes_[0].proc->output();
  Node* owner = owner_up();
  std::vector<Node*> others;
  for (auto& n : nodes_)
    if (&n != owner) others.push_back(&n);
  Node* a = others[0];
  Node* b = others[1];
  ASSERT_TRUE(until([&] { return ready(*a) && ready(*b) && ready(*owner); })) << "a node did not read the stream";

  const std::string q = "?scope=tenant";
  auto z = std::make_unique<EventClient>(b->http, q, b->token);
  ASSERT_EQ(z->status, 101) << z->ws.head();
  // X on the other non-owner: a snapshot with the calls in progress (the simulator keeps ~12 going),
  // then call events.
  auto settle = Clock::now() + 2000ms;
  until([&] { return Clock::now() > settle; });
  auto x = std::make_unique<EventClient>(a->http, q, a->token);
  ASSERT_EQ(x->status, 101);
  ASSERT_TRUE(until([&] { return x->count("call") >= 20; })) << "no call events on a node without the link";
  x->finish();
  const auto xs = x->got();
  x.reset();
  ASSERT_FALSE(xs.empty());
  {
    auto snap = json::parse(xs.front().second).as_object();
    EXPECT_EQ(snap.at("type").as_string(), "snapshot");
    EXPECT_FALSE(snap.at("calls").as_array().empty()) << "the snapshot on a node without the link shows the calls";
    EXPECT_FALSE(snap.at("lines").as_array().empty());
    EXPECT_EQ(xs[1].first, xs[0].first + 1) << "events follow the snapshot's seq";
  }
  const std::uint64_t x_last = xs.back().first;
  // Z got the same frames with the same seq.
  ASSERT_TRUE(until([&] { return z->last_seq() >= x_last; }));
  EXPECT_EQ(between(xs, 0, x_last), between(z->got(), xs.front().first, x_last));

  // X comes back on the owner after a second and a half of traffic: exactly what it missed.
  auto away = Clock::now() + 1500ms;
  until([&] { return Clock::now() > away; });
  auto x2 = std::make_unique<EventClient>(owner->http, q + "&since=" + std::to_string(x_last), owner->token);
  ASSERT_EQ(x2->status, 101);
  ASSERT_TRUE(until([&] { return x2->count("call") >= 10; }));
  const std::uint64_t x2_probe = x2->last_seq();
  ASSERT_TRUE(until([&] { return z->last_seq() >= x2_probe; }));
  {
    const auto got = x2->got();
    EXPECT_EQ(got.front().first, x_last + 1) << "resumed: no snapshot, the first missed event first";
    EXPECT_EQ(got.front().second.find("\"type\":\"snapshot\""), std::string::npos);
    EXPECT_EQ(between(got, x_last, x2_probe), between(z->got(), x_last, x2_probe)) << "none lost, none duplicated";
    std::printf("resume on another node: %zu events missed in 1.5 s, all replayed\n",
                between(got, x_last, x2_probe).size());
  }

  // kill -9 of the owner: X's stream there ends; the link comes up on another node and the seq
  // goes on. X resumes on A with the last seq it got.
  const std::uint64_t before_kill = z->last_seq();
  owner->proc->signal(SIGKILL);
  owner->proc->wait_exit();
  ASSERT_TRUE(until([&] { return x2->ended.load(); }));
  const std::uint64_t x2_last = x2->last_seq();
  x2.reset();
  ASSERT_TRUE(until([&] { return owner_up() != nullptr && owner_up() != owner; }));
  ASSERT_TRUE(until([&] { return z->count("call") > 0 && z->last_seq() > before_kill + 20; }))
      << "no events after the failover";
  auto x3 = std::make_unique<EventClient>(a->http, q + "&since=" + std::to_string(x2_last), a->token);
  ASSERT_EQ(x3->status, 101);
  const std::uint64_t target = z->last_seq() + 10;
  ASSERT_TRUE(until([&] { return x3->last_seq() >= target && z->last_seq() >= target; }));
  const auto got3 = x3->got();
  EXPECT_EQ(got3.front().first, x2_last + 1);
  EXPECT_EQ(between(got3, x2_last, target), between(z->got(), x2_last, target));

  // The reference: one sequence, no gap and no repeat, from its snapshot through the failover.
  z->finish();
  const auto zs = z->got();
  std::size_t after_kill = 0;
  for (std::size_t i = 1; i < zs.size(); ++i) {
    EXPECT_EQ(zs[i].first, zs[i - 1].first + 1) << "at frame " << i << ": " << zs[i].second;
    after_kill += zs[i].first > before_kill;
  }
  EXPECT_GT(after_kill, 20u);
  std::printf("reference stream: seq %llu..%llu through the kill -9 of the owner (%zu events after it)\n",
              static_cast<unsigned long long>(zs.front().first), static_cast<unsigned long long>(zs.back().first),
              after_kill);
}

}  // namespace
