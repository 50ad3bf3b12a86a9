// GET/PUT/DELETE /api/v1/ui-settings (api/rest_settings.cpp) through add_rest_routes with the real
// Authenticator over an in-memory identity store.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "api/rest_api.hpp"
#include "identity/sqlite/identity_store.hpp"

namespace callbridge::api {
namespace {

namespace json = boost::json;

struct UiSettings : ::testing::Test {
  boost::asio::io_context io;
  HttpServer server{io, HttpServerOptions{}};
  base::ManualClock clock{base::from_micros(1'795'000'000'000'000)};
  std::unique_ptr<identity::SqliteIdentityStore> ids = std::move(*identity::SqliteIdentityStore::open(":memory:"));
  std::unique_ptr<Authenticator> auth = std::make_unique<Authenticator>(*ids, clock);
  std::optional<std::string> ui_config = R"({"tenants": {"*": {"actions": [{"label": "CRM",
      "url": "https://crm.example/c/{contact.id}"}], "card_template": "<b>{{contact.name}}</b>"},
      "t2": {"actions": [], "card_template": "<i>{contact.company}</i>"}}})";
  std::string admin, user, other_admin;

  UiSettings() {
    EXPECT_TRUE(ids->put_user({"t1", "root", "admin", "", {}, ""}));
    EXPECT_TRUE(ids->put_user({"t1", "anna", "user", "", {"100"}, ""}));
    EXPECT_TRUE(ids->put_user({"t2", "root", "admin", "", {}, ""}));
    admin = identity::issue_token(*ids, "t1", "root", clock.now())->token;
    user = identity::issue_token(*ids, "t1", "anna", clock.now())->token;
    other_admin = identity::issue_token(*ids, "t2", "root", clock.now())->token;
    RestDeps d;
    d.identity = ids.get();
    d.auth = auth.get();
    d.clock = &clock;
    d.ui_config_json = [this] { return ui_config; };
    add_rest_routes(server, std::move(d));
  }
  HttpResponse call(std::string method, std::string token, std::string body = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.target = r.path = "/api/v1/ui-settings";
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
    return server.dispatch(r);
  }
  std::string problem(const std::string& body) {
    auto r = call("PUT", admin, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    return r.status == 400 ? std::string(json::parse(r.body).at("detail").as_string()) : r.body;
  }
};

TEST_F(UiSettings, DefaultsComeFromUiConfigJsonUntilAnAdminSavesThem) {
  auto r = call("GET", user);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("source").as_string(), "default");
  EXPECT_EQ(o.at("action_links").at(0).at("url").as_string(), "https://crm.example/c/{contact.id}");
  EXPECT_EQ(o.at("card_template").as_string(), "<b>{{contact.name}}</b>");
  // A tenant entry wins over "*".
  EXPECT_EQ(json::parse(call("GET", other_admin).body).at("card_template").as_string(), "<i>{contact.company}</i>");
  ui_config.reset();
  o = json::parse(call("GET", user).body).as_object();
  EXPECT_TRUE(o.at("action_links").as_array().empty());
  EXPECT_EQ(o.at("card_template").as_string(), "");
}

TEST_F(UiSettings, AdminPutIsStoredPerTenantAndReadByUsers) {
  const std::string body =
      R"({"action_links": [{"label": "Open in CRM", "url": "https://crm.example/contacts/{contact.id}"},
                           {"label": "Call mobile", "url": "tel:{remote.e164}"}],
          "card_template": "<div>{contact.name} { not a placeholder }</div>"})";
  EXPECT_EQ(call("PUT", user, body).status, 403);
  EXPECT_EQ(call("PUT", "", body).status, 401);
  auto r = call("PUT", admin, body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("source").as_string(), "tenant");
  EXPECT_EQ(o.at("updated_by").as_string(), "root");
  auto g = json::parse(call("GET", user).body).as_object();
  EXPECT_EQ(g.at("action_links").as_array().size(), 2u);
  EXPECT_EQ(g.at("action_links").at(1).at("label").as_string(), "Call mobile");
  EXPECT_EQ(g.at("card_template").as_string(), "<div>{contact.name} { not a placeholder }</div>");
  EXPECT_EQ(g.at("updated_at").as_string(), "2026-11-18T11:06:40.000Z");
  // Tenant t2 still has its default.
  EXPECT_EQ(json::parse(call("GET", other_admin).body).at("source").as_string(), "default");
  // DELETE: back to the default.
  EXPECT_EQ(call("DELETE", user).status, 403);
  EXPECT_EQ(call("DELETE", admin).status, 204);
  EXPECT_EQ(json::parse(call("GET", user).body).at("source").as_string(), "default");
}

TEST_F(UiSettings, BadInputIs400NamingTheField) {
  EXPECT_NE(problem(R"J({"action_links": [{"label": "x", "url": "javascript:alert(1)"}]})J").find("action_links[0].url"),
            std::string::npos);
  EXPECT_NE(problem(R"({"action_links": [{"label": "x", "url": "ftp://a/{contact.id}"}]})").find("https://"),
            std::string::npos);
  EXPECT_NE(problem(R"({"action_links": [{"label": "x", "url": "https://a/{contact.secret}"}]})")
                .find("unknown placeholder {contact.secret}"),
            std::string::npos);
  EXPECT_NE(problem(R"({"card_template": "<div>{{ remote.nope }}</div>"})").find("unknown placeholder {remote.nope}"),
            std::string::npos);
  EXPECT_NE(problem(R"({"card_template": "<script>alert(1)</script>"})").find("<script"), std::string::npos);
  EXPECT_NE(problem(R"({"card_template": "<a href=\"JavaScript:x\">x</a>"})").find("javascript:"), std::string::npos);
  EXPECT_NE(problem(R"({"action_links": [{"label": "", "url": "https://a"}]})").find("label"), std::string::npos);
  EXPECT_NE(problem(R"({"action_links": [{"label": "x", "url": "https://a", "target": "_top"}]})").find("target"),
            std::string::npos);
  EXPECT_NE(problem(R"({"colour": "red"})").find("unknown field"), std::string::npos);
  EXPECT_NE(problem(R"({"action_links": {}})").find("array"), std::string::npos);
  EXPECT_NE(problem(R"({"card_template": 5})").find("string"), std::string::npos);
  std::string many = R"({"action_links": [)";
  for (int i = 0; i < 21; ++i) many += std::string(i ? "," : "") + R"({"label": "l", "url": "https://a"})";
  EXPECT_NE(problem(many + "]}").find("at most 20"), std::string::npos);
  EXPECT_NE(problem(R"({"card_template": ")" + std::string(16 * 1024 + 1, 'x') + R"("})").find("at most 16384"),
            std::string::npos);
  auto r = call("PUT", admin, "{nope");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid-json"), std::string::npos);
  // Nothing was stored by any of these.
  EXPECT_EQ(json::parse(call("GET", user).body).at("source").as_string(), "default");
}

}  // namespace
}  // namespace callbridge::api
