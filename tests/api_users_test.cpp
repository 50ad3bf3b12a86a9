// The admin's user pages and each user's own settings (issue 13), through the REST API over real
// stores (support/rest_fixture): users read and edited (display name, team, extensions, role),
// a user's tokens, sign-in links (one use, short-lived, revocable), own settings and favorites
// with validation; roles, tenants and the audit log checked on each.
#include <gtest/gtest.h>

#include "support/rest_fixture.hpp"

namespace callbridge::api {
namespace {

namespace json = boost::json;
using testsupport::kA;
using testsupport::kB;

class ApiUsers : public testsupport::RestFixture {
 protected:
  void add_capabilities(capabilities::CapabilityContext&) override {}

  std::vector<ports::StoredAuditRecord> audit_of(const testsupport::Tenant& t, const std::string& action) {
    ports::AuditQuery q;
    q.tenant = base::TenantId(t.name);
    q.kind = action;
    auto r = audit_->query(q);
    EXPECT_TRUE(r) << r.error().to_string();
    return r ? *r : std::vector<ports::StoredAuditRecord>{};
  }
  static std::string session_cookie(const HttpResponse& r) {
    auto c = header(r, "Set-Cookie");
    return c.substr(0, c.find(';'));
  }
};

TEST_F(ApiUsers, AdminsEditDisplayNameTeamExtensionsAndRole) {
  auto admin = add_user(kA, "root", "admin", {});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto other_admin = add_user(kB, "root", "admin", {});
  auto me = json::parse(call("GET", "/api/v1/me", ben).body);
  EXPECT_EQ(me.at("team").as_string(), "");

  auto r = call("PATCH", "/api/v1/users/ben", admin,
                R"({"display_name":"Ben Bravo","team":"sales","extensions":["101","111"],"role":"supervisor"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"user":"ben","role":"supervisor","extensions":["101","111"],"display_name":"Ben Bravo","team":"sales"})");
  // Ben's next request sees the change at once (cached principals are dropped).
  me = json::parse(call("GET", "/api/v1/me", ben).body);
  EXPECT_EQ(me.at("role").as_string(), "supervisor");
  EXPECT_EQ(me.at("team").as_string(), "sales");
  EXPECT_EQ(json::serialize(me.at("extensions")), R"(["101","111"])");
  // Only the fields given change.
  r = call("PATCH", "/api/v1/users/ben", admin, R"({"team":""})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("display_name").as_string(), "Ben Bravo");
  EXPECT_EQ(json::parse(r.body).at("team").as_string(), "");
  auto one = call("GET", "/api/v1/users/ben", admin);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body).at("role").as_string(), "supervisor");

  // Who may: admins of the tenant only; another tenant's admin finds no such user.
  EXPECT_EQ(call("PATCH", "/api/v1/users/ben", ben, R"({"team":"x"})").status, 403);
  EXPECT_EQ(call("GET", "/api/v1/users/ben", ben).status, 403);
  EXPECT_EQ(call("PATCH", "/api/v1/users/ben", other_admin, R"({"team":"x"})").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/users/ben", other_admin).status, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/users/nobody", admin, R"({"team":"x"})").status, 404);
  // Bad input: 400 naming the field; an admin cannot demote themself (409).
  for (const char* bad : {R"({})", R"({"name":"x"})", R"({"role":"operator"})", R"({"role":"boss"})",
                          R"({"extensions":"101"})", R"({"extensions":["PJSIP/101"]})", R"({"extensions":["../x"]})",
                          R"({"team":7})", R"([1])"}) {
    auto b = call("PATCH", "/api/v1/users/ben", admin, bad);
    EXPECT_EQ(b.status, 400) << bad << " -> " << b.body;
    EXPECT_FALSE(json::parse(b.body).at("detail").as_string().empty()) << bad;
  }
  auto self = call("PATCH", "/api/v1/users/root", admin, R"({"role":"user"})");
  EXPECT_EQ(self.status, 409) << self.body;
  EXPECT_EQ(call("PATCH", "/api/v1/users/root", admin, R"({"display_name":"The Admin"})").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/users/ben", other_admin).status, 404);

  auto records = audit_of(kA, "user.change");
  ASSERT_EQ(records.size(), 13u);  // newest first: every attempt by an admin of the tenant is recorded
  EXPECT_EQ(records.front().record.target, "user:root");
  EXPECT_EQ(records.back().record.outcome, "ok");
  EXPECT_EQ(records.back().record.details_json,
            R"({"role":"supervisor","display_name":"Ben Bravo","team":"sales","extensions":["101","111"]})");
}

TEST_F(ApiUsers, AUsersTokensAreListedAndRevocable) {
  auto admin = add_user(kA, "root", "admin", {});
  auto ben = add_user(kA, "ben", "user", {"101"});
  add_user(kA, "cid", "user", {"102"});
  add_user(kB, "ben", "user", {"101"});
  auto list = call("GET", "/api/v1/users/ben/tokens", admin);
  ASSERT_EQ(list.status, 200) << list.body;
  auto toks = json::parse(list.body).at("tokens").as_array();
  ASSERT_EQ(toks.size(), 1u);
  EXPECT_EQ(toks[0].at("user").as_string(), "ben");
  EXPECT_FALSE(toks[0].as_object().contains("token")) << "never the secret";
  EXPECT_EQ(json::parse(call("GET", "/api/v1/tokens?user=ben", admin).body).at("tokens").as_array().size(), 1u);
  EXPECT_EQ(json::parse(call("GET", "/api/v1/tokens", admin).body).at("tokens").as_array().size(), 3u);
  EXPECT_EQ(call("GET", "/api/v1/tokens?who=ben", admin).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/users/nobody/tokens", admin).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/users/ben/tokens", ben).status, 403);
  const std::string id(toks[0].at("id").as_string());
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + id, admin).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/me", ben).status, 401);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/users/ben/tokens", admin).body).at("tokens").as_array()[0].at("revoked").as_bool());
}

TEST_F(ApiUsers, ASignInLinkSignsTheUserInOnceWithinItsTime) {
  auto admin = add_user(kA, "root", "admin", {});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto other_admin = add_user(kB, "root", "admin", {});
  auto link = [&](const std::string& token, const std::string& body = "") {
    HttpRequest r;
    r.method = "POST";
    r.target = r.path = "/api/v1/users/ben/sign-in-link";
    r.headers.emplace_back("authorization", "Bearer " + token);
    r.headers.emplace_back("host", "cti.example:8080");
    r.body = body;
    r.remote = remote_;
    return server_->dispatch(r);
  };
  auto r = link(admin, R"({"expires_in":300})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(header(r, "Cache-Control"), "no-store");
  auto o = json::parse(r.body).as_object();
  const std::string url(o.at("url").as_string()), path(o.at("path").as_string());
  EXPECT_TRUE(url.starts_with("http://cti.example:8080/?token=cbl_")) << url;
  EXPECT_TRUE(url.ends_with(path));
  EXPECT_EQ(o.at("expires_at").as_string(), base::format_rfc3339_ms(clock_.now() + std::chrono::seconds(300)));
  const std::string code = path.substr(path.find('=') + 1);

  // The link's code is no API token ...
  EXPECT_EQ(call("GET", "/api/v1/me", code).status, 401);
  // ... but signs Ben in once through POST /api/v1/session, as the web client does with ?token=.
  auto s = call("POST", "/api/v1/session", "", R"({"token":")" + code + R"("})");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(json::parse(s.body).at("user").as_string(), "ben");
  const std::string cookie = session_cookie(s);
  ASSERT_TRUE(cookie.starts_with("cb_session=")) << cookie;
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", cookie).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/session", "", R"({"token":")" + code + R"("})").status, 401) << "used";

  // A second link expires unused.
  auto second = json::parse(link(admin).body).as_object();
  const std::string path2(second.at("path").as_string());
  clock_.advance(std::chrono::seconds(601));
  EXPECT_EQ(call("POST", "/api/v1/session", "", R"({"token":")" + path2.substr(path2.find('=') + 1) + R"("})").status, 401);
  // The session lives on its link's token: listed with Ben's tokens, revoking it ends the session.
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", cookie).status, 200);
  const std::string token_id(o.at("token_id").as_string());
  auto toks = json::parse(call("GET", "/api/v1/users/ben/tokens", admin).body).at("tokens").as_array();
  EXPECT_EQ(toks.size(), 3u);  // his own and the two links'
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + token_id, admin).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/me", "", "", cookie).status, 401);

  // Who may: the tenant's admins, for users of the tenant.
  EXPECT_EQ(link(ben).status, 403);
  EXPECT_EQ(link(other_admin).status, 404);
  EXPECT_EQ(link(admin, R"({"expires_in":5})").status, 400);
  EXPECT_EQ(link(admin, R"({"expires_in":"soon"})").status, 400);
  EXPECT_EQ(link(admin, R"({"for":"ever"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/session", "", R"({"token":"cbl_00"})").status, 401);
  auto records = audit_of(kA, "token.sign_in_link");
  ASSERT_EQ(records.size(), 2u) << "two links; refused requests name no token";
  EXPECT_EQ(records.back().record.outcome, "ok");
  EXPECT_EQ(records.back().record.target, "token:" + token_id);
  EXPECT_EQ(records.back().record.details_json.find("cbl_"), std::string::npos) << "never the code";
  auto sign_ins = audit_of(kA, "session.create");
  ASSERT_FALSE(sign_ins.empty());
  EXPECT_NE(sign_ins.back().record.details_json.find("sign-in-link"), std::string::npos);
}

TEST_F(ApiUsers, OwnSettingsAndFavoritesAreValidatedAndKeptPerUser) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto admin = add_user(kA, "root", "admin", {});
  auto anna_b = add_user(kB, "anna", "user", {"100"});
  auto get = call("GET", "/api/v1/me/settings", anna);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.body, R"({"ring_sound":true,"notifications":false,"language":"auto","theme":"auto","updated_at":null})");
  auto put = call("PUT", "/api/v1/me/settings", anna, R"({"ring_sound":false,"notifications":true,"language":"de","theme":"dark"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body).at("theme").as_string(), "dark");
  get = call("GET", "/api/v1/me/settings", anna);
  EXPECT_EQ(get.body, R"({"ring_sound":false,"notifications":true,"language":"de","theme":"dark","updated_at":")" +
                          base::format_rfc3339_ms(clock_.now()) + R"("})");
  // Keys left out take their defaults; other users and the other tenant's Anna are untouched.
  ASSERT_EQ(call("PUT", "/api/v1/me/settings", anna, R"({"theme":"light"})").status, 200);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/me/settings", anna).body).at("ring_sound").as_bool());
  EXPECT_EQ(json::parse(call("GET", "/api/v1/me/settings", ben).body).at("theme").as_string(), "auto");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/me/settings", anna_b).body).at("theme").as_string(), "auto");
  for (const char* bad : {R"({"ring_sound":"yes"})", R"({"language":"fr"})", R"({"theme":1})", R"({"volume":3})",
                          R"({"language":null})"}) {
    auto b = call("PUT", "/api/v1/me/settings", anna, bad);
    EXPECT_EQ(b.status, 422) << bad << " -> " << b.body;
    EXPECT_EQ(ptype(b), "/problems/validation-failed");
    EXPECT_FALSE(json::parse(b.body).at("detail").as_string().empty());
  }
  EXPECT_EQ(call("PUT", "/api/v1/me/settings", anna, "[]").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/settings", anna, "{").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/settings", anna, "{\"theme\":\"" + std::string(5000, 'x') + "\"}").status, 413);
  EXPECT_EQ(call("GET", "/api/v1/me/settings").status, 401);

  // Favorites: in order, with an optional contact reference.
  EXPECT_EQ(call("GET", "/api/v1/me/favorites", anna).body, R"({"favorites":[],"updated_at":null})");
  const std::string favs =
      R"J({"favorites":[{"label":"Ben","number":"101"},{"label":"Erika (ACME)","number":"+49 211 339903-12","contact":{"id":"17","source":"store"}}]})J";
  auto f = call("PUT", "/api/v1/me/favorites", anna, favs);
  ASSERT_EQ(f.status, 200) << f.body;
  auto got = json::parse(call("GET", "/api/v1/me/favorites", anna).body);
  EXPECT_EQ(json::serialize(got.at("favorites")), json::serialize(json::parse(favs).at("favorites")));
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/me/favorites", ben).body).at("favorites").as_array().empty());
  for (const char* bad : {R"({"favorites":{}})", R"({})", R"({"favorites":[{"label":"","number":"1"}]})",
                          R"({"favorites":[{"label":"x","number":"call me"}]})", R"({"favorites":[{"label":"x"}]})",
                          R"({"favorites":[{"label":"x","number":"1","colour":"red"}]})",
                          R"({"favorites":[{"label":"x","number":"1","contact":{"id":"1"}}]})",
                          R"({"favorites":[{"label":"a\u0007","number":"1"}]})", R"({"favorites":[7]})"}) {
    auto b = call("PUT", "/api/v1/me/favorites", anna, bad);
    EXPECT_EQ(b.status, 422) << bad << " -> " << b.body;
  }
  std::string many = R"({"favorites":[)";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"label":"x","number":"1"})";
  many += "]}";
  EXPECT_EQ(call("PUT", "/api/v1/me/favorites", anna, many).status, 422);

  // Removing a user removes their settings: a new user of the same name starts afresh.
  ASSERT_EQ(call("DELETE", "/api/v1/users/anna", admin).status, 204);
  auto anna2 = add_user(kA, "anna", "user", {"100"});
  EXPECT_EQ(json::parse(call("GET", "/api/v1/me/settings", anna2).body).at("theme").as_string(), "auto");
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/me/favorites", anna2).body).at("favorites").as_array().empty());
}

}  // namespace
}  // namespace callbridge::api
