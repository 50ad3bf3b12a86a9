// The REST API through HttpServer::dispatch (no sockets) with every capability of the daemon's
// table: authentication failures, limits, malformed input, sessions, tickets, admin routes.
// Each capability's own behaviour is tested in its folder (src/capabilities/<name>/<name>_test.cpp). The randomized
// two-tenant isolation run is tests/tenant_isolation_test.cpp (REST and WebSocket on a socket).
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "app/capability_table.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::api {
namespace {

namespace json = boost::json;
using testsupport::kA;
using testsupport::kB;
using namespace std::chrono_literals;

// Every capability of the daemon's table, as callbridged serves them.
class RestFixture : public testsupport::RestFixture {
 protected:
  void add_capabilities(capabilities::CapabilityContext& c) override {
    for (const auto& cap : app::capability_table()) cap.register_routes(c);
  }
};

TEST_F(RestFixture, MeNeedsAValidToken) {
  auto tok = add_user(kA, "anna", "user", {"100"});
  auto r = call("GET", "/api/v1/me", tok);
  ASSERT_EQ(r.status, 200) << r.body;
  auto me = json::parse(r.body);
  EXPECT_EQ(me.at("user").as_string(), "anna");
  EXPECT_EQ(me.at("tenant").as_string(), "ta");
  EXPECT_EQ(me.at("extensions").as_array().size(), 1u);

  auto none = call("GET", "/api/v1/me");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(ptype(none), "/problems/unauthorized");
  EXPECT_EQ(call("GET", "/api/v1/me", tok + "00").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/me", "cbt_00_00").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/me", "garbage").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/me", std::string(5000, 'x')).status, 401);
  // The verified token is cached: argon2 ran once for the good token.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call("GET", "/api/v1/me", tok).status, 200);
  EXPECT_GE(auth_->stats().cache_hits, 20u);
}

TEST_F(RestFixture, ExpiredAndRevokedTokensAreRefused) {
  ASSERT_TRUE(ids_->put_user({"ta", "adm", "admin", "", {}, ""}));
  auto admin = *identity::issue_token(*ids_, "ta", "adm", clock_.now());
  auto r = call("POST", "/api/v1/users/adm/tokens", admin.token, R"({"expires_in": 60})");
  ASSERT_EQ(r.status, 201) << r.body;
  std::string short_lived(json::parse(r.body).at("token").as_string());
  std::string short_id(json::parse(r.body).at("id").as_string());
  EXPECT_EQ(call("GET", "/api/v1/me", short_lived).status, 200);
  clock_.advance(61s);
  auto ex = call("GET", "/api/v1/me", short_lived);
  EXPECT_EQ(ex.status, 401);
  EXPECT_NE(ex.body.find("expired"), std::string::npos);

  auto r2 = call("POST", "/api/v1/users/adm/tokens", admin.token);
  ASSERT_EQ(r2.status, 201);
  std::string t2(json::parse(r2.body).at("token").as_string());
  std::string id2(json::parse(r2.body).at("id").as_string());
  EXPECT_EQ(call("GET", "/api/v1/me", t2).status, 200);
  EXPECT_EQ(call("DELETE", "/api/v1/tokens/" + id2, admin.token).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/me", t2).status, 401);  // cached verification was dropped
  // The token list never shows secrets.
  auto list = call("GET", "/api/v1/tokens", admin.token);
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(t2.substr(t2.rfind('_') + 1)), std::string::npos);
}

TEST_F(RestFixture, RepeatedFailuresAreRateLimitedPerAddress) {
  auto tok = add_user(kA, "anna", "user", {"100"});
  for (int i = 0; i < 10; ++i) EXPECT_EQ(call("GET", "/api/v1/me", "cbt_0_0").status, 401);
  auto r = call("GET", "/api/v1/me", "cbt_0_0");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(ptype(r), "/problems/too-many-requests");
  EXPECT_FALSE(header(r, "Retry-After").empty());
  EXPECT_EQ(call("GET", "/api/v1/me", tok).status, 200);  // a good token still passes (issue 12)
  remote_ = "192.0.2.11";
  EXPECT_EQ(call("GET", "/api/v1/me", tok).status, 200);  // other addresses are unaffected
  remote_ = "192.0.2.10";
  clock_.advance(61s);
  EXPECT_EQ(call("GET", "/api/v1/me", tok).status, 200);
}

TEST_F(RestFixture, OversizedMalformedAndUnknownRequestsGetClear4xx) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto big = call("POST", "/api/v1/contacts", admin, std::string(70 * 1024, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(ptype(big), "/problems/payload-too-large");
  for (const std::string& body : std::vector<std::string>{"{", "nul", "{\"a\":}", std::string(100, '['), "\xff\xfe"}) {
    auto r = call("POST", "/api/v1/contacts", admin, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(ptype(r), "/problems/invalid-json");
  }
  auto arr = call("POST", "/api/v1/users", admin, "[1,2]");
  EXPECT_EQ(arr.status, 400);
  EXPECT_EQ(ptype(arr), "/problems/bad-request");
  auto wrong = call("POST", "/api/v1/users", admin, R"({"user": 5})");
  EXPECT_EQ(ptype(wrong), "/problems/bad-request");
  auto role = call("POST", "/api/v1/users", admin, R"({"user": "x", "role": "root"})");
  EXPECT_EQ(role.status, 400);
  auto unknown = call("GET", "/api/v1/nothing-here", admin);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(ptype(unknown), "/problems/not-found");
  EXPECT_EQ(call("GET", "/api/v1/nothing-here").status, 401);  // no probing without credentials
  EXPECT_EQ(ptype(call("GET", "/api/v1/journal?limit=0", admin)), "/problems/bad-request");
  EXPECT_EQ(ptype(call("GET", "/api/v1/journal?since=yesterday", admin)), "/problems/bad-request");
  EXPECT_EQ(ptype(call("GET", "/api/v1/contacts/lookup?number=abc", admin)), "/problems/invalid-number");
  EXPECT_EQ(call("GET", "/api/v1/contacts/abc", admin).status, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/journal/-1", admin, "{}").status, 404);
}

TEST_F(RestFixture, SessionCookieAndWsTicket) {
  auto tok = add_user(kA, "anna", "user", {"100"});
  auto r = call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", tok}}));
  ASSERT_EQ(r.status, 200) << r.body;
  auto sc = header(r, "Set-Cookie");
  ASSERT_TRUE(sc.starts_with("cb_session="));
  EXPECT_NE(sc.find("HttpOnly"), std::string::npos);
  EXPECT_NE(sc.find("SameSite=Strict"), std::string::npos);
  auto cookie = sc.substr(0, sc.find(';'));
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", "x=1; " + cookie).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/session", "", R"({"token":"cbt_1_1"})").status, 401);

  // A cookie request that changes state needs its page's Origin (issue 12; api_security_test).
  auto no_origin = call("POST", "/api/v1/ws-ticket", "", "", cookie);
  EXPECT_EQ(no_origin.status, 403);
  EXPECT_EQ(ptype(no_origin), "/problems/forbidden");
  auto browser = [&](const std::string& method, const std::string& path) {
    HttpRequest r;
    r.method = method;
    r.target = r.path = path;
    r.headers = {{"cookie", cookie}, {"host", "cti.example.com"}, {"origin", "http://cti.example.com"}};
    r.remote = remote_;
    return server_->dispatch(r);
  };
  auto t = browser("POST", "/api/v1/ws-ticket");
  ASSERT_EQ(t.status, 200);
  std::string ticket(json::parse(t.body).at("ticket").as_string());
  HttpRequest ws;
  ws.method = "GET";
  ws.path = "/api/v1/events";
  ws.query = "ticket=" + ticket;
  ASSERT_TRUE(auth_->resolve(ws, true));
  EXPECT_FALSE(auth_->resolve(ws, true)) << "single use";
  EXPECT_FALSE(auth_->resolve(ws, false));

  EXPECT_EQ(call("DELETE", "/api/v1/session", "", "", cookie).status, 403);  // no Origin: not even a logout
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", cookie).status, 200);
  EXPECT_EQ(browser("DELETE", "/api/v1/session").status, 204);
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", cookie).status, 401);
  // An expired session is refused.
  auto r2 = call("POST", "/api/v1/session", "", json::serialize(json::object{{"token", tok}}));
  auto c2 = header(r2, "Set-Cookie");
  c2 = c2.substr(0, c2.find(';'));
  clock_.advance(13h);
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", c2).status, 401);
}

TEST_F(RestFixture, AdminRoutesNeedAdmin) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto user = add_user(kA, "anna", "user", {"100"});
  EXPECT_EQ(ptype(call("GET", "/api/v1/users", user)), "/problems/forbidden");
  EXPECT_EQ(call("GET", "/api/v1/diagnostics", user).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/users/anna/tokens", user).status, 403);
  auto c = call("POST", "/api/v1/users", admin, R"({"user":"ben","role":"user","extensions":["101"],"display_name":"Ben"})");
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(call("POST", "/api/v1/users", admin, R"({"user":"ben"})").status, 409);
  // Extensions are device names the PBX dials (issue 12): a clear 400, no user made.
  for (const char* ext : {"PJSIP/101", "../x", "a.b"}) {
    auto bad = call("POST", "/api/v1/users", admin, std::string(R"({"user":"carl","extensions":[")") + ext + "\"]}");
    EXPECT_EQ(bad.status, 400) << ext << " " << bad.body;
    EXPECT_NE(bad.body.find("is not an extension"), std::string::npos) << bad.body;
  }
  EXPECT_EQ(call("GET", "/api/v1/users", admin).body.find("carl"), std::string::npos);
  auto tk = call("POST", "/api/v1/users/ben/tokens", admin);
  ASSERT_EQ(tk.status, 201);
  std::string bt(json::parse(tk.body).at("token").as_string());
  auto me = json::parse(call("GET", "/api/v1/me", bt).body);
  EXPECT_EQ(me.at("extensions").as_array()[0].as_string(), "101");
  // A tenant admin gets their tenant's view: its links, no daemon-wide auth or worker counters.
  auto d = call("GET", "/api/v1/diagnostics", admin);
  ASSERT_EQ(d.status, 200);
  auto dj = json::parse(d.body);
  EXPECT_FALSE(dj.as_object().contains("auth")) << d.body;
  EXPECT_EQ(dj.at("tenant").as_string(), kA.name);
  EXPECT_EQ(dj.at("version").as_string(), "test");
  ASSERT_EQ(dj.at("pbx").as_array().size(), 1u) << d.body;
  EXPECT_EQ(dj.at("pbx").as_array()[0].at("name").as_string(), "p-" + kA.name);
  EXPECT_TRUE(dj.at("clients").is_array());
  // The operator gets the daemon's.
  ASSERT_TRUE(ids_->put_user({"_operator", "ops", "operator", "Ops", {}, ""}));
  auto op = identity::issue_token(*ids_, "_operator", "ops", clock_.now())->token;
  auto od = json::parse(call("GET", "/api/v1/diagnostics", op).body);
  EXPECT_TRUE(od.as_object().contains("auth"));
  EXPECT_FALSE(od.as_object().contains("tenant"));
  EXPECT_EQ(od.at("pbx").as_array().size(), 2u);
  // /metrics: an admin (their tenant's) or the operator (the daemon's); no [server] metrics_allow
  // here (tokenless scrapes: api_security_test).
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  EXPECT_EQ(call("GET", "/metrics", user).status, 403);
  auto m = call("GET", "/metrics", admin);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("callbridge_pbx_counters_events{name=\"p-" + kA.name + "\"} 3"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("callbridge_pbx_counters_events{name=\"p-b\"}"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("callbridge_auth_ok "), std::string::npos) << m.body;
  m = call("GET", "/metrics", op);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("callbridge_pbx_counters_events{name=\"p-b\"} 4"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("callbridge_auth_ok "), std::string::npos);
  remote_ = "127.0.0.1";
  EXPECT_EQ(call("GET", "/metrics").status, 401);  // loopback is no credential (issue 12)
  auto o = call("GET", "/api/v1/openapi.json");
  ASSERT_EQ(o.status, 200);
  EXPECT_EQ(json::parse(o.body).at("openapi").as_string(), "3.0.3");
}

// Rows in identity.db whose tenant is not an id (written by hand, an old tool, a bug): the request
// is rejected (401), never served as some tenant - there is no default tenant to fall back on.
TEST_F(RestFixture, RequestWhoseTenantWasNeverSetIsRejected) {
  auto good = add_user(kA, "anna", "user", {"100"});
  ASSERT_EQ(call("GET", "/api/v1/me", good).status, 200);
  auto unset = add_user(kA, "ghost", "admin", {"100"});
  auto odd = add_user(kA, "odd", "admin", {"100"});
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "identity.db").string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE users SET tenant='' WHERE name='ghost';"
                         "UPDATE tokens SET tenant='' WHERE user='ghost';"
                         "UPDATE users SET tenant='../ta' WHERE name='odd';"
                         "UPDATE tokens SET tenant='../ta' WHERE user='odd';",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  // Each attempt from another address: the failure limiter (429 after a few 401s from one
  // address) would otherwise answer for the store.
  int addr = 20;
  for (const auto* tok : {&unset, &odd}) {
    for (const char* path : {"/api/v1/me", "/api/v1/calls", "/api/v1/journal", "/api/v1/contacts", "/api/v1/users"}) {
      remote_ = "192.0.2." + std::to_string(addr++);
      auto r = call("GET", path, *tok);
      EXPECT_EQ(r.status, 401) << path << ": " << r.body;
    }
    remote_ = "192.0.2." + std::to_string(addr++);
    EXPECT_EQ(call("POST", "/api/v1/ws-ticket", *tok).status, 401);
  }
  remote_ = "192.0.2." + std::to_string(addr++);
  EXPECT_EQ(call("GET", "/api/v1/me", good).status, 200);  // the rest of the tenant is unaffected
}

}  // namespace
}  // namespace callbridge::api

namespace callbridge::api {
namespace {

// The operator (docs/api.md "Tenants"): tenant management and who-am-I only; every route of a
// tenant's data answers 403, and tenant admins cannot reach the tenant routes nor make operators.
TEST_F(RestFixture, OperatorSeesNoTenantDataAndTenantAdminsNoTenantRoutes) {
  ASSERT_TRUE(ids_->put_user({"_operator", "ops", "operator", "Ops", {}, ""}));
  auto op = identity::issue_token(*ids_, "_operator", "ops", clock_.now())->token;
  auto admin = add_user(kA, "adm", "admin", {"100"});
  ring(kA, "100", 1);
  add_journal(kA, "100", 1);

  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/calls"}, {"GET", "/api/v1/journal"}, {"GET", "/api/v1/contacts?q=a"},
           {"GET", "/api/v1/users"}, {"GET", "/api/v1/tokens"}, {"GET", "/api/v1/lines"},
           {"GET", "/api/v1/ui-settings"}, {"POST", "/api/v1/ws-ticket"}, {"POST", "/api/v1/contacts"}}) {
    auto r = call(method, path, op, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
  }
  auto me = call("GET", "/api/v1/me", op);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body).at("role").as_string(), "operator");
  EXPECT_EQ(call("GET", "/api/v1/diagnostics", op).status, 200);
  // No TenantAdmin in this process: the operator's routes say so; a tenant admin is refused first.
  EXPECT_EQ(call("GET", "/api/v1/tenants", op).status, 503);
  EXPECT_EQ(ptype(call("GET", "/api/v1/tenants", admin)), "/problems/forbidden");
  EXPECT_EQ(call("POST", "/api/v1/tenants", admin, R"({"id":"x"})").status, 403);
  EXPECT_EQ(call("DELETE", "/api/v1/tenants/x", admin).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/tenants", "").status, 401);
  // A tenant admin cannot create an operator in their tenant.
  auto c = call("POST", "/api/v1/users", admin, R"({"user":"evil","role":"operator"})");
  EXPECT_EQ(c.status, 400) << c.body;
  // The admin still sees the tenant's call.
  EXPECT_NE(call("GET", "/api/v1/calls", admin).body.find("\"device\":\"100\""), std::string::npos);
}

}  // namespace
}  // namespace callbridge::api
