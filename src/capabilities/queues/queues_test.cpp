// The queues capability alone (its routes on the API's own): GET /api/v1/queues shows a user the
// queues their extensions are agents of and supervisors/admins every queue of their tenant, with
// waiting callers, agent states and today's counts; log in, pause with a reason, unpause and log
// out go to the PBX (a recording fake here) only for the agents the caller may change; bad input
// gets its problem type (unknown queue, other tenant, other team, bad reason, not a member).
#include <gtest/gtest.h>

#include "capabilities/queues/queues_routes.hpp"
#include "capabilities/queues/queues_service.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::queues {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;
using Op = ports::QueueMemberRequest::Op;

model::QueueMember member(std::string ext, std::string name, bool paused = false, std::string reason = {}) {
  model::QueueMember m;
  m.interface = "PJSIP/" + ext;
  m.device = ext;
  m.name = std::move(name);
  m.membership = "dynamic";
  m.status = 1;
  m.paused = paused;
  m.paused_reason = std::move(reason);
  return m;
}

class QueueRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_queues(c); }
  void extend_deps(api::RestDeps& d) override {
    d.for_each_queue_state = [this](const base::TenantId& t, const std::function<void(const model::QueueState&)>& f) {
      if (auto it = states_.find(t.str()); it != states_.end()) f(it->second);
    };
    d.queue_member = [this](const base::TenantId& t, const ports::QueueMemberRequest& r, std::string_view,
                            ports::CommandDone done) {
      sent_.push_back({t.str(), r});
      if (pbx_error_) return done(base::fail(*pbx_error_));
      done(base::Status{});
    };
  }
  void SetUp() override {
    auto& a = states_.emplace("ta", model::QueueState("pbx-a")).first->second;
    model::Queue support;
    support.name = "support";
    support.strategy = "ringall";
    support.members = {member("101", "Ben Bravo"), member("102", "Clara Charlie", true, "lunch")};
    support.members[0].status = 2;  // in use
    support.members[0].in_call = true;
    model::QueueCaller c;
    c.channel = "PJSIP/trunk-0000001e";
    c.uniqueid = "u1";
    c.number = "+4989123456";
    c.position = 1;
    c.joined = clock_.now() - std::chrono::seconds(42);
    support.callers.push_back(c);
    support.answered_today = 3;
    support.abandoned_today = 1;
    support.day_start = std::chrono::floor<std::chrono::days>(clock_.now());
    a.put(support);
    model::Queue sales;
    sales.name = "sales";
    sales.members = {member("103", "Dora Delta")};
    a.put(sales);
    auto& b = states_.emplace("tb", model::QueueState("pbx-b")).first->second;
    model::Queue other;
    other.name = "hotline";
    other.members = {member("201", "Bea")};
    b.put(other);
    RestFixture::SetUp();
  }
  std::string team_user(const std::string& name, const std::string& role, std::vector<std::string> ext,
                        const std::string& team) {
    EXPECT_TRUE(ids_->put_user({base::TenantId(kA.name), name, role, name, ext, team}));
    auto tok = identity::issue_token(*ids_, base::TenantId(kA.name), name, clock_.now());
    EXPECT_TRUE(tok);
    return tok->token;
  }
  std::map<std::string, model::QueueState> states_;
  std::vector<std::pair<std::string, ports::QueueMemberRequest>> sent_;
  std::optional<base::Error> pbx_error_;
};

TEST_F(QueueRoutes, SupervisorsSeeEveryQueueOfTheirTenantWithCallersAgentsAndToday) {
  auto sup = add_user(kA, "sup", "supervisor", {});
  auto r = call("GET", "/api/v1/queues", sup);
  ASSERT_EQ(r.status, 200) << r.body;
  auto qs = json::parse(r.body).at("queues").as_array();
  ASSERT_EQ(qs.size(), 2u) << r.body;  // tenant B's hotline is not listed
  EXPECT_EQ(qs[0].at("name").as_string(), "sales");
  const auto& s = qs[1].as_object();
  EXPECT_EQ(s.at("id").as_string(), "pbx-a:support");
  EXPECT_EQ(s.at("waiting").as_int64(), 1);
  EXPECT_EQ(s.at("longest_wait").as_int64(), 42);
  EXPECT_EQ(s.at("answered_today").as_int64(), 3);
  EXPECT_EQ(s.at("abandoned_today").as_int64(), 1);
  const auto& caller = s.at("callers").at(0).as_object();
  EXPECT_EQ(caller.at("position").as_int64(), 1);
  EXPECT_EQ(caller.at("number").as_string(), "+4989123456");
  EXPECT_EQ(caller.at("wait").as_int64(), 42);
  const auto& agents = s.at("agents").as_array();
  ASSERT_EQ(agents.size(), 2u);
  EXPECT_EQ(agents[0].at("state").as_string(), "busy");
  EXPECT_EQ(agents[1].at("state").as_string(), "paused");
  EXPECT_EQ(agents[1].at("paused_reason").as_string(), "lunch");
  EXPECT_TRUE(agents[0].at("paused_reason").is_null());
  EXPECT_EQ(call("GET", "/api/v1/queues?x=1", sup).status, 400);
  EXPECT_EQ(call("GET", "/api/v1/queues").status, 401);
}

TEST_F(QueueRoutes, UsersSeeOnlyTheQueuesTheyAreAgentsOf) {
  auto dora = add_user(kA, "dora", "user", {"103"});
  auto qs = json::parse(call("GET", "/api/v1/queues", dora).body).at("queues").as_array();
  ASSERT_EQ(qs.size(), 1u);
  EXPECT_EQ(qs[0].at("name").as_string(), "sales");
  auto nobody = add_user(kA, "eve", "user", {"109"});
  EXPECT_TRUE(json::parse(call("GET", "/api/v1/queues", nobody).body).at("queues").as_array().empty());
}

TEST_F(QueueRoutes, UserLogsInPausesWithReasonUnpausesAndLogsOutThemself) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto r = call("POST", "/api/v1/queues/sales/members", ben, "{}");
  EXPECT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0].first, "ta");
  EXPECT_EQ(sent_[0].second.op, Op::add);
  EXPECT_EQ(sent_[0].second.queue, "sales");
  EXPECT_EQ(sent_[0].second.device, "101");  // the user's only extension
  EXPECT_EQ(sent_[0].second.member_name, "Alpha ben");  // the display name
  r = call("PATCH", "/api/v1/queues/support/members/101", ben, R"({"paused":true,"reason":"Mittagspause"})");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sent_.back().second.op, Op::pause);
  EXPECT_EQ(sent_.back().second.reason, "Mittagspause");
  r = call("PATCH", "/api/v1/queues/support/members/101", ben, R"({"paused":false})");
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sent_.back().second.op, Op::unpause);
  r = call("DELETE", "/api/v1/queues/support/members/101", ben);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(sent_.back().second.op, Op::remove);
  EXPECT_EQ(sent_.size(), 4u);

  ASSERT_TRUE(audit_->flush());
  auto recs = audit_->query({.tenant = base::TenantId(kA.name)});
  ASSERT_TRUE(recs);
  int pauses = 0;
  for (const auto& rec : *recs)
    if (rec.record.action == "queue.pause" && rec.record.target == "queue:support/101") ++pauses;
  EXPECT_EQ(pauses, 1);
}

TEST_F(QueueRoutes, OthersAgentsOtherTeamsOtherTenantsAreRefused) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto r = call("PATCH", "/api/v1/queues/support/members/102", ben, R"({"paused":true})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ptype(r), "/problems/forbidden");
  // A supervisor changes their team's agents, not another team's.
  team_user("clara", "user", {"102"}, "blue");
  team_user("dora", "user", {"103"}, "red");
  auto lead = team_user("lead", "supervisor", {"100"}, "blue");
  r = call("PATCH", "/api/v1/queues/support/members/102", lead, R"({"paused":true,"reason":"coaching"})");
  EXPECT_EQ(r.status, 204) << r.body;
  r = call("DELETE", "/api/v1/queues/sales/members/103", lead);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(ptype(r), "/problems/forbidden");
  // Another tenant's queue is answered like one that does not exist; so is an unknown one.
  auto admin_b = add_user(kB, "root", "admin", {});
  r = call("PATCH", "/api/v1/queues/support/members/101", admin_b, R"({"paused":true})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ptype(r), "/problems/unknown-queue");
  auto admin = add_user(kA, "root", "admin", {});
  r = call("PATCH", "/api/v1/queues/hotline/members/201", admin, R"({"paused":true})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ptype(r), "/problems/unknown-queue");
  // An extension that is no agent of the queue.
  r = call("PATCH", "/api/v1/queues/sales/members/101", admin, R"({"paused":true})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ptype(r), "/problems/not-a-member");
  // An admin logs in another user's extension: the PBX shows that user's display name.
  r = call("POST", "/api/v1/queues/support/members", admin, R"({"extension":"103"})");
  EXPECT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_.back().second.member_name, "dora");  // team_user's display name
  r = call("POST", "/api/v1/queues/support/members", admin, R"({"extension":"101"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ptype(r), "/problems/already-a-member");
  EXPECT_EQ(sent_.size(), 2u);  // the supervisor's pause of 102, the admin's log in of 103
}

TEST_F(QueueRoutes, BadInputIsRefusedBeforeThePbx) {
  auto ben = add_user(kA, "ben", "user", {"101"});
  auto both = add_user(kA, "two", "user", {"101", "104"});
  const std::string p = "/api/v1/queues/support/members/101";
  auto expect = [&](const api::HttpResponse& r, int status, const std::string& type) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ptype(r), "/problems/" + type);
  };
  expect(call("PATCH", p, ben, R"({"paused":true,"reason":")" + std::string(81, 'x') + "\"}"), 400, "bad-reason");
  expect(call("PATCH", p, ben, R"({"paused":true,"reason":"a\r\nAction: Hangup"})"), 400, "bad-reason");
  expect(call("PATCH", p, ben, R"({"paused":false,"reason":"lunch"})"), 400, "bad-reason");
  expect(call("PATCH", p, ben, R"({"paused":true,"reason":7})"), 400, "bad-reason");
  expect(call("PATCH", p, ben, R"({"reason":"lunch"})"), 400, "bad-request");
  expect(call("PATCH", p, ben, R"({"paused":"yes"})"), 400, "bad-request");
  expect(call("PATCH", p, ben, R"({"paused":true,"until":1})"), 400, "bad-request");
  expect(call("PATCH", p, ben, "not json"), 400, "invalid-json");
  expect(call("POST", "/api/v1/queues/support/members", both, "{}"), 400, "bad-request");  // which extension?
  expect(call("POST", "/api/v1/queues/support/members", ben, R"({"reason":"x"})"), 400, "bad-reason");
  expect(call("DELETE", "/api/v1/queues/support/members/1%2F2", ben), 400, "bad-request");
  expect(call("DELETE", "/api/v1/queues/support/members/101/x", ben), 404, "not-found");
  expect(call("DELETE", "/api/v1/queues/sup%0aport/members/101", ben), 400, "bad-request");
  EXPECT_TRUE(sent_.empty());
}

TEST_F(QueueRoutes, ThePbxVerdictIsPassedOn) {
  auto admin = add_user(kA, "root", "admin", {});
  pbx_error_ = base::Error::conflict("Member not dynamic");
  auto r = call("DELETE", "/api/v1/queues/support/members/101", admin);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ptype(r), "/problems/pbx-refused");
  pbx_error_ = base::Error::unavailable("AMI link down");
  r = call("PATCH", "/api/v1/queues/support/members/101", admin, R"({"paused":true})");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(ptype(r), "/problems/pbx-unavailable");
}

TEST(QueueService, Reasons) {
  EXPECT_FALSE(reason_problem(""));
  EXPECT_FALSE(reason_problem("Mittagspause \xc3\xbc"));
  EXPECT_TRUE(reason_problem("a\tb"));
  EXPECT_TRUE(reason_problem("\xff"));
  EXPECT_TRUE(reason_problem(std::string(81, 'x')));
  EXPECT_TRUE(valid_queue_name("support"));
  EXPECT_FALSE(valid_queue_name("a,b"));
  EXPECT_FALSE(valid_queue_name(""));
}

}  // namespace
}  // namespace callbridge::capabilities::queues
