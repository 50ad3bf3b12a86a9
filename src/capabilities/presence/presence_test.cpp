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
  // What the routes publish and schedule, kept for the test to look at and run.
  struct Published {
    std::string tenant;
    core::HubMessage::Kind kind;
    std::vector<std::string> devices;
    std::string type, tail;
  };
  std::vector<Published> published_;
  std::vector<std::pair<std::chrono::milliseconds, std::function<void()>>> timers_;
  void extend_deps(api::RestDeps& d) override {
    d.publish = [this](const base::TenantId& t, core::HubMessage::Kind k, std::vector<std::string> devices,
                       std::string_view type, std::string_view tail) {
      published_.push_back({t.str(), k, std::move(devices), std::string(type), std::string(tail)});
    };
    d.post_after = [this](std::chrono::milliseconds d, std::function<void()> f) { timers_.emplace_back(d, std::move(f)); };
  }
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

// Issue 17 B: a user sets their own status with note and end; colleagues who see their lines get
// a user_status event and see it on the presence board; at `until` it ends by itself (an event
// says so); DELETE and "available" clear it. Another tenant hears nothing.
TEST_F(PresenceRoutes, OwnStatusWithNoteAndEndReachesColleaguesAndEnds) {
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "anna", "user", "Anna A", {"100"}, "sales"}));
  auto anna = identity::issue_token(*ids_, base::TenantId(kA.name), "anna", clock_.now())->token;
  ASSERT_TRUE(ids_->put_user({base::TenantId(kA.name), "ben", "user", "Ben B", {"101"}, "sales"}));
  auto ben = identity::issue_token(*ids_, base::TenantId(kA.name), "ben", clock_.now())->token;
  EXPECT_EQ(call("GET", "/api/v1/me/status", anna).body,
            R"({"user_status":{"status":"available","note":"","until":null,"updated_at":null}})");

  const auto until = clock_.now() + std::chrono::hours(2);
  const std::string until_text = base::format_rfc3339_ms(until);
  auto r = call("PUT", "/api/v1/me/status", anna,
                R"({"status":"away","note":"in a meeting","until":")" + until_text + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).at("user_status");
  EXPECT_EQ(v.at("status").as_string(), "away");
  EXPECT_EQ(v.at("note").as_string(), "in a meeting");
  EXPECT_EQ(v.at("until").as_string(), until_text);
  // The event: to whoever sees Anna's line 100, as line events are.
  ASSERT_EQ(published_.size(), 1u);
  EXPECT_EQ(published_[0].tenant, kA.name);
  EXPECT_EQ(published_[0].kind, core::HubMessage::Kind::status);
  EXPECT_EQ(published_[0].devices, std::vector<std::string>{"100"});
  EXPECT_EQ(published_[0].type, "user_status");
  EXPECT_NE(published_[0].tail.find(R"("user":"anna","display_name":"Anna A","extensions":["100"],"user_status":{"status":"away","note":"in a meeting")"),
            std::string::npos)
      << published_[0].tail;
  // Ben (same team) sees it on the presence board.
  auto board = json::parse(call("GET", "/api/v1/presence", ben).body).at("colleagues").as_array();
  ASSERT_EQ(board.size(), 2u);
  EXPECT_EQ(board[0].at("user").as_string(), "anna");
  EXPECT_EQ(board[0].at("user_status").at("note").as_string(), "in a meeting");
  EXPECT_EQ(board[1].at("user_status").at("status").as_string(), "available");

  // At `until` it ends by itself: the scheduled check publishes "available".
  ASSERT_EQ(timers_.size(), 1u);
  EXPECT_GE(timers_[0].first, std::chrono::hours(2));
  clock_.advance(std::chrono::hours(2) + std::chrono::seconds(1));
  timers_[0].second();
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_NE(published_[1].tail.find(R"("user_status":{"status":"available","note":"","until":null)"), std::string::npos)
      << published_[1].tail;
  EXPECT_EQ(json::parse(call("GET", "/api/v1/me/status", anna).body).at("user_status").at("status").as_string(), "available");
  board = json::parse(call("GET", "/api/v1/presence", ben).body).at("colleagues").as_array();
  EXPECT_EQ(board[0].at("user_status").at("status").as_string(), "available");

  // A status without end stays; a timer of an older status does not end a newer one.
  ASSERT_EQ(call("PUT", "/api/v1/me/status", anna, R"({"status":"dnd"})").status, 200);
  ASSERT_EQ(call("PUT", "/api/v1/me/status", anna,
                 R"({"status":"busy","until":")" + base::format_rfc3339_ms(clock_.now() + std::chrono::minutes(30)) + R"("})")
                .status,
            200);
  ASSERT_EQ(call("PUT", "/api/v1/me/status", anna, R"({"status":"busy","note":"on site"})").status, 200);
  const auto before = published_.size();
  clock_.advance(std::chrono::hours(1));
  timers_.back().second();
  EXPECT_EQ(published_.size(), before) << "the newer status has no end";
  EXPECT_EQ(json::parse(call("GET", "/api/v1/me/status", anna).body).at("user_status").at("note").as_string(), "on site");

  // DELETE clears it (event), "available" without note or end too.
  EXPECT_EQ(call("DELETE", "/api/v1/me/status", anna).status, 204);
  EXPECT_NE(published_.back().tail.find(R"("status":"available")"), std::string::npos);
  EXPECT_EQ(*ids_->get_user_status(base::TenantId(kA.name), "anna"), std::nullopt);
  ASSERT_EQ(call("PUT", "/api/v1/me/status", anna, R"({"status":"away"})").status, 200);
  ASSERT_EQ(call("PUT", "/api/v1/me/status", anna, R"({"status":"available"})").status, 200);
  EXPECT_EQ(*ids_->get_user_status(base::TenantId(kA.name), "anna"), std::nullopt);
  for (const auto& p : published_) EXPECT_EQ(p.tenant, kA.name);
}

TEST_F(PresenceRoutes, BadStatusRequestsAreRefusedWithTheReason) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto bad = [&](const std::string& body, const std::string& words) {
    auto r = call("PUT", "/api/v1/me/status", anna, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(ptype(r), "/problems/bad-request") << body;
    EXPECT_NE(r.body.find(words), std::string::npos) << r.body;
  };
  bad(R"({"status":"lunch"})", "expected one of available, away, busy, dnd, offline");
  bad(R"({"note":"x"})", "status: a string is required");
  bad(R"({"status":"away","note":")" + std::string(201, 'x') + R"("})", "note: 201 bytes, at most 200");
  bad(R"({"status":"away","until":"yesterday"})", "until: not an RFC 3339 time");
  bad(R"({"status":"away","until":")" + base::format_rfc3339_ms(clock_.now() - std::chrono::minutes(1)) + R"("})",
      "until: must be in the future");
  bad(R"({"status":"away","until":")" + base::format_rfc3339_ms(clock_.now() + std::chrono::hours(24 * 40)) + R"("})",
      "at most 31 days ahead");
  bad(R"({"status":"away","color":"red"})", "unknown field color");
  EXPECT_EQ(call("PUT", "/api/v1/me/status", anna, "not json").status, 400);
  EXPECT_EQ(call("PUT", "/api/v1/me/status", "", R"({"status":"away"})").status, 401);
  EXPECT_TRUE(published_.empty());
  EXPECT_EQ(*ids_->get_user_status(base::TenantId(kA.name), "anna"), std::nullopt);
}

TEST(UserStatus, EffectiveStatusEndsAtUntil) {
  const auto now = api::testsupport::t0();
  ports::UserStatus s{.status = "away", .note = "", .until = now + std::chrono::minutes(5), .updated_at = now};
  EXPECT_EQ(effective_status(s, now), s);
  EXPECT_EQ(effective_status(s, now + std::chrono::minutes(5)), std::nullopt);
  EXPECT_EQ(effective_status(std::nullopt, now), std::nullopt);
  s.until.reset();
  EXPECT_EQ(effective_status(s, now + std::chrono::hours(1000)), s);
  EXPECT_TRUE(valid_user_status("dnd"));
  EXPECT_FALSE(valid_user_status("Away"));
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
