// The presence capability alone (its route on the API's own): GET /api/v1/lines with owners'
// names, own and team scope for users, everything for supervisors; and its LineView.
#include <gtest/gtest.h>

#include "capabilities/presence/presence_routes.hpp"
#include "capabilities/presence/presence_service.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::presence {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

class PresenceRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_presence(c); }
};

TEST_F(PresenceRoutes, ShowOwnAndTeamLinesWithNames) {
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "anna", "user", "Anna A", {"100"}, "sales"}));
  auto u100 = identity::issue_token(*ids_, base::TenantId(kA.name), "anna", clock_.now())->token;
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "ben", "user", "Ben B", {"101"}, "sales"}));
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "cid", "user", "Cid C", {"102"}, "support"}));
  auto sup = add_user(kA, "sup", "supervisor", {});
  ring(kA, "100", 1);
  ring(kA, "101", 2);
  ring(kA, "102", 3);
  ring(kA, "103", 4);  // a line no user owns
  auto mine = call("GET", "/api/v1/lines", u100);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body,
            R"({"lines":[{"device":"100","name":"Anna A","state":"ringing"},{"device":"101","name":"Ben B","state":"ringing"}]})");
  auto all = json::parse(call("GET", "/api/v1/lines", sup).body).at("lines").as_array();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[2].at("name").as_string(), "Cid C");
  EXPECT_EQ(all[3].at("device").as_string(), "103");
  EXPECT_EQ(all[3].at("name").as_string(), "");
  EXPECT_EQ(call("GET", "/api/v1/lines").status, 401);
}


TEST_F(PresenceRoutes, AnotherTenantsLinesAreNotShown) {
  auto sup_b = add_user(kB, "sup", "supervisor", {});
  ring(kA, "100", 1);
  ring(kB, "200", 2);
  EXPECT_EQ(call("GET", "/api/v1/lines", sup_b).body, R"({"lines":[{"device":"200","name":"","state":"ringing"}]})");
}

// Issue 13: every colleague the caller may see, with display name, team and line state; grouping
// by team is possible from the data (sorted by team, the teams listed).
TEST_F(PresenceRoutes, ColleaguesWithNamesTeamsAndStatesAsTheVisibilityPolicyAllows) {
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "anna", "user", "Anna A", {"100"}, "sales"}));
  auto anna = identity::issue_token(*ids_, base::TenantId(kA.name), "anna", clock_.now())->token;
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "ben", "user", "Ben B", {"101", "111"}, "sales"}));
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "cid", "user", "Cid C", {"102"}, "support"}));
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "solo", "user", "Solo", {"104"}, ""}));
  auto solo = identity::issue_token(*ids_, base::TenantId(kA.name), "solo", clock_.now())->token;
  auto sup = add_user(kA, "sup", "supervisor", {});
  add_user(kB, "ben", "user", {"101"});  // another tenant's Ben is nobody's colleague here
  ring(kA, "101", 1);
  models_.at(kA.name).update("ta-call-1", "101", model::ConnectionState::connected, model::CallEventType::established,
                             clock_.now(), "+491100");
  ring(kA, "100", 2);  // 111 is unknown to the PBX: offline

  auto r = call("GET", "/api/v1/presence", anna);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  auto cs = v.at("colleagues").as_array();
  ASSERT_EQ(cs.size(), 2u) << r.body;  // her team only
  EXPECT_EQ(cs[0].at("user").as_string(), "anna");
  EXPECT_TRUE(cs[0].at("self").as_bool());
  EXPECT_EQ(cs[0].at("state").as_string(), "ringing");
  EXPECT_EQ(cs[1].at("display_name").as_string(), "Ben B");
  EXPECT_EQ(cs[1].at("team").as_string(), "sales");
  EXPECT_EQ(cs[1].at("state").as_string(), "busy");
  EXPECT_EQ(json::serialize(cs[1].at("lines")), R"([{"device":"101","state":"busy"},{"device":"111","state":"offline"}])");
  EXPECT_EQ(json::serialize(v.at("teams")), R"(["sales"])");

  auto all = json::parse(call("GET", "/api/v1/presence", sup).body);
  auto everyone = all.at("colleagues").as_array();
  ASSERT_EQ(everyone.size(), 5u);  // sup has no team: "" sorts first
  std::vector<std::string> order;
  for (const auto& c : everyone) order.emplace_back(c.at("user").as_string());
  EXPECT_EQ(order, (std::vector<std::string>{"sup", "solo", "anna", "ben", "cid"}));  // "Alpha sup" < "Solo"
  EXPECT_EQ(everyone[4].at("state").as_string(), "offline");
  EXPECT_EQ(json::serialize(all.at("teams")), R"(["sales","support"])");

  // Without a team a user sees only themself.
  auto alone = json::parse(call("GET", "/api/v1/presence", solo).body).at("colleagues").as_array();
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].at("user").as_string(), "solo");
  EXPECT_EQ(call("GET", "/api/v1/presence").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/presence?team=sales", anna).status, 400);
}

TEST(LineView, FirstOwnerNamesALineAndTheScopeFilters) {
  const base::TenantId t("ta");
  std::vector<ports::User> users{{t, "anna", "user", "Anna", {"100"}, "sales"},
                                 {t, "ann2", "user", "Second", {"100", "101"}, ""},
                                 {t, "cid", "user", "Cid", {"102"}, "support"}};
  model::CallModel m(t);
  for (const char* d : {"102", "100", "101"})
    m.update(std::string("c") + d, d, model::ConnectionState::alerting, model::CallEventType::delivered,
             api::testsupport::t0(), "+4930123");
  LineView all(core::Viewer{.tenant = t, .user = "sup", .role = core::Role::supervisor}, users);
  all.add(m);
  auto lines = all.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].device, "100");
  EXPECT_EQ(lines[0].name, "Anna");
  EXPECT_EQ(lines[1].name, "Second");
  EXPECT_EQ(lines[2].device, "102");
  LineView anna(core::Viewer{.tenant = t, .user = "anna", .role = core::Role::user, .extensions = {"100"}, .team = "sales"},
                users);
  anna.add(m);
  ASSERT_EQ(anna.lines().size(), 1u);
  EXPECT_EQ(anna.lines()[0].device, "100");
}

}  // namespace
}  // namespace callbridge::capabilities::presence
