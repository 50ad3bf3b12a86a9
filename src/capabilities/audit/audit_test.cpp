// The audit capability (its route on the API's own, whose identity and settings routes write the
// records; with the calls capability for call-control commands): who may read (a tenant's admins,
// their tenant only, others 403; the operator any tenant or all), what is recorded for sign-ins,
// tokens, users, settings and call-control commands issued through the API, filters and paging,
// and that no secret reaches a record or the file. Real SQLite stores (support/rest_fixture).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "api/tenant_admin.hpp"
#include "capabilities/audit/audit_routes.hpp"
#include "capabilities/calls/calls_routes.hpp"
#include "core/call_control.hpp"
#include "core/command_log.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::audit {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class AuditRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_audit(c); }

  // The records `token` reads (200 expected), flushed first.
  json::array records(const std::string& token, const std::string& query = "") {
    EXPECT_TRUE(audit_->flush());
    auto r = call("GET", "/api/v1/audit" + query, token);
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return {};
    return json::parse(r.body).at("records").as_array();
  }
  static std::vector<std::string> actions(const json::array& a) {
    std::vector<std::string> out;
    for (const auto& r : a) out.emplace_back(r.at("action").as_string());
    return out;
  }
  static const json::object* find(const json::array& a, std::string_view action, std::string_view outcome = "ok") {
    for (const auto& r : a)
      if (r.at("action").as_string() == action && r.at("outcome").as_string() == outcome) return &r.as_object();
    return nullptr;
  }
  std::string db_bytes() const {
    std::string all;
    for (const char* f : {"audit.db", "audit.db-wal"}) {
      std::ifstream in(dir_ / f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }
};

TEST_F(AuditRoutes, TenantAdminsReadTheirOwnTenantOnlyOthersGet403) {
  auto admin_a = add_user(kA, "adm", "admin", {});
  auto admin_b = add_user(kB, "adm", "admin", {});
  auto user_a = add_user(kA, "anna", "user", {"100"});
  auto sup_a = add_user(kA, "sup", "supervisor", {});
  ASSERT_EQ(call("POST", "/api/v1/users", admin_a, R"({"user":"ben","extensions":["101"]})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/users", admin_b, R"({"user":"bea","extensions":["101"]})").status, 201);

  auto a = records(admin_a);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].at("tenant").as_string(), kA.name);
  EXPECT_EQ(a[0].at("target").as_string(), "user:ben");
  auto b = records(admin_b);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].at("tenant").as_string(), kB.name);
  EXPECT_EQ(b[0].at("target").as_string(), "user:bea");

  for (const auto& t : {user_a, sup_a}) {
    auto r = call("GET", "/api/v1/audit", t);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(ptype(r), "/problems/forbidden");
  }
  EXPECT_EQ(call("GET", "/api/v1/audit?tenant=" + kB.name, admin_a).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/audit?tenant=" + kA.name, admin_a).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/audit").status, 401);
}

// The operator (above the tenants' admins) reads any tenant's records or every tenant's; a tenant
// admin naming another tenant (or the operator's records) gets 403, never an empty list.
TEST_F(AuditRoutes, TheOperatorReadsAnyTenantOrAllTenantAdminsOnlyTheirOwn) {
  const api::testsupport::Tenant ops{std::string(base::kOperatorTenant), "", "Ops", ""};
  auto op = add_user(ops, "ops", "operator", {});
  auto admin_a = add_user(kA, "adm", "admin", {});
  auto admin_b = add_user(kB, "adm", "admin", {});
  ASSERT_EQ(call("POST", "/api/v1/users", admin_a, R"({"user":"ben"})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/users", admin_b, R"({"user":"bea"})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/users", admin_b, R"({"user":"bo"})").status, 201);
  // A sign-in with a token nobody issued: the operator's own records.
  const std::string stranger = "cbt_00112233aabbccdd_" + std::string(64, '1');
  ASSERT_EQ(call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", stranger}})).status, 401);

  auto all = records(op);
  std::map<std::string, int> per_tenant;
  for (const auto& r : all) ++per_tenant[std::string(r.at("tenant").as_string())];
  EXPECT_EQ(per_tenant, (std::map<std::string, int>{{kA.name, 1}, {kB.name, 2}, {"_operator", 1}}));
  auto b = records(op, "?tenant=" + kB.name);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].at("target").as_string(), "user:bo");
  EXPECT_EQ(b[1].at("target").as_string(), "user:bea");
  auto a = records(op, "?tenant=" + kA.name + "&kind=user.create");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].at("target").as_string(), "user:ben");
  EXPECT_EQ(records(op, "?tenant=_operator").size(), 1u);
  EXPECT_EQ(records(op, "?tenant=gone").size(), 0u);  // a tenant with no records (removed, or none yet)
  // Paging across tenants.
  auto page = json::parse(call("GET", "/api/v1/audit?limit=3", op).body);
  ASSERT_EQ(page.at("records").as_array().size(), 3u);
  auto rest = records(op, "?before=" + std::to_string(page.at("next_before").as_int64()));
  EXPECT_EQ(rest.size(), 1u);

  // Denied: a tenant admin naming another tenant or the operator's records.
  for (const std::string& other : {kB.name, std::string("_operator"), std::string("gone")}) {
    auto r = call("GET", "/api/v1/audit?tenant=" + other, admin_a);
    EXPECT_EQ(r.status, 403) << other << " " << r.body;
    EXPECT_EQ(ptype(r), "/problems/forbidden");
    EXPECT_NE(r.body.find("another tenant"), std::string::npos) << r.body;
  }
  // Their own, named or not, is theirs only.
  EXPECT_EQ(records(admin_a, "?tenant=" + kA.name).size(), 1u);
  EXPECT_EQ(records(admin_a).size(), 1u);
  // Not a tenant id: 400 for everyone.
  for (const auto& t : {op, admin_a}) {
    for (const char* bad : {"?tenant=", "?tenant=a%20b", "?tenant=..%2Fx"}) {
      auto r = call("GET", std::string("/api/v1/audit") + bad, t);
      EXPECT_EQ(r.status, 400) << bad << " " << r.body;
    }
  }
}

TEST_F(AuditRoutes, RecordsUsersTokensAndSettingsWithWhoWhereAndOutcome) {
  auto admin = add_user(kA, "adm", "admin", {});
  ASSERT_EQ(call("POST", "/api/v1/users", admin, R"({"user":"ben","role":"supervisor","extensions":["101"]})").status, 201);
  ASSERT_EQ(call("POST", "/api/v1/users", admin, R"({"user":"ben"})").status, 409);  // exists: recorded as failed
  auto tok = call("POST", "/api/v1/users/ben/tokens", admin, R"({"expires_in":3600})");
  ASSERT_EQ(tok.status, 201);
  const std::string id(json::parse(tok.body).at("id").as_string());
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + id, admin).status, 204);
  ASSERT_EQ(call("PUT", "/api/v1/ui-settings", admin, R"({"action_links":[],"card_template":"<b>{contact.name}</b>"})").status, 200);
  ASSERT_EQ(call("DELETE", "/api/v1/ui-settings", admin).status, 204);
  ASSERT_EQ(call("DELETE", "/api/v1/users/ben", admin).status, 204);
  ASSERT_EQ(call("DELETE", "/api/v1/users/nobody", admin).status, 404);

  auto a = records(admin);
  EXPECT_EQ(actions(a), (std::vector<std::string>{"user.remove", "user.remove", "setting.delete", "setting.change",
                                                  "token.revoke", "token.create", "user.create", "user.create"}));
  const auto* created = find(a, "user.create");
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->at("actor").as_string(), "adm");
  EXPECT_EQ(created->at("source").as_string(), "192.0.2.10");
  EXPECT_EQ(created->at("at").as_string(), base::format_rfc3339_ms(clock_.now()));
  EXPECT_EQ(created->at("details").at("role").as_string(), "supervisor");
  const auto* dup = find(a, "user.create", "failed");
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(dup->at("details").at("status").as_int64(), 409);
  EXPECT_EQ(dup->at("details").at("reason").as_string(), "user ben exists");
  const auto* token = find(a, "token.create");
  ASSERT_NE(token, nullptr);
  EXPECT_EQ(token->at("target").as_string(), "token:" + id);
  EXPECT_EQ(token->at("details").at("user").as_string(), "ben");
  EXPECT_FALSE(token->at("details").at("expires_at").is_null());
  ASSERT_NE(find(a, "token.revoke"), nullptr);
  EXPECT_EQ(find(a, "token.revoke")->at("target").as_string(), "token:" + id);
  const auto* setting = find(a, "setting.change");
  ASSERT_NE(setting, nullptr);
  EXPECT_EQ(setting->at("target").as_string(), "setting:ui");
  EXPECT_EQ(json::serialize(setting->at("details").at("keys")), R"(["action_links","card_template"])");
  ASSERT_NE(find(a, "user.remove", "failed"), nullptr);
  EXPECT_EQ(find(a, "user.remove", "failed")->at("target").as_string(), "user:nobody");
}

TEST_F(AuditRoutes, SignInsSucceededAndFailedWithTheUserTriedAndTheAddress) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto parts = ports::parse_token(anna);
  ASSERT_TRUE(parts);
  ASSERT_EQ(call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", anna}})).status, 200);
  remote_ = "198.51.100.9";
  const std::string wrong = "cbt_" + parts->id + "_" + std::string(parts->secret.size(), '0');
  ASSERT_EQ(call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", wrong}})).status, 401);
  const std::string stranger = "cbt_00112233aabbccdd_" + std::string(64, '1');
  ASSERT_EQ(call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", stranger}})).status, 401);
  remote_ = "192.0.2.10";

  auto a = records(admin, "?kind=session");
  ASSERT_EQ(a.size(), 2u);  // the stranger's attempt is not this tenant's
  const auto* ok = find(a, "session.create");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->at("actor").as_string(), "anna");
  EXPECT_EQ(ok->at("target").as_string(), "token:" + parts->id);
  EXPECT_EQ(ok->at("source").as_string(), "192.0.2.10");
  const auto* failed = find(a, "session.create", "failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->at("actor").as_string(), "anna");  // the user the token's id names
  EXPECT_EQ(failed->at("source").as_string(), "198.51.100.9");
  EXPECT_EQ(failed->at("details").at("reason").as_string(), "unknown or invalid token");

  // The stranger's attempt is kept for the operator (it belongs to no tenant).
  auto all = audit_->query({.tenant = base::TenantId(ports::kUnattributedAuditTenant)});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].record.target, "token:00112233aabbccdd");
  EXPECT_EQ((*all)[0].record.actor, "");
  EXPECT_EQ((*all)[0].record.source, "198.51.100.9");
}

TEST_F(AuditRoutes, NoSecretInAnyRecordOrInTheFile) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto tok = call("POST", "/api/v1/users/adm/tokens", admin);
  ASSERT_EQ(tok.status, 201);
  const std::string token(json::parse(tok.body).at("token").as_string());
  const auto parts = ports::parse_token(token);
  ASSERT_TRUE(parts);
  auto session = call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", token}}));
  ASSERT_EQ(session.status, 200);
  std::string cookie = header(session, "Set-Cookie");
  cookie = cookie.substr(0, cookie.find(';'));  // cb_session=<value>
  ASSERT_GT(cookie.size(), 20u);
  // A token pasted where an id belongs, a wrong secret, a settings URL carrying a key.
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + token, admin).status, 404);
  ASSERT_EQ(call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", token + "0"}})).status, 401);
  ASSERT_EQ(call("PUT", "/api/v1/ui-settings", admin,
                 R"({"action_links":[{"label":"CRM","url":"https://crm.example/?apikey=SETTINGSECRET42"}]})")
                .status,
            200);
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + parts->id, admin).status, 204);

  auto body = call("GET", "/api/v1/audit?limit=500", admin).body;
  ASSERT_TRUE(audit_->flush());
  EXPECT_GE(json::parse(body).at("records").as_array().size(), 6u);
  const std::string file = db_bytes();
  ASSERT_NE(file.find("token:" + parts->id), std::string::npos);  // the id is there: the bytes are readable
  for (const std::string& secret : {parts->secret, cookie.substr(cookie.find('=') + 1), std::string("SETTINGSECRET42")}) {
    EXPECT_EQ(body.find(secret), std::string::npos) << secret;
    EXPECT_EQ(file.find(secret), std::string::npos) << secret;
  }
}

TEST_F(AuditRoutes, FiltersPagingAndBadParameters) {
  auto admin = add_user(kA, "adm", "admin", {});
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(call("POST", "/api/v1/users", admin, R"({"user":"u)" + std::to_string(i) + R"("})").status, 201);
    ASSERT_EQ(call("POST", "/api/v1/users/u" + std::to_string(i) + "/tokens", admin).status, 201);
    clock_.advance(std::chrono::minutes(1));
  }
  EXPECT_EQ(records(admin, "?kind=token").size(), 7u);
  EXPECT_EQ(records(admin, "?kind=token.create").size(), 7u);
  EXPECT_EQ(records(admin, "?kind=user.remove").size(), 0u);
  EXPECT_EQ(records(admin, "?actor=adm").size(), 14u);
  EXPECT_EQ(records(admin, "?actor=someone").size(), 0u);
  const auto t = api::testsupport::t0();
  EXPECT_EQ(records(admin, "?since=" + base::format_rfc3339_ms(t + std::chrono::minutes(5))).size(), 4u);
  EXPECT_EQ(records(admin, "?until=" + base::format_rfc3339_ms(t + std::chrono::minutes(1))).size(), 2u);

  auto page1 = json::parse(call("GET", "/api/v1/audit?limit=5", admin).body);
  ASSERT_EQ(page1.at("records").as_array().size(), 5u);
  const auto next = page1.at("next_before").as_int64();
  auto page3 = json::parse(call("GET", "/api/v1/audit?limit=10&before=" + std::to_string(next), admin).body);
  EXPECT_EQ(page3.at("records").as_array().size(), 9u);
  EXPECT_TRUE(page3.at("next_before").is_null());
  EXPECT_LT(page3.at("records").as_array()[0].at("id").as_int64(), next);

  for (const char* bad : {"?limit=0", "?limit=501", "?limit=x", "?before=-1", "?since=yesterday", "?kind=Token",
                          "?kind=%25", "?actor="}) {
    auto r = call("GET", std::string("/api/v1/audit") + bad, admin);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
}

// A PBX that answers each command when the test says (like AMI's Response after the 202), and a
// make call's OriginateResponse the same way.
struct LaterPbx final : ports::PbxCommands {
  std::vector<std::string> sent;
  std::vector<ports::CommandDone> pending;
  std::vector<std::function<void(base::Result<std::string>)>> originated;
  bool available() const override { return true; }
  void note(std::string what, ports::CommandDone d) {
    sent.push_back(std::move(what));
    pending.push_back(std::move(d));
  }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    originated.push_back(r.on_outcome);
    note("make_call " + r.from_device + " " + r.dial_string, std::move(d));
  }
  void answer(const std::string& c, const std::string&, ports::CommandDone d) override { note("answer " + c, std::move(d)); }
  void hangup(const std::string& c, const std::string&, ports::CommandDone d) override { note("hangup " + c, std::move(d)); }
  void hold(const std::string& c, const std::string&, ports::CommandDone d) override { note("hold " + c, std::move(d)); }
  void retrieve(const std::string& c, const std::string&, ports::CommandDone d) override { note("retrieve " + c, std::move(d)); }
  void consult(const std::string& c, const std::string&, const std::string& to, ports::CommandDone d) override {
    note("consult " + c + " " + to, std::move(d));
  }
  void alternate(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override {
    note("alternate " + c, std::move(d));
  }
  void transfer(const std::string& c, const std::string&, const std::string& to, ports::CommandDone d) override {
    note("transfer " + c + " " + to, std::move(d));
  }
  void complete_transfer(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override {
    note("complete_transfer " + c, std::move(d));
  }
  void conference(const std::string& c, const std::string&, const std::string&, ports::CommandDone d) override {
    note("conference " + c, std::move(d));
  }
  void redirect(const std::string& c, const std::string&, const std::string& to, ports::CommandDone d) override {
    note("redirect " + c + " " + to, std::move(d));
  }
};

// Both capabilities as the daemon serves them, tenant A with call control (its runtime's command
// log), tenant B without a PBX link.
class AuditOfCommands : public AuditRoutes {
 protected:
  void add_capabilities(CapabilityContext& c) override {
    register_audit(c);
    calls::register_calls(c);
  }
  void extend_deps(api::RestDeps& d) override {
    service_ = std::make_unique<core::CallControlService>(core::CallControlOptions{.tenant = base::TenantId(kA.name)},
                                                          models_.at(kA.name), pbx_, nullptr);
    d.call_control = [this](const base::TenantId& t) -> core::CallControlService* {
      return t == base::TenantId(kA.name) ? service_.get() : nullptr;
    };
    d.command_log = [this](const base::TenantId& t) -> std::shared_ptr<core::CommandLog> {
      return t == base::TenantId(kA.name) ? log_ : nullptr;
    };
  }
  void connect(const std::string& call, const std::string& device) {
    models_.at(kA.name).update(call, device, model::ConnectionState::connected, model::CallEventType::established,
                               clock_.now(), "+4989123456");
  }
  LaterPbx pbx_;
  std::unique_ptr<core::CallControlService> service_;
  std::shared_ptr<core::CommandLog> log_ = std::make_shared<core::CommandLog>(core::CommandLogOptions{}, clock_);
};

// Commands issued through the REST API, the PBX's answers, and the records read back from GET
// /api/v1/audit by the tenant's admin (and nobody else's).
TEST_F(AuditOfCommands, CallControlCommandsAreReadBackWithWhoWhatWhereAndOutcome) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto ben = add_user(kB, "ben", "user", {"100"});
  auto admin_b = add_user(kB, "adm", "admin", {});
  const auto anna_token = ports::parse_token(anna);
  ASSERT_TRUE(anna_token);
  connect("ta-call-7", "100");
  ring(kA, "100", 9);  // ta-call-9 rings on anna's phone

  remote_ = "198.51.100.23";
  auto made = call("POST", "/api/v1/calls", anna, R"({"to": "0049 89 123456", "from": "100"})");
  ASSERT_EQ(made.status, 202) << made.body;
  auto rejected_call = call("POST", "/api/v1/calls/ta-call-9/hangup", anna, R"({"device": "100"})");
  ASSERT_EQ(rejected_call.status, 202) << rejected_call.body;
  auto xfer = call("POST", "/api/v1/calls/ta-call-7/transfer", anna, R"({"to": "101"})");
  ASSERT_EQ(xfer.status, 202) << xfer.body;
  ASSERT_EQ(call("POST", "/api/v1/calls/ta-call-7/retrieve", anna).status, 409);  // not held yet
  ASSERT_EQ(call("POST", "/api/v1/calls/ta-call-404/hangup", anna).status, 404);
  ASSERT_EQ(call("POST", "/api/v1/calls", ben, R"({"to": "+4930111"})").status, 503);  // B has no PBX link
  ASSERT_EQ(pbx_.sent.size(), 3u);
  // The PBX: the hang-up and the originate go through, the transfer fails.
  clock_.advance(std::chrono::seconds(2));
  pbx_.pending[1](base::Status{});
  pbx_.pending[2](base::fail(base::Error::conflict("BlindTransfer: No such channel")));
  pbx_.pending[0](base::Status{});
  pbx_.originated[0](std::string("ta-call-8"));
  remote_ = "192.0.2.10";

  auto a = records(admin, "?kind=call");
  // Newest first: the PBX's final words, the refusals, the acceptances (B's refusal is B's).
  EXPECT_EQ(actions(a), (std::vector<std::string>{"call.make_call", "call.transfer", "call.hangup", "call.hangup",
                                                  "call.retrieve", "call.transfer", "call.hangup", "call.make_call"}));
  ASSERT_EQ(a.size(), 8u);
  std::vector<std::string> outcomes;
  for (const auto& r : a) outcomes.emplace_back(r.at("outcome").as_string());
  EXPECT_EQ(outcomes, (std::vector<std::string>{"done", "failed", "done", "rejected", "rejected", "accepted", "accepted",
                                                "accepted"}))
      << json::serialize(a);
  for (const auto& r : a) {
    EXPECT_EQ(r.at("tenant").as_string(), kA.name);
    EXPECT_EQ(r.at("actor").as_string(), "anna");
    EXPECT_EQ(r.at("source").as_string(), "198.51.100.23");
    EXPECT_EQ(r.at("details").at("token_id").as_string(), anna_token->id);
  }
  // The make call: the number as the API received it, the command, then the call it made.
  const std::string make_id(json::parse(made.body).at("command_id").as_string());
  EXPECT_EQ(a[7].at("target").as_string(), "number:0049 89 123456");
  EXPECT_EQ(a[7].at("details").at("to").as_string(), "0049 89 123456");
  EXPECT_EQ(a[7].at("details").at("from").as_string(), "100");
  EXPECT_EQ(a[7].at("details").at("command_id").as_string(), make_id);
  EXPECT_EQ(a[7].at("at").as_string(), base::format_rfc3339_ms(api::testsupport::t0()));
  EXPECT_EQ(a[0].at("details").at("command_id").as_string(), make_id);
  EXPECT_EQ(a[0].at("details").at("call_id").as_string(), "ta-call-8");
  EXPECT_EQ(a[0].at("at").as_string(), base::format_rfc3339_ms(api::testsupport::t0() + std::chrono::seconds(2)));
  // On a call: its id, the device, the destination; the PBX's refusal with its words.
  EXPECT_EQ(a[6].at("target").as_string(), "call:ta-call-9");
  EXPECT_EQ(a[6].at("details").at("device").as_string(), "100");
  EXPECT_EQ(a[2].at("target").as_string(), "call:ta-call-9");  // done: the PBX confirmed the hang-up
  EXPECT_EQ(a[5].at("details").at("to").as_string(), "101");
  EXPECT_EQ(a[1].at("details").at("reason").as_string(), "BlindTransfer: No such channel");
  EXPECT_EQ(a[1].at("details").at("command_id").as_string(), json::parse(xfer.body).at("command_id").as_string());
  EXPECT_EQ(a[4].at("details").at("status").as_int64(), 409);
  EXPECT_EQ(a[3].at("target").as_string(), "call:ta-call-404");
  EXPECT_EQ(a[3].at("details").at("status").as_int64(), 404);
  // Filters work on them like on any record.
  EXPECT_EQ(records(admin, "?kind=call.transfer").size(), 2u);
  EXPECT_EQ(records(admin, "?actor=anna").size(), 8u);
  // Tenant B's admin sees B's refused command only; users read no audit log.
  auto b = records(admin_b, "?kind=call");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].at("actor").as_string(), "ben");
  EXPECT_EQ(b[0].at("outcome").as_string(), "rejected");
  EXPECT_EQ(b[0].at("details").at("status").as_int64(), 503);
  EXPECT_EQ(call("GET", "/api/v1/audit", anna).status, 403);
  // No secret: anna's token is named by its id only.
  ASSERT_TRUE(audit_->flush());
  EXPECT_EQ(db_bytes().find(anna_token->secret), std::string::npos);
}

// Tenants in memory, for the operator's routes: a spec whose pbx secret is not a string is refused
// the way the configuration readers say it (naming the key and quoting the value).
struct MemoryTenants final : api::TenantAdmin {
  std::set<std::string> ids;
  void list(Done done) override { done(std::string(R"({"tenants":[]})")); }
  void get(const std::string& id, Done done) override {
    if (!ids.count(id)) return done(base::fail(base::Error::not_found("no tenant " + id)));
    done(R"({"id":")" + id + "\"}");
  }
  void put(const std::string& id, std::string spec, bool create, const std::string&, Done done) override {
    auto v = json::parse(spec).as_object();
    if (auto* pbx = v.if_contains("pbx"))
      if (const auto& secret = pbx->at(0).at("secret"); !secret.is_string())
        return done(base::fail(base::Error::invalid_argument("pbx[0].secret: expected a string, got " +
                                                             json::serialize(secret))));
    if (create && ids.count(id)) return done(base::fail(base::Error::conflict("tenant " + id + " exists")));
    if (!create && !ids.count(id)) return done(base::fail(base::Error::not_found("no tenant " + id)));
    ids.insert(id);
    done(R"({"id":")" + id + "\"}");
  }
  void remove(const std::string& id, std::function<void(base::Status)> done) override {
    if (!ids.erase(id)) return done(base::fail(base::Error::not_found("no tenant " + id)));
    done({});
  }
};

class AuditOfTenants : public AuditRoutes {
 protected:
  void extend_deps(api::RestDeps& d) override { d.tenants = &tenants_; }
  MemoryTenants tenants_;
};

// The operator's tenant changes are the operator's records (tenant "_operator"), each naming the
// tenant changed; the spec's keys, never its values; refusals with a reason that quotes no value.
TEST_F(AuditOfTenants, TenantChangesAreTheOperatorsRecordsNamingTheTenantAndNoSecret) {
  const api::testsupport::Tenant ops{std::string(base::kOperatorTenant), "", "Ops", ""};
  auto op = add_user(ops, "ops", "operator", {});
  auto admin_a = add_user(kA, "adm", "admin", {});
  remote_ = "203.0.113.5";
  ASSERT_EQ(call("POST", "/api/v1/tenants", op,
                 R"({"id":"acme","display_name":"ACME","pbx":[{"host":"h","user":"u","secret":"s3cret-pbx"}]})")
                .status,
            201);
  ASSERT_EQ(call("PUT", "/api/v1/tenants/acme", op, R"({"display_name":"ACME 2"})").status, 200);
  ASSERT_EQ(call("POST", "/api/v1/tenants", op, R"({"id":"acme"})").status, 409);
  ASSERT_EQ(call("POST", "/api/v1/tenants", op, R"({"id":"x","pbx":[{"host":"h","secret":424242}]})").status, 400);
  ASSERT_EQ(call("POST", "/api/v1/tenants", op, R"({"display_name":"no id"})").status, 400);
  ASSERT_EQ(call("DELETE", "/api/v1/tenants/acme", op).status, 204);
  ASSERT_EQ(call("DELETE", "/api/v1/tenants/acme", op).status, 404);
  ASSERT_EQ(call("GET", "/api/v1/tenants/acme", op).status, 404);  // a read: not recorded
  ASSERT_EQ(call("POST", "/api/v1/tenants", admin_a, R"({"id":"mine"})").status, 403);  // not the operator
  remote_ = "192.0.2.10";

  auto t = records(op, "?tenant=_operator&kind=tenant");
  EXPECT_EQ(actions(t), (std::vector<std::string>{"tenant.remove", "tenant.remove", "tenant.create", "tenant.create",
                                                  "tenant.create", "tenant.change", "tenant.create"}));
  ASSERT_EQ(t.size(), 7u);
  std::vector<std::string> targets, outcomes;
  for (const auto& r : t) {
    EXPECT_EQ(r.at("tenant").as_string(), "_operator");
    EXPECT_EQ(r.at("actor").as_string(), "ops");
    EXPECT_EQ(r.at("source").as_string(), "203.0.113.5");
    targets.emplace_back(r.at("target").as_string());
    outcomes.emplace_back(r.at("outcome").as_string());
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"tenant:acme", "tenant:acme", "tenant:", "tenant:x", "tenant:acme",
                                               "tenant:acme", "tenant:acme"}));
  EXPECT_EQ(outcomes, (std::vector<std::string>{"failed", "ok", "failed", "failed", "failed", "ok", "ok"}));
  EXPECT_EQ(t[6].at("details").at("tenant").as_string(), "acme");
  EXPECT_EQ(json::serialize(t[6].at("details").at("keys")), R"(["id","display_name","pbx"])");
  EXPECT_EQ(json::serialize(t[5].at("details").at("keys")), R"(["display_name"])");
  EXPECT_EQ(t[4].at("details").at("status").as_int64(), 409);
  EXPECT_EQ(t[4].at("details").at("reason").as_string(), "tenant acme exists");
  EXPECT_EQ(t[3].at("details").at("status").as_int64(), 400);
  EXPECT_EQ(t[3].at("details").at("reason").as_string(), "pbx[0].secret: expected a string");  // not "got 424242"
  EXPECT_EQ(t[0].at("details").at("status").as_int64(), 404);
  EXPECT_FALSE(t[1].at("details").as_object().contains("keys"));
  // The operator reading every tenant finds them too; the tenant's admins do not (not their records).
  EXPECT_EQ(records(op, "?kind=tenant.remove").size(), 2u);
  EXPECT_EQ(records(admin_a, "?kind=tenant").size(), 0u);
  // No value of a spec, no secret, in the answers or the file.
  auto body = call("GET", "/api/v1/audit?limit=500", op).body;
  ASSERT_TRUE(audit_->flush());
  const std::string file = db_bytes();
  ASSERT_NE(file.find("tenant:acme"), std::string::npos);
  for (const char* secret : {"s3cret-pbx", "424242", "ACME 2"}) {
    EXPECT_EQ(body.find(secret), std::string::npos) << secret;
    EXPECT_EQ(file.find(secret), std::string::npos) << secret;
  }
}

}  // namespace
}  // namespace callbridge::capabilities::audit
