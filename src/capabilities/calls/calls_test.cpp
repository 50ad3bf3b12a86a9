// The calls capability alone (its routes on the API's own): GET /api/v1/calls and /{id} for the
// call's parties and supervisors, tenant separation; call control reached through the API's
// dependencies (api::RestDeps::call_control, command_log: the tenant runtime's in callbridged) with
// the API's authentication and journal store; and its service (CallList, visible_call,
// command_json). The command routes' own behaviour is command_routes_test.cpp.
#include <gtest/gtest.h>

#include "capabilities/calls/calls_routes.hpp"
#include "capabilities/calls/calls_service.hpp"
#include "core/call_control.hpp"
#include "core/call_trace.hpp"
#include "core/chosen_contacts.hpp"
#include "core/command_log.hpp"
#include "support/rest_fixture.hpp"

namespace callbridge::capabilities::calls {
namespace {

namespace json = boost::json;
using api::testsupport::kA;
using api::testsupport::kB;

// Accepts every command at once and remembers it.
struct RecordingPbx final : ports::PbxCommands {
  std::vector<std::string> log;
  bool available() const override { return true; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone d) override {
    log.push_back("make_call " + r.from_device + " " + r.dial_string);
    d({});
  }
  void answer(const std::string& c, const std::string&, ports::CommandDone d) override {
    log.push_back("answer " + c);
    d({});
  }
  void hangup(const std::string& c, const std::string&, ports::CommandDone d) override {
    log.push_back("hangup " + c);
    d({});
  }
  void hold(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void retrieve(const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void consult(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void alternate(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void complete_transfer(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override {
    d({});
  }
  void conference(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
  void redirect(const std::string&, const std::string&, const std::string&, ports::CommandDone d) override { d({}); }
};

class CallsRoutes : public api::testsupport::RestFixture {
 protected:
  void add_capabilities(CapabilityContext& c) override { register_calls(c); }
};

TEST_F(CallsRoutes, CallsAreVisibleToTheirParties) {
  auto u100 = add_user(kA, "anna", "user", {"100"});
  auto sup = add_user(kA, "sup", "supervisor", {});
  ring(kA, "100", 1);
  ring(kA, "101", 2);
  auto mine = json::parse(call("GET", "/api/v1/calls", u100).body);
  ASSERT_EQ(mine.at("calls").as_array().size(), 1u);
  EXPECT_EQ(mine.at("calls").as_array()[0].at("id").as_string(), "ta-call-1");
  EXPECT_EQ(json::parse(call("GET", "/api/v1/calls", sup).body).at("calls").as_array().size(), 2u);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1", u100).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-2", u100).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-2", sup).status, 200);
}

// Channel accounting: each call lists the channels it occupies at the PBX now, as the driver
// counts them (an AnyDevice call to an external party: two trunk channels); unknown: left out.
TEST_F(CallsRoutes, CallsNameTheChannelsTheyOccupy) {
  auto u100 = add_user(kA, "anna", "user", {"100"});
  ring(kA, "100", 1);
  ring(kA, "100", 2);
  models_.at(kA.name).set_channel_usage_resolver([](std::string_view id) -> std::optional<model::ChannelUsage> {
    if (id == "ta-call-1") return model::ChannelUsage{.trunk = 2, .internal = 0};
    return std::nullopt;
  });
  auto one = json::parse(call("GET", "/api/v1/calls/ta-call-1", u100).body).as_object();
  ASSERT_TRUE(one.contains("channels")) << json::serialize(one);
  EXPECT_EQ(one.at("channels").at("trunk").as_int64(), 2);
  EXPECT_EQ(one.at("channels").at("internal").as_int64(), 0);
  auto two = json::parse(call("GET", "/api/v1/calls/ta-call-2", u100).body).as_object();
  EXPECT_FALSE(two.contains("channels"));
}

TEST_F(CallsRoutes, TenantsSeeOnlyTheirCalls) {
  auto a = add_user(kA, "adm", "admin", {});
  auto b = add_user(kB, "adm", "admin", {});
  ring(kA, "100", 1);
  ring(kB, "100", 1);
  auto seen_a = json::parse(call("GET", "/api/v1/calls", a).body).at("calls").as_array();
  ASSERT_EQ(seen_a.size(), 1u);
  EXPECT_EQ(seen_a[0].at("id").as_string(), "ta-call-1");
  EXPECT_EQ(call("GET", "/api/v1/calls/tb-call-1", a).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls/tb-call-1", b).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/calls/tb-call-1/x", b).status, 404);  // no such resource
  EXPECT_EQ(call("GET", "/api/v1/calls").status, 401);
}

// Without call control (a tenant with no PBX link, or RestDeps without it): commands answer 503,
// command ids name nothing.
TEST_F(CallsRoutes, CommandsWithoutCallControlAreUnavailable) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto r = call("POST", "/api/v1/calls", anna, R"({"to": "+4989123456"})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(ptype(r), "/problems/pbx-unavailable");
  EXPECT_EQ(call("POST", "/api/v1/calls/ta-call-1/hangup", anna).status, 503);
  EXPECT_EQ(call("POST", "/api/v1/calls/ta-call-1/explode", anna).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/commands/cmd-1", anna).status, 404);
  EXPECT_EQ(call("POST", "/api/v1/calls", "", R"({"to": "1"})").status, 401);
}

// register_calls hands the API's dependencies to the command routes: the tenant's call control and
// command log from RestDeps, the API's authentication, the journal store for callbacks.
class CallsWithControl : public CallsRoutes {
 protected:
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
  RecordingPbx pbx_;
  std::unique_ptr<core::CallControlService> service_;  // over tenant A's model (filled in SetUp)
  std::shared_ptr<core::CommandLog> log_ = std::make_shared<core::CommandLog>(core::CommandLogOptions{}, clock_);
};

// Issue 13: PUT /api/v1/calls/{id}/contact records the contact the user chose in the pop for their
// extension's part of the live call (core::ChosenContacts, which gives it to the journal entry:
// tenant_runtime_test). Only the user's own calls; bad input is a 400 in words; tenants apart.
class CallsWithChoices : public CallsRoutes {
 protected:
  void extend_deps(api::RestDeps& d) override {
    d.chosen_contacts = [this](const base::TenantId& t) -> core::ChosenContacts* {
      return t == base::TenantId(kA.name) ? &a_ : t == base::TenantId(kB.name) ? &b_ : nullptr;
    };
  }
  core::ChosenContacts a_{base::TenantId(kA.name), nullptr}, b_{base::TenantId(kB.name), nullptr};
};

TEST_F(CallsWithChoices, TheContactChosenInThePopIsKeptForTheUsersPartOfTheCall) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto sup = add_user(kA, "sup", "supervisor", {});
  auto ben = add_user(kB, "ben", "user", {"100"});
  ring(kA, "100", 1);
  ring(kA, "101", 2);
  const std::string max = R"({"contact": {"id": "7", "source": "store", "name": "Max Muster", "company": "ACME"}})";
  auto r = call("PUT", "/api/v1/calls/ta-call-1/contact", anna, max);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("device").as_string(), "100");
  EXPECT_EQ(o.at("contact").at("name").as_string(), "Max Muster");
  auto got = a_.find("ta-call-1", "100");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "7");
  EXPECT_EQ(got->company, "ACME");
  // Another choice replaces it.
  ASSERT_EQ(call("PUT", "/api/v1/calls/ta-call-1/contact", anna,
                 R"({"contact": {"id": "uid=erika", "source": "ldap", "name": "Erika Muster"}, "device": "100"})").status, 200);
  EXPECT_EQ(a_.find("ta-call-1", "100")->name, "Erika Muster");
  EXPECT_EQ(a_.size(), 1u);
  // Not the user's call, not the user's extension, a supervisor watching, another tenant: 404.
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-2/contact", anna, max).status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-1/contact", anna,
                 R"({"contact": {"id": "7", "source": "store", "name": "Max"}, "device": "101"})").status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-2/contact", sup, max).status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-1/contact", ben, max).status, 404);
  EXPECT_EQ(b_.size(), 0u);
  // Bad input.
  for (const char* bad : {R"({})", R"({"contact": "Max"})", R"({"contact": {"source": "store", "name": "Max"}})",
                          R"({"contact": {"id": "7", "source": "store"}})",
                          R"({"contact": {"id": "7", "source": "store", "name": "Max	Muster"}})",
                          R"({"contact": {"id": "7", "source": "store", "name": "Max"}, "device": "PJSIP/100"})",
                          R"({"contact": {"id": "7", "source": "store", "name": "Max"}, "color": "red"})", "[1]", "{nope"}) {
    auto b = call("PUT", "/api/v1/calls/ta-call-1/contact", anna, bad);
    EXPECT_EQ(b.status, 400) << bad << " -> " << b.body;
  }
  EXPECT_EQ(a_.find("ta-call-1", "100")->name, "Erika Muster");
  // "Choose another": null takes the choice back.
  auto cleared = call("PUT", "/api/v1/calls/ta-call-1/contact", anna, R"({"contact": null})");
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_TRUE(json::parse(cleared.body).at("contact").is_null());
  EXPECT_FALSE(a_.find("ta-call-1", "100"));
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-2/contact", anna, R"({"contact": null})").status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-1/other", anna, max).status, 404);
  EXPECT_EQ(call("PUT", "/api/v1/calls/ta-call-1/contact", "", max).status, 401);
}

TEST_F(CallsWithControl, CommandsGoToTheTenantsCallControlAndLog) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto ben = add_user(kB, "ben", "user", {"100"});
  auto r = call("POST", "/api/v1/calls", anna, R"({"to": "+4989123456"})");
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(pbx_.log.size(), 1u);
  EXPECT_EQ(pbx_.log[0], "make_call 100 +4989123456");
  const std::string id(json::parse(r.body).at("command_id").as_string());
  EXPECT_EQ(header(r, "Location"), "/api/v1/commands/" + id);
  auto got = call("GET", "/api/v1/commands/" + id, anna);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body).at("action").as_string(), "make_call");
  ASSERT_NE(log_->find(base::TenantId(kA.name), id), nullptr);
  // The other tenant has no call control here, and no view of tenant A's command.
  EXPECT_EQ(call("POST", "/api/v1/calls", ben, R"({"to": "+4989123456"})").status, 503);
  EXPECT_EQ(call("GET", "/api/v1/commands/" + id, ben).status, 404);
  EXPECT_EQ(pbx_.log.size(), 1u);
  // The body limit is the API's.
  EXPECT_EQ(call("POST", "/api/v1/calls", anna, std::string(70 * 1024, ' ')).status, 413);
}

// GET /api/v1/parking (docs/parking.md): every user of the tenant sees its parked calls; another
// tenant's user sees an empty list (its own PBX), the operator none.
TEST_F(CallsWithControl, ParkedCallsAreListedForEveryUserOfTheTenant) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto dora = add_user(kA, "dora", "user", {"103"});
  auto ben = add_user(kB, "ben", "user", {"100"});
  auto empty = call("GET", "/api/v1/parking", anna);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.body, R"({"lot":"default","parked":[]})");
  model::ParkingState parking("lab");
  model::ParkedCall c;
  c.lot = "default";
  c.space = "701";
  c.linkedid = "ta-call-9";
  c.channel = "PJSIP/trunk-0000001f";
  c.number = "+4989123001";
  c.parker = "100";
  c.since = clock_.now() - std::chrono::seconds(12);
  c.times_out_at = c.since + std::chrono::seconds(45);
  parking.park(c);
  service_->set_parking(&parking);
  for (const auto& who : {anna, dora}) {
    auto r = call("GET", "/api/v1/parking", who);
    ASSERT_EQ(r.status, 200) << r.body;
    auto o = json::parse(r.body).as_object();
    ASSERT_EQ(o.at("parked").as_array().size(), 1u);
    auto p = o.at("parked").as_array()[0].as_object();
    EXPECT_EQ(p.at("id").as_string(), "lab:default:701");
    EXPECT_EQ(p.at("space").as_string(), "701");
    EXPECT_EQ(p.at("call_id").as_string(), "ta-call-9");
    EXPECT_EQ(p.at("number").as_string(), "+4989123001");
    EXPECT_TRUE(p.at("name").is_null());
    EXPECT_EQ(p.at("parked_by").as_string(), "100");
    EXPECT_EQ(p.at("parked_seconds").as_int64(), 12);
    EXPECT_FALSE(p.at("times_out_at").is_null());
  }
  auto other = call("GET", "/api/v1/parking", ben);
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(json::parse(other.body).at("parked").as_array().size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/parking", "").status, 401);
}

// Issue 17: a tenant with two PBX connections: GET /api/v1/parking lists the parked calls of both
// (each names its pbx), not only the controlling link's; another tenant's never.
class CallsWithTwoParkingLots : public CallsWithControl {
 protected:
  void extend_deps(api::RestDeps& d) override {
    CallsWithControl::extend_deps(d);
    d.for_each_parking_state = [this](const base::TenantId& t,
                                      const std::function<void(const model::ParkingState&)>& f) {
      if (t != base::TenantId(kA.name)) return;
      f(lab_);
      f(branch_);
    };
  }
  static model::ParkedCall parked(const std::string& space, const std::string& number, base::Timestamp since) {
    model::ParkedCall c;
    c.lot = "default";
    c.space = space;
    c.linkedid = "call-" + space;
    c.channel = "PJSIP/trunk-000000" + space.substr(1);
    c.number = number;
    c.since = since;
    return c;
  }
  model::ParkingState lab_{"lab"}, branch_{"branch"};
};

TEST_F(CallsWithTwoParkingLots, ParkedCallsOfEveryLinkOfTheTenantAreListed) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto ben = add_user(kB, "ben", "user", {"100"});
  lab_.park(parked("701", "+4989123001", clock_.now()));
  service_->set_parking(&lab_);  // the controlling link
  branch_.park(parked("701", "+4989123002", clock_.now()));
  branch_.park(parked("702", "+4989123003", clock_.now()));
  auto r = call("GET", "/api/v1/parking", anna);
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::string> ids, numbers;
  const auto listed = json::parse(r.body);
  for (const auto& p : listed.at("parked").as_array()) {
    ids.emplace_back(p.at("id").as_string());
    numbers.emplace_back(p.at("number").as_string());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"lab:default:701", "branch:default:701", "branch:default:702"}));
  EXPECT_EQ(numbers, (std::vector<std::string>{"+4989123001", "+4989123002", "+4989123003"}));
  EXPECT_EQ(json::parse(call("GET", "/api/v1/parking", ben).body).at("parked").as_array().size(), 0u);
}

TEST_F(CallsWithControl, JournalCallbackUsesTheApisJournal) {
  auto anna = add_user(kA, "anna", "user", {"100"});
  add_journal(kA, "100", 1);
  ASSERT_TRUE(journal_->flush());
  auto entries = journal_->query(ports::JournalQuery{.tenant = base::TenantId(kA.name), .limit = 10});
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1u);
  auto r = call("POST", "/api/v1/journal/" + std::to_string((*entries)[0].id) + "/callback", anna);
  ASSERT_EQ(r.status, 202) << r.body;
  ASSERT_EQ(pbx_.log.size(), 1u);
  EXPECT_EQ(pbx_.log[0], "make_call 100 " + kA.num_prefix + "1001");
  EXPECT_EQ(call("POST", "/api/v1/journal/999/callback", anna).status, 404);
}

// The service alone: one model, three viewers.
TEST(CallsService, ListAndFindFollowTheVisibilityPolicy) {
  const base::TenantId t("ta");
  model::CallModel m(t);
  const auto now = base::from_micros(1'795'000'000'000'000LL);
  m.update("c1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, now, "+491100");
  m.update("c2", "101", model::ConnectionState::alerting, model::CallEventType::delivered, now, "+491101");
  const core::Viewer anna{.tenant = t, .user = "anna", .extensions = {"100"}};
  const core::Viewer sup{.tenant = t, .user = "sup", .role = core::Role::supervisor};
  const core::Viewer nobody{.tenant = t, .user = "x", .extensions = {"200"}};

  CallList mine(anna, nullptr);
  mine.add(m);
  auto calls = json::parse(mine.json()).at("calls").as_array();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].at("id").as_string(), "c1");
  CallList all(sup, nullptr);
  all.add(m);
  all.add(m);  // a second model: appended in order
  EXPECT_EQ(json::parse(all.json()).at("calls").as_array().size(), 4u);
  CallList none(nobody, nullptr);
  none.add(m);
  EXPECT_EQ(none.json(), R"({"calls":[]})");

  ASSERT_TRUE(visible_call(anna, m, "c1", nullptr));
  EXPECT_EQ(json::parse(*visible_call(anna, m, "c1", nullptr)), calls[0]);  // as the list shows it
  EXPECT_FALSE(visible_call(anna, m, "c2", nullptr));
  EXPECT_FALSE(visible_call(anna, m, "c9", nullptr));
  EXPECT_TRUE(visible_call(sup, m, "c2", nullptr));
}

TEST(CallsService, CommandJsonNamesStateReasonAndTimes) {
  core::CommandRecord r{.tenant = base::TenantId("ta")};
  r.id = "cmd-7";
  r.action = "hangup";
  r.state = core::CommandState::failed;
  r.reason = "No such channel";
  r.call_id = "c1";
  r.created_at = base::from_micros(1'795'000'000'000'000LL);
  r.updated_at = r.created_at + std::chrono::milliseconds(250);
  auto o = json::parse(command_json(r)).as_object();
  EXPECT_EQ(o.at("id").as_string(), "cmd-7");
  EXPECT_EQ(o.at("action").as_string(), "hangup");
  EXPECT_EQ(o.at("state").as_string(), "failed");
  EXPECT_EQ(o.at("reason").as_string(), "No such channel");
  EXPECT_EQ(o.at("call_id").as_string(), "c1");
  EXPECT_FALSE(o.contains("request_id"));
  EXPECT_NE(o.at("updated_at").as_string(), o.at("created_at").as_string());
  r.reason.clear();
  r.call_id.reset();
  r.request_id = "c2d-0001";
  o = json::parse(command_json(r)).as_object();
  EXPECT_TRUE(o.at("reason").is_null());
  EXPECT_TRUE(o.at("call_id").is_null());
  EXPECT_EQ(o.at("request_id").as_string(), "c2d-0001");
}


// Issue 17 "why did Anna get no pop?": GET /api/v1/calls/{id}/trace serves the tenant runtime's
// explain trace (core::CallTraceLog) to the tenant's admins only, also after the call ended, until
// the retention window passed; another tenant's call, an unknown one and an expired one are 404.
class CallsWithTraces : public CallsRoutes {
 protected:
  void extend_deps(api::RestDeps& d) override {
    d.call_trace = [this](const base::TenantId& t) -> const core::CallTraceLog* {
      return t == base::TenantId(kA.name) ? &a_ : t == base::TenantId(kB.name) ? &b_ : nullptr;
    };
  }
  base::ManualClock trace_clock_{base::Timestamp(std::chrono::seconds(1'795'000'000))};
  core::CallTraceLog a_{{.retention = std::chrono::minutes(30)}, trace_clock_};
  core::CallTraceLog b_{{.retention = std::chrono::minutes(30)}, trace_clock_};
};

TEST_F(CallsWithTraces, AdminsReadTheirTenantsTracesWithinTheRetentionWindow) {
  auto adm = add_user(kA, "adm", "admin", {});
  auto anna = add_user(kA, "anna", "user", {"100"});
  auto sup = add_user(kA, "sup", "supervisor", {});
  auto bdm = add_user(kB, "bdm", "admin", {});
  const auto t = trace_clock_.now();
  ring(kA, "100", 1);  // live
  a_.add("ta-call-1", ports::TraceStage::pbx, t, "Newchannel", "Channel=PJSIP/100-00000001");
  a_.add("ta-call-1", ports::TraceStage::delivery, t, "not delivered", "Sent to nobody");
  // An ended call: no longer in the model, its trace still here.
  a_.add("ta-old", ports::TraceStage::journal, t, "excluded internal", "Not written: internal calls are excluded");
  b_.add("tb-call-9", ports::TraceStage::pbx, t, "Newchannel", "");

  auto r = call("GET", "/api/v1/calls/ta-call-1/trace", adm);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = json::parse(r.body).as_object();
  EXPECT_EQ(o.at("call_id").as_string(), "ta-call-1");
  auto steps = o.at("steps").as_array();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].at("stage").as_string(), "pbx");
  EXPECT_EQ(steps[1].at("stage").as_string(), "delivery");
  EXPECT_EQ(steps[1].at("what").as_string(), "not delivered");
  auto ended = call("GET", "/api/v1/calls/ta-old/trace", adm);
  ASSERT_EQ(ended.status, 200) << ended.body;
  EXPECT_NE(ended.body.find("excluded internal"), std::string::npos);
  // Not for users or supervisors; the other tenant's call, an unknown call: 404.
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1/trace", anna).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1/trace", sup).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/calls/tb-call-9/trace", adm).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls/tb-call-9/trace", bdm).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1/trace", bdm).status, 404);
  auto unknown = call("GET", "/api/v1/calls/nope/trace", adm);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("not-found"), std::string::npos) << unknown.body;
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1/trace").status, 401);
  // Past the retention window: expired, 404.
  trace_clock_.advance(std::chrono::minutes(31));
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-old/trace", adm).status, 404);
  EXPECT_EQ(call("GET", "/api/v1/calls/ta-call-1/trace", adm).status, 404);
}

}  // namespace
}  // namespace callbridge::capabilities::calls
