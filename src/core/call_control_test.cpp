#include "core/call_control.hpp"

#include <gtest/gtest.h>

#include "core/call_commands.hpp"

namespace callbridge::core {
namespace {

using model::CallEventType;
using model::ConnectionState;

// Records every command; completes it at once with `result`.
struct FakePbx final : ports::PbxCommands {
  bool up = true;
  base::Status result;
  std::vector<std::string> log;
  std::optional<ports::MakeCallRequest> last_call;

  bool available() const override { return up; }
  void make_call(const ports::MakeCallRequest& r, ports::CommandDone done) override {
    last_call = r;
    log.push_back("make_call " + r.from_device + " " + r.dial_string);
    done(result);
  }
  void rec(std::string s, ports::CommandDone& done) {
    log.push_back(std::move(s));
    done(result);
  }
  void answer(const std::string& c, const std::string& d, ports::CommandDone done) override { rec("answer " + c + " " + d, done); }
  void hangup(const std::string& c, const std::string& d, ports::CommandDone done) override { rec("hangup " + c + " " + d, done); }
  void hold(const std::string& c, const std::string& d, ports::CommandDone done) override { rec("hold " + c + " " + d, done); }
  void retrieve(const std::string& c, const std::string& d, ports::CommandDone done) override { rec("retrieve " + c + " " + d, done); }
  void consult(const std::string& c, const std::string& d, const std::string& to, ports::CommandDone done) override {
    rec("consult " + c + " " + d + " " + to, done);
  }
  void alternate(const std::string& c, const std::string& o, const std::string& d, ports::CommandDone done) override {
    rec("alternate " + c + " " + o + " " + d, done);
  }
  void transfer(const std::string& c, const std::string& d, const std::string& to, ports::CommandDone done) override {
    rec("transfer " + c + " " + d + " " + to, done);
  }
  void complete_transfer(const std::string& c, const std::string& o, const std::string& d, ports::CommandDone done) override {
    rec("complete_transfer " + c + " " + o + " " + d, done);
  }
  void conference(const std::string& c, const std::string& o, const std::string& d, ports::CommandDone done) override {
    rec("conference " + c + " " + o + " " + d, done);
  }
  void redirect(const std::string& c, const std::string& d, const std::string& to, ports::CommandDone done) override {
    rec("redirect " + c + " " + d + " " + to, done);
  }
  PickupOutcome pickup_outcome;  // the last pickup's, run by the test
  void pickup(const std::string& c, const std::string& ringing, const std::string& picker, const std::string& cid,
              ports::CommandDone done, PickupOutcome outcome) override {
    pickup_outcome = std::move(outcome);
    rec("pickup " + c + " " + ringing + " " + picker + " " + cid, done);
  }
  ParkOutcome park_outcome;
  void park(const std::string& c, const std::string& d, const std::string& lot, ports::CommandDone done,
            ParkOutcome outcome) override {
    park_outcome = std::move(outcome);
    rec("park " + c + " " + d + " " + lot, done);
  }
  std::optional<ports::MoveCallRequest> last_move;
  void move_call(const ports::MoveCallRequest& r, ports::CommandDone done) override {
    last_move = r;
    rec("move " + r.call_id + " " + r.device + " " + r.external_dial_string.value_or("desk"), done);
  }
  std::optional<ports::UnparkRequest> last_unpark;
  PickupOutcome unpark_outcome;
  void unpark(const ports::UnparkRequest& r, ports::CommandDone done, PickupOutcome outcome) override {
    last_unpark = r;
    unpark_outcome = std::move(outcome);
    rec("unpark " + r.lot + "," + r.space + " " + (r.first_leg_dial_string ? *r.first_leg_dial_string : r.from_device) +
            " " + r.caller_id, done);
  }
};

base::Timestamp at(int s) { return base::from_micros(1'795'000'000'000'000 + s * 1'000'000LL); }

DialingPlan lab_plan() {
  DialingPlanOptions o;
  o.country_code = "49";
  o.area_code = "30";
  o.base_number = "555";
  o.extension_lengths = {3};
  auto p = DialingPlan::create(o);
  EXPECT_TRUE(p) << p.error().to_string();
  return std::move(*p);
}

struct CallControl : ::testing::Test {
  model::CallModel model{base::TenantId("default")};
  FakePbx pbx;
  DialingPlan plan = lab_plan();
  CallControlOptions options{.tenant = base::TenantId("default")};
  CommandCaller anna{.tenant = "default", .extensions = {"100"}};
  std::optional<CommandOutcome> out;

  CallControlService service() { return CallControlService(options, model, pbx, &plan); }
  CommandCallback keep() {
    return [this](CommandOutcome o) { out = std::move(o); };
  }
  CommandFailure::Kind failed() {
    EXPECT_TRUE(out && !*out);
    return out && !*out ? out->error().kind : CommandFailure::Kind::internal;
  }
};

TEST_F(CallControl, MakeCallNormalizesTheDestinationAndShowsItOnTheDeskPhone) {
  auto s = service();
  s.make_call(anna, "tel:+49-89-123456", std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  EXPECT_EQ((*out)->request_id, "c2d-0001");
  EXPECT_FALSE((*out)->call_id);
  ASSERT_TRUE(pbx.last_call);
  EXPECT_EQ(pbx.last_call->from_device, "100");
  EXPECT_EQ(pbx.last_call->dial_string, "089123456");
  EXPECT_EQ(pbx.last_call->caller_id_number, "089123456");  // as click_to_dial_originate/ami.sent
  EXPECT_EQ(pbx.last_call->request_id, "c2d-0001");
  EXPECT_FALSE(pbx.last_call->first_leg_dial_string);
  s.make_call(anna, "0211 339903-12", std::nullopt, keep());
  EXPECT_EQ((*out)->request_id, "c2d-0002");
}

TEST_F(CallControl, MakeCallFinishedCarriesTheOriginateOutcome) {
  auto s = service();
  std::vector<CommandOutcome> finished;
  s.make_call(anna, "089123456", std::nullopt, keep(), [&](CommandOutcome o) { finished.push_back(std::move(o)); });
  ASSERT_TRUE(pbx.last_call && pbx.last_call->on_outcome);
  pbx.last_call->on_outcome(std::string("ctilab-1.0"));
  s.make_call(anna, "089123456", std::nullopt, keep(), [&](CommandOutcome o) { finished.push_back(std::move(o)); });
  pbx.last_call->on_outcome(base::fail(base::Error::conflict("Originate failed: busy")));
  ASSERT_EQ(finished.size(), 2u);
  ASSERT_TRUE(finished[0]);
  EXPECT_EQ(finished[0]->call_id, "ctilab-1.0");
  EXPECT_EQ(finished[0]->request_id, "c2d-0001");
  ASSERT_FALSE(finished[1]);
  EXPECT_EQ(finished[1].error().kind, CommandFailure::Kind::conflict);
  EXPECT_EQ(finished[1].error().detail, "Originate failed: busy");
  // Without a `finished` callback the driver is not asked for the outcome.
  s.make_call(anna, "089123456", std::nullopt, keep());
  EXPECT_FALSE(pbx.last_call->on_outcome);
}

TEST_F(CallControl, MakeCallErrors) {
  auto s = service();
  s.make_call(anna, "call me maybe", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::invalid_number);
  s.make_call(anna, "089123456", std::string("101"), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  s.make_call(CommandCaller{.tenant = "default"}, "089123456", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  pbx.up = false;
  s.make_call(anna, "089123456", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  EXPECT_TRUE(pbx.log.empty());
  pbx.up = true;
  pbx.result = base::fail(base::Error::conflict("Originate: Extension does not exist."));
  s.make_call(anna, "089123456", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::conflict);
}

TEST_F(CallControl, AnyDeviceCallsTheMobileFirstShowingTheOfficeNumber) {
  options.any_device_number = [](std::string_view d) -> std::optional<std::string> {
    if (d == "100") return "+49 170 1234567";
    return std::nullopt;
  };
  options.office_number = [](std::string_view d) { return "+4930555" + std::string(d); };
  auto s = service();
  s.make_call(anna, "+4989123456", std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  ASSERT_TRUE(pbx.last_call->first_leg_dial_string);
  EXPECT_EQ(*pbx.last_call->first_leg_dial_string, "01701234567");
  EXPECT_EQ(pbx.last_call->caller_id_number, "+4930555100");
  EXPECT_EQ(pbx.last_call->dial_string, "089123456");
}

TEST_F(CallControl, CommandsFollowAllowedActions) {
  model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto s = service();
  // Ringing, phone without remote answer: not allowed, with the reason.
  s.execute(anna, CallCommand::answer, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("remote answer"), std::string::npos) << out->error().detail;
  model.set_device_caps("100", {.remote_answer = true, .remote_hold = false});
  s.execute(anna, CallCommand::answer, "c1", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  EXPECT_EQ(*(*out)->call_id, "c1");
  s.execute(anna, CallCommand::deflect, "c1", std::nullopt, std::string("+4930555101"), keep());
  ASSERT_TRUE(out && *out);
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  s.execute(anna, CallCommand::hold, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("remote hold"), std::string::npos);
  s.execute(anna, CallCommand::transfer, "c1", std::nullopt, std::string("101"), keep());
  ASSERT_TRUE(out && *out);
  s.execute(anna, CallCommand::consult, "c1", std::nullopt, std::string("0211 339903-12"), keep());
  ASSERT_TRUE(out && *out);
  s.execute(anna, CallCommand::consult, "c1", std::nullopt, std::string("nonsense!"), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::invalid_number);
  s.execute(anna, CallCommand::consult, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::bad_request);
  s.execute(anna, CallCommand::transfer, "c1", std::nullopt, std::nullopt, keep());  // nothing to complete
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  s.execute(anna, CallCommand::hangup, "c1", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  EXPECT_EQ(pbx.log, (std::vector<std::string>{"answer c1 100", "redirect c1 100 101", "transfer c1 100 101",
                                               "consult c1 100 021133990312", "hangup c1 100"}));
}

TEST_F(CallControl, ConsultationCompletesAlternatesAndConferences) {
  model.set_device_caps("100", {.remote_answer = true, .remote_hold = true});
  model.update("c1", "100", ConnectionState::held, CallEventType::held, at(0), "+4989123456");
  model.update("c2", "100", ConnectionState::connected, CallEventType::established, at(1), "102");
  auto s = service();
  s.execute(anna, CallCommand::transfer, "c2", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  s.execute(anna, CallCommand::alternate, "c2", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  s.execute(anna, CallCommand::conference, "c1", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  s.execute(anna, CallCommand::retrieve, "c1", std::nullopt, std::nullopt, keep());  // c2 is active
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("alternate"), std::string::npos);
  EXPECT_EQ(pbx.log, (std::vector<std::string>{"complete_transfer c2 c1 100", "alternate c2 c1 100",
                                               "conference c1 c2 100"}));
}

TEST_F(CallControl, OthersCallsAreInvisibleAndTheLinkStateGives503) {
  model.update("c9", "101", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  auto s = service();
  s.execute(anna, CallCommand::hangup, "c9", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.execute(anna, CallCommand::hangup, "nope", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.execute(anna, CallCommand::hangup, "c1", std::string("101"), std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  s.execute(CommandCaller{.tenant = "other", .extensions = {"100"}}, CallCommand::hangup, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  pbx.up = false;
  s.execute(anna, CallCommand::hangup, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  pbx.up = true;
  pbx.result = base::fail(base::Error::unavailable("session ended"));
  s.execute(anna, CallCommand::hangup, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  EXPECT_EQ(pbx.log.size(), 1u);
}

// Bob (102, team "sales" with Anna's 100) picks up the call ringing at 100. Carla (103, no team)
// may not even see it; a supervisor may; a call that stopped ringing is refused in words.
TEST_F(CallControl, PickupTakesAColleaguesRingingCallWithinTheLinesTheCallerSees) {
  std::vector<ports::User> users{
      {.tenant = base::TenantId("default"), .name = "anna", .extensions = {"100"}, .team = "sales"},
      {.tenant = base::TenantId("default"), .name = "bob", .extensions = {"102"}, .team = "sales"},
      {.tenant = base::TenantId("default"), .name = "carla", .extensions = {"103"}}};
  CommandCaller bob{.tenant = "default", .user = "bob", .extensions = {"102"}, .team = "sales"};
  CommandCaller carla{.tenant = "default", .user = "carla", .extensions = {"103"}};
  CommandCaller sup{.tenant = "default", .user = "sue", .role = Role::supervisor, .extensions = {"104"}};
  model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto s = service();
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep());
  ASSERT_TRUE(out && *out) << out->error().detail;
  EXPECT_EQ(*(*out)->call_id, "c1");
  s.pickup(carla, "c1", std::nullopt, line_scope(carla, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.pickup(sup, "c1", std::nullopt, line_scope(sup, users), keep());
  ASSERT_TRUE(out && *out);
  // Only with one's own extension; not one's own ringing call; someone without an extension.
  s.pickup(bob, "c1", std::string("100"), line_scope(bob, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  s.pickup(anna, "c1", std::nullopt, line_scope(anna, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("answer it instead"), std::string::npos) << out->error().detail;
  s.pickup(CommandCaller{.tenant = "default", .user = "x", .team = "sales"}, "c1", std::nullopt, line_scope(bob, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  // execute(pickup) knows no team: Bob's own lines only, so the call is invisible.
  s.execute(bob, CallCommand::pickup, "c1", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.pickup(CommandCaller{.tenant = "other", .user = "bob", .extensions = {"102"}, .team = "sales"}, "c1",
           std::nullopt, line_scope(bob, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  pbx.up = false;
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  pbx.up = true;
  // Answered meanwhile: 409 with words.
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_EQ(out->error().detail, "This call is no longer ringing, so it cannot be picked up: at 100 it is connected.");
  EXPECT_EQ(pbx.log, (std::vector<std::string>{"pickup c1 100 102 +4989123456", "pickup c1 100 104 +4989123456"}));
}

// The PBX's final word on a pickup in words: taken, nothing to pick up (answered at 100 while
// Bob's phone rang), Bob's phone not taking it. Without `finished` the PBX is not asked to follow.
TEST_F(CallControl, PickupFinalWordSaysNothingToPickUpInWords) {
  std::vector<ports::User> users{
      {.tenant = base::TenantId("default"), .name = "anna", .extensions = {"100"}, .team = "sales"},
      {.tenant = base::TenantId("default"), .name = "bob", .extensions = {"102"}, .team = "sales"}};
  CommandCaller bob{.tenant = "default", .user = "bob", .extensions = {"102"}, .team = "sales"};
  model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto s = service();
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep());
  EXPECT_FALSE(pbx.pickup_outcome);
  std::optional<CommandOutcome> final_word;
  auto finished = [&](CommandOutcome o) { final_word = std::move(o); };
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep(), finished);
  ASSERT_TRUE(out && *out);
  ASSERT_TRUE(pbx.pickup_outcome);
  EXPECT_FALSE(final_word);
  pbx.pickup_outcome(base::fail(base::Error::not_found("PickupChan found nothing to pick up")));
  ASSERT_TRUE(final_word && !*final_word);
  EXPECT_EQ(final_word->error().kind, CommandFailure::Kind::not_found);
  EXPECT_EQ(final_word->error().detail,
            "Nothing to pick up: the call stopped ringing at 100 before your phone (102) answered; it was answered "
            "there or ended.");
  s.pickup_line(bob, "100", std::nullopt, line_scope(bob, users), keep(), finished);
  pbx.pickup_outcome(base::fail(base::Error::conflict("Originate failed: busy on PJSIP/102 (OriginateResponse Reason 5)")));
  ASSERT_TRUE(final_word && !*final_word);
  EXPECT_EQ(final_word->error().kind, CommandFailure::Kind::conflict);
  EXPECT_EQ(final_word->error().detail,
            "Your phone (102) did not take the call, so nothing was picked up (Originate failed: busy on PJSIP/102 "
            "(OriginateResponse Reason 5)).");
  s.pickup(bob, "c1", std::nullopt, line_scope(bob, users), keep(), finished);
  pbx.pickup_outcome({});
  ASSERT_TRUE(final_word && *final_word);
  EXPECT_EQ((*final_word)->call_id, "c1");
}

TEST(CallCommand, NamesRoundTrip) {
  for (auto v : {"answer", "hangup", "hold", "retrieve", "consult", "alternate", "transfer", "conference", "deflect", "pickup", "park"}) {
    auto c = parse_call_command(v);
    ASSERT_TRUE(c) << v;
    EXPECT_EQ(to_string(*c), v);
  }
  EXPECT_FALSE(parse_call_command("explode"));
}

}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

TEST(CallControlCaps, ConfiguredPhonePatternsDecideWhatIsOffered) {
  model::CallModel model{base::TenantId("default")};
  model.set_caps_resolver([](std::string_view d) {
    return model::DeviceCaps{.remote_answer = d.starts_with("1"), .remote_hold = d.starts_with("1")};
  });
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  model.update("c2", "200", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  EXPECT_TRUE(model::has(model.allowed_actions(*model.find_call("c1"), "100"), model::Action::hold));
  EXPECT_FALSE(model::has(model.allowed_actions(*model.find_call("c2"), "200"), model::Action::hold));
  model.set_device_caps("100", {});  // explicit caps win over the resolver
  EXPECT_FALSE(model::has(model.allowed_actions(*model.find_call("c1"), "100"), model::Action::hold));
}

}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

TEST_F(CallControl, ParkSendsTheRemoteOfTheUsersConnectedCallToTheTenantsLotAndNamesTheSpace) {
  options.parking_lot = "sales";
  model.set_park_offered(true);
  model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto s = service();
  std::vector<CommandOutcome> finished;
  auto fin = [&](CommandOutcome o) { finished.push_back(std::move(o)); };
  // Ringing: nothing to park yet, in words.
  s.execute(anna, CallCommand::park, "c1", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_EQ(out->error().detail, "Only a connected call with another party can be parked; at 100 the call is ringing.");
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  // Not the caller's call: invisible.
  CommandCaller ben{.tenant = "default", .extensions = {"101"}};
  s.execute(ben, CallCommand::park, "c1", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.execute(anna, CallCommand::park, "c1", std::string("101"), std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  EXPECT_TRUE(pbx.log.empty());
  s.execute(anna, CallCommand::park, "c1", std::nullopt, std::nullopt, keep(), fin);
  ASSERT_TRUE(out && *out);
  ASSERT_EQ(pbx.log.size(), 1u);
  EXPECT_EQ(pbx.log[0], "park c1 100 sales");
  ASSERT_TRUE(pbx.park_outcome);
  pbx.park_outcome(std::string("701"));
  ASSERT_EQ(finished.size(), 1u);
  ASSERT_TRUE(finished[0]);
  EXPECT_EQ(finished[0]->space, "701");
  EXPECT_EQ(finished[0]->call_id, "c1");
  pbx.park_outcome(base::fail(base::Error::unavailable("the AMI session ended")));
  ASSERT_EQ(finished.size(), 2u);
  EXPECT_EQ(finished[1].error().kind, CommandFailure::Kind::pbx_unavailable);
}

TEST_F(CallControl, UnparkRingsTheUsersPhoneIntoTheParkedCallOrSaysNothingIsParkedThere) {
  model::ParkingState parking("lab");
  model::ParkedCall c;
  c.lot = "default";
  c.space = "701";
  c.linkedid = "ctilab-1.37";
  c.number = "+4989123001";
  c.parker = "101";
  parking.park(c);
  auto s = service();
  std::vector<CommandOutcome> finished;
  auto fin = [&](CommandOutcome o) { finished.push_back(std::move(o)); };
  // Without the PBX's parking state nothing is known to be parked.
  s.unpark(anna, "701", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.set_parking(&parking);
  s.unpark(anna, "702", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  EXPECT_EQ(out->error().detail, "Nothing is parked at 702 any more: it was picked up, timed out or the caller hung up.");
  s.unpark(anna, "701", std::string("sales"), std::nullopt, keep(), fin);
  EXPECT_EQ(out->error().detail, "Nothing is parked at 701 (lot sales) any more: it was picked up, timed out or the caller hung up.");
  // Another tenant's user: their lots are not this PBX's.
  s.unpark(CommandCaller{.tenant = "other", .extensions = {"100"}}, "701", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  s.unpark(anna, "701", std::nullopt, std::string("102"), keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  pbx.up = false;
  s.unpark(anna, "701", std::nullopt, std::nullopt, keep(), fin);
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  EXPECT_TRUE(pbx.log.empty());
  pbx.up = true;
  EXPECT_EQ(s.unpark(anna, "701", std::nullopt, std::nullopt, keep(), fin), "ctilab-1.37");
  ASSERT_TRUE(out && *out);
  EXPECT_EQ((*out)->call_id, "ctilab-1.37");
  ASSERT_EQ(pbx.log.size(), 1u);
  EXPECT_EQ(pbx.log[0], "unpark default,701 100 +4989123001");
  pbx.unpark_outcome({});
  pbx.unpark_outcome(base::fail(base::Error::not_found("ParkedCall found nothing")));
  pbx.unpark_outcome(base::fail(base::Error::conflict("Originate failed: busy")));
  ASSERT_EQ(finished.size(), 3u);
  ASSERT_TRUE(finished[0]);
  EXPECT_EQ(finished[0]->call_id, "ctilab-1.37");
  EXPECT_EQ(finished[1].error().kind, CommandFailure::Kind::not_found);
  EXPECT_EQ(finished[1].error().detail,
            "Nothing was parked at 701 any more when your phone (100) answered: someone else picked it up, or the caller hung up.");
  EXPECT_EQ(finished[2].error().kind, CommandFailure::Kind::conflict);
  EXPECT_NE(finished[2].error().detail.find("stays parked at 701"), std::string::npos);
}

TEST_F(CallControl, UnparkWithAnExternalActiveDeviceRingsItFirst) {
  options.active_device = [](const std::string&) -> std::optional<ActiveDevice> {
    return ActiveDevice{.name = "mobile", .number = "+491701234567"};
  };
  model::ParkingState parking("lab");
  model::ParkedCall c;
  c.lot = "default";
  c.space = "701";
  parking.park(c);
  auto s = service();
  s.set_parking(&parking);
  s.unpark(anna, "701", std::nullopt, std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  ASSERT_TRUE(pbx.last_unpark && pbx.last_unpark->first_leg_dial_string);
  EXPECT_EQ(*pbx.last_unpark->first_leg_dial_string, "01701234567");
}

// Channel accounting: the tenant's trunk limit refuses what would exceed it before dialling.
TEST_F(CallControl, TrunkLimitRefusesBeforeAnythingIsDialled) {
  std::uint32_t in_use = 1;
  options.max_trunk_channels = 2;
  options.trunk_channels_in_use = [&] { return in_use; };
  options.active_device = [](const std::string& user) -> std::optional<ActiveDevice> {
    if (user == "dan") return ActiveDevice{.name = "mobile", .number = "+491701234567"};
    return std::nullopt;
  };
  auto s = service();
  // The desk phone to an external number: one trunk channel, 1 + 1 <= 2.
  s.make_call(anna, "089123456", std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  EXPECT_EQ(s.trunk_refusals(), 0u);
  // From the mobile to an external number: two (the AnyDevice call), 1 + 2 > 2.
  CommandCaller dan{.tenant = "default", .user = "dan", .extensions = {"103"}};
  pbx.log.clear();
  s.make_call(dan, "089123456", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::no_trunk_capacity);
  EXPECT_EQ(out->error().detail,
            "All outside lines are busy: This call needs 2 trunk channels, 1 of the 2 the company may use at once "
            "are in use. Try again when a call has ended.");
  EXPECT_TRUE(pbx.log.empty()) << "nothing dialled";
  EXPECT_EQ(s.trunk_refusals(), 1u);
  // An internal call needs no trunk channel: never refused by the limit.
  in_use = 2;
  s.make_call(anna, "102", std::nullopt, keep());
  ASSERT_TRUE(out && *out);
  // The mobile calling an extension still takes one (the mobile's own channel).
  s.make_call(dan, "102", std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::no_trunk_capacity);
  // Unpark onto the mobile: one.
  model::ParkingState parking("lab");
  model::ParkedCall c;
  c.lot = "default";
  c.space = "701";
  parking.park(c);
  s.set_parking(&parking);
  s.unpark(dan, "701", std::nullopt, std::nullopt, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::no_trunk_capacity);
  EXPECT_FALSE(pbx.last_unpark);
  // No limit configured: nothing is refused.
  options.max_trunk_channels = 0;
  auto unlimited = service();
  unlimited.make_call(dan, "089123456", std::nullopt, keep());
  ASSERT_TRUE(out && *out);
}

// Moving a call (docs/call-control.md "Moving a call"): the checks before anything is dialled,
// what the driver is asked, and the final word in words.
TEST_F(CallControl, MoveCallChecksBeforeDiallingAndKeepsTheCallId) {
  std::uint32_t in_use = 1;
  options.max_trunk_channels = 2;
  options.trunk_channels_in_use = [&] { return in_use; };
  options.device_refused = [](std::string_view e164) -> std::optional<std::string> {
    if (e164.starts_with("+49900")) return std::string(e164) + " matches the tenant's deny pattern +49900*";
    return std::nullopt;
  };
  options.office_number = [](std::string_view d) { return "+4930555" + std::string(d); };
  model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  auto s = service();
  const MoveTarget mobile{"mobile", "+491701234567"};
  // Ringing: not yet.
  s.move_call(anna, "c1", mobile, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("Only a connected call can be moved"), std::string::npos) << out->error().detail;
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1), "+4989123456");
  // Unknown or someone else's call, another tenant: as if it did not exist.
  s.move_call(anna, "nope", mobile, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  CommandCaller ben{.tenant = "default", .user = "ben", .extensions = {"101"}};
  s.move_call(ben, "c1", mobile, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  // Another extension of the user: that is a transfer.
  CommandCaller anna2{.tenant = "default", .extensions = {"100", "104"}};
  s.move_call(anna2, "c1", MoveTarget{"104", ""}, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::action_not_allowed);
  EXPECT_NE(out->error().detail.find("transfer it"), std::string::npos) << out->error().detail;
  // A number the tenant's policy refuses.
  s.move_call(anna, "c1", MoveTarget{"premium", "+4990012345"}, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  EXPECT_NE(out->error().detail.find("deny pattern"), std::string::npos) << out->error().detail;
  // The trunk limit: the mobile needs one more, 2 + 1 > 2.
  in_use = 2;
  s.move_call(anna, "c1", mobile, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::no_trunk_capacity);
  // The link is down.
  in_use = 1;
  pbx.up = false;
  s.move_call(anna, "c1", mobile, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::pbx_unavailable);
  EXPECT_TRUE(pbx.log.empty()) << "nothing dialled: " << pbx.log.front();
  pbx.up = true;

  // To the mobile: dialled as the plan dials it, its E.164 number for the journal, the office number shown.
  std::optional<CommandOutcome> fin;
  s.move_call(anna, "c1", mobile, keep(), [&](CommandOutcome o) { fin = std::move(o); });
  ASSERT_TRUE(out && *out);
  EXPECT_EQ((*out)->call_id, "c1");
  ASSERT_TRUE(pbx.last_move);
  EXPECT_EQ(pbx.last_move->call_id, "c1");
  EXPECT_EQ(pbx.last_move->device, "100");
  EXPECT_EQ(pbx.last_move->external_dial_string, "01701234567");
  EXPECT_EQ(pbx.last_move->external_number, "+491701234567");
  EXPECT_EQ(pbx.last_move->caller_id_number, "+4930555100");
  ASSERT_TRUE(pbx.last_move->on_outcome);
  pbx.last_move->on_outcome(base::fail(base::Error::conflict("Originate failed: busy")));
  ASSERT_TRUE(fin && !*fin);
  EXPECT_EQ(fin->error().kind, CommandFailure::Kind::conflict);
  EXPECT_EQ(fin->error().detail,
            "Your device mobile did not take the call, so it stays where it was (Originate failed: busy).");
  pbx.last_move->on_outcome(base::fail(base::Error::not_found("gone")));
  EXPECT_EQ(fin->error().kind, CommandFailure::Kind::not_found);
  pbx.last_move->on_outcome({});
  ASSERT_TRUE(fin && *fin);
  EXPECT_EQ((*fin)->call_id, "c1");
  // The journal names the device a call was moved to (it need not be the active one).
  ASSERT_TRUE(s.moved_device("+491701234567"));
  EXPECT_EQ(s.moved_device("+491701234567")->name, "mobile");
  EXPECT_TRUE(s.moved_device("+491701234567")->private_device);
  EXPECT_FALSE(s.moved_device("+4930123456"));
  s.move_call(anna, "c1", MoveTarget{"handy", "+491701234567", false}, keep());
  EXPECT_EQ(s.moved_device("+491701234567")->name, "handy");
  EXPECT_FALSE(s.moved_device("+491701234567")->private_device);
  // Back to the desk: the extension's own phone, showing the remote; no trunk channel needed.
  in_use = 2;
  s.move_call(anna, "c1", MoveTarget{"100", ""}, keep());
  ASSERT_TRUE(out && *out) << out->error().detail;
  EXPECT_FALSE(pbx.last_move->external_dial_string);
  EXPECT_EQ(pbx.last_move->caller_id_number, "+4989123456");
  // The driver's refusal (already there) comes back as it said.
  pbx.result = base::fail(base::Error::conflict("call c1 is on that device already"));
  s.move_call(anna, "c1", MoveTarget{"100", ""}, keep());
  EXPECT_EQ(failed(), CommandFailure::Kind::conflict);
}

// Cluster mode (core/call_commands.hpp): a command relayed to the owner node runs the owner's
// CallControlService with the issuer's identity, so every check is the owner's; what it answers
// and reports later comes back as the local service would report it. The relay here hands the
// data over in memory (cluster_command_relay_test carries it over NATS).
struct LoopbackRelay final : ports::CommandRelay {
  CallControlService* owner = nullptr;
  base::TenantId tenant{"default"};
  std::vector<ports::RelayedCommand> sent;
  void send(const std::string&, ports::RelayedCommand c, Handlers h) override {
    sent.push_back(c);
    ports::RelayReplies r{[h](ports::RelayedAnswer a) { h.answered(std::move(a)); },
                          [h](ports::RelayedOutcome o) { h.done(std::move(o)); },
                          [h](ports::RelayedOutcome o) { h.finished(std::move(o)); }};
    serve_relayed(owner, tenant, c, std::move(r));
  }
};

TEST_F(CallControl, RelayedCommandsAreCheckedAndCarriedOutByTheOwner) {
  auto s = service();
  LoopbackRelay relay;
  relay.owner = &s;
  RemoteCallCommands remote(relay, "lab");
  std::vector<std::string> order;
  std::optional<CommandOutcome> finished;
  std::string returned = "unset";
  auto submitted = [&](std::string r) {
    order.push_back("submitted");
    returned = std::move(r);
  };
  auto done = [&](CommandOutcome o) {
    order.push_back("done");
    out = std::move(o);
  };

  // Not her device: the owner's first_leg check refuses, before the answer.
  remote.make_call(anna, "101", std::string("103"), done, {}, submitted);
  EXPECT_EQ(failed(), CommandFailure::Kind::forbidden);
  EXPECT_NE(out->error().detail.find("Extension 103 is not one of yours"), std::string::npos) << out->error().detail;
  EXPECT_EQ(order, (std::vector<std::string>{"done", "submitted"}));
  EXPECT_EQ(returned, "");
  EXPECT_TRUE(pbx.log.empty());
  ASSERT_EQ(relay.sent.size(), 1u);
  EXPECT_EQ(relay.sent[0].user, anna.user);
  EXPECT_EQ(relay.sent[0].extensions, anna.extensions);
  EXPECT_EQ(relay.sent[0].from, "103");

  // Accepted: the owner's request id; the PBX's final word (the call id) arrives later.
  order.clear();
  remote.make_call(anna, "0211 339903-12", std::nullopt, done, [&](CommandOutcome o) { finished = std::move(o); },
                   submitted);
  ASSERT_TRUE(out && *out);
  EXPECT_EQ((*out)->request_id, "c2d-0001");
  EXPECT_EQ(returned, "c2d-0001");
  EXPECT_EQ(pbx.log, std::vector<std::string>{"make_call 100 021133990312"});
  ASSERT_TRUE(pbx.last_call && pbx.last_call->on_outcome);
  EXPECT_FALSE(finished);
  pbx.last_call->on_outcome(std::string("ctilab-1.0"));
  ASSERT_TRUE(finished && *finished);
  EXPECT_EQ((*finished)->call_id, "ctilab-1.0");

  // A call the owner does not know, and one the PBX refuses: the kinds come back.
  remote.execute(anna, CallCommand::hangup, "nope", std::nullopt, std::nullopt, done, {}, submitted);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  pbx.result = base::fail(base::Error::conflict("No such channel"));
  remote.execute(anna, CallCommand::hangup, "c1", std::nullopt, std::nullopt, done, {}, submitted);
  EXPECT_EQ(failed(), CommandFailure::Kind::conflict);
  EXPECT_EQ(out->error().detail, "No such channel");
}

// Moving a call from a node without the link: the device the issuing node found (name, number,
// private) reaches the owner's move_call, whose checks refuse as for a local caller (the trunk
// limit, a call that is not the caller's, a call that ended meanwhile) and whose final word comes
// back after the answer.
TEST_F(CallControl, ARelayedMoveIsCheckedAndCarriedOutByTheOwner) {
  std::uint32_t in_use = 2;
  options.max_trunk_channels = 2;
  options.trunk_channels_in_use = [&] { return in_use; };
  options.office_number = [](std::string_view d) { return "+4930555" + std::string(d); };
  model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123456");
  auto s = service();
  LoopbackRelay relay;
  relay.owner = &s;
  RemoteCallCommands remote(relay, "lab");
  std::vector<std::string> order;
  std::optional<CommandOutcome> fin;
  auto submitted = [&](std::string r) {
    order.push_back("submitted:" + r);
  };
  auto done = [&](CommandOutcome o) {
    order.push_back("done");
    out = std::move(o);
  };
  auto finished = [&](CommandOutcome o) {
    order.push_back("finished");
    fin = std::move(o);
  };
  const MoveTarget handy{"handy", "+491701234567", false};

  // The owner's trunk limit: 2 + 1 > 2, nothing dialled.
  remote.move_call(anna, "c1", handy, done, finished, submitted);
  EXPECT_EQ(failed(), CommandFailure::Kind::no_trunk_capacity);
  EXPECT_EQ(order, (std::vector<std::string>{"done", "submitted:"}));
  EXPECT_FALSE(pbx.last_move);
  ASSERT_EQ(relay.sent.size(), 1u);
  EXPECT_EQ(relay.sent[0].op, "move");
  EXPECT_EQ(relay.sent[0].target, "c1");
  EXPECT_EQ(relay.sent[0].device, "handy");
  EXPECT_EQ(relay.sent[0].number, "+491701234567");
  EXPECT_FALSE(relay.sent[0].private_device);
  EXPECT_TRUE(relayed_two_step("move"));

  // Not Ben's call: as if it did not exist.
  CommandCaller ben{.tenant = "default", .user = "ben", .extensions = {"101"}};
  remote.move_call(ben, "c1", handy, done, finished, submitted);
  EXPECT_EQ(failed(), CommandFailure::Kind::not_found);

  // Accepted: the driver is asked as for a local move; the PBX's answer and its final word follow.
  in_use = 1;
  order.clear();
  remote.move_call(anna, "c1", handy, done, finished, submitted);
  ASSERT_TRUE(out && *out) << out->error().detail;
  ASSERT_TRUE(pbx.last_move);
  EXPECT_EQ(pbx.last_move->device, "100");
  EXPECT_EQ(pbx.last_move->external_number, "+491701234567");
  EXPECT_EQ(pbx.last_move->external_dial_string, "01701234567");
  EXPECT_EQ(pbx.last_move->caller_id_number, "+4930555100");
  EXPECT_EQ(order, (std::vector<std::string>{"done", "submitted:"}));
  ASSERT_TRUE(pbx.last_move->on_outcome);
  EXPECT_FALSE(fin);
  // The call ended before the device answered: the owner's words.
  pbx.last_move->on_outcome(base::fail(base::Error::not_found("gone")));
  ASSERT_TRUE(fin && !*fin);
  EXPECT_EQ(fin->error().kind, CommandFailure::Kind::not_found);
  EXPECT_NE(fin->error().detail.find("The call ended before your device handy answered"), std::string::npos)
      << fin->error().detail;
  // The owner's journal names the device with what the issuing node sent (not private).
  ASSERT_TRUE(s.moved_device("+491701234567"));
  EXPECT_EQ(s.moved_device("+491701234567")->name, "handy");
  EXPECT_FALSE(s.moved_device("+491701234567")->private_device);
  pbx.last_move->on_outcome({});
  ASSERT_TRUE(fin && *fin);
  EXPECT_EQ((*fin)->call_id, "c1");

  // Back to the desk: no number on the way.
  pbx.last_move.reset();
  remote.move_call(anna, "c1", MoveTarget{"100", ""}, done, finished, submitted);
  EXPECT_FALSE(relay.sent.back().number);
  ASSERT_TRUE(pbx.last_move);
  EXPECT_FALSE(pbx.last_move->external_dial_string);

  // What no issuing node sends: a move without a device, a number that is not E.164.
  auto bad = relay.sent.back();
  bad.device.reset();
  std::optional<ports::RelayedAnswer> a;
  serve_relayed(&s, base::TenantId("default"), bad, ports::RelayReplies{[&](ports::RelayedAnswer x) { a = x; }, {}, {}});
  ASSERT_TRUE(a && a->done && !a->done->ok);
  EXPECT_EQ(a->done->failure, "bad_request");
  bad.device = "mobile";
  bad.number = "0170 1234567";
  a.reset();
  serve_relayed(&s, base::TenantId("default"), bad, ports::RelayReplies{[&](ports::RelayedAnswer x) { a = x; }, {}, {}});
  ASSERT_TRUE(a && a->done && !a->done->ok);
  EXPECT_EQ(a->done->failure, "bad_request");
  EXPECT_NE(a->done->detail.find("not an E.164 number"), std::string::npos) << a->done->detail;
}

TEST_F(CallControl, RelayedCommandsOfAnotherTenantOrRoleOrWithoutDriverAreRefused) {
  auto s = service();
  auto serve = [&](CallControlService* svc, ports::RelayedCommand c) {
    std::optional<ports::RelayedAnswer> a;
    serve_relayed(svc, base::TenantId("default"), c,
                  ports::RelayReplies{[&](ports::RelayedAnswer x) { a = std::move(x); }, {}, {}});
    EXPECT_TRUE(a && a->done && !a->done->ok);
    return a && a->done ? a->done->failure : std::string("none");
  };
  ports::RelayedCommand c;
  c.tenant = "default";
  c.user = "anna";
  c.role = "user";
  c.extensions = {"100"};
  c.op = "hangup";
  c.target = "c1";
  EXPECT_EQ(serve(nullptr, c), "pbx_unavailable");  // the link's driver is gone from the owner
  auto other = c;
  other.tenant = "acme";
  EXPECT_EQ(serve(&s, other), "forbidden");
  auto op = c;
  op.role = "operator";
  EXPECT_EQ(serve(&s, op), "forbidden");
  auto unknown = c;
  unknown.op = "explode";
  EXPECT_EQ(serve(&s, unknown), "bad_request");
  EXPECT_TRUE(pbx.log.empty());
  // The kinds survive the trip as text.
  for (auto k : {CommandFailure::Kind::forbidden, CommandFailure::Kind::action_not_allowed,
                 CommandFailure::Kind::no_trunk_capacity, CommandFailure::Kind::timeout})
    EXPECT_EQ(parse_failure_kind(to_string(k)), k);
  EXPECT_EQ(parse_failure_kind("what"), CommandFailure::Kind::internal);
}

}  // namespace
}  // namespace callbridge::core
