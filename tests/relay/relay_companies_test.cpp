// Two companies end to end through two relay nodes (issue 16 "Must show"; label relay): a real
// nats-server, two callbridge-relay nodes, and per company a PBX simulator (callbridge-pbxsim with
// its own system name, so its call ids differ, and its own outside numbers) and a callbridged
// edge with [relay] logged in on one node; the clients are E2eClients (the browser transport's
// protocol in C++: pairing with a `callbridge pair` link, sealed REST requests and event streams).
//   - PopAndClickToDialWithTheClientOnTheOtherNode: a call on acme's PBX pops at acme's user on
//     node 2 (acme's edge is on node 1) with the caller's contact (made through the relay); a
//     click-to-dial through the relay makes the call on the PBX (the call's events from the
//     simulator, the command's outcome, the journal entry); the same for globex the other way.
//   - RandomTrafficStaysInItsCompany: seeded random traffic on both PBXs (seed printed; set
//     CB_RELAY_TEST_SEED to repeat one), four clients per company spread over both nodes at
//     random, random commands from them while calls flow. Every client's messages hold none of
//     the other company's numbers, contacts or call ids; the tenant-wide streams of one company
//     on both nodes carry the same call events; a user's events are the tenant stream's. A client
//     of one company cannot reach the other's edge: hello (not paired), its pairing link at the
//     other edge, a sealed frame to it (no session), an unknown edge, another client's id, the
//     other company's token: each refused, and the relay's and edges' counters/logs say so.
//   - KillTheEdgesNodeMidCallEveryClientGetsEveryEvent: kill -9 of the node with acme's edge while
//     a call rings; the edge logs in on the other node, the clients resume there as the browser's
//     transport does, and each ends with exactly the call events a direct subscriber of the edge's
//     API saw (a call that lived only while the edge was away, and a resume the window could not
//     serve whole, included).
// Waits are conditions with deadlines (no sleeps); every port is bound to 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <set>

#include "e2e_client.hpp"
#include "relay_harness.hpp"
#include "support/child_process.hpp"
#include "support/nats_server.hpp"
#include "support/tcp_proxy.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge::relay::testing {
namespace {

namespace json = boost::json;
using callbridge::testing::ChildProcess;
using callbridge::testing::NatsServer;
using callbridge::testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr int kPool = 10;  // outside numbers per company: prefix + 1000000 .. 1000009

std::string run(const std::string& bin, std::vector<std::string> args, int* code = nullptr) {
  ChildProcess p(bin, std::move(args));
  const int rc = p.wait_exit();
  if (code) *code = rc;
  return p.output();
}
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
json::value parse(const std::string& s) {
  boost::system::error_code ec;
  auto v = json::parse(s, ec);
  return ec ? json::value() : v;
}
// One sample of a Prometheus text ("name value" line); -1 when absent.
double metric(const std::string& text, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("(^|\n)" + name + " ([0-9.e+]+)"))) return -1;
  return std::stod(m[2].str());
}
std::string str(const json::value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

struct Company {
  std::string edge;      // relay edge id and company name: acme, globex
  std::string sysname;   // the PBX's systemname: call ids start with it
  std::string prefix;    // its outside numbers
  std::string contact;   // its contacts' names: "<contact> <n>"
  std::string dir, config;
  std::unique_ptr<ChildProcess> sim, daemon;
  std::uint16_t home = 0;  // the relay node its edge logs in to
  std::map<std::string, std::string> tokens;  // user -> API token
  std::string number(int i) const { return prefix + std::to_string(1'000'000 + i); }
};

class RelayCompanies : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(nats_.ok()) << nats_.log();
    make_certificate(dir_.path());
    std::ofstream(dir_ / "relay.toml") << "registry = \"" << (dir_ / "edges.json") << "\"\n[tls]\ncert_file = \""
                                       << (dir_ / "cert.pem") << "\"\nkey_file = \"" << (dir_ / "key.pem")
                                       << "\"\n[limits]\nclient_frames_per_second = 10000\nclient_burst = 10000\n";
    for (auto* c : {&acme_, &globex_}) {
      int rc = 0;
      const std::string out = run(CALLBRIDGE_RELAY_PATH, {"-c", dir_ / "relay.toml", "edge", "add", c->edge}, &rc);
      ASSERT_EQ(rc, 0) << out;
      join_[c->edge] = first_line(out);
    }
    for (const char* name : {"n1", "n2"}) {
      auto p = std::make_unique<ChildProcess>(
          CALLBRIDGE_RELAY_PATH, std::vector<std::string>{"-c", dir_ / "relay.toml", "serve", "--listen", "127.0.0.1:0",
                                                          "--name", name, "--nats", nats_.url(), "--log-level", "warn"});
      auto m = p->wait_for(std::regex(R"(listening on 127\.0\.0\.1:(\d+))"));
      ASSERT_FALSE(m.empty()) << p->output();
      ports_.push_back(static_cast<std::uint16_t>(std::stoi(m[1].str())));
      nodes_.push_back(std::move(p));
    }
  }
  void TearDown() override {
    clients_.clear();
  }

  // The company's PBX simulator, its users and tokens, and its callbridged logged in at `home`.
  // cps 0: no traffic; `control`: the simulator reads commands on stdin (ring EXT SECONDS).
  void start_company(Company& c, std::uint16_t home, std::uint16_t other, std::uint64_t seed, int max_calls,
                     double cps, bool control = false, const std::string& log_level = "warn") {
    c.home = home;
    c.dir = dir_ / c.edge;
    std::filesystem::create_directories(c.dir);
    // Calls between the outside (the company's own numbers) and seats 100, 103..107; 101 and 102
    // (the queue's members) get no calls of the traffic: they are for click-to-dial.
    std::ofstream(c.dir + "/traffic.toml") << "[traffic]\nseats = 8\ninbound = 0.6\noutbound = 0.3\ninternal = 0.1\n"
                                              "queue = 0.0\nring_min_s = 1\nring_max_s = 4\ntalk_mean_s = 4\n"
                                              "talk_min_s = 1\ntalk_max_s = 12\nexternal_prefix = \""
                                           << c.prefix << "\"\nexternal_pool = " << kPool << "\n";
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--system-name", c.sysname, "--seed",
                                  std::to_string(seed), "--speed", "3"};
    if (cps > 0) {
      args.insert(args.end(), {"--profile", c.dir + "/traffic.toml", "--cps", std::to_string(cps)});
    }
    if (max_calls > 0) {
      args.insert(args.end(), {"--max-calls", std::to_string(max_calls)});
    }
    if (control) args.emplace_back("--control-stdin");
    c.sim = std::make_unique<ChildProcess>(CALLBRIDGE_PBXSIM_PATH, args, control);
    auto m = c.sim->wait_for(std::regex(R"(AMI on 127\.0\.0\.1:(\d+))"));
    ASSERT_FALSE(m.empty()) << c.sim->output();
    c.config = c.dir + "/callbridge.toml";
    std::ofstream(c.config) << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << c.dir << "/data\"\n\n"
                            << "[[pbx]]\nname = \"" << c.sysname << "\"\nhost = \"127.0.0.1\"\nport = " << m[1].str()
                            << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\n\n"
                            << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\n"
                               "base_number = \"555\"\nextension_length = 3\nregion = \"DE\"\n\n"
                            << "[relay]\nurl = \"wss://127.0.0.1:" << home << "\"\nfallback_urls = [\"wss://127.0.0.1:"
                            << other << "\"]\nedge_id = \"" << c.edge << "\"\njoin_token = \"" << join_[c.edge]
                            << "\"\nca_file = \"" << (dir_ / "cert.pem") << "\"\n";
    struct U {
      const char* user;
      const char* role;
      const char* ext;
    };
    for (const U& u : {U{"boss", "admin", ""}, U{"sue", "supervisor", ""}, U{"anna", "user", "100"},
                       U{"ben", "user", "101"}, U{"carl", "user", "103"}}) {
      std::vector<std::string> a{"token", "create", "--config", c.config, "--tenant", "default", "--user", u.user,
                                 "--role", u.role};
      if (*u.ext) a.insert(a.end(), {"--extension", u.ext});
      const std::string out = run(CALLBRIDGE_CLI_PATH, a);
      std::smatch t;
      ASSERT_TRUE(std::regex_search(out, t, std::regex("cbt_[A-Za-z0-9_]+"))) << out;
      c.tokens[u.user] = t[0].str();
    }
    // The operator (the daemon-wide diagnostics: the tunnel's counters).
    const std::string ops = run(CALLBRIDGE_CLI_PATH, {"token", "create", "--config", c.config, "--role", "operator",
                                                      "--user", "ops"});
    std::smatch t;
    ASSERT_TRUE(std::regex_search(ops, t, std::regex("cbt_[A-Za-z0-9_]+"))) << ops;
    c.tokens["ops"] = t[0].str();
    // Warnings only: nobody reads the children's pipes while the clients wait (pump_all() between).
    c.daemon = std::make_unique<ChildProcess>(CALLBRIDGED_PATH,
                                              std::vector<std::string>{"--config", c.config, "--log-level", log_level});
  }

  // Reads what the children wrote (their pipes must not fill up), up to `ms` each.
  void pump_all(int ms) {
    for (auto& n : nodes_)
      if (n->running()) n->pump(ms);
    for (Company* c : {&acme_, &globex_}) {
      if (c->sim && c->sim->running()) c->sim->pump(ms);
      if (c->daemon && c->daemon->running()) c->daemon->pump(ms);
    }
  }
  // Until `pred` holds, reading the children's output meanwhile; false after `limit`.
  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 30s) {
    const auto end = Clock::now() + limit;
    while (!pred()) {
      if (Clock::now() > end) return false;
      pump_all(5);
    }
    return true;
  }

  // A pairing link's fragment from `callbridge pair` on the company's edge.
  std::string pairing(const Company& c, const std::string& label) {
    int rc = 0;
    const std::string out =
        run(CALLBRIDGE_CLI_PATH, {"pair", "--config", c.config, "--tenant", "default", "--label", label, "--no-qr"}, &rc);
    EXPECT_EQ(rc, 0) << out;
    std::smatch m;
    EXPECT_TRUE(std::regex_search(out, m, std::regex(R"(#(pair=[A-Za-z0-9_.-]+))"))) << out;
    return m.empty() ? std::string() : m[1].str();
  }

  // A new client of `c` on node `port`, paired.
  E2eClient& client(const Company& c, const std::string& name, std::uint16_t port) {
    clients_.push_back(std::make_unique<E2eClient>(io_, dir_ / "cert.pem", c.edge, name));
    E2eClient& e = *clients_.back();
    EXPECT_TRUE(e.connect(port)) << name << ": " << e.closed_why() << " " << e.closed_body();
    EXPECT_TRUE(e.wait_edge_online()) << name;
    EXPECT_TRUE(e.pair(pairing(c, name))) << name;
    return e;
  }

  // The company's contacts for its outside numbers, made through the relay by its admin.
  void make_contacts(const Company& c, E2eClient& admin) {
    for (int i = 0; i < kPool; ++i) {
      json::object body{{"kind", "person"},
                        {"display_name", c.contact + " " + std::to_string(i)},
                        {"company", c.edge},
                        {"numbers", json::array{json::object{{"label", "work"}, {"number", c.number(i)}}}}};
      auto r = admin.request("POST", "/api/v1/contacts", json::serialize(body), c.tokens.at("boss"));
      ASSERT_TRUE(r) << "no answer";
      ASSERT_TRUE(r->status == 200 || r->status == 201) << r->status << " " << r->body;
    }
  }

  // The first call event on `device` whose remote has a contact (a screen pop), or null.
  static json::value pop_on(const std::vector<std::string>& events, const std::string& device) {
    for (const auto& e : events) {
      auto v = parse(e);
      if (!v.is_object() || str(v.as_object().if_contains("type")) != "call") continue;
      const auto* call = v.as_object().if_contains("call");
      const auto* conns = call && call->is_object() ? call->as_object().if_contains("connections") : nullptr;
      if (!conns || !conns->is_array()) continue;
      for (const auto& cv : conns->as_array()) {
        if (!cv.is_object() || str(cv.as_object().if_contains("device")) != device) continue;
        const auto* ri = cv.as_object().if_contains("remote_info");
        const auto* contacts = ri && ri->is_object() ? ri->as_object().if_contains("contacts") : nullptr;
        if (contacts && contacts->is_array() && !contacts->as_array().empty()) return cv;
      }
    }
    return nullptr;
  }

  static std::string node_metrics(std::uint16_t port) { return curl(port, "/metrics"); }

  NatsServer nats_;
  TempDir dir_{"relay-companies"};
  IoThread io_;
  std::vector<std::unique_ptr<ChildProcess>> nodes_;
  std::vector<std::uint16_t> ports_;
  std::map<std::string, std::string> join_;
  Company acme_{.edge = "acme", .sysname = "acmepbx", .prefix = "+4989", .contact = "Acme Caller", .dir = {},
                .config = {}, .sim = {}, .daemon = {}, .home = 0, .tokens = {}};
  Company globex_{.edge = "globex", .sysname = "globexpbx", .prefix = "+4940", .contact = "Globex Caller", .dir = {},
                  .config = {}, .sim = {}, .daemon = {}, .home = 0, .tokens = {}};
  std::vector<std::unique_ptr<E2eClient>> clients_;  // before io_ goes
};

TEST_F(RelayCompanies, PopAndClickToDialWithTheClientOnTheOtherNode) {
  const std::uint16_t n1 = ports_[0], n2 = ports_[1];
  ASSERT_NO_FATAL_FAILURE(start_company(acme_, n1, n2, 7, 0, 0.5));
  ASSERT_NO_FATAL_FAILURE(start_company(globex_, n2, n1, 8, 0, 0.5));

  for (Company* c : {&acme_, &globex_}) {
    SCOPED_TRACE(c->edge);
    // Every client on the node its edge is NOT logged in to.
    const std::uint16_t away = c->home == n1 ? n2 : n1;
    E2eClient& boss = client(*c, c->edge + "-boss", away);
    ASSERT_NO_FATAL_FAILURE(make_contacts(*c, boss));
    E2eClient& anna = client(*c, c->edge + "-anna", away);
    const std::int64_t s = anna.subscribe("/api/v1/events", c->tokens.at("anna"));
    ASSERT_GE(s, 0);

    // Screen pop: a call of the company's PBX on Anna's 100 with the caller's contact.
    ASSERT_TRUE(eventually([&] { return !pop_on(anna.events(s), "100").is_null(); }, 90s))
        << c->daemon->output();
    const json::value pop = pop_on(anna.events(s), "100");
    const std::string remote = str(pop.as_object().if_contains("remote"));
    ASSERT_TRUE(remote.starts_with(c->prefix)) << json::serialize(pop);
    const int n = std::stoi(remote.substr(c->prefix.size())) - 1'000'000;
    const auto& contact = pop.at("remote_info").at("contacts").as_array().at(0).as_object();
    EXPECT_EQ(str(contact.if_contains("name")), c->contact + " " + std::to_string(n)) << json::serialize(pop);

    // Click-to-dial through the relay: Ben (101, no traffic there) calls an outside number.
    E2eClient& ben = client(*c, c->edge + "-ben", away);
    const std::int64_t bs = ben.subscribe("/api/v1/events", c->tokens.at("ben"));
    ASSERT_GE(bs, 0);
    const std::string to = c->prefix + "7654321";
    auto r = ben.request("POST", "/api/v1/calls", json::serialize(json::object{{"to", to}, {"from", "101"}}),
                         c->tokens.at("ben"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 202) << r->body;
    const std::string command_id = str(parse(r->body).as_object().if_contains("command_id"));
    ASSERT_FALSE(command_id.empty()) << r->body;
    // The command is done (the PBX's OriginateResponse), the PBX's events show 101 calling `to`.
    auto has = [&](const std::vector<std::string>& evs, const std::string& what) {
      return std::any_of(evs.begin(), evs.end(), [&](const std::string& e) { return e.find(what) != std::string::npos; });
    };
    ASSERT_TRUE(eventually([&] {
      for (const auto& e : ben.events(bs)) {
        auto v = parse(e);
        if (v.is_object() && str(v.as_object().if_contains("type")) == "command" &&
            str(v.at("command").as_object().if_contains("id")) == command_id &&
            str(v.at("command").as_object().if_contains("state")) == "done")
          return true;
      }
      return false;
    }, 60s)) << c->daemon->output();
    ASSERT_TRUE(eventually([&] { return has(ben.events(bs), "\"remote\":\"" + to + "\""); }));
    EXPECT_TRUE(has(ben.events(bs), "\"id\":\"" + c->sysname + "-")) << "the call's id is the PBX's";
    // Its journal entry once the simulated call ended.
    std::optional<E2eClient::Response> journal;
    ASSERT_TRUE(eventually([&] { return has(ben.events(bs), "\"type\":\"journal\""); }, 60s));
    journal = ben.request("GET", "/api/v1/journal?party=101", {}, c->tokens.at("ben"));
    ASSERT_TRUE(journal);
    EXPECT_EQ(journal->status, 200);
    EXPECT_NE(journal->body.find("\"remote\":\"" + to + "\""), std::string::npos) << journal->body;
    EXPECT_NE(journal->body.find("\"direction\":\"outbound\""), std::string::npos) << journal->body;
    for (E2eClient* e : {&boss, &anna, &ben}) EXPECT_EQ(e->open_failures(), 0u) << e->name();
  }
  // Both nodes carried frames over NATS for the other (every client sat on the other node).
  for (std::uint16_t port : {n1, n2}) {
    const std::string m = node_metrics(port);
    EXPECT_GT(metric(m, "relay_bus_received_total"), 0) << m;
    EXPECT_GT(metric(m, "relay_bus_published_total"), 0) << m;
    EXPECT_EQ(metric(m, "relay_edges_connected"), 1) << m;
  }
}


// The call events (type "call") of a stream as seq -> message.
std::map<std::int64_t, std::string> call_events(const std::vector<std::string>& events) {
  std::map<std::int64_t, std::string> out;
  for (const auto& e : events) {
    auto v = parse(e);
    if (!v.is_object() || str(v.as_object().if_contains("type")) != "call") continue;
    const auto* seq = v.as_object().if_contains("seq");
    if (seq && seq->is_int64()) out[seq->as_int64()] = e;
  }
  return out;
}
// What a call event says whoever sees it: seq, event, device, call id (the call object may differ
// by viewer, e.g. the actions offered).
std::string gist(const std::string& e) {
  auto v = parse(e);
  const auto& o = v.as_object();
  return std::to_string(o.at("seq").as_int64()) + " " + str(o.if_contains("event")) + " " + str(o.if_contains("device")) +
         " " + str(o.at("call").as_object().if_contains("id"));
}
// Call ids seen, and those whose last event left no connection but null ones (the call ended).
void calls_of(const std::map<std::int64_t, std::string>& events, std::set<std::string>& seen, std::set<std::string>& ended) {
  for (const auto& [seq, e] : events) {
    auto v = parse(e);
    const auto& call = v.at("call").as_object();
    const std::string id = str(call.if_contains("id"));
    seen.insert(id);
    bool over = true;
    if (const auto* conns = call.if_contains("connections"); conns && conns->is_array()) {
      for (const auto& cv : conns->as_array())
        if (!cv.is_object() || str(cv.as_object().if_contains("state")) != "null") over = false;
    }
    if (over) ended.insert(id);
    else ended.erase(id);
  }
}

TEST_F(RelayCompanies, RandomTrafficStaysInItsCompany) {
  std::uint64_t seed = std::random_device{}();
  if (const char* s = std::getenv("CB_RELAY_TEST_SEED")) seed = std::stoull(s);
  std::cout << "relay_companies_test seed=" << seed << " (CB_RELAY_TEST_SEED=" << seed << " repeats it)" << std::endl;
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::uint16_t n1 = ports_[0], n2 = ports_[1];
  ASSERT_NO_FATAL_FAILURE(start_company(acme_, n1, n2, seed % 100000 + 1, 40, 0.8));
  ASSERT_NO_FATAL_FAILURE(start_company(globex_, n2, n1, seed % 100000 + 2, 40, 0.8));

  struct Member {
    Company* company;
    std::string user;
    std::string ext;     // "" = none
    bool tenant_scope;
    E2eClient* client = nullptr;
    std::int64_t stream = -1;
  };
  std::vector<Member> members;
  for (Company* c : {&acme_, &globex_}) {
    members.push_back({c, "boss", "", true});
    members.push_back({c, "sue", "", true});
    members.push_back({c, "anna", "100", false});
    members.push_back({c, "carl", "103", false});
  }
  // Clients in random order on random nodes, but each company's two tenant-wide streams on
  // different nodes. Every stream resumes from seq 1, so all of a company's tenant-wide streams
  // carry the same history whenever they opened (the API keeps 4096 messages).
  std::shuffle(members.begin(), members.end(), rng);
  std::map<Company*, int> tenant_streams;
  for (auto& m : members) {
    std::uint16_t port = rng() % 2 ? n1 : n2;
    if (m.tenant_scope) port = tenant_streams[m.company]++ ? n2 : n1;
    m.client = &client(*m.company, m.company->edge + "-" + m.user, port);
    if (m.user == "boss") {
      ASSERT_NO_FATAL_FAILURE(make_contacts(*m.company, *m.client));
    }
    m.stream = m.client->subscribe(std::string("/api/v1/events?since=1") + (m.tenant_scope ? "&scope=tenant" : ""),
                                   m.company->tokens.at(m.user));
    ASSERT_GE(m.stream, 0) << m.client->name();
  }

  // Random commands while the calls flow: reads, searches and click-to-dial from the users' own
  // lines to their own company's numbers, by random clients at random moments (after a random
  // number of further events on a random stream).
  std::map<std::string, int> done;
  for (int step = 0; step < 40; ++step) {
    Member& m = members[rng() % members.size()];
    Member& pace = members[rng() % members.size()];
    const std::size_t have = pace.client->events(pace.stream).size(), more = rng() % 4;
    eventually([&] { return pace.client->events(pace.stream).size() >= have + more; }, 500ms);
    const std::string& token = m.company->tokens.at(m.user);
    std::optional<E2eClient::Response> r;
    std::string what;
    switch (rng() % 5) {
      case 0: what = "calls"; r = m.client->request("GET", "/api/v1/calls", {}, token); break;
      case 1: what = "journal"; r = m.client->request("GET", "/api/v1/journal?limit=20", {}, token); break;
      case 2: what = "search"; r = m.client->request("GET", "/api/v1/contacts/search?q=Caller", {}, token); break;
      case 3: what = "me"; r = m.client->request("GET", "/api/v1/me", {}, token); break;
      default:
        if (m.ext.empty()) {
          what = "lines";
          r = m.client->request("GET", "/api/v1/lines", {}, token);
        } else {
          what = "dial";
          const std::string to = m.company->number(static_cast<int>(rng() % kPool));
          r = m.client->request("POST", "/api/v1/calls", json::serialize(json::object{{"to", to}, {"from", m.ext}}), token);
        }
    }
    ASSERT_TRUE(r) << m.client->name() << " " << what << ": no answer";
    if (what == "dial") {
      // 202, or 409 when the line is busy with a call of the traffic at that moment, or 503 once
      // the company's simulator has ended its traffic and gone.
      EXPECT_TRUE(r->status == 202 || r->status == 409 || (r->status == 503 && !m.company->sim->running()))
          << m.client->name() << " " << r->status << " " << r->body;
    } else {
      EXPECT_EQ(r->status, 200) << m.client->name() << " " << what << " " << r->body;
    }
    if (what == "me") {
      EXPECT_NE(r->body.find("\"user\":\"" + m.user + "\""), std::string::npos) << r->body;
    }
    if (what == "search") {
      EXPECT_NE(r->body.find(m.company->contact), std::string::npos) << r->body;
    }
    ++done[what + "/" + std::to_string(r->status)];
  }
  for (const auto& [k, n] : done) std::cout << "  command " << k << ": " << n << "\n";

  // The traffic ends (each simulator starts no call after its 40th); then every tenant-wide
  // stream of a company has the same call events, and every call in them ended.
  for (Company* c : {&acme_, &globex_}) {
    SCOPED_TRACE(c->edge);
    std::vector<Member*> tenant;
    for (auto& m : members)
      if (m.company == c && m.tenant_scope) tenant.push_back(&m);
    ASSERT_EQ(tenant.size(), 2u);
    const bool same = eventually([&] {
      auto a = call_events(tenant[0]->client->events(tenant[0]->stream));
      auto b = call_events(tenant[1]->client->events(tenant[1]->stream));
      std::set<std::string> seen, ended;
      calls_of(a, seen, ended);
      return a == b && !a.empty() && seen == ended;
    }, 120s);
    auto a = call_events(tenant[0]->client->events(tenant[0]->stream));
    auto b = call_events(tenant[1]->client->events(tenant[1]->stream));
    std::set<std::string> seen, ended;
    calls_of(a, seen, ended);
    std::string open;
    for (const auto& id : seen)
      if (!ended.contains(id)) open += " " + id;
    EXPECT_TRUE(same) << a.size() << " vs " << b.size() << " call events, " << seen.size() << " calls, " << ended.size()
                      << " ended; not ended:" << open;
    std::cout << "  " << c->edge << ": " << seen.size() << " calls, " << a.size()
              << " call events, the same on both nodes\n";
    EXPECT_GE(seen.size(), 10u);
    for (const auto& id : seen) EXPECT_TRUE(id.starts_with(c->sysname + "-")) << id;
    // A user's call events are the tenant stream's, message for message (up to the last compared;
    // the comparison may fall into a quiet moment before the last calls).
    for (auto& m : members) {
      if (m.company != c || m.tenant_scope) continue;
      const auto own = call_events(m.client->events(m.stream));
      EXPECT_FALSE(own.empty()) << m.client->name();
      for (const auto& [seq, e] : own) {
        if (seq > a.rbegin()->first) break;  // came after the tenant streams were compared
        auto it = a.find(seq);
        EXPECT_TRUE(it != a.end() && gist(it->second) == gist(e)) << m.client->name() << " seq " << seq << ": " << e;
        EXPECT_NE(e.find("\"" + m.ext + "\""), std::string::npos) << m.client->name() << ": not its line: " << e;
      }
    }
  }

  // Nothing of the other company in anything any client opened: numbers, contacts, call ids.
  for (auto& m : members) {
    const Company& other = m.company == &acme_ ? globex_ : acme_;
    const auto msgs = m.client->messages();
    EXPECT_GT(msgs.size(), 10u) << m.client->name();
    for (const auto& text : msgs) {
      for (const std::string& foreign : {other.prefix, other.contact, other.sysname + "-", std::string("\"") + other.edge + "\""}) {
        EXPECT_EQ(text.find(foreign), std::string::npos) << m.client->name() << " got " << foreign << ": " << text.substr(0, 400);
      }
    }
    EXPECT_EQ(m.client->open_failures(), 0u) << m.client->name();
  }

  // A client of acme cannot address globex's edge.
  Member* acme_boss = nullptr;
  for (auto& m : members)
    if (m.company == &acme_ && m.user == "boss") acme_boss = &m;
  E2eClient& intruder = *acme_boss->client;
  const std::string intruder_hex = wire::client_id_hex(intruder.id());
  const auto rejected = [](E2eClient& e, e2e::RejectCode code) {
    auto r = e.rejects();
    return !r.empty() && r.back() == code;
  };
  // (1) an edge id the relay does not know: 404 before the upgrade.
  {
    E2eClient stranger(io_, dir_ / "cert.pem", "acme", "stranger");
    EXPECT_FALSE(stranger.connect(n2, "initech"));
    EXPECT_EQ(stranger.closed_status(), 404);
    EXPECT_NE(stranger.closed_body().find("unknown-edge"), std::string::npos) << stranger.closed_body();
    EXPECT_NE(node_metrics(n2).find("relay_client_refusals_total{reason=\"unknown-edge\"} 1"), std::string::npos)
        << node_metrics(n2);
  }
  // (2) its paired key says hello to globex: not paired there.
  ASSERT_TRUE(intruder.connect(globex_.home, "globex"));
  ASSERT_TRUE(intruder.wait_edge_online());
  EXPECT_FALSE(intruder.hello());
  EXPECT_TRUE(rejected(intruder, e2e::RejectCode::not_paired));
  ASSERT_FALSE(globex_.daemon->wait_for(std::regex("handshake of client " + intruder_hex + R"( refused \(not-paired\))"))
                   .empty())
      << globex_.daemon->output();
  // (3) a sealed frame of its acme session sent to globex: globex has no session for it.
  EXPECT_TRUE(intruder.send_raw(intruder.seal_frame(
      wire::FrameHeader{.client = intruder.id(), .seq = intruder.next_seq()},
      R"({"t":"req","id":999,"method":"GET","path":"/api/v1/calls","headers":{},"body":""})")));
  EXPECT_TRUE(eventually([&] { return rejected(intruder, e2e::RejectCode::no_session); }));
  // (4) a fresh acme pairing link used at globex: refused there; it still pairs at acme after.
  const std::string link = pairing(acme_, "acme-second");
  {
    E2eClient thief(io_, dir_ / "cert.pem", "globex", "thief");
    ASSERT_TRUE(thief.connect(n1, "globex"));
    ASSERT_TRUE(thief.wait_edge_online());
    EXPECT_FALSE(thief.pair(link));
    EXPECT_TRUE(rejected(thief, e2e::RejectCode::bad_pairing));
    ASSERT_FALSE(globex_.daemon->wait_for(std::regex(R"(refused \(bad-pairing\))")).empty()) << globex_.daemon->output();
  }
  {
    E2eClient second(io_, dir_ / "cert.pem", "acme", "acme-second");
    ASSERT_TRUE(second.connect(n2));
    ASSERT_TRUE(second.wait_edge_online());
    EXPECT_TRUE(second.pair(link));
    // (5) globex's token through acme's tunnel: acme's API does not know it.
    auto r = second.request("GET", "/api/v1/calls", {}, globex_.tokens.at("boss"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << r->body;
    r = second.request("GET", "/api/v1/calls", {}, acme_.tokens.at("boss"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  // globex's edge counted what it refused (diagnostics, the operator's daemon-wide view).
  E2eClient* globex_client = nullptr;
  for (auto& m : members)
    if (m.company == &globex_) globex_client = m.client;
  {
    auto r = globex_client->request("GET", "/api/v1/diagnostics", {}, globex_.tokens.at("ops"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    auto d = parse(r->body);
    ASSERT_TRUE(d.is_object() && d.as_object().contains("relay")) << r->body;
    const auto& t = d.at("relay").at("tunnel").as_object();
    EXPECT_EQ(str(d.at("relay").as_object().if_contains("edge_id")), "globex");
    EXPECT_GE(t.at("handshake_refused").to_number<std::int64_t>(), 1) << r->body;
    EXPECT_GE(t.at("pairing_refused").to_number<std::int64_t>(), 1) << r->body;
    EXPECT_GE(t.at("pairings").to_number<std::int64_t>(), 4) << r->body;
    EXPECT_EQ(t.at("frames_rejected").to_number<std::int64_t>(), 0) << r->body;
  }
  // (6) a frame carrying another client's id (a globex client's): the relay closes the
  // connection and counts it.
  ASSERT_TRUE(intruder.connect(n1, "globex"));
  EXPECT_TRUE(intruder.send_raw(client_frame(globex_client->id(), 1, "not mine")));
  EXPECT_TRUE(intruder.wait_closed());
  EXPECT_EQ(intruder.error_code(), "wrong-client") << intruder.closed_why();
  EXPECT_NE(node_metrics(n1).find("relay_frames_rejected_total{reason=\"wrong-client\"} 1"), std::string::npos)
      << node_metrics(n1);
}

// The API's events of one company as a direct WebSocket subscriber of its callbridged sees them
// (not through the relay): the ground truth. Reads on its own thread until stop().
class DirectSubscriber {
 public:
  bool start(std::uint16_t api_port, const std::string& query, const std::string& token) {
    if (ws_.connect(api_port, query, token) != 101) return false;
    thread_ = std::thread([this] {
      for (;;) {
        errno = 0;
        auto m = ws_.next();
        if (!m) {
          if (!stopping_ && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // 10 s without a message
          return;
        }
        std::lock_guard lock(mu_);
        events_.push_back(json::serialize(*m));
      }
    });
    return true;
  }
  void stop() {
    stopping_ = true;
    ws_.shutdown();
    if (thread_.joinable()) thread_.join();
  }
  ~DirectSubscriber() { stop(); }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  callbridge::testing::WsTextClient ws_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::vector<std::string> events_;
};

// One event stream of a relay client as the page's event stream client keeps it: opened again
// with the API's own since=<last seq> when it ended (a relay gap), messages at or below the last
// seq dropped and counted (duplicates).
struct PageStream {
  E2eClient* client = nullptr;
  std::string path;  // /api/v1/events?...
  std::string token;
  std::vector<std::int64_t> ids;
  bool open() {
    std::string p = path;
    if (const auto last = last_seq(); last > 0) {
      p = std::regex_replace(p, std::regex("since=[0-9]+"), "since=" + std::to_string(last));
    }
    const std::int64_t id = client->subscribe(p, token);
    if (id < 0) return false;
    ids.push_back(id);
    return true;
  }
  // The stream's messages in order, without duplicates; `dups` counts the dropped ones.
  std::vector<std::string> events(std::size_t* dups = nullptr) const {
    std::vector<std::string> out;
    std::int64_t last = 0;
    std::size_t d = 0;
    for (auto id : ids) {
      for (auto& e : client->events(id)) {
        auto v = parse(e);
        const auto* seq = v.is_object() ? v.as_object().if_contains("seq") : nullptr;
        const bool heartbeat = v.is_object() && str(v.as_object().if_contains("type")) == "heartbeat";
        if (!seq || !seq->is_int64() || heartbeat) continue;
        if (seq->as_int64() <= last) {
          ++d;
          continue;
        }
        last = seq->as_int64();
        out.push_back(std::move(e));
      }
    }
    if (dups) *dups = d;
    return out;
  }
  std::int64_t last_seq() const {
    auto e = events();
    return e.empty() ? 0 : parse(e.back()).at("seq").as_int64();
  }
};

// The call events of `all` (seq -> gist) of the call `id`, or of every call when id is empty.
std::map<std::int64_t, std::string> gists(const std::vector<std::string>& all, const std::string& id = {}) {
  std::map<std::int64_t, std::string> out;
  for (const auto& [seq, e] : call_events(all)) {
    const std::string g = gist(e);
    if (id.empty() || g.ends_with(" " + id)) out[seq] = g;
  }
  return out;
}
// The id of the first call with a connection on `device`, and whether its last event ended it.
std::string call_on(const std::vector<std::string>& all, const std::string& device) {
  for (const auto& [seq, e] : call_events(all)) {
    auto v = parse(e);
    for (const auto& cv : v.at("call").at("connections").as_array())
      if (str(cv.as_object().if_contains("device")) == device) return str(v.at("call").as_object().if_contains("id"));
  }
  return {};
}
bool call_ended(const std::vector<std::string>& all, const std::string& id) {
  std::set<std::string> seen, ended;
  calls_of(call_events(all), seen, ended);
  return ended.contains(id);
}

// kill -9 of the relay node that carries acme's edge and some of its clients, while a call rings
// (issue 16 "Must show"): the edge logs in on the other node, the clients of the dead node resume
// there (since = the last edge frame they opened, as the browser's transport; on a gap their
// streams open again with the API's since, as the page's), and every client ends with exactly the
// call events a direct subscriber of the edge's own API saw: same seqs, no gap, no duplicate,
// nothing of globex. Included: the call that rang across the kill (hung up through the relay
// after it), a call that rang and ended while the edge was away (its way to node 2 is held shut
// by a proxy until then), and a client that comes back only after the edge's replay, when node
// 2's window has removed that call's frames (gap). Acme's PBX has no random traffic (its calls are
// the test's, so the outcome does not depend on when a call happens to end); globex's does.
TEST_F(RelayCompanies, KillTheEdgesNodeMidCallEveryClientGetsEveryEvent) {
  const std::uint16_t n1 = ports_[0], n2 = ports_[1];
  callbridge::testing::TcpProxy to_n2(n2);
  const auto via_proxy = static_cast<std::uint16_t>(to_n2.port());
  ASSERT_NO_FATAL_FAILURE(start_company(acme_, n1, via_proxy, 21, 0, 0, true, "info"));
  ASSERT_NO_FATAL_FAILURE(start_company(globex_, n2, n1, 22, 0, 0.5));
  auto api = acme_.daemon->wait_for(std::regex(R"(HTTP API listening on 127\.0\.0\.1:(\d+))"), 30s);
  ASSERT_FALSE(api.empty()) << acme_.daemon->output();
  const auto api_port = static_cast<std::uint16_t>(std::stoi(api[1].str()));
  const std::string on_n1 = "relay: logged in at 127.0.0.1:" + std::to_string(n1);
  const std::string on_n2 = "relay: logged in at 127.0.0.1:" + std::to_string(via_proxy);
  ASSERT_TRUE(eventually([&] { return acme_.daemon->output().find(on_n1) != std::string::npos; }))
      << acme_.daemon->output();

  // The ground truth: the tenant's stream straight from acme's callbridged.
  DirectSubscriber direct;
  ASSERT_TRUE(direct.start(api_port, "?since=1&scope=tenant", acme_.tokens.at("boss")));

  // Acme's clients: tenant-wide streams on both nodes, Ben (101) on the node that dies, Carl (103)
  // on the other; a globex client on the node that dies too (its frames cross the nodes acme's
  // clients are on).
  struct Member {
    E2eClient* client;
    std::uint16_t node;
    PageStream stream;
  };
  std::vector<Member> members;
  const auto add = [&](Company& c, const std::string& user, std::uint16_t node, bool tenant) {
    E2eClient& e = client(c, c.edge + "-" + user, node);
    members.push_back({&e, node, PageStream{&e, std::string("/api/v1/events?since=1") + (tenant ? "&scope=tenant" : ""),
                                           c.tokens.at(user), {}}});
    ASSERT_TRUE(members.back().stream.open()) << e.name();
  };
  ASSERT_NO_FATAL_FAILURE(add(acme_, "boss", n1, true));
  ASSERT_NO_FATAL_FAILURE(add(acme_, "sue", n2, true));
  ASSERT_NO_FATAL_FAILURE(add(acme_, "ben", n1, false));
  ASSERT_NO_FATAL_FAILURE(add(acme_, "carl", n2, false));
  ASSERT_NO_FATAL_FAILURE(add(globex_, "boss", n1, true));
  Member& boss = members[0];
  Member& sue = members[1];
  Member& ben = members[2];
  Member& carl = members[3];
  Member& gboss = members[4];

  // Call A rings at Ben's 101 (an outside caller, up to an hour) and every acme client has it.
  ASSERT_TRUE(acme_.sim->write_stdin("ring 101 3600\n"));
  std::string call_a;
  ASSERT_TRUE(eventually([&] { return !(call_a = call_on(direct.events(), "101")).empty(); }))
      << acme_.sim->output();
  for (Member* m : {&boss, &sue, &ben}) {
    ASSERT_TRUE(eventually([&] { return !gists(m->stream.events(), call_a).empty(); })) << m->client->name();
  }
  ASSERT_FALSE(call_ended(direct.events(), call_a));

  // kill -9 of node 1 (acme's edge, Boss, Ben, globex's client). The edge's way to node 2 (its
  // fallback URL, through a proxy) looks down until call B has rung and ended at Carl's 103: a
  // call whose whole life falls in the edge's absence.
  to_n2.refuse(true);
  const auto killed = Clock::now();
  nodes_[0]->signal(SIGKILL);
  const auto ms_since = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
  };
  ASSERT_TRUE(acme_.sim->write_stdin("ring 103 1\n"));
  // Ben and globex's client reconnect at once (the page reconnects to the relay's name; here the
  // surviving node), resuming by the last frame they opened.
  std::map<std::string, long long> resumed_ms;
  const auto resume = [&](Member& m) {
    ASSERT_TRUE(m.client->wait_closed()) << m.client->name();
    ASSERT_TRUE(eventually([&] { return m.client->resume(n2); }, 30s)) << m.client->name();
    resumed_ms[m.client->name()] = ms_since(killed);
    if (m.client->gap()) {
      // As the browser: the streams ended; the page's stream client opens them again by its seq.
      ASSERT_TRUE(eventually([&] { return m.client->wait_edge_online(); }, 60s)) << m.client->name();
      ASSERT_TRUE(m.stream.open()) << m.client->name();
    }
  };
  ASSERT_NO_FATAL_FAILURE(resume(ben));
  ASSERT_NO_FATAL_FAILURE(resume(gboss));
  EXPECT_FALSE(ben.client->gap()) << "nothing of Ben's was removed from node 2's window yet";
  std::string call_b;
  ASSERT_TRUE(eventually([&] {
    call_b = call_on(direct.events(), "103");
    return !call_b.empty() && call_ended(direct.events(), call_b);
  })) << acme_.sim->output();
  ASSERT_EQ(acme_.daemon->output().find(on_n2), std::string::npos) << "the edge was away for all of call B";
  const long long held_ms = ms_since(killed);
  const auto released = Clock::now();
  to_n2.refuse(false);
  long long edge_ms = -1, login_after_release_ms = -1;
  ASSERT_TRUE(eventually([&] {
    if (acme_.daemon->output().find(on_n2) == std::string::npos) return false;
    edge_ms = ms_since(killed);
    login_after_release_ms = ms_since(released);
    return true;
  }, 60s)) << acme_.daemon->output();

  // The edge replayed call B to node 2; Boss comes back only now: node 2's window removed B's
  // earlier frames at its end, so its welcome says gap and its stream resumes from the API.
  const auto truth_b = gists(direct.events(), call_b);
  ASSERT_TRUE(eventually([&] { return gists(sue.stream.events(), call_b) == truth_b; }))
      << "call B did not reach node 2's clients after the edge came back";
  ASSERT_NO_FATAL_FAILURE(resume(boss));
  EXPECT_TRUE(boss.client->gap()) << "the window removed frames of Boss's after its since";

  // Call A, ringing since before the kill, ends now: Ben hangs it up through the relay.
  ASSERT_FALSE(call_ended(direct.events(), call_a)) << "call A must end after the kill";
  auto r = ben.client->request("POST", "/api/v1/calls/" + call_a + "/hangup", "", acme_.tokens.at("ben"));
  ASSERT_TRUE(r) << "no answer through the relay";
  EXPECT_EQ(r->status, 202) << r->body;
  ASSERT_TRUE(eventually([&] { return call_ended(direct.events(), call_a); }, 60s)) << acme_.sim->output();

  // Every acme client has exactly the direct subscriber's call events (Ben and Carl: those of the
  // call at their line).
  const auto truth = gists(direct.events());
  const auto truth_a = gists(direct.events(), call_a);
  const auto own_call = [&](Member* m) { return m == &ben ? call_a : m == &carl ? call_b : std::string(); };
  std::map<std::string, long long> complete_ms;
  for (Member* m : {&boss, &sue, &ben, &carl}) {
    const auto want = gists(direct.events(), own_call(m));
    const bool same = eventually([&] { return gists(m->stream.events(), own_call(m)) == want; }, 30s);
    complete_ms[m->client->name()] = ms_since(killed);
    const auto have = gists(m->stream.events(), own_call(m));
    std::string diff;
    for (const auto& [seq, g] : want)
      if (!have.contains(seq)) diff += "\n  missing " + g;
    for (const auto& [seq, g] : have)
      if (!want.contains(seq) || want.at(seq) != g) diff += "\n  not in the truth " + g;
    EXPECT_TRUE(same) << m->client->name() << ": " << have.size() << " vs " << want.size() << diff;
    std::size_t dups = 0;
    m->stream.events(&dups);
    EXPECT_EQ(dups, 0u) << m->client->name();
    EXPECT_EQ(m->client->open_failures(), 0u) << m->client->name();
    for (const auto& text : m->client->messages()) {
      for (const std::string& foreign : {globex_.prefix, globex_.contact, globex_.sysname + "-"}) {
        EXPECT_EQ(text.find(foreign), std::string::npos) << m->client->name() << " got " << foreign;
      }
    }
  }
  // A user's events are the tenant stream's, message for message.
  for (Member* m : {&ben, &carl}) {
    for (const auto& [seq, g] : gists(m->stream.events())) {
      EXPECT_TRUE(truth.contains(seq) && truth.at(seq) == g) << m->client->name() << " seq " << seq << ": " << g;
    }
  }
  EXPECT_GE(truth_a.size(), 2u);
  EXPECT_GE(truth_b.size(), 2u);
  // Globex's client resumed too and got nothing of acme.
  EXPECT_EQ(gboss.client->open_failures(), 0u);
  for (const auto& text : gboss.client->messages()) {
    for (const std::string& foreign : {acme_.contact, acme_.sysname + "-"}) {
      EXPECT_EQ(text.find(foreign), std::string::npos) << "globex got " << foreign;
    }
  }

  // Call A's journal entry (through the relay): Ben's, inbound from the outside caller.
  std::optional<E2eClient::Response> journal;
  ASSERT_TRUE(eventually([&] {
    journal = ben.client->request("GET", "/api/v1/journal?party=101", {}, acme_.tokens.at("ben"));
    return journal && journal->status == 200 && journal->body.find("\"call_id\":\"" + call_a + "\"") != std::string::npos;
  }, 30s)) << (journal ? journal->body : "no answer");
  {
    const auto rows = parse(journal->body);
    const json::array* list = rows.is_object() && rows.as_object().contains("entries")
                                  ? &rows.at("entries").as_array()
                                  : (rows.is_array() ? &rows.as_array() : nullptr);
    ASSERT_TRUE(list) << journal->body;
    int found = 0;
    for (const auto& row : *list) {
      const auto& o = row.as_object();
      if (str(o.if_contains("call_id")) != call_a) continue;
      ++found;
      EXPECT_EQ(str(o.if_contains("party")), "101") << json::serialize(o);
      EXPECT_EQ(str(o.if_contains("direction")), "inbound") << json::serialize(o);
      EXPECT_EQ(str(o.if_contains("remote")), "+4989123456") << json::serialize(o);
      EXPECT_EQ(o.at("answered").as_bool(), false) << json::serialize(o);
    }
    EXPECT_EQ(found, 1) << journal->body;
  }

  std::cout << "  failover: kill -9 -> " << resumed_ms.size() << " clients resumed on node 2:";
  for (const auto& [name, ms] : resumed_ms) std::cout << " " << name << " " << ms << " ms";
  std::cout << "\n  edge held away " << held_ms << " ms (call B), logged in on node 2 " << login_after_release_ms
            << " ms after the way was free (" << edge_ms << " ms after the kill)\n  every event at:";
  for (const auto& [name, ms] : complete_ms) std::cout << " " << name << " " << ms << " ms";
  std::cout << " after the kill (" << truth.size() << " call events: " << truth_a.size() << " of call A, "
            << truth_b.size() << " of call B)\n";
  direct.stop();
}
}  // namespace
}  // namespace callbridge::relay::testing
