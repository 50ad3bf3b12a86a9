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
// Waits are conditions with deadlines (no sleeps); every port is bound to 0.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include <cstdlib>
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
  void start_company(Company& c, std::uint16_t home, std::uint16_t other, std::uint64_t seed, int max_calls,
                     double cps) {
    c.home = home;
    c.dir = dir_ / c.edge;
    std::filesystem::create_directories(c.dir);
    // Calls between the outside (the company's own numbers) and seats 100, 103..107; 101 and 102
    // (the queue's members) get no calls of the traffic: they are for click-to-dial.
    std::ofstream(c.dir + "/traffic.toml") << "[traffic]\nseats = 8\ninbound = 0.6\noutbound = 0.3\ninternal = 0.1\n"
                                              "queue = 0.0\nring_min_s = 1\nring_max_s = 4\ntalk_mean_s = 4\n"
                                              "talk_min_s = 1\ntalk_max_s = 12\nexternal_prefix = \""
                                           << c.prefix << "\"\nexternal_pool = " << kPool << "\n";
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--system-name", c.sysname, "--profile",
                                  c.dir + "/traffic.toml", "--cps", std::to_string(cps), "--seed",
                                  std::to_string(seed), "--speed", "3"};
    if (max_calls > 0) {
      args.insert(args.end(), {"--max-calls", std::to_string(max_calls)});
    }
    c.sim = std::make_unique<ChildProcess>(CALLBRIDGE_PBXSIM_PATH, args);
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
                                              std::vector<std::string>{"--config", c.config, "--log-level", "warn"});
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
}  // namespace
}  // namespace callbridge::relay::testing
