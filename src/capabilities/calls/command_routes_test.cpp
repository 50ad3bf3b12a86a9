// The calls capability's call control routes (command_routes) with their own resolver, a fake PBX,
// fake journal and an in-memory audit log: make call, commands, journal callbacks, command records
// and their events, and what the audit log keeps of each command.
#include "capabilities/calls/command_routes.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "capabilities/calls/calls_service.hpp"
#include "core/event_hub.hpp"

namespace callbridge::capabilities::calls {
namespace {

using namespace api;

using model::CallEventType;
using model::ConnectionState;

// "Bearer anna" is user anna with extension 100; anything else is 401.
struct TestResolver final : PrincipalResolver {
  std::expected<Principal, AuthFailure> resolve(const HttpRequest& req, bool) override {
    if (req.header("authorization") == "Bearer anna") {
      Principal p{.tenant = base::TenantId("default")};
      p.user = "anna";
      p.devices = {"100"};
      p.token_id = "a11a0001";
      return p;
    }
    if (req.header("authorization") == "Bearer op") {
      Principal p{.tenant = base::TenantId("_operator")};
      p.user = "ops";
      p.role = Role::operator_;
      return p;
    }
    if (req.header("authorization") == "Bearer carl") {  // anna's colleague on the same device
      Principal p{.tenant = base::TenantId("default")};
      p.user = "carl";
      p.devices = {"100"};
      return p;
    }
    if (req.header("authorization") == "Bearer boss") {
      Principal p{.tenant = base::TenantId("default")};
      p.user = "boss";
      p.role = Role::admin;
      return p;
    }
    if (req.header("authorization") == "Bearer other") {
      Principal p{.tenant = base::TenantId("other")};
      p.user = "anna";
      p.role = Role::admin;
      p.devices = {"100"};
      return p;
    }
    if (req.header("authorization") == "Bearer bob") {  // anna's team mate (team "sales", users below)
      Principal p{.tenant = base::TenantId("default")};
      p.user = "bob";
      p.devices = {"102"};
      p.team = "sales";
      return p;
    }
    if (req.header("authorization") == "Bearer dora") {  // another team
      Principal p{.tenant = base::TenantId("default")};
      p.user = "dora";
      p.devices = {"103"};
      p.team = "support";
      return p;
    }
    if (req.header("authorization") == "Bearer sup") {
      Principal p{.tenant = base::TenantId("default")};
      p.user = "sup";
      p.role = Role::supervisor;
      return p;
    }
    return std::unexpected(AuthFailure{401, "missing or invalid token"});
  }
};

// Completes commands later (like AMI) unless `immediate`.
struct FakePbx final : ports::PbxCommands {
  bool up = true;
  bool immediate = true;
  base::Status result;
  std::vector<std::string> log;
  std::vector<ports::CommandDone> pending;
  std::vector<std::function<void(base::Result<std::string>)>> outcomes;  // make_call's on_outcome
  bool available() const override { return up; }
  void finish(std::string s, ports::CommandDone done) {
    log.push_back(std::move(s));
    if (immediate) done(result);
    else pending.push_back(std::move(done));
  }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    outcomes.push_back(r.on_outcome);
    finish("make_call " + r.from_device + " " + r.dial_string + " " + r.request_id, std::move(d));
  }
  void answer(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("answer " + c + " " + dev, std::move(d)); }
  void hangup(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("hangup " + c + " " + dev, std::move(d)); }
  void hold(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("hold " + c, std::move(d)); }
  void retrieve(const std::string& c, const std::string& dev, ports::CommandDone d) override { finish("retrieve " + c, std::move(d)); }
  void consult(const std::string& c, const std::string& dev, const std::string& to, ports::CommandDone d) override {
    finish("consult " + c + " " + to, std::move(d));
  }
  void alternate(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override { finish("alternate " + c, std::move(d)); }
  void transfer(const std::string& c, const std::string& dev, const std::string& to, ports::CommandDone d) override {
    finish("transfer " + c + " " + dev + " " + to, std::move(d));
  }
  void complete_transfer(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override {
    finish("complete " + c, std::move(d));
  }
  void conference(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override { finish("conference " + c, std::move(d)); }
  void redirect(const std::string& c, const std::string&, const std::string& to, ports::CommandDone d) override {
    finish("redirect " + c + " " + to, std::move(d));
  }
  std::vector<ports::PbxCommands::PickupOutcome> pickups;  // pickup's outcome, run by the test
  void pickup(const std::string& c, const std::string& ringing, const std::string& picker, const std::string& cid,
              ports::CommandDone d, PickupOutcome outcome) override {
    pickups.push_back(std::move(outcome));
    finish("pickup " + c + " " + ringing + " " + picker + " " + cid, std::move(d));
  }
  std::vector<ParkOutcome> parks;  // park's outcome, run by the test
  void park(const std::string& c, const std::string& dev, const std::string& lot, ports::CommandDone d,
            ParkOutcome outcome) override {
    parks.push_back(std::move(outcome));
    finish("park " + c + " " + dev + " " + lot, std::move(d));
  }
  std::vector<std::function<void(base::Status)>> moves;  // move_call's on_outcome, run by the test
  void move_call(const ports::MoveCallRequest& r, ports::CommandDone d) override {
    moves.push_back(r.on_outcome);
    finish("move " + r.call_id + " " + r.device + " " + r.external_dial_string.value_or("desk") + " " +
               r.external_number,
           std::move(d));
  }
  std::vector<PickupOutcome> unparks;
  void unpark(const ports::UnparkRequest& r, ports::CommandDone d, PickupOutcome outcome) override {
    unparks.push_back(std::move(outcome));
    finish("unpark " + r.lot + "," + r.space + " " + r.from_device + " " + r.caller_id, std::move(d));
  }
};

// Entries with ids 1..n in memory; query honours tenant, party, before_id and limit (newest first).
struct FakeJournal final : ports::JournalStore {
  std::vector<ports::StoredEntry> entries;
  void add(std::string tenant, std::string party, std::optional<std::string> remote) {
    ports::StoredEntry e{.id = static_cast<std::int64_t>(entries.size()) + 1,
                         .entry = model::JournalEntry{.tenant = base::TenantId(tenant)}};
    e.entry.party = std::move(party);
    e.entry.remote = std::move(remote);
    entries.push_back(std::move(e));
  }
  void append(model::JournalEntry) override {}
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredEntry>> query(const ports::JournalQuery& q) override {
    std::vector<ports::StoredEntry> out;
    for (auto it = entries.rbegin(); it != entries.rend() && out.size() < q.limit; ++it) {
      if (it->entry.tenant != q.tenant || (q.party && it->entry.party != *q.party)) continue;
      if (q.before_id && it->id >= *q.before_id) continue;
      if (q.id && it->id != *q.id) continue;
      out.push_back(*it);
    }
    return out;
  }
  base::Status set_note(const std::string&, std::int64_t, const std::string&) override { return {}; }
  base::Result<std::size_t> purge_before(base::Timestamp) override { return 0; }
};

// What the routes append, in order (the real store's queue and masking: audit/sqlite).
struct MemoryAudit final : ports::AuditLog {
  std::vector<ports::AuditRecord> records;
  void append(ports::AuditRecord r) override { records.push_back(std::move(r)); }
  base::Status flush() override { return {}; }
  base::Result<std::vector<ports::StoredAuditRecord>> query(const ports::AuditQuery&) override {
    return base::fail(base::Error::unavailable("MemoryAudit: the routes never read"));
  }
  base::Result<std::size_t> prune_before(base::Timestamp) override { return std::size_t{0}; }
};

base::Timestamp at(int s) { return base::from_micros(1'795'000'000'000'000 + s * 1'000'000LL); }

struct RestCommands : ::testing::Test {
  boost::asio::io_context io;
  HttpServer server{io, HttpServerOptions{}};
  TestResolver resolver;
  model::CallModel model{base::TenantId("default")};
  FakePbx pbx;
  core::CallControlService service{core::CallControlOptions{.tenant = "default"}, model, pbx, nullptr};
  bool has_service = true;
  FakeJournal journal;
  MemoryAudit audit;

  base::ManualClock clock{at(0)};
  // What the tenants' command logs publish: {tenant, user, json tail}.
  std::vector<std::tuple<std::string, std::string, std::string>> published;
  // Each tenant's command log, as its core::TenantRuntime owns it; erased: the tenant was removed.
  std::map<std::string, std::shared_ptr<core::CommandLog>> logs;

  std::shared_ptr<core::CommandLog> log_of(const std::string& tenant) {
    auto log = std::make_shared<core::CommandLog>(
        core::CommandLogOptions{.max_per_tenant = 100, .ttl = std::chrono::seconds(600)}, clock);
    log->set_listener([this](const core::CommandRecord& r) {  // what app/command_wiring publishes
      published.emplace_back(r.tenant.str(), r.user, ",\"command\":" + command_json(r) + "}");
    });
    return log;
  }

  RestCommands() {
    logs["default"] = log_of("default");
    logs["other"] = log_of("other");
    add_command_routes(server, {.auth = &resolver,
                                .service_for = [this](const std::string& t) -> core::CallControlService* {
                                  return has_service && t == "default" ? &service : nullptr;
                                },
                                .max_body_bytes = 64 * 1024,
                                .journal = &journal,
                                .log_for = [this](const std::string& t) -> std::shared_ptr<core::CommandLog> {
                                  auto it = logs.find(t);
                                  return it == logs.end() ? nullptr : it->second;
                                },
                                .audit = &audit,
                                .clock = &clock,
                                .tenant_users = [this](const base::TenantId& t) -> base::Result<std::vector<ports::User>> {
                                  if (users_fail) return base::fail(base::Error::unavailable("identity.db is locked"));
                                  std::vector<ports::User> out;
                                  for (const auto& u : users)
                                    if (u.tenant == t) out.push_back(u);
                                  return out;
                                },
                                .user_devices = [](const base::TenantId& t, const std::string& u) -> base::Result<ports::UserDevices> {
                                  ports::UserDevices d;
                                  if (t == base::TenantId("default") && u == "anna")
                                    d.external.push_back(ports::ExternalDevice{.name = "mobile", .number = "+491701234567"});
                                  return d;
                                }});
  }
  bool users_fail = false;
  std::vector<ports::User> users{
      {.tenant = base::TenantId("default"), .name = "anna", .extensions = {"100"}, .team = "sales"},
      {.tenant = base::TenantId("default"), .name = "bob", .extensions = {"102"}, .team = "sales"},
      {.tenant = base::TenantId("default"), .name = "dora", .extensions = {"103"}, .team = "support"}};
  HttpResponse get(std::string path, std::string token = "anna") {
    HttpRequest r;
    r.method = "GET";
    r.target = r.path = std::move(path);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    return server.dispatch(r);
  }
  HttpResponse post(std::string path, std::string body, std::string token = "anna") {
    HttpRequest r;
    r.method = "POST";
    r.target = r.path = std::move(path);
    r.body = std::move(body);
    r.remote = "192.0.2.7";
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    return server.dispatch(r);
  }
  // The audit records appended since the last call, as "action target outcome".
  std::vector<std::string> audited() {
    std::vector<std::string> out;
    for (auto& r : audit.records) out.push_back(r.action + " " + r.target + " " + r.outcome);
    seen_ = audit.records;
    audit.records.clear();
    return out;
  }
  boost::json::object details(std::size_t i) const { return boost::json::parse(seen_.at(i).details_json).as_object(); }
  std::vector<ports::AuditRecord> seen_;
  static boost::json::object obj(const HttpResponse& r) { return boost::json::parse(r.body).as_object(); }
  static std::string type(const HttpResponse& r) { return std::string(obj(r).at("type").as_string()); }
};

TEST_F(RestCommands, MakeCallAnswers202WithTheRequestId) {
  auto r = post("/api/v1/calls", R"({"to": "tel:+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto o = obj(r);
  EXPECT_TRUE(o.at("call_id").is_null());
  EXPECT_EQ(o.at("request_id").as_string(), "c2d-0001");
  EXPECT_EQ(o.at("status").as_string(), "accepted");
  EXPECT_EQ(pbx.log.back(), "make_call 100 +4989123456 c2d-0001");
  // Waiting for the PBX: still 202, marked submitted.
  pbx.immediate = false;
  r = post("/api/v1/calls", R"({"to": "089123456", "from": "100"})");
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(obj(r).at("status").as_string(), "submitted");
  EXPECT_EQ(obj(r).at("request_id").as_string(), "c2d-0002");
}

TEST_F(RestCommands, ErrorsAreProblemsWithStableTypes) {
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "1"})", "").status, 401);
  EXPECT_EQ(type(post("/api/v1/calls", "{nope")), "/problems/invalid-json");
  EXPECT_EQ(post("/api/v1/calls", R"({})").status, 400);
  EXPECT_EQ(post("/api/v1/calls", R"({"to": 5})").status, 400);
  auto r = post("/api/v1/calls", R"({"to": "pizza please"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(type(r), "/problems/invalid-number");
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089", "from": "101"})").status, 403);
  // Not a device name (issue 12: "PJSIP/101" reached AMI as Channel: PJSIP/PJSIP/101): 400 before
  // anything else looks at it.
  for (const char* from : {"PJSIP/101", "../x", "a.b", "10 1"}) {
    r = post("/api/v1/calls", std::string(R"({"to": "089123456", "from": ")") + from + "\"}");
    EXPECT_EQ(r.status, 400) << from;
    EXPECT_NE(r.body.find("from: not a device name"), std::string::npos) << r.body;
  }
  r = post("/api/v1/calls/c1/hangup", R"({"device": "PJSIP/100"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("device: not a device name"), std::string::npos) << r.body;
  pbx.up = false;
  r = post("/api/v1/calls", R"({"to": "089123456"})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(type(r), "/problems/pbx-unavailable");
  has_service = false;
  pbx.up = true;
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089123456"})").status, 503);
  EXPECT_EQ(post("/api/v1/calls", std::string(70 * 1024, ' ')).status, 413);
  EXPECT_TRUE(pbx.log.empty());
}

// Channel accounting: the tenant's trunk limit answers 409 no-trunk-capacity before dialling.
TEST_F(RestCommands, MakeCallBeyondTheTrunkLimitIs409NoTrunkCapacity) {
  std::uint32_t in_use = 3;
  core::CallControlService limited{core::CallControlOptions{.tenant = "default",
                                                            .max_trunk_channels = 3,
                                                            .trunk_channels_in_use = [&] { return in_use; }},
                                   model, pbx, nullptr};
  HttpServer s2{io, HttpServerOptions{}};
  add_command_routes(s2, {.auth = &resolver,
                          .service_for = [&](const std::string&) -> core::CallControlService* { return &limited; },
                          .max_body_bytes = 64 * 1024,
                          .journal = &journal,
                          .log_for = [this](const std::string& t) -> std::shared_ptr<core::CommandLog> { return logs[t]; },
                          .audit = &audit,
                          .clock = &clock,
                          .tenant_users = [this](const base::TenantId&) -> base::Result<std::vector<ports::User>> {
                            return users;
                          }});
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/api/v1/calls";
  r.body = R"({"to": "089123456"})";
  r.headers.emplace_back("authorization", "Bearer anna");
  auto full = s2.dispatch(r);
  EXPECT_EQ(full.status, 409) << full.body;
  EXPECT_EQ(type(full), "/problems/no-trunk-capacity");
  EXPECT_NE(obj(full).at("detail").as_string().find("All outside lines are busy"), std::string::npos) << full.body;
  EXPECT_TRUE(pbx.log.empty()) << "nothing dialled";
  in_use = 2;
  EXPECT_EQ(s2.dispatch(r).status, 202);
  EXPECT_EQ(pbx.log.size(), 1u);
}

TEST_F(RestCommands, CallCommandsCheckAllowedActions) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  auto r = post("/api/v1/calls/ctilab-1.0/hold", "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/action-not-allowed");
  EXPECT_NE(obj(r).at("detail").as_string().find("remote hold"), std::string::npos);
  r = post("/api/v1/calls/ctilab-1.0/transfer", R"({"to": "101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(pbx.log.back(), "transfer ctilab-1.0 100 101");
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/consult", "{}").status, 400);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/explode", "{}").status, 404);
  EXPECT_EQ(post("/api/v1/calls/ctilab-9.0/hangup", "{}").status, 404);
  pbx.result = base::fail(base::Error::conflict("Hangup: No such channel"));
  r = post("/api/v1/calls/ctilab-1.0/hangup", "{}");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/conflict");
  pbx.up = false;
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/hangup", "{}").status, 503);
}

// Issue 13: the web client shows a refusal's detail as it is, so every call-control problem says in
// words what is wrong, with the states people use (ringing, on hold), never CSTA's
// (alerting, initiated) or a bare status.
TEST_F(RestCommands, EveryRefusalSaysInWordsWhatIsWrong) {
  model.update("ctilab-1.0", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  std::vector<HttpResponse> answers;
  answers.push_back(post("/api/v1/calls/ctilab-1.0/hold", ""));                       // ringing: 409
  answers.push_back(post("/api/v1/calls/ctilab-1.0/transfer", ""));                   // no consultation
  answers.push_back(post("/api/v1/calls/ctilab-1.0/conference", ""));
  answers.push_back(post("/api/v1/calls/ctilab-1.0/consult", R"({"to": "101"})"));
  answers.push_back(post("/api/v1/calls/ctilab-9.0/hangup", ""));                     // unknown: 404
  answers.push_back(post("/api/v1/calls/ctilab-1.0/answer", R"({"device": "101"})"));  // not mine: 403
  answers.push_back(post("/api/v1/calls", R"({"to": "089123456", "from": "101"})"));
  answers.push_back(post("/api/v1/calls", R"({"to": "not a number"})"));               // 400
  pbx.result = base::fail(base::Error::conflict("Hangup: No such channel"));
  answers.push_back(post("/api/v1/calls/ctilab-1.0/hangup", ""));
  pbx.result = base::Status{};
  pbx.up = false;
  answers.push_back(post("/api/v1/calls/ctilab-1.0/hangup", ""));                     // 503
  for (const auto& r : answers) {
    ASSERT_GE(r.status, 400) << r.body;
    ASSERT_EQ(r.content_type, "application/problem+json");
    const std::string detail(obj(r).at("detail").as_string());
    EXPECT_GE(detail.size(), 20u) << r.status << " " << detail;
    for (const char* jargon : {"alerting", "initiated", "the connection of"})
      EXPECT_EQ(detail.find(jargon), std::string::npos) << r.status << " " << detail;
  }
  EXPECT_EQ(answers[0].status, 409);
  EXPECT_EQ(std::string(obj(answers[0]).at("detail").as_string()),
            "Only a connected call can be put on hold; at 100 the call is ringing.");
  EXPECT_EQ(answers[8].status, 409);
  EXPECT_NE(std::string(obj(answers[8]).at("detail").as_string()).find("The phone system refused this"), std::string::npos);
  EXPECT_NE(std::string(obj(answers[8]).at("detail").as_string()).find("Hangup: No such channel"), std::string::npos);
  EXPECT_EQ(answers[9].status, 503);
}

TEST_F(RestCommands, JournalCallbackCallsTheRemoteFromTheEntrysParty) {
  journal.add("default", "100", "+4989123456");  // 1: anna's
  journal.add("default", "101", "+4930111");     // 2: someone else's
  journal.add("default", "100", std::nullopt);   // 3: withheld
  journal.add("other", "100", "+4940222");       // 4: another tenant
  auto r = post("/api/v1/journal/1/callback", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("request_id").as_string(), "c2d-0001");
  EXPECT_TRUE(obj(r).at("call_id").is_null());
  EXPECT_EQ(pbx.log.back(), "make_call 100 +4989123456 c2d-0001");
  // Not the user's party, another tenant's entry, unknown ids: 404 (nothing dialed).
  EXPECT_EQ(post("/api/v1/journal/2/callback", "").status, 404);
  EXPECT_EQ(post("/api/v1/journal/4/callback", "").status, 404);
  EXPECT_EQ(post("/api/v1/journal/99/callback", "").status, 404);
  EXPECT_EQ(post("/api/v1/journal/x/callback", "").status, 404);
  EXPECT_EQ(post("/api/v1/journal/1/frobnicate", "").status, 404);
  EXPECT_EQ(pbx.log.size(), 1u);
  auto w = post("/api/v1/journal/3/callback", "");
  EXPECT_EQ(w.status, 409);
  EXPECT_EQ(type(w), "/problems/no-callback-number");
  EXPECT_EQ(post("/api/v1/journal/1/callback", "", "").status, 401);
  EXPECT_EQ(post("/api/v1/journal/1/callback", "[1]").status, 400);
  // A supervisor calls back from the entry's party.
  r = post("/api/v1/journal/2/callback", "", "sup");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(pbx.log.back(), "make_call 101 +4930111 c2d-0002");
  // Link down: 503 like POST /calls.
  pbx.up = false;
  EXPECT_EQ(post("/api/v1/journal/1/callback", "").status, 503);
}

TEST_F(RestCommands, EveryAcceptedCommandIsNamedAndItsLaterRefusalIsVisible) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  pbx.immediate = false;
  auto r = post("/api/v1/calls/ctilab-1.0/transfer", R"({"to": "101"})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto o = obj(r);
  std::string id(o.at("command_id").as_string());
  EXPECT_EQ(id.rfind("cmd-", 0), 0u);
  EXPECT_EQ(o.at("command").at("state").as_string(), "accepted");
  EXPECT_EQ(o.at("command").at("action").as_string(), "transfer");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Location");
  EXPECT_EQ(r.headers[0].second, "/api/v1/commands/" + id);

  auto g = get("/api/v1/commands/" + id);
  ASSERT_EQ(g.status, 200) << g.body;
  EXPECT_EQ(obj(g).at("state").as_string(), "accepted");
  EXPECT_TRUE(obj(g).at("reason").is_null());
  EXPECT_EQ(obj(g).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_TRUE(published.empty());

  // Asterisk answers "Response: Error" after the 202.
  clock.advance(std::chrono::milliseconds(40));
  ASSERT_EQ(pbx.pending.size(), 1u);
  pbx.pending[0](base::fail(base::Error::conflict("BlindTransfer: No such channel")));
  g = get("/api/v1/commands/" + id);
  EXPECT_EQ(obj(g).at("state").as_string(), "failed");
  EXPECT_EQ(obj(g).at("reason").as_string(), "BlindTransfer: No such channel");
  EXPECT_EQ(obj(g).at("updated_at").as_string(), "2026-11-18T11:06:40.040Z");
  // Published once, to anna of tenant default only.
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(std::get<0>(published[0]), "default");
  EXPECT_EQ(std::get<1>(published[0]), "anna");
  auto ev = boost::json::parse("{\"type\":\"command\",\"seq\":1" + std::get<2>(published[0])).as_object();
  EXPECT_EQ(ev.at("command").at("id").as_string(), id);
  EXPECT_EQ(ev.at("command").at("state").as_string(), "failed");
  EXPECT_EQ(ev.at("command").at("reason").as_string(), "BlindTransfer: No such channel");

  // A second answer changes nothing.
  pbx.pending[0](base::Status{});
  EXPECT_EQ(obj(get("/api/v1/commands/" + id)).at("state").as_string(), "failed");
  EXPECT_EQ(published.size(), 1u);
}

TEST_F(RestCommands, ConfirmedCommandIsDoneAtOnceWithoutAnEvent) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  auto r = post("/api/v1/calls/ctilab-1.0/hangup", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("status").as_string(), "accepted");
  EXPECT_EQ(obj(r).at("command").at("state").as_string(), "done");
  auto g = get("/api/v1/commands/" + std::string(obj(r).at("command_id").as_string()));
  EXPECT_EQ(obj(g).at("state").as_string(), "done");
  EXPECT_TRUE(published.empty());
}

TEST_F(RestCommands, MakeCallIsDoneOrFailedByTheOriginateResponse) {
  // Response: Success at once ("Originate successfully queued"), then OriginateResponse.
  auto r = post("/api/v1/calls", R"({"to": "089123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string ok(obj(r).at("command_id").as_string());
  EXPECT_EQ(obj(r).at("command").at("state").as_string(), "accepted");
  EXPECT_EQ(obj(r).at("command").at("request_id").as_string(), "c2d-0001");
  r = post("/api/v1/calls", R"({"to": "089123457"})");
  std::string bad(obj(r).at("command_id").as_string());
  ASSERT_EQ(pbx.outcomes.size(), 2u);
  ASSERT_TRUE(pbx.outcomes[0] && pbx.outcomes[1]);
  pbx.outcomes[0](std::string("ctilab-1795382796.10"));
  pbx.outcomes[1](base::fail(base::Error::conflict("Originate failed: busy on PJSIP/100 (OriginateResponse Reason 5)")));
  auto g = obj(get("/api/v1/commands/" + ok));
  EXPECT_EQ(g.at("state").as_string(), "done");
  EXPECT_EQ(g.at("call_id").as_string(), "ctilab-1795382796.10");
  EXPECT_EQ(g.at("action").as_string(), "make_call");
  g = obj(get("/api/v1/commands/" + bad));
  EXPECT_EQ(g.at("state").as_string(), "failed");
  EXPECT_EQ(g.at("reason").as_string(), "Originate failed: busy on PJSIP/100 (OriginateResponse Reason 5)");
  ASSERT_EQ(published.size(), 2u);
  EXPECT_NE(std::get<2>(published[1]).find("\"state\":\"failed\""), std::string::npos);

  // The journal callback is a make_call too.
  journal.add("default", "100", "+4989123456");
  r = post("/api/v1/journal/1/callback", "");
  ASSERT_EQ(r.status, 202);
  EXPECT_EQ(obj(r).at("command").at("action").as_string(), "make_call");
  // A refusal before the 202 is the HTTP answer and names no command.
  pbx.result = base::fail(base::Error::conflict("Originate: Originate failed"));
  r = post("/api/v1/calls", R"({"to": "089123456"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_FALSE(obj(r).contains("command_id"));
}

TEST_F(RestCommands, CommandsAreOnlyVisibleToTheirUserAndTenantAdmins) {
  auto r = post("/api/v1/calls", R"({"to": "089123456"})");
  std::string id(obj(r).at("command_id").as_string());
  EXPECT_EQ(get("/api/v1/commands/" + id).status, 200);
  EXPECT_EQ(get("/api/v1/commands/" + id, "boss").status, 200);    // admin of the tenant
  EXPECT_EQ(get("/api/v1/commands/" + id, "carl").status, 404);    // same device, other user
  EXPECT_EQ(get("/api/v1/commands/" + id, "sup").status, 404);     // supervisor: not theirs
  EXPECT_EQ(get("/api/v1/commands/" + id, "other").status, 404);   // same user name, other tenant
  EXPECT_EQ(get("/api/v1/commands/" + id, "").status, 401);
  EXPECT_EQ(get("/api/v1/commands/cmd-nope").status, 404);
  EXPECT_EQ(get("/api/v1/commands/" + id + "/x").status, 404);
  EXPECT_EQ(type(get("/api/v1/commands/" + std::string(300, 'a'))), "/problems/not-found");
  // Expired after the ttl.
  clock.advance(std::chrono::seconds(601));
  EXPECT_EQ(get("/api/v1/commands/" + id).status, 404);
}

// The log is the tenant's (its runtime's): the routes do not keep it. Once the tenant is gone, a
// PBX answer that arrives late finds nothing, its commands are 404 and new ones 503; the other
// tenant's log is untouched.
TEST_F(RestCommands, ARemovedTenantsCommandLogGoesWithIt) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  pbx.immediate = false;
  auto r = post("/api/v1/calls/ctilab-1.0/hangup", "");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id(obj(r).at("command_id").as_string());
  EXPECT_EQ(logs.at("default")->size("default"), 1u);
  EXPECT_EQ(logs.at("other")->size("default"), 0u);
  EXPECT_EQ(logs.at("other")->size("other"), 0u);
  std::weak_ptr<core::CommandLog> gone = logs.at("default");
  logs.erase("default");  // the runtime was destroyed
  EXPECT_TRUE(gone.expired());
  ASSERT_EQ(pbx.pending.size(), 1u);
  pbx.pending[0](base::fail(base::Error::conflict("Hangup: No such channel")));  // late: no one to tell
  EXPECT_TRUE(published.empty());
  EXPECT_EQ(get("/api/v1/commands/" + id).status, 404);
  EXPECT_EQ(type(post("/api/v1/calls/ctilab-1.0/hangup", "")), "/problems/pbx-unavailable");
  EXPECT_EQ(pbx.log.size(), 1u);  // nothing sent without a log to name the command in
}

// Every command a principal issues is in the audit log of the principal's tenant: who (user, token
// id, address), which command on which call / device / number as received, and the outcome: the
// answer (accepted, rejected with status and reason) and the PBX's final word (done, failed).
// Issues 13/17: Bob picks up the call ringing at his team mate Anna's 100 with his own 102; Dora
// (another team) gets 404 as for a call that does not exist; once it is answered, 409 in words.
// Every attempt is audited as call.pickup.
TEST_F(RestCommands, PickupTakesATeamMatesRingingCallAndIsAudited) {
  model.update("ctilab-1.0", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto r = post("/api/v1/calls/ctilab-1.0/pickup", "", "bob");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(obj(r).at("command").as_object().at("action").as_string(), "pickup");
  EXPECT_EQ(pbx.log.back(), "pickup ctilab-1.0 100 102 +4989123456");
  // Accepted by the PBX, but done only once Bob's phone took the call (the PBX's final word).
  const std::string taken(obj(r).at("command_id").as_string());
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.pickup call:ctilab-1.0 accepted"}));
  EXPECT_EQ(boost::json::parse(get("/api/v1/commands/" + taken, "bob").body).at("state").as_string(), "accepted");
  ASSERT_EQ(pbx.pickups.size(), 1u);
  ASSERT_TRUE(pbx.pickups[0]);
  pbx.pickups[0]({});
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.pickup call:ctilab-1.0 done"}));
  EXPECT_EQ(boost::json::parse(get("/api/v1/commands/" + taken, "bob").body).at("state").as_string(), "done");
  // Answered at 100 while Bob's phone rang: the command fails with "Nothing to pick up" in words.
  r = post("/api/v1/calls/ctilab-1.0/pickup", R"({"device": "102"})", "bob");
  EXPECT_EQ(r.status, 202) << r.body;
  const std::string late(obj(r).at("command_id").as_string());
  ASSERT_EQ(pbx.pickups.size(), 2u);
  pbx.pickups[1](base::fail(base::Error::not_found("PickupChan found nothing to pick up")));
  auto c = boost::json::parse(get("/api/v1/commands/" + late, "bob").body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "failed");
  EXPECT_EQ(std::string(c.at("reason").as_string()),
            "Nothing to pick up: the call stopped ringing at 100 before your phone (102) answered; it was answered "
            "there or ended.") << c;
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.pickup call:ctilab-1.0 accepted",
                                                 "call.pickup call:ctilab-1.0 failed"}));
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", R"({"device": "100"})", "bob").status, 403);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", R"({"device": "PJSIP/102"})", "bob").status, 400);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", "{nope", "bob").status, 400);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", "", "dora").status, 404);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", "", "other").status, 503);  // no PBX serves "other"
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", "", "op").status, 403);
  r = post("/api/v1/calls/ctilab-1.0/pickup", "", "anna");  // her own ringing call
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(std::string(obj(r).at("detail").as_string()).find("answer it instead"), std::string::npos) << r.body;
  users_fail = true;
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/pickup", "", "bob").status, 503);
  users_fail = false;
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(1));
  r = post("/api/v1/calls/ctilab-1.0/pickup", "", "bob");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/action-not-allowed");
  EXPECT_EQ(std::string(obj(r).at("detail").as_string()),
            "This call is no longer ringing, so it cannot be picked up: at 100 it is connected.");
  auto refused = audited();
  EXPECT_EQ(refused, std::vector<std::string>(9, "call.pickup call:ctilab-1.0 rejected"));
  EXPECT_EQ(details(8).at("status").as_int64(), 409);
  EXPECT_EQ(details(0).at("device").as_string(), "100");
  // The supervisor (no extension) cannot pick up; the whole tenant's lines are visible to her.
  model.update("ctilab-2.0", "100", ConnectionState::alerting, CallEventType::delivered, at(2), "+4989123456");
  EXPECT_EQ(post("/api/v1/calls/ctilab-2.0/pickup", "", "sup").status, 403);
  EXPECT_EQ(pbx.log.size(), 2u);
}

// Park (docs/parking.md): a call the user is in, through the generic command shape; done once the
// PBX named the space, which the command record then shows. Not their call: 404; a device not
// theirs: 403; a ringing call: 409 in words.
TEST_F(RestCommands, ParkIsDoneWithTheSpaceThePbxNamed) {
  model.set_park_offered(true);
  model.update("ctilab-1.0", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto r = post("/api/v1/calls/ctilab-1.0/park", "");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(type(r), "/problems/action-not-allowed");
  EXPECT_EQ(std::string(obj(r).at("detail").as_string()),
            "Only a connected call with another party can be parked; at 100 the call is ringing.");
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(1));
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/park", "", "bob").status, 404);  // not in it
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/park", R"({"device": "102"})").status, 403);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/park", R"({"to": "701"})").status, 400);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/park", "", "other").status, 503);  // no PBX serves "other"
  EXPECT_EQ(post("/api/v1/calls/no-such/park", "").status, 404);
  EXPECT_TRUE(pbx.log.empty());
  r = post("/api/v1/calls/ctilab-1.0/park", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(pbx.log.back(), "park ctilab-1.0 100 default");
  const std::string id(obj(r).at("command_id").as_string());
  auto c = boost::json::parse(get("/api/v1/commands/" + id).body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "accepted");
  EXPECT_TRUE(c.at("space").is_null());
  ASSERT_EQ(pbx.parks.size(), 1u);
  pbx.parks[0](std::string("701"));
  c = boost::json::parse(get("/api/v1/commands/" + id).body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "done");
  EXPECT_EQ(c.at("space").as_string(), "701");
  auto a = audited();
  EXPECT_EQ(a.back(), "call.park call:ctilab-1.0 done");
}

// POST /api/v1/calls/{id}/move {"device": NAME}: one of the user's external devices (looked up in
// the identity store) or their extension; bad bodies and unknown devices are refused before
// anything is dialled; done once the new device talks to the remote, failed in words otherwise.
TEST_F(RestCommands, MoveSendsTheCallToTheUsersMobileAndBackToTheDesk) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(1), "+4989123456");
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/move", "").status, 400);  // no device
  auto r = post("/api/v1/calls/ctilab-1.0/move", R"({"device": "mobile", "to": "x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(std::string(obj(r).at("detail").as_string()).find("unknown field \"to\""), std::string::npos) << r.body;
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/move", R"({"device": "a/b"})").status, 400);
  r = post("/api/v1/calls/ctilab-1.0/move", R"({"device": "tablet"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(type(r), "/problems/device-not-found");
  EXPECT_EQ(std::string(obj(r).at("detail").as_string()), "no device \"tablet\" (your devices: 100, mobile)");
  r = post("/api/v1/calls/ctilab-9.9/move", R"({"device": "mobile"})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(type(r), "/problems/not-found");
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/move", R"({"device": "mobile"})", "bob").status, 404);  // not bob's call
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/move", R"({"device": "mobile"})", "other").status, 503);
  EXPECT_TRUE(pbx.log.empty());

  r = post("/api/v1/calls/ctilab-1.0/move", R"({"device": "mobile"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(pbx.log.back(), "move ctilab-1.0 100 +491701234567 +491701234567");
  const std::string id(obj(r).at("command_id").as_string());
  auto c = boost::json::parse(get("/api/v1/commands/" + id).body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "accepted");
  ASSERT_EQ(pbx.moves.size(), 1u);
  pbx.moves[0]({});
  c = boost::json::parse(get("/api/v1/commands/" + id).body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "done");
  EXPECT_EQ(c.at("action").as_string(), "move");

  // Back to the desk: no lookup; the mobile does not answer the next time.
  r = post("/api/v1/calls/ctilab-1.0/move", R"({"device": "100"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(pbx.log.back(), "move ctilab-1.0 100 desk ");
  r = post("/api/v1/calls/ctilab-1.0/move", R"({"device": "mobile"})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id2(obj(r).at("command_id").as_string());
  pbx.moves.back()(base::fail(base::Error::conflict("Originate failed: busy")));
  c = boost::json::parse(get("/api/v1/commands/" + id2).body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "failed");
  EXPECT_EQ(c.at("reason").as_string(),
            "Your device mobile did not take the call, so it stays where it was (Originate failed: busy).");
  auto a = audited();
  EXPECT_NE(std::find(a.begin(), a.end(), "call.move call:ctilab-1.0 done"), a.end());
  EXPECT_EQ(a.back(), "call.move call:ctilab-1.0 failed");
}

// Unpark: POST /api/v1/parking/{space}/pickup. An empty space (or another tenant's) is 404 in
// words; the final word comes from the PBX as pickup's does.
TEST_F(RestCommands, UnparkTakesTheParkedCallOrSaysNothingIsParkedThere) {
  model::ParkingState parking("lab");
  model::ParkedCall pc;
  pc.lot = "default";
  pc.space = "701";
  pc.linkedid = "ctilab-1.0";
  pc.number = "+4989123456";
  parking.park(pc);
  service.set_parking(&parking);
  auto r = post("/api/v1/parking/702/pickup", "", "bob");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(type(r), "/problems/not-found");
  EXPECT_EQ(std::string(obj(r).at("detail").as_string()),
            "Nothing is parked at 702 any more: it was picked up, timed out or the caller hung up.");
  EXPECT_EQ(post("/api/v1/parking/701/pickup", "", "other").status, 503);  // another tenant: not its PBX
  EXPECT_EQ(post("/api/v1/parking/701/pickup", R"({"device": "100"})", "bob").status, 403);
  EXPECT_EQ(post("/api/v1/parking/701,x/pickup", "", "bob").status, 404);  // not a space name
  EXPECT_EQ(post("/api/v1/parking/701/pickup", R"({"lot": "a,b"})", "bob").status, 400);
  EXPECT_EQ(post("/api/v1/parking/701/pickup", "", "op").status, 403);
  EXPECT_TRUE(pbx.log.empty());
  r = post("/api/v1/parking/701/pickup", "", "bob");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(pbx.log.back(), "unpark default,701 102 +4989123456");
  const std::string id(obj(r).at("command_id").as_string());
  ASSERT_EQ(pbx.unparks.size(), 1u);
  pbx.unparks[0](base::fail(base::Error::not_found("ParkedCall found nothing")));
  auto c = boost::json::parse(get("/api/v1/commands/" + id, "bob").body).as_object();
  EXPECT_EQ(c.at("state").as_string(), "failed");
  EXPECT_EQ(c.at("action").as_string(), "unpark");
  EXPECT_EQ(std::string(c.at("reason").as_string()),
            "Nothing was parked at 701 any more when your phone (102) answered: someone else picked it up, or the "
            "caller hung up.");
  auto a = audited();
  EXPECT_EQ(a.back(), "call.unpark parking:701 failed");
}

// The presence page knows lines, not call ids: POST /api/v1/lines/{device}/pickup takes the call
// ringing there (the one ringing longest); nothing ringing, or a line out of sight, is 404.
TEST_F(RestCommands, PickupByLineTakesTheCallRingingThere) {
  model.update("ctilab-2.0", "100", ConnectionState::alerting, CallEventType::delivered, at(2), "+4989000002");
  model.update("ctilab-1.0", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989000001");
  auto r = post("/api/v1/lines/100/pickup", "", "bob");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(obj(r).at("call_id").as_string(), "ctilab-1.0");
  EXPECT_EQ(pbx.log.back(), "pickup ctilab-1.0 100 102 +4989000001");
  ASSERT_EQ(pbx.pickups.size(), 1u);
  pbx.pickups[0]({});
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.pickup line:100 accepted", "call.pickup line:100 done"}));
  r = post("/api/v1/lines/101/pickup", "", "bob");  // nothing rings there
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(std::string(obj(r).at("detail").as_string()),
            "No call is ringing at 101 that you could pick up (it may have been answered or ended).");
  EXPECT_EQ(post("/api/v1/lines/100/pickup", "", "dora").status, 404);   // another team's line
  EXPECT_EQ(post("/api/v1/lines/100/explode", "", "bob").status, 404);   // not a command
  EXPECT_EQ(post("/api/v1/lines/PJSIP%2F1/pickup", "", "bob").status, 404);
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.pickup line:101 rejected", "call.pickup line:100 rejected"}));
  EXPECT_EQ(pbx.log.size(), 1u);
}

TEST_F(RestCommands, EveryCommandIsAuditedWithWhoWhatWhereAndOutcome) {
  model.update("ctilab-1.0", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  pbx.immediate = false;
  auto r = post("/api/v1/calls/ctilab-1.0/transfer", R"({"to": "101", "device": "100"})");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id(obj(r).at("command_id").as_string());
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.transfer call:ctilab-1.0 accepted"}));
  const auto& rec = seen_[0];
  EXPECT_EQ(rec.tenant, "default");
  EXPECT_EQ(rec.actor, "anna");
  EXPECT_EQ(rec.source, "192.0.2.7");
  EXPECT_EQ(rec.at, at(0));
  auto d = details(0);
  EXPECT_EQ(d.at("command_id").as_string(), id);
  EXPECT_EQ(d.at("token_id").as_string(), "a11a0001");
  EXPECT_EQ(d.at("to").as_string(), "101");
  EXPECT_EQ(d.at("device").as_string(), "100");
  // The PBX refuses after the 202: failed, with its words; a second answer adds nothing.
  clock.advance(std::chrono::milliseconds(40));
  ASSERT_EQ(pbx.pending.size(), 1u);
  pbx.pending[0](base::fail(base::Error::conflict("BlindTransfer: No such channel")));
  pbx.pending[0](base::Status{});
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.transfer call:ctilab-1.0 failed"}));
  EXPECT_EQ(seen_[0].at, at(0) + std::chrono::milliseconds(40));
  EXPECT_EQ(details(0).at("reason").as_string(), "BlindTransfer: No such channel");
  EXPECT_EQ(details(0).at("command_id").as_string(), id);
  // Confirmed inside the request: accepted and done at once, in that order.
  pbx.immediate = true;
  ASSERT_EQ(post("/api/v1/calls/ctilab-1.0/hangup", "").status, 202);
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.hangup call:ctilab-1.0 accepted",
                                                 "call.hangup call:ctilab-1.0 done"}));
  // Refused: by the call's allowed actions, an unknown call, a bad body, the PBX at once, no link.
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/hold", "").status, 409);
  EXPECT_EQ(post("/api/v1/calls/ctilab-9.0/answer", "{}").status, 404);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/hangup", R"({"device": "PJSIP/100"})").status, 400);
  auto refused = audited();
  EXPECT_EQ(refused, (std::vector<std::string>{"call.hold call:ctilab-1.0 rejected", "call.answer call:ctilab-9.0 rejected",
                                               "call.hangup call:ctilab-1.0 rejected"}));
  EXPECT_EQ(details(0).at("status").as_int64(), 409);
  EXPECT_NE(details(0).at("reason").as_string().find("remote hold"), std::string::npos);
  EXPECT_EQ(details(1).at("status").as_int64(), 404);
  EXPECT_EQ(details(2).at("status").as_int64(), 400);
  EXPECT_EQ(details(2).at("device").as_string(), "PJSIP/100");  // as sent: what was tried
  EXPECT_NE(details(2).at("reason").as_string().find("device: not a device name"), std::string::npos);
  // Not authenticated, or a path that names no command: no principal issued anything.
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/hangup", "", "").status, 401);
  EXPECT_EQ(post("/api/v1/calls/ctilab-1.0/explode", "").status, 404);
  EXPECT_TRUE(audited().empty());
  // Reads are not commands.
  EXPECT_EQ(get("/api/v1/commands/" + id).status, 200);
  EXPECT_TRUE(audited().empty());
}

TEST_F(RestCommands, MakeCallAndCallbackAreAuditedWithTheNumberAsReceivedAndTheirOutcome) {
  auto r = post("/api/v1/calls", R"({"to": "tel:+49 89 123456", "from": "100"})");
  ASSERT_EQ(r.status, 202) << r.body;
  r = post("/api/v1/calls", R"({"to": "089123457"})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.make_call number:tel:+49 89 123456 accepted",
                                                 "call.make_call number:089123457 accepted"}));
  EXPECT_EQ(details(0).at("to").as_string(), "tel:+49 89 123456");
  EXPECT_EQ(details(0).at("from").as_string(), "100");
  EXPECT_EQ(details(0).at("request_id").as_string(), "c2d-0001");
  EXPECT_FALSE(details(1).contains("from"));
  // The OriginateResponses: done with the call made, failed with the PBX's reason.
  ASSERT_EQ(pbx.outcomes.size(), 2u);
  pbx.outcomes[1](base::fail(base::Error::conflict("Originate failed: busy on PJSIP/100 (OriginateResponse Reason 5)")));
  pbx.outcomes[0](std::string("ctilab-1795382796.10"));
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.make_call number:089123457 failed",
                                                 "call.make_call number:tel:+49 89 123456 done"}));
  EXPECT_EQ(details(0).at("reason").as_string(), "Originate failed: busy on PJSIP/100 (OriginateResponse Reason 5)");
  EXPECT_EQ(details(1).at("call_id").as_string(), "ctilab-1795382796.10");
  EXPECT_EQ(details(1).at("request_id").as_string(), "c2d-0001");
  // Refused numbers and devices, as received.
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "pizza please"})").status, 400);
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089", "from": "101"})").status, 403);
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.make_call number:pizza please rejected",
                                                 "call.make_call number:089 rejected"}));
  EXPECT_EQ(details(1).at("from").as_string(), "101");
  EXPECT_EQ(details(1).at("status").as_int64(), 403);

  // A journal callback: the entry, the party and the number it calls.
  journal.add("default", "100", "+4989123456");
  journal.add("default", "101", "+4930111");
  ASSERT_EQ(post("/api/v1/journal/1/callback", "").status, 202);
  EXPECT_EQ(post("/api/v1/journal/2/callback", "").status, 404);
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.callback journal:1 accepted", "call.callback journal:2 rejected"}));
  EXPECT_EQ(details(0).at("journal_entry").as_int64(), 1);
  EXPECT_EQ(details(0).at("to").as_string(), "+4989123456");
  EXPECT_EQ(details(0).at("from").as_string(), "100");
  EXPECT_FALSE(details(1).contains("to"));  // not the user's entry: nothing of it is told
  // Another tenant's user: their own tenant's log, even without call control there.
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089123456"})", "other").status, 503);
  // The operator issues no tenant's calls: refused, kept in the operator's records.
  EXPECT_EQ(post("/api/v1/calls", R"({"to": "089123456"})", "op").status, 403);
  EXPECT_EQ(audited(), (std::vector<std::string>{"call.make_call number:089123456 rejected",
                                                 "call.make_call number:089123456 rejected"}));
  EXPECT_EQ(seen_[0].tenant, "other");
  EXPECT_EQ(details(0).at("status").as_int64(), 503);
  EXPECT_EQ(seen_[1].tenant, "_operator");
  EXPECT_EQ(seen_[1].actor, "ops");
  EXPECT_EQ(details(1).at("status").as_int64(), 403);
}

// The hub side of command events: addressed to one user of one tenant, whatever the scope,
// also on resume.
struct Sink final : core::EventSubscriber {
  std::vector<std::string> got;
  void on_message(const core::HubMessage& m) override { got.push_back(*m.frame); }
};

TEST(CommandEvents, ReachOnlyTheIssuingUsersSubscriptions) {
  core::EventHub hub;
  Sink anna, carl, sup, other_anna;
  core::EventFilter fa{.scope = core::EventScope::own, .own = {"100"}, .team = {}, .user = "anna"};
  core::EventFilter fc{.scope = core::EventScope::own, .own = {"100"}, .team = {}, .user = "carl"};
  core::EventFilter fs{.scope = core::EventScope::tenant, .own = {}, .team = {}, .user = "sup"};
  hub.subscribe("default", fa, std::nullopt, &anna);
  hub.subscribe("default", fc, std::nullopt, &carl);
  hub.subscribe("default", fs, std::nullopt, &sup);
  hub.subscribe("other", fa, std::nullopt, &other_anna);
  hub.publish_to_user("default", "anna", "command", R"(,"command":{"id":"cmd-1","state":"failed"}})");
  ASSERT_EQ(anna.got.size(), 1u);
  EXPECT_EQ(anna.got[0], R"({"type":"command","seq":1,"command":{"id":"cmd-1","state":"failed"}})");
  EXPECT_TRUE(carl.got.empty());
  EXPECT_TRUE(sup.got.empty());
  EXPECT_TRUE(other_anna.got.empty());
  // Resume from seq 0: anna gets it again, carl and the supervisor do not.
  Sink again;
  auto a = hub.subscribe("default", fa, 0, &again);
  EXPECT_TRUE(a.resumed);
  ASSERT_EQ(a.initial.size(), 1u);
  EXPECT_EQ(*a.initial[0], anna.got[0]);
  EXPECT_TRUE(hub.subscribe("default", fs, 0, &again).initial.empty());
  EXPECT_TRUE(hub.subscribe("default", fc, 0, &again).initial.empty());
}

}  // namespace
}  // namespace callbridge::capabilities::calls
