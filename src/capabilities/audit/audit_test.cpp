// The audit capability alone (its route on the API's own, whose identity and settings routes write
// the records): who may read (a tenant's admins, their tenant only; others 403), what is recorded
// for sign-ins, tokens, users and settings, filters and paging, and that no secret reaches a
// record or the file. Real SQLite stores (support/rest_fixture).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "capabilities/audit/audit_routes.hpp"
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

}  // namespace
}  // namespace callbridge::capabilities::audit
