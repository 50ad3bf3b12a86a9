// The webhooks capability on the API's own routes (support/rest_fixture: real identity, audit and
// webhook stores, the real delivery engine's checks): admins only, tenants apart, the secret shown
// once (never in a listing or the audit log), every refusal naming its field, the delivery log and
// ping of a hook of the caller's tenant only, deletion.
#include <gtest/gtest.h>

#include "capabilities/webhooks/webhooks_routes.hpp"
#include "support/rest_fixture.hpp"
#include "webhooks/delivery/dispatcher.hpp"
#include "webhooks/sqlite/sqlite_webhook_store.hpp"

namespace callbridge::capabilities::webhooks {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class WebhookRoutes : public api::testsupport::RestFixture {
 protected:
  void extend_deps(api::RestDeps& d) override {
    store_ = std::move(*callbridge::webhooks::SqliteWebhookStore::open((dir_ / "webhooks.db").string()));
    callbridge::webhooks::DispatcherOptions o;  // the defaults: https only, no private ranges
    engine_ = std::move(*callbridge::webhooks::Dispatcher::start(*store_, o));
    store_->set_on_change([e = engine_.get()](const base::TenantId& t) { e->reload(t); });
    d.webhooks = store_.get();
    d.webhook_engine = engine_.get();
  }
  void add_capabilities(CapabilityContext& c) override { register_webhooks(c); }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    RestFixture::TearDown();
  }
  std::string problem_detail(const api::HttpResponse& r) {
    return std::string(json::parse(r.body).at("detail").as_string());
  }
  std::unique_ptr<callbridge::webhooks::SqliteWebhookStore> store_;
  std::unique_ptr<callbridge::webhooks::Dispatcher> engine_;
};

TEST_F(WebhookRoutes, AdminsCreateListShowAndDeleteTheirTenantsHooks) {
  auto admin_a = add_user(kA, "adm", "admin", {});
  auto admin_b = add_user(kB, "adm", "admin", {});
  auto r = call("POST", "/api/v1/webhooks", admin_a,
                R"({"url":"https://crm.example.com/hooks/cti","events":["call.ended","call.ringing","call.ended"],
                    "body_template":{"phone":"{data.call.connections.0.remote}"},"description":"CRM"})");
  ASSERT_EQ(r.status, 201) << r.body;
  auto created = json::parse(r.body).as_object();
  const std::string id(created.at("id").as_string());
  const std::string secret(created.at("secret").as_string());
  EXPECT_TRUE(id.starts_with("wh_"));
  EXPECT_TRUE(secret.starts_with("whsec_"));
  EXPECT_EQ(secret.size(), 6u + 64u);
  EXPECT_EQ(header(r, "Location"), "/api/v1/webhooks/" + id);
  EXPECT_EQ(json::serialize(created.at("events")), R"(["call.ended","call.ringing"])");
  EXPECT_EQ(json::serialize(created.at("body_template")), R"({"phone":"{data.call.connections.0.remote}"})");
  EXPECT_EQ(created.at("created_by").as_string(), "adm");

  auto list = call("GET", "/api/v1/webhooks", admin_a);
  ASSERT_EQ(list.status, 200);
  auto hooks = json::parse(list.body).at("webhooks").as_array();
  ASSERT_EQ(hooks.size(), 1u);
  EXPECT_EQ(hooks[0].at("id").as_string(), id);
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_EQ(list.body.find("secret"), std::string::npos);
  auto one = call("GET", "/api/v1/webhooks/" + id, admin_a);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.body.find(secret), std::string::npos);

  // Another tenant's admin sees nothing of it.
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/webhooks", admin_b).body).at("webhooks").as_array().empty());
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + id, admin_b).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + id + "/deliveries", admin_b).status, 404);
  EXPECT_EQ(call("POST", "/api/v1/webhooks/" + id + "/ping", admin_b).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/webhooks/" + id, admin_b).status, 404);

  auto log = call("GET", "/api/v1/webhooks/" + id + "/deliveries?limit=5", admin_a);
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_TRUE(json::parse(log.body).at("deliveries").as_array().empty());
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + id + "/deliveries?limit=0", admin_a).status, 400);
  EXPECT_EQ(call("POST", "/api/v1/webhooks/" + id + "/ping", admin_a).status, 202);

  EXPECT_EQ(call("DELETE", "/api/v1/webhooks/" + id, admin_a).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/webhooks/" + id, admin_a).status, 404);
  EXPECT_EQ(call("DELETE", "/api/v1/webhooks/" + id, admin_a).status, 404);

  // Audited, without the secret.
  ASSERT_TRUE(audit_->flush());
  auto recs = audit_->query({.tenant = base::TenantId(kA.name)});
  ASSERT_TRUE(recs);
  std::set<std::string> actions;
  for (const auto& rec : *recs) {
    actions.insert(rec.record.action + ":" + rec.record.outcome);
    EXPECT_EQ(rec.record.details_json.find(secret), std::string::npos);
  }
  EXPECT_TRUE(actions.count("webhook.create:ok"));
  EXPECT_TRUE(actions.count("webhook.delete:ok"));
}

TEST_F(WebhookRoutes, OnlyAdminsOfATenant) {
  auto user = add_user(kA, "anna", "user", {"100"});
  auto sup = add_user(kA, "sup", "supervisor", {});
  for (const auto& t : {user, sup}) {
    EXPECT_EQ(call("GET", "/api/v1/webhooks", t).status, 403);
    EXPECT_EQ(call("POST", "/api/v1/webhooks", t, R"({"url":"https://a.example/","events":["call.ended"]})").status,
              403);
  }
  EXPECT_EQ(call("GET", "/api/v1/webhooks").status, 401);
}

TEST_F(WebhookRoutes, RefusalsNameTheField) {
  auto admin = add_user(kA, "adm", "admin", {});
  auto detail = [&](const std::string& body) {
    auto r = call("POST", "/api/v1/webhooks", admin, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    return r.status == 400 ? problem_detail(r) : std::string();
  };
  EXPECT_NE(detail(R"({"events":["call.ended"]})").find("url: expected a string"), std::string::npos);
  EXPECT_NE(detail(R"({"url":"http://crm.example.com/","events":["call.ended"]})").find("allow_http"),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://169.254.169.254/latest/meta-data","events":["call.ended"]})").find("is metadata"),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://[::1]/","events":["call.ended"]})").find("is loopback"), std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://crm.example.com/","events":[]})").find("events: expected a non-empty array"),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://crm.example.com/","events":["queue.joined"]})")
                .find("unknown event type \"queue.joined\""),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://crm.example.com/","events":["call.ended"],"body_template":"{nope"})")
                .find("body_template: not JSON"),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://crm.example.com/","events":["call.ended"],"body_template":{"a":"{secret}"}})")
                .find("unknown placeholder {secret}"),
            std::string::npos);
  EXPECT_NE(detail(R"({"url":"https://crm.example.com/","events":["call.ended"],"extra":1})").find("unknown field"),
            std::string::npos);
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/webhooks", admin).body).at("webhooks").as_array().empty());
}

TEST_F(WebhookRoutes, ATenantHasAtMostTwentyHooks) {
  auto admin = add_user(kA, "adm", "admin", {});
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(call("POST", "/api/v1/webhooks", admin, R"({"url":"https://a.example/","events":["call.ended"]})").status,
              201);
  auto r = call("POST", "/api/v1/webhooks", admin, R"({"url":"https://a.example/","events":["call.ended"]})");
  EXPECT_EQ(r.status, 409) << r.body;
}

}  // namespace
}  // namespace callbridge::capabilities::webhooks
