// Tenant isolation through the real API on a loopback socket: api::HttpServer (port 0) with every
// REST route, call control and the WebSocket event stream; SQLite identity, journal and contact
// stores; real tokens checked by the Authenticator (argon2 on its workers); per tenant a CallModel,
// a CallControlService over a fake PBX, and core::EventHub fan-out. Two tenants use the same user
// names, extensions and teams. Thousands of random operations — PBX call events, journal writes,
// REST requests (calls, call control, commands, journal list/filter/CSV/notes/callback, contacts
// CRUD and lookup, lines, users, tokens, UI settings, me, tickets) and WebSocket subscriptions with
// random scopes, resumes and tickets — by users of both tenants with every role: no answer and no
// event may carry the other tenant's data, and each must follow the role's rule (core/visibility).
// Requests whose tenant was never set (identity rows without a valid tenant) are rejected.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "api/auth.hpp"
#include "api/ws_event_stream.hpp"
#include "app/capability_table.hpp"
#include "capabilities/calls/calls_service.hpp"
#include "core/call_control.hpp"
#include "core/event_hub.hpp"
#include "directory/store/sqlite_contact_store.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"
#include "support/http_client.hpp"
#include "support/ws_text_client.hpp"

namespace callbridge {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using model::CallEventType;
using model::ConnectionState;

static_assert(!std::is_default_constructible_v<api::Principal>, "a principal without a tenant must not compile");
static_assert(!std::is_default_constructible_v<core::Viewer>, "a viewer without a tenant must not compile");

struct TenantInfo {
  std::string name;
  std::string marker;       // in every name, contact, note and remote name of the tenant
  std::string num_prefix;   // every number of the tenant starts with it
  std::string call_prefix;  // every call id of the tenant starts with it
};
const TenantInfo kInfo[2] = {{"ta", "Alpha", "+491100", "ta-call-"}, {"tb", "Bravo", "+492200", "tb-call-"}};
const std::vector<std::string> kDevices = {"100", "101", "102", "103", "104", "105"};

// What the other tenant's data looks like in any text (JSON, CSV): its marker, numbers, call ids,
// or its name as a "tenant" value. `echo`: text the request itself carried (an id asked for),
// which an error message may repeat.
std::string leak_in(std::string text, const TenantInfo& other, const std::vector<std::string>& echo = {}) {
  for (const auto& e : echo) {
    if (e.empty()) continue;
    for (auto p = text.find(e); p != std::string::npos; p = text.find(e, p)) text.replace(p, e.size(), "<asked>");
  }
  for (const std::string& s : {other.marker, other.num_prefix, other.call_prefix, "\"tenant\":\"" + other.name + "\"",
                               "\"tenant\": \"" + other.name + "\""})
    if (text.find(s) != std::string::npos) return s;
  return {};
}

// The array under `key` of a JSON answer (a copy: the parsed document is a temporary).
json::array array_of(const std::string& body, const char* key) { return json::parse(body).at(key).as_array(); }

// Accepts every command at once; a make call's outcome (OriginateResponse) follows on the io
// thread, naming a call of this tenant.
struct FakePbx final : ports::PbxCommands {
  asio::io_context* io = nullptr;
  std::string call_prefix;
  int made = 0;
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    d({});
    asio::post(*io, [cb = r.on_outcome, id = call_prefix + "mc" + std::to_string(++made)] {
      if (cb) cb(id);
    });
  }
  void answer(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hangup(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
    d({});
  }
  void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
};

// One tenant's live side (io thread only, except `info`/`id`).
struct TenantSide {
  TenantSide(int index, core::EventHub& hub, asio::io_context& io)
      : info(kInfo[index]), id(base::TenantId(std::string_view(kInfo[index].name))),
        model(id, [this, &hub](const model::CallEvent& e) { hub.on_call_event(e, model); }) {
    pbx.io = &io;
    pbx.call_prefix = info.call_prefix;
    control = std::make_unique<core::CallControlService>(core::CallControlOptions{.tenant = id}, model, pbx, nullptr);
    // The tenant's command log, publishing as core::TenantRuntime's does (app/command_wiring).
    commands->set_listener([&hub](const core::CommandRecord& r) {
      hub.publish_to_user(r.tenant, r.user, "command",
                          ",\"command\":" + capabilities::calls::command_json(r) + "}");
    });
    hub.add_model(id, &model);
  }
  const TenantInfo& info;
  base::TenantId id;
  model::CallModel model;
  FakePbx pbx;
  std::unique_ptr<core::CallControlService> control;
  base::SystemClock clock;
  std::shared_ptr<core::CommandLog> commands = std::make_shared<core::CommandLog>(core::CommandLogOptions{}, clock);
};

// The whole API of callbridged for two tenants, served by one io thread.
class Stack {
 public:
  explicit Stack(const std::filesystem::path& dir) {
    ids = std::move(*identity::SqliteIdentityStore::open((dir / "identity.db").string()));
    journal = std::move(*journal::SqliteJournalStore::open((dir / "journal.db").string()));
    directory::SqliteContactStoreOptions co;
    co.path = ":memory:";
    contacts = std::move(*directory::SqliteContactStore::open(co));
    // Failures are expected by the thousand here (tenant-less credentials); the limiter would
    // otherwise answer 429 for everyone on 127.0.0.1.
    auth = std::make_unique<api::Authenticator>(*ids, clock, api::AuthOptions{.max_failures = 1'000'000});
    auto to_io = [this](std::function<void()> f) { asio::post(io, std::move(f)); };
    auth->set_offload({&auth_workers, to_io}, {&rest_workers, to_io});
    for (int i = 0; i < 2; ++i) tenants.emplace_back(i, hub, io);
    journal->set_on_committed([this](std::vector<ports::StoredEntry> done) {
      {
        std::lock_guard lock(mu);
        for (const auto& e : done) committed.emplace(e.id, e.entry);
      }
      asio::post(io, [this, done = std::move(done)] {
        for (const auto& e : done) hub.on_journal(e.entry, e.id);
      });
    });

    http = std::make_unique<api::HttpServer>(io, api::HttpServerOptions{.port = 0});
    api::RestDeps d;
    d.identity = ids.get();
    d.auth = auth.get();
    d.clock = &clock;
    d.journal = journal.get();
    d.contacts = contacts.get();
    d.offload = {&rest_workers, to_io};
    d.for_each_model = [this](const std::string& t, const std::function<void(const model::CallModel&)>& f) {
      for (auto& s : tenants)
        if (s.id == t) f(s.model);
    };
    d.call_control = [this](const std::string& t) -> core::CallControlService* {
      for (auto& s : tenants)
        if (s.id == t) return s.control.get();
      return nullptr;
    };
    d.command_log = [this](const std::string& t) -> std::shared_ptr<core::CommandLog> {
      for (auto& s : tenants)
        if (s.id == t) return s.commands;
      return nullptr;
    };
    app::add_api_routes(*http, std::move(d));  // the daemon's REST API: its own routes and every capability
    api::EventStreamOptions eo;
    eo.max_outbox = 100'000;
    events = std::make_unique<api::EventStream>(io, hub, *auth, std::move(eo));
    events->install(*http);
    EXPECT_TRUE(http->start());
    thread = std::thread([this] { io.run(); });
  }
  // Runs f on the io thread and waits for it.
  template <typename F>
  auto run(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }

  ~Stack() {
    run([this] {
      events->stop();
      http->stop();
    });
    work.reset();
    io.stop();
    thread.join();
  }

  std::uint16_t port() const { return http->port(); }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  base::SystemClock clock;
  std::mutex mu;
  std::map<std::int64_t, model::JournalEntry> committed;  // by the journal's writer thread
  std::unique_ptr<identity::SqliteIdentityStore> ids;
  std::unique_ptr<journal::SqliteJournalStore> journal;
  std::unique_ptr<directory::SqliteContactStore> contacts;
  std::unique_ptr<api::Authenticator> auth;
  core::EventHub hub{core::EventHubOptions{.retention = 4096, .encode = api::EventStream::frame_text}};
  std::deque<TenantSide> tenants;
  std::unique_ptr<api::HttpServer> http;
  std::unique_ptr<api::EventStream> events;
  // Destroyed before what their jobs use (queued jobs dropped, running ones joined).
  base::WorkerPool auth_workers{base::WorkerPoolOptions{.name = "t-auth", .threads = 2, .max_queue = 1024, .nice = 0}};
  base::WorkerPool rest_workers{base::WorkerPoolOptions{.name = "t-rest", .threads = 2, .max_queue = 1024, .nice = 0}};
  std::thread thread;
};

// A user the run acts as.
struct Who {
  int t = 0;  // tenant index
  std::string name;
  core::Role role = core::Role::user;
  std::vector<std::string> ext;
  std::string team;
  std::string token;
  std::string token_id;
  bool whole() const { return role != core::Role::user; }
  bool owns(std::string_view d) const { return std::find(ext.begin(), ext.end(), d) != ext.end(); }
};

// A WebSocket subscription and what it may receive.
struct Sub {
  const Who* who = nullptr;
  core::EventScope scope = core::EventScope::own;
  std::unique_ptr<testing::WsTextClient> ws;
  // A fresh subscription's snapshot is read at once and must list exactly these calls (the state
  // when it connected); a resume's snapshot (after resync) comes later and is checked call by call.
  std::optional<std::set<std::string>> snapshot;
  std::uint64_t last_seq = 0;
  int messages = 0;
};

class TenantIsolation : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("cb_isolation_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    stack_ = std::make_unique<Stack>(dir_);
  }
  void TearDown() override {
    subs_.clear();
    stack_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A user of tenant t with a real token in identity.db. Hashing a token secret costs ~0.1-0.5 s
  // of argon2, so the first token's secret and hash are reused under new token ids: every user
  // still has its own token, checked once (argon2) by the Authenticator like any other.
  Who add_user(int t, std::string name, core::Role role, std::vector<std::string> ext, std::string team) {
    const auto& ti = kInfo[t];
    const base::TenantId& tenant = stack_->tenants[t].id;
    ports::User u{.tenant = tenant};
    u.name = name;
    u.role = std::string(core::to_string(role));
    u.display_name = ti.marker + " " + name;
    u.extensions = ext;
    u.team = team;
    EXPECT_TRUE(stack_->ids->put_user(u));
    Who w{t, std::move(name), role, std::move(ext), std::move(team), "", ""};
    if (!template_) {
      auto tok = identity::issue_token(*stack_->ids, tenant, w.name, stack_->clock.now());
      EXPECT_TRUE(tok);
      auto rec = stack_->ids->get_token(tok->id);
      EXPECT_TRUE(rec);
      template_ = Template{tok->token.substr(tok->token.rfind('_') + 1), rec->hash};
      w.token = tok->token;
      w.token_id = tok->id;
      return w;
    }
    ports::TokenRecord rec{.id = stack_->ids->random_hex(8), .tenant = tenant};
    rec.user = w.name;
    rec.hash = template_->hash;
    rec.created_at = stack_->clock.now();
    EXPECT_TRUE(stack_->ids->insert_token(rec));
    w.token = "cbt_" + rec.id + "_" + template_->secret;
    w.token_id = rec.id;
    return w;
  }

  testing::HttpAnswer http(const std::string& method, const std::string& target, const std::string& token,
                           const std::string& body = {}) {
    std::vector<std::string> h;
    if (!token.empty()) h.push_back("Authorization: Bearer " + token);
    return client_->request(method, target, h, body);
  }

  // An extension of a user of w's team (the run's users; the users it creates have no team).
  bool in_team(const Who& w, const std::string& device) const {
    if (w.team.empty()) return false;
    for (const auto& o : people_)
      if (o.t == w.t && o.team == w.team && o.owns(device)) return true;
    return false;
  }
  // GET /api/v1/lines: own lines and the team's; supervisors and admins every line.
  bool sees_line(const Who& w, const std::string& device) const {
    return w.whole() || w.owns(device) || in_team(w, device);
  }
  // A line event or snapshot line of a subscription.
  bool streams_line(const Who& w, core::EventScope scope, const std::string& device) const {
    return scope == core::EventScope::tenant || w.owns(device) || (scope == core::EventScope::team && in_team(w, device));
  }
  bool call_visible(const Who& w, const std::set<std::string>& devices, core::EventScope scope) const {
    if (scope == core::EventScope::tenant) return true;
    return std::any_of(devices.begin(), devices.end(), [&](const std::string& d) { return w.owns(d); });
  }

  std::filesystem::path dir_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<testing::HttpClient> client_;
  std::deque<Who> people_;
  std::vector<std::unique_ptr<Sub>> subs_;
  struct Template {
    std::string secret, hash;
  };
  std::optional<Template> template_;
};

// Credentials whose tenant was never set — a token row, a user row or a session row without a
// valid tenant id — are refused on every route and on the WebSocket, never served as some default.
void untenant(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

TEST_F(TenantIsolation, RandomOperationsOverRestAndWebSocketNeverCrossTenants) {
  const auto started = std::chrono::steady_clock::now();
  client_ = std::make_unique<testing::HttpClient>(stack_->port());
  for (int t = 0; t < 2; ++t) {
    people_.push_back(add_user(t, "adm", core::Role::admin, {}, ""));
    people_.push_back(add_user(t, "sup", core::Role::supervisor, {"103"}, "support"));
    people_.push_back(add_user(t, "u100", core::Role::user, {"100"}, "sales"));
    people_.push_back(add_user(t, "u101", core::Role::user, {"101", "102"}, "sales"));
    people_.push_back(add_user(t, "u104", core::Role::user, {"104"}, "support"));
  }
  // Tenant-less credentials: a token whose row lost its tenant, a user whose row did (token intact),
  // a session whose row did, and a token row whose tenant is no id at all.
  Who ghost_token = add_user(0, "ghost1", core::Role::admin, {"100"}, "");
  Who ghost_user = add_user(0, "ghost2", core::Role::admin, {"100"}, "");
  Who ghost_text = add_user(1, "ghost3", core::Role::admin, {"100"}, "");
  Who ghost_session = add_user(1, "ghost4", core::Role::admin, {"100"}, "");
  auto sess = client_->request("POST", "/api/v1/session", {}, "{\"token\":\"" + ghost_session.token + "\"}");
  ASSERT_EQ(sess.status, 200) << sess.body;
  const std::string cookie = sess.header("set-cookie").substr(0, sess.header("set-cookie").find(';'));
  ASSERT_EQ(client_->request("GET", "/api/v1/me", {"Cookie: " + cookie}).status, 200);
  const auto db = dir_ / "identity.db";
  untenant(db, "UPDATE tokens SET tenant = '' WHERE user = 'ghost1'");
  untenant(db, "UPDATE users SET tenant = '' WHERE name = 'ghost2'");
  untenant(db, "UPDATE tokens SET tenant = 'tb; --' WHERE user = 'ghost3'");
  untenant(db, "UPDATE sessions SET tenant = '' WHERE user = 'ghost4'");

  // Every user's first request pays its argon2 check; send them together so that both auth
  // workers are busy (the run then finds the tokens cached, as a long-running client would).
  {
    std::vector<std::thread> first;
    std::atomic<int> ok{0};
    for (const auto& p : people_)
      first.emplace_back([&, token = p.token] {
        testing::HttpClient c(stack_->port());
        if (c.request("GET", "/api/v1/me", {"Authorization: Bearer " + token}).status == 200) ++ok;
      });
    for (auto& th : first) th.join();
    ASSERT_EQ(ok.load(), static_cast<int>(people_.size()));
  }
  const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::mt19937 rng(20261206);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };

  // Mirrors of what the run created, per tenant.
  std::map<std::string, std::set<std::string>> calls[2];  // call id -> devices with a connection
  std::set<std::string> heard[2];                          // devices the model heard of
  std::vector<std::string> contact_ids[2], command_ids[2], created_users[2], created_tokens[2];
  std::map<std::string, std::string> command_user;  // command id -> "t/user"
  std::set<std::string> revoked;
  int next_call = 0, next_name = 0, tokens_made = 0, journal_appended = 0, marker_seq = 0;
  int ops = 0, ok2xx = 0, rejected_tenantless = 0, ws_messages = 0, ws_connects = 0, ghost_user_tries = 0;

  auto fail_leak = [&](const std::string& what, const std::string& text, const TenantInfo& other,
                       const std::vector<std::string>& echo = {}) {
    auto l = leak_in(text, other, echo);
    EXPECT_EQ(l, "") << what << " carried the other tenant's '" << l << "': " << text.substr(0, 400);
    return l.empty();
  };

  // Checks one event-stream message against the subscription's tenant, role and scope.
  auto check_message = [&](Sub& s, const json::object& m) {
    const Who& w = *s.who;
    const std::string text = json::serialize(m);
    ++s.messages;
    ++ws_messages;
    if (!fail_leak("event for " + w.name, text, kInfo[1 - w.t])) return false;
    if (auto it = m.find("seq"); it != m.end() && it->value().is_int64())
      s.last_seq = static_cast<std::uint64_t>(it->value().as_int64());
    const std::string type(m.at("type").as_string());
    auto devices_of_call = [&](const json::object& c) {
      std::set<std::string> ds;
      for (const auto& conn : c.at("connections").as_array()) ds.insert(std::string(conn.at("device").as_string()));
      return ds;
    };
    if (type == "snapshot") {
      std::set<std::string> got, want;
      for (const auto& c : m.at("calls").as_array()) {
        EXPECT_EQ(c.at("tenant").as_string(), kInfo[w.t].name);
        EXPECT_TRUE(call_visible(w, devices_of_call(c.as_object()), s.scope)) << w.name << " snapshot " << c;
        got.insert(std::string(c.at("id").as_string()));
      }
      for (const auto& line : m.at("lines").as_array()) {
        const std::string d(line.at("device").as_string());
        EXPECT_TRUE(streams_line(w, s.scope, d)) << w.name << " saw line " << d;
      }
      if (s.snapshot) EXPECT_EQ(got, *s.snapshot) << kInfo[w.t].name << "/" << w.name << " snapshot";
      s.snapshot.reset();
    } else if (type == "call") {
      const auto& c = m.at("call").as_object();
      EXPECT_EQ(c.at("tenant").as_string(), kInfo[w.t].name);
      auto ds = devices_of_call(c);
      if (auto d = m.find("device"); d != m.end() && d->value().is_string()) ds.insert(std::string(d->value().as_string()));
      EXPECT_TRUE(call_visible(w, ds, s.scope)) << w.name << " got " << text;
    } else if (type == "line") {
      const std::string d(m.at("device").as_string());
      EXPECT_TRUE(streams_line(w, s.scope, d)) << w.name << " got " << text;
    } else if (type == "journal") {
      const auto& e = m.at("entry").as_object();
      EXPECT_EQ(e.at("tenant").as_string(), kInfo[w.t].name);
      EXPECT_TRUE(s.scope == core::EventScope::tenant || w.owns(std::string(e.at("party").as_string())))
          << w.name << " got " << text;
    } else if (type == "command") {
      const std::string id(m.at("command").at("id").as_string());
      auto it = command_user.find(id);
      EXPECT_TRUE(it != command_user.end() && it->second == kInfo[w.t].name + "/" + w.name)
          << "command " << id << " reached " << w.name;
    } else {
      EXPECT_TRUE(type == "marker" || type == "resync") << text;
    }
    return true;
  };

  // Every open subscription reads up to a marker sent to its user after everything before it.
  auto drain = [&] {
    const int n = ++marker_seq;
    std::set<std::pair<int, std::string>> users;
    for (const auto& s : subs_) users.insert({s->who->t, s->who->name});
    stack_->run([&] {
      for (const auto& [t, user] : users)
        stack_->hub.publish_to_user(stack_->tenants[t].id, user, "marker", ",\"n\":" + std::to_string(n) + "}");
    });
    for (auto& s : subs_) {
      for (;;) {
        auto m = s->ws->next();
        ASSERT_TRUE(m) << s->who->name << ": the stream ended before marker " << n;
        if (!check_message(*s, *m)) return;
        if ((*m)["type"] == "marker" && (*m)["n"].as_int64() == n) break;
      }
    }
  };

  auto connect = [&](const Who& w, std::optional<std::uint64_t> since, bool ticket) {
    auto s = std::make_unique<Sub>();
    s->who = &w;
    s->scope = static_cast<core::EventScope>(pick(3));
    const char* names[] = {"own", "team", "tenant"};
    std::string query = std::string("?scope=") + names[static_cast<int>(s->scope)];
    if (since) query += "&since=" + std::to_string(*since);
    std::string token = w.token;
    if (ticket) {
      auto r = http("POST", "/api/v1/ws-ticket", w.token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) return;
      query += "&ticket=" + std::string(json::parse(r.body).at("ticket").as_string());
      token.clear();
    }
    s->ws = std::make_unique<testing::WsTextClient>();
    const int status = s->ws->connect(stack_->port(), query, token);
    ++ws_connects;
    if (s->scope == core::EventScope::tenant && !w.whole()) {
      EXPECT_EQ(status, 403) << w.name;
      return;
    }
    ASSERT_EQ(status, 101) << w.name << query;
    if (!since) {
      // The snapshot is taken when the server adopts the connection, just after the 101: read it
      // before anything else happens.
      s->snapshot.emplace();
      for (const auto& [id, ds] : calls[w.t])
        if (call_visible(w, ds, s->scope)) s->snapshot->insert(id);
      auto first = s->ws->next();
      ASSERT_TRUE(first) << w.name << ": no snapshot";
      ASSERT_EQ((*first)["type"], "snapshot") << json::serialize(*first);
      check_message(*s, *first);
    }
    subs_.push_back(std::move(s));
  };

  const int kOps = 4000;
  for (; ops < kOps; ++ops) {
    // The PBXs of both tenants are busy all the time, with the same extensions.
    if (chance(30)) {
      const int t = static_cast<int>(pick(2));
      auto& side = stack_->tenants[t];
      const auto& ti = kInfo[t];
      const std::string dev = kDevices[pick(kDevices.size())];
      if (!calls[t].empty() && chance(40)) {
        auto it = std::next(calls[t].begin(), static_cast<long>(pick(calls[t].size())));
        const std::string cid = it->first;
        const std::string gone = *std::next(it->second.begin(), static_cast<long>(pick(it->second.size())));
        model::JournalEntry e{.tenant = side.id};
        e.call_id = cid;
        e.party = gone;
        e.remote = ti.num_prefix + std::to_string(1000 + next_call);
        e.remote_name = ti.marker + " Caller " + std::to_string(next_call);
        e.disposition = chance(50) ? model::Disposition::answered : model::Disposition::missed;
        e.started_at = stack_->clock.now() - std::chrono::seconds(30);
        e.ended_at = stack_->clock.now();
        stack_->run([&] {
          side.model.clear(cid, gone, stack_->clock.now());
          stack_->journal->append(e);
        });
        ++journal_appended;
        it->second.erase(gone);
        if (it->second.empty()) calls[t].erase(it);
      } else if (!calls[t].empty() && chance(30)) {  // a second party joins (internal call)
        auto it = std::next(calls[t].begin(), static_cast<long>(pick(calls[t].size())));
        const std::string cid = it->first;
        stack_->run([&] {
          side.model.update(cid, dev, ConnectionState::connected, CallEventType::established, stack_->clock.now(),
                            ti.num_prefix + "7");
        });
        it->second.insert(dev);
        heard[t].insert(dev);
      } else {
        const std::string cid = ti.call_prefix + std::to_string(++next_call);
        stack_->run([&] {
          side.model.update(cid, dev, ConnectionState::alerting, CallEventType::delivered, stack_->clock.now(),
                            ti.num_prefix + std::to_string(next_call));
        });
        calls[t][cid].insert(dev);
        heard[t].insert(dev);
      }
    }

    const Who& w = people_[pick(people_.size())];
    const int t = w.t, o = 1 - w.t;
    const TenantInfo& mine = kInfo[t];
    const TenantInfo& other = kInfo[o];
    // Ids of either tenant, so that guesses at the other tenant's objects happen all the time.
    const int idt = chance(50) ? t : o;
    auto any_of = [&](const std::vector<std::string>& v) { return v.empty() ? std::string("1") : v[pick(v.size())]; };
    auto has = [](const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); };
    auto committed = [&](const std::string& id) {
      std::lock_guard lock(stack_->mu);
      auto it = stack_->committed.find(std::stoll(id));
      return it == stack_->committed.end() ? std::optional<model::JournalEntry>() : std::optional(it->second);
    };
    auto entry_visible = [&](const std::optional<model::JournalEntry>& e) {
      return e && e->tenant == stack_->tenants[t].id && (w.whole() || w.owns(e->party));
    };
    std::string call_id = calls[idt].empty() ? kInfo[idt].call_prefix + "0"
                                             : std::next(calls[idt].begin(), static_cast<long>(pick(calls[idt].size())))->first;
    const std::string jid = std::to_string(1 + pick(static_cast<std::size_t>(journal_appended + 2)));
    const std::string cid = any_of(contact_ids[idt]);

    testing::HttpAnswer r;
    std::vector<std::string> echo;
    const int kind = static_cast<int>(pick(26));
    switch (kind) {
      case 0:
      case 1: {
        r = http("GET", "/api/v1/calls", w.token);
        ASSERT_EQ(r.status, 200) << r.body;
        std::set<std::string> got, want;
        for (const auto& c : array_of(r.body, "calls")) got.insert(std::string(c.at("id").as_string()));
        for (const auto& [id, ds] : calls[t])
          if (call_visible(w, ds, w.whole() ? core::EventScope::tenant : core::EventScope::own)) want.insert(id);
        EXPECT_EQ(got, want) << mine.name << "/" << w.name;
        break;
      }
      case 2: {
        r = http("GET", "/api/v1/calls/" + call_id, w.token);
        echo = {call_id};
        auto it = calls[t].find(call_id);
        const bool visible = idt == t && it != calls[t].end() &&
                             call_visible(w, it->second, w.whole() ? core::EventScope::tenant : core::EventScope::own);
        EXPECT_EQ(r.status, visible ? 200 : 404) << w.name << " " << call_id << " " << r.body;
        break;
      }
      case 3: {  // call control on a call of either tenant
        const char* verbs[] = {"hangup", "answer", "hold"};
        r = http("POST", "/api/v1/calls/" + call_id + "/" + verbs[pick(3)], w.token);
        echo = {call_id};
        auto it = calls[t].find(call_id);
        const bool mine_call = idt == t && it != calls[t].end() &&
                               std::any_of(it->second.begin(), it->second.end(), [&](const auto& d) { return w.owns(d); });
        if (!mine_call) EXPECT_EQ(r.status, 404) << w.name << " acted on " << call_id << ": " << r.body;
        if (r.status == 202) {
          const std::string id(json::parse(r.body).at("command_id").as_string());
          command_ids[t].push_back(id);
          command_user[id] = mine.name + "/" + w.name;
        }
        break;
      }
      case 4: {  // make call, from a device of the caller's or not
        const std::string from = chance(70) && !w.ext.empty() ? w.ext[pick(w.ext.size())] : kDevices[pick(kDevices.size())];
        r = http("POST", "/api/v1/calls", w.token, "{\"to\":\"" + mine.num_prefix + "55\",\"from\":\"" + from + "\"}");
        EXPECT_EQ(r.status, w.owns(from) ? 202 : 403) << w.name << " from " << from << ": " << r.body;
        if (r.status == 202) {
          const std::string id(json::parse(r.body).at("command_id").as_string());
          command_ids[t].push_back(id);
          command_user[id] = mine.name + "/" + w.name;
        }
        break;
      }
      case 5: {  // a command of either tenant, of anyone
        const std::string id = any_of(command_ids[idt]);
        r = http("GET", "/api/v1/commands/" + id, w.token);
        auto it = command_user.find(id);
        const std::string by = it == command_user.end() ? "" : it->second;
        const bool visible = has(command_ids[t], id) && (by == mine.name + "/" + w.name || w.role == core::Role::admin);
        EXPECT_EQ(r.status, visible ? 200 : 404) << w.name << " read " << id << " of " << by;
        break;
      }
      case 6:
      case 7: {  // journal with random filters
        std::string q = "/api/v1/journal?limit=" + std::to_string(1 + pick(60));
        std::optional<std::string> party;
        if (chance(30)) party = kDevices[pick(kDevices.size())], q += "&party=" + *party;
        if (chance(20)) q += "&before=" + jid;
        if (chance(20)) q += "&q=" + std::string(chance(50) ? "Caller" : other.marker);
        if (chance(20)) q += "&disposition=missed";
        r = http("GET", q, w.token);
        if (party && !w.whole() && !w.owns(*party)) {
          EXPECT_EQ(r.status, 403) << w.name << " " << q;
          break;
        }
        ASSERT_EQ(r.status, 200) << q << r.body;
        for (const auto& e : array_of(r.body, "entries")) {
          EXPECT_EQ(e.at("tenant").as_string(), mine.name);
          const std::string p(e.at("party").as_string());
          EXPECT_TRUE(w.whole() || w.owns(p)) << w.name << " saw party " << p;
          if (party) EXPECT_EQ(p, *party);
        }
        break;
      }
      case 8: {
        r = http("GET", "/api/v1/journal.csv?limit=200" + std::string(chance(50) ? "&q=Caller" : ""), w.token);
        EXPECT_EQ(r.status, 200) << r.body;
        break;
      }
      case 9: {  // a note on an entry of either tenant
        const bool before = entry_visible(committed(jid));  // committed before the request
        r = http("PATCH", "/api/v1/journal/" + jid, w.token, "{\"note\":\"" + mine.marker + " note\"}");
        const bool after = entry_visible(committed(jid));
        if (before) EXPECT_EQ(r.status, 200) << w.name << " " << jid << ": " << r.body;
        else if (!after) EXPECT_EQ(r.status, 404) << w.name << " annotated " << jid << ": " << r.body;
        break;
      }
      case 10: {  // call back an entry of either tenant
        const bool before = entry_visible(committed(jid));
        r = http("POST", "/api/v1/journal/" + jid + "/callback", w.token);
        const bool after = entry_visible(committed(jid));
        if (before) EXPECT_EQ(r.status, 202) << w.name << " " << jid << ": " << r.body;
        if (r.status == 202) {
          EXPECT_TRUE(after) << w.name << " called back " << jid;
          const std::string id(json::parse(r.body).at("command_id").as_string());
          command_ids[t].push_back(id);
          command_user[id] = mine.name + "/" + w.name;
        } else if (!after) {
          EXPECT_EQ(r.status, 404) << r.body;
        }
        break;
      }
      case 11: {  // contacts: create
        r = http("POST", "/api/v1/contacts", w.token,
                 "{\"display_name\":\"" + mine.marker + " Contact " + std::to_string(ops) + "\",\"numbers\":[{\"label\":\"work\",\"number\":\"" +
                     mine.num_prefix + std::to_string(ops % 50) + "\"}]}");
        ASSERT_EQ(r.status, 201) << r.body;
        contact_ids[t].push_back(std::string(json::parse(r.body).at("id").as_string()));
        break;
      }
      case 12:
      case 13: {  // contacts: read or edit one of either tenant
        const bool edit = kind == 13;
        r = edit ? http("PATCH", "/api/v1/contacts/" + cid, w.token, "{\"note\":\"" + mine.marker + " edit\"}")
                 : http("GET", "/api/v1/contacts/" + cid, w.token);
        EXPECT_EQ(r.status, has(contact_ids[t], cid) ? 200 : 404) << w.name << " contact " << cid << ": " << r.body;
        break;
      }
      case 14: {  // contacts: delete one of either tenant
        r = http("DELETE", "/api/v1/contacts/" + cid, w.token);
        EXPECT_EQ(r.status, has(contact_ids[t], cid) ? 204 : 404) << w.name << " deleted contact " << cid << ": " << r.body;
        if (r.status == 204) std::erase(contact_ids[t], cid);
        break;
      }
      case 15: {  // contacts: list and lookup (numbers of either tenant)
        if (chance(50)) {
          r = http("GET", "/api/v1/contacts?limit=1000", w.token);
          ASSERT_EQ(r.status, 200);
          EXPECT_EQ(array_of(r.body, "contacts").size(), contact_ids[t].size());
        } else {
          const std::string number = kInfo[idt].num_prefix + std::to_string(pick(50));
          r = http("GET", "/api/v1/contacts/lookup?number=%2B" + number.substr(1), w.token);
          ASSERT_EQ(r.status, 200) << r.body;
          echo = {number};  // the answer repeats the number asked for; only its matches count
          if (idt != t) EXPECT_TRUE(array_of(r.body, "matches").empty()) << r.body;
        }
        break;
      }
      case 16: {
        if (chance(40)) {  // presence (issue 13): colleagues are users of the caller's own tenant
          r = http("GET", "/api/v1/presence", w.token);
          ASSERT_EQ(r.status, 200) << r.body;
          for (const auto& c : array_of(r.body, "colleagues")) {
            const std::string name(c.at("user").as_string());
            EXPECT_TRUE(has(created_users[t], name) || name.starts_with("ghost") ||
                        std::any_of(people_.begin(), people_.end(), [&](const Who& p) { return p.t == t && p.name == name; }))
                << name << " shown to " << mine.name << "/" << w.name;
            for (const auto& l : c.at("lines").as_array())
              EXPECT_TRUE(sees_line(w, std::string(l.at("device").as_string()))) << l << " shown to " << w.name;
          }
          break;
        }
        r = http("GET", "/api/v1/lines", w.token);
        ASSERT_EQ(r.status, 200) << r.body;
        std::set<std::string> got, want;
        for (const auto& l : array_of(r.body, "lines")) got.insert(std::string(l.at("device").as_string()));
        for (const auto& d : heard[t])
          if (sees_line(w, d)) want.insert(d);
        EXPECT_EQ(got, want) << mine.name << "/" << w.name;
        break;
      }
      case 17: {  // users: list, create, delete (names of either tenant)
        const int what = static_cast<int>(pick(3));
        if (what == 0) {
          r = http("GET", "/api/v1/users", w.token);
          if (w.role != core::Role::admin) {
            EXPECT_EQ(r.status, 403);
            break;
          }
          ASSERT_EQ(r.status, 200);
          for (const auto& u : array_of(r.body, "users")) {
            const std::string name(u.at("user").as_string());
            EXPECT_TRUE(has(created_users[t], name) || name.starts_with("ghost") ||
                        std::any_of(people_.begin(), people_.end(), [&](const Who& p) { return p.t == t && p.name == name; }))
                << name << " listed in " << mine.name;
          }
        } else if (what == 1) {
          const std::string name = "n" + std::to_string(++next_name);
          r = http("POST", "/api/v1/users", w.token,
                   "{\"user\":\"" + name + "\",\"display_name\":\"" + mine.marker + " " + name + "\",\"extensions\":[\"105\"]}");
          EXPECT_EQ(r.status, w.role == core::Role::admin ? 201 : 403) << r.body;
          if (r.status == 201) created_users[t].push_back(name);
        } else {
          const std::string name = any_of(created_users[idt]);
          r = http("DELETE", "/api/v1/users/" + name, w.token);
          EXPECT_EQ(r.status, w.role != core::Role::admin ? 403 : has(created_users[t], name) ? 204 : 404) << w.name << " deleted " << name;
          if (r.status == 204) std::erase(created_users[t], name);
        }
        break;
      }
      case 18: {  // tokens: list, issue (argon2: a few), revoke (ids of either tenant)
        const int what = static_cast<int>(pick(3));
        if (what == 0 || (what == 1 && tokens_made >= 2)) {
          r = http("GET", "/api/v1/tokens", w.token);
          if (w.role != core::Role::admin) {
            EXPECT_EQ(r.status, 403);
            break;
          }
          ASSERT_EQ(r.status, 200);
          std::set<std::string> allowed(created_tokens[t].begin(), created_tokens[t].end());
          for (const auto& p : people_)
            if (p.t == t) allowed.insert(p.token_id);
          for (const Who* g : {&ghost_token, &ghost_user, &ghost_text, &ghost_session})
            if (g->t == t) allowed.insert(g->token_id);
          for (const auto& tok : array_of(r.body, "tokens"))
            EXPECT_TRUE(allowed.count(std::string(tok.at("id").as_string()))) << "token " << tok << " in " << mine.name;
        } else if (what == 1) {
          r = http("POST", "/api/v1/users/u100/tokens", w.token, "{}");
          EXPECT_EQ(r.status, w.role == core::Role::admin ? 201 : 403) << r.body;
          if (r.status == 201) {
            created_tokens[t].push_back(std::string(json::parse(r.body).at("id").as_string()));
            ++tokens_made;
          }
        } else {
          const std::string id = any_of(created_tokens[idt]);
          r = http("DELETE", "/api/v1/tokens/" + id, w.token);
          echo = {id};
          if (w.role != core::Role::admin) EXPECT_EQ(r.status, 403);
          else if (!has(created_tokens[t], id)) EXPECT_EQ(r.status, 404) << w.name << " revoked " << id << " of " << kInfo[idt].name;
          if (r.status == 204) revoked.insert(id);
        }
        break;
      }
      case 19: {  // UI settings
        if (chance(50)) {
          r = http("GET", "/api/v1/ui-settings", w.token);
          EXPECT_EQ(r.status, 200) << r.body;
        } else {
          r = http("PUT", "/api/v1/ui-settings", w.token,
                   "{\"action_links\":[{\"label\":\"" + mine.marker + " CRM\",\"url\":\"https://crm.example/{contact.id}\"}]}");
          EXPECT_EQ(r.status, w.role == core::Role::admin ? 200 : 403) << r.body;
        }
        break;
      }
      case 20: {
        const int what = static_cast<int>(pick(4));
        if (what == 1) {  // own settings (issue 13): per user of the tenant, never another's
          r = http("PUT", "/api/v1/me/favorites", w.token,
                   "{\"favorites\":[{\"label\":\"" + mine.marker + " fav\",\"number\":\"101\"}]}");
          EXPECT_EQ(r.status, 200) << r.body;
          r = http("GET", "/api/v1/me/favorites", w.token);
          ASSERT_EQ(r.status, 200) << r.body;
          break;
        }
        if (what == 2) {  // the missed-call counter and the search of every directory
          r = http("GET", "/api/v1/journal/missed-count", w.token);
          EXPECT_EQ(r.status, 200) << r.body;
          if (r.status == 200 && chance(50)) r = http("GET", "/api/v1/contacts/search?q=" + mine.marker, w.token);
          EXPECT_EQ(r.status, 200) << r.body;
          break;
        }
        r = http("GET", "/api/v1/me", w.token);
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(json::parse(r.body).at("tenant").as_string(), mine.name);
        break;
      }
      case 21:
      case 22: {  // WebSocket: subscribe (sometimes by ticket), resume, or leave
        if (!subs_.empty() && chance(30)) {
          const std::size_t i = pick(subs_.size());
          const bool resume = chance(50);
          const Who* again = subs_[i]->who;
          const std::uint64_t seq = subs_[i]->last_seq;
          subs_.erase(subs_.begin() + static_cast<long>(i));
          if (resume) connect(*again, seq, false);
        } else if (subs_.size() < 24) {
          connect(w, std::nullopt, chance(25));
        }
        continue;
      }
      case 23: {  // a request whose tenant was never set, on any route, or its WebSocket
        // ghost_user's token is sound (argon2 runs, and a failure is not cached): a few only.
        const bool argon2 = ghost_user_tries < 3 && chance(10);
        ghost_user_tries += argon2;
        const Who& g = argon2 ? ghost_user : chance(50) ? ghost_token : ghost_text;
        const char* routes[][2] = {{"GET", "/api/v1/me"},      {"GET", "/api/v1/calls"},    {"GET", "/api/v1/journal"},
                                   {"GET", "/api/v1/contacts"}, {"GET", "/api/v1/lines"},    {"GET", "/api/v1/users"},
                                   {"POST", "/api/v1/calls"},  {"GET", "/api/v1/tokens"},   {"GET", "/api/v1/ui-settings"}};
        const auto& route = routes[pick(std::size(routes))];
        if (chance(15)) {
          testing::WsTextClient ws;
          EXPECT_EQ(ws.connect(stack_->port(), "?scope=own", g.token), 401) << g.name;
          ++rejected_tenantless;
          continue;
        } else if (chance(20)) {
          r = client_->request(route[0], route[1], {"Cookie: " + cookie}, std::string(route[0]) == "POST" ? "{\"to\":\"1\"}" : "");
          EXPECT_EQ(r.status, 401) << "session without tenant: " << route[1] << " " << r.body;
        } else {
          r = http(route[0], route[1], g.token, std::string(route[0]) == "POST" ? "{\"to\":\"1\"}" : "");
          EXPECT_EQ(r.status, 401) << g.name << ": " << route[1] << " " << r.body;
        }
        ++rejected_tenantless;
        break;
      }
      default: {
        if (!subs_.empty()) drain();
        continue;
      }
    }
    if (r.status / 100 == 2) ++ok2xx;
    ASSERT_GT(r.status, 0) << "no answer: " << r.body;
    ASSERT_LT(r.status, 500) << kind << ": " << r.body;
    if (!fail_leak(std::to_string(kind) + " by " + mine.name + "/" + w.name, r.body, other, echo)) break;
    if (::testing::Test::HasFailure()) break;
  }
  if (!subs_.empty()) drain();

  // No write crossed over: the other tenant's marker is in no stored note, contact or user.
  ASSERT_TRUE(stack_->journal->flush());
  for (int t = 0; t < 2; ++t) {
    const auto& other = kInfo[1 - t];
    ports::JournalQuery q{.tenant = stack_->tenants[t].id};
    q.limit = 100'000;
    auto entries = stack_->journal->query(q);
    ASSERT_TRUE(entries);
    for (const auto& e : *entries) EXPECT_EQ(leak_in(model::to_json_line(e.entry), other), "");
    auto cs = stack_->contacts->list(stack_->tenants[t].id, "", 100'000);
    ASSERT_TRUE(cs);
    EXPECT_EQ(cs->size(), contact_ids[t].size());
    for (const auto& c : *cs) EXPECT_EQ(leak_in(c.display_name + " " + c.note, other), "");
    auto us = stack_->ids->list_users(stack_->tenants[t].id);
    ASSERT_TRUE(us);
    for (const auto& u : *us) EXPECT_EQ(leak_in(u.display_name, other), "");
    auto ts = stack_->ids->list_tokens(stack_->tenants[t].id);
    ASSERT_TRUE(ts);
    for (const auto& tok : *ts) EXPECT_EQ(tok.revoked, revoked.count(tok.id) == 1) << tok.id;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("[ figures  ] %d operations (%d answered 2xx, %d tenant-less requests refused), %d WebSocket "
              "connects, %d events checked, %d journal entries; %.2f s (set-up with argon2 checks %.2f s)\n",
              ops, ok2xx, rejected_tenantless, ws_connects, ws_messages, journal_appended, seconds, setup_s);
  EXPECT_EQ(ops, kOps);
  EXPECT_GT(ok2xx, ops / 3);        // the run exercised real data, not only refusals
  EXPECT_GT(ws_messages, 1000);     // and the streams carried real traffic
  EXPECT_GT(rejected_tenantless, 50);
}

}  // namespace
}  // namespace callbridge
