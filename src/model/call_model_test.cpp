#include "model/call_model.hpp"

#include <gtest/gtest.h>

namespace callbridge::model {
namespace {

base::Timestamp at(int s) { return base::from_micros(1'795'382'753'000'000LL + s * 1'000'000LL); }

class CallModelTest : public ::testing::Test {
 protected:
  CallModelTest() : m_(base::TenantId("acme"), [this](const CallEvent& e) { events_.push_back(e); }) {}
  const CallEvent& last() const { return events_.back(); }
  CallModel m_;
  std::vector<CallEvent> events_;
};

TEST_F(CallModelTest, DevicesChangedSinceNamesEveryLineInputChangeSorted) {
  EXPECT_EQ(m_.line_version(), 0u);
  EXPECT_TRUE(m_.devices_changed_since(0).empty());
  m_.set_pbx_device_state("102", DeviceState::idle, at(0));
  m_.set_dnd("101", true, at(0));
  const auto v1 = m_.line_version();
  EXPECT_EQ(m_.devices_changed_since(0), (std::vector<std::string>{"101", "102"}));
  EXPECT_TRUE(m_.devices_changed_since(v1).empty());
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(1));  // counts
  EXPECT_EQ(m_.devices_changed_since(v1), (std::vector<std::string>{"100"}));
  const auto v2 = m_.line_version();
  m_.clear("c1", "100", at(2));
  m_.set_device_caps("103", DeviceCaps{true, true});  // first sight
  EXPECT_EQ(m_.devices_changed_since(v2), (std::vector<std::string>{"100", "103"}));
  EXPECT_EQ(m_.devices_changed_since(0), m_.devices());
}

// Issue 13: a ringing connection offers "pickup" (a colleague who sees the call takes it with
// their own phone) only where the PBX driver can pick up; never once it is answered.
TEST_F(CallModelTest, RingingConnectionOffersPickupWhenThePbxCanPickUp) {
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  EXPECT_FALSE(has(last().allowed_actions, Action::pickup));
  m_.set_pickup_offered(true);
  m_.update("c2", "101", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  EXPECT_TRUE(has(last().allowed_actions, Action::pickup));
  EXPECT_EQ(action_names(last().allowed_actions), (std::vector<std::string_view>{"hangup", "deflect", "pickup"}));
  m_.update("c2", "101", ConnectionState::connected, CallEventType::established, at(2));
  EXPECT_FALSE(has(last().allowed_actions, Action::pickup));
  m_.update("c3", "102", ConnectionState::initiated, CallEventType::originated, at(3));
  EXPECT_FALSE(has(last().allowed_actions, Action::pickup));
}

TEST_F(CallModelTest, IncomingCallAlertsThenConnectsThenClears) {
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+4989123456");
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(last().type, CallEventType::delivered);
  EXPECT_EQ(last().tenant, "acme");
  EXPECT_EQ(last().state, ConnectionState::alerting);
  EXPECT_EQ(last().remote, "+4989123456");
  // Without remote answer support the phone must be picked up by hand: no "answer" button.
  EXPECT_FALSE(has(last().allowed_actions, Action::answer));
  EXPECT_TRUE(has(last().allowed_actions, Action::hangup));
  EXPECT_TRUE(has(last().allowed_actions, Action::deflect));
  EXPECT_EQ(m_.device_state("100"), DeviceState::ringing);

  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(2));
  EXPECT_EQ(last().type, CallEventType::established);
  EXPECT_EQ(last().remote, "+4989123456") << "remote is kept from the earlier transition";
  EXPECT_TRUE(has(last().allowed_actions, Action::transfer));
  EXPECT_TRUE(has(last().allowed_actions, Action::consult));
  EXPECT_FALSE(has(last().allowed_actions, Action::hold));
  EXPECT_EQ(m_.device_state("100"), DeviceState::busy);

  m_.clear("c1", "100", at(5), 16);
  EXPECT_EQ(last().type, CallEventType::connection_cleared);
  EXPECT_EQ(last().state, ConnectionState::null);
  EXPECT_EQ(last().cause, 16);
  EXPECT_EQ(last().allowed_actions, 0u);
  EXPECT_EQ(m_.find_call("c1"), nullptr) << "a call without connections is gone";
  EXPECT_EQ(m_.device_state("100"), DeviceState::idle);
}

TEST_F(CallModelTest, PhoneCapabilitiesUnlockAnswerHoldRetrieve) {
  m_.set_device_caps("100", DeviceCaps{true, true});
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "101");
  EXPECT_TRUE(has(last().allowed_actions, Action::answer));
  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  EXPECT_TRUE(has(last().allowed_actions, Action::hold));
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(2));
  EXPECT_EQ(last().type, CallEventType::held);
  EXPECT_TRUE(has(last().allowed_actions, Action::retrieve));
  EXPECT_FALSE(has(last().allowed_actions, Action::hold));
  EXPECT_EQ(m_.device_state("100"), DeviceState::held);
  m_.update("c1", "100", ConnectionState::connected, CallEventType::retrieved, at(3));
  EXPECT_EQ(last().type, CallEventType::retrieved);
}

// A call on an external device (AnyDevice) is held by the PBX: hold and retrieve without phone
// support, for that connection only (the same device's desk phone call still has none); no
// alternate for the desk phone's call (that needs the phone).
TEST_F(CallModelTest, PbxHoldOffersHoldAndRetrieveForThatConnectionOnly) {
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "101");
  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1), {}, {}, true);
  EXPECT_TRUE(has(last().allowed_actions, Action::hold)) << "the established event already offers it";
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(2));
  EXPECT_TRUE(has(last().allowed_actions, Action::retrieve));
  m_.update("c2", "100", ConnectionState::connected, CallEventType::established, at(3), "102");
  EXPECT_FALSE(has(last().allowed_actions, Action::hold)) << "another call of the desk phone";
  EXPECT_FALSE(has(last().allowed_actions, Action::alternate));
  m_.clear("c2", "100", at(4));
  m_.set_pbx_hold("c1", "100", false);  // moved back to the desk phone
  EXPECT_FALSE(has(m_.allowed_actions(*m_.find_call("c1"), "100"), Action::retrieve));
}

// A consultation from an external device (Atxfer on its channel: both calls on the PBX's side):
// switching and joining are Asterisk's attended transfer swap and three-way; holding one of the two
// is not possible (the channel carries both).
TEST_F(CallModelTest, ConsultationOnAnExternalDeviceOffersAlternateAndConferenceNotHold) {
  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+4989123", {}, true);
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(1));
  m_.update("c2", "100", ConnectionState::connected, CallEventType::established, at(2), "+4989456", {}, true);
  ActionSet active = last().allowed_actions;
  EXPECT_TRUE(has(active, Action::alternate));
  EXPECT_TRUE(has(active, Action::conference));
  EXPECT_FALSE(has(active, Action::hold)) << "the PBX cannot hold one call of a shared channel";
  ActionSet held = m_.allowed_actions(*m_.find_call("c1"), "100");
  EXPECT_TRUE(has(held, Action::alternate));
  EXPECT_TRUE(has(held, Action::transfer));
  EXPECT_TRUE(has(held, Action::conference));
  EXPECT_FALSE(has(held, Action::retrieve)) << "the other call is active: alternate instead";
}

TEST_F(CallModelTest, HeldWithoutPhoneSupportOffersNoRetrieve) {
  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "101");
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(1));
  EXPECT_FALSE(has(last().allowed_actions, Action::retrieve));
  EXPECT_TRUE(has(last().allowed_actions, Action::hangup));
}

// Issue 13: a card without Answer/Hold says why; the reasons name exactly what the phone lacks.
TEST_F(CallModelTest, UnavailableActionsNameWhatThePhoneCannotDo) {
  auto names = [](const std::vector<std::pair<Action, std::string_view>>& v) {
    std::vector<std::string_view> out;
    for (const auto& [a, why] : v) {
      EXPECT_FALSE(why.empty());
      out.push_back(to_string(a));
    }
    return out;
  };
  m_.set_device_caps("101", DeviceCaps{true, true});
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "101");
  m_.update("c1", "101", ConnectionState::connected, CallEventType::established, at(0), "100");
  const Call* c1 = m_.find_call("c1");
  ASSERT_NE(c1, nullptr);
  auto ringing = m_.unavailable_actions(*c1, "100");
  EXPECT_EQ(names(ringing), (std::vector<std::string_view>{"answer"}));
  EXPECT_NE(ringing[0].second.find("pick up the handset"), std::string_view::npos);
  EXPECT_TRUE(m_.unavailable_actions(*c1, "101").empty()) << "a phone with remote control lacks nothing";
  EXPECT_TRUE(m_.unavailable_actions(*c1, "999").empty()) << "not in the call";

  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1));
  EXPECT_EQ(names(m_.unavailable_actions(*m_.find_call("c1"), "100")), (std::vector<std::string_view>{"hold"}));
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(2));
  EXPECT_EQ(names(m_.unavailable_actions(*m_.find_call("c1"), "100")), (std::vector<std::string_view>{"retrieve"}));

  // Answer only missing: hold works, answer is explained.
  m_.set_device_caps("102", DeviceCaps{false, true});
  m_.update("c2", "102", ConnectionState::alerting, CallEventType::delivered, at(3), "+491");
  EXPECT_EQ(names(m_.unavailable_actions(*m_.find_call("c2"), "102")), (std::vector<std::string_view>{"answer"}));
  m_.update("c2", "102", ConnectionState::connected, CallEventType::established, at(4));
  EXPECT_TRUE(m_.unavailable_actions(*m_.find_call("c2"), "102").empty());
}

TEST_F(CallModelTest, ConsultationOffersTransferConferenceAndAlternate) {
  m_.set_device_caps("100", DeviceCaps{false, true});
  m_.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+491");
  m_.update("c1", "100", ConnectionState::held, CallEventType::held, at(1));
  m_.update("c2", "100", ConnectionState::initiated, CallEventType::originated, at(2), "102");
  m_.update("c2", "100", ConnectionState::connected, CallEventType::established, at(3));
  ActionSet s = last().allowed_actions;
  EXPECT_TRUE(has(s, Action::transfer));
  EXPECT_TRUE(has(s, Action::conference));
  EXPECT_TRUE(has(s, Action::alternate));
  const Call* c1 = m_.find_call("c1");
  ASSERT_NE(c1, nullptr);
  ActionSet held = m_.allowed_actions(*c1, "100");
  EXPECT_TRUE(has(held, Action::transfer));
  EXPECT_FALSE(has(held, Action::retrieve)) << "another call is active";
}

TEST_F(CallModelTest, NoEventWhenNothingChanges) {
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "101");
  m_.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(1), "101");
  EXPECT_EQ(events_.size(), 1u);
}

TEST_F(CallModelTest, ConnectionsListEveryDeviceOfTheCall) {
  m_.update("c1", "100", ConnectionState::initiated, CallEventType::originated, at(0), "102");
  m_.update("c1", "102", ConnectionState::alerting, CallEventType::delivered, at(0), "100");
  ASSERT_EQ(last().connections.size(), 2u);
  EXPECT_EQ(last().connections[0].first, "100");
  EXPECT_EQ(last().connections[1].second, ConnectionState::alerting);
}

TEST_F(CallModelTest, FailedAndTransferredClearings) {
  m_.update("c1", "101", ConnectionState::initiated, CallEventType::originated, at(0), "+491");
  m_.clear("c1", "101", at(1), 17, /*failed=*/true);
  EXPECT_EQ(last().type, CallEventType::failed);
  EXPECT_EQ(last().state, ConnectionState::failed);
  m_.update("c2", "100", ConnectionState::connected, CallEventType::established, at(2), "+491");
  m_.clear("c2", "100", at(3), std::nullopt, false, "101", /*transferred=*/true);
  EXPECT_EQ(last().type, CallEventType::transferred);
  EXPECT_EQ(last().detail, "101");
}

TEST_F(CallModelTest, MergeMovesConnectionsAndReportsTransferred) {
  m_.update("a", "100", ConnectionState::held, CallEventType::held, at(0), "+491");
  m_.update("b", "102", ConnectionState::connected, CallEventType::established, at(1), "100");
  m_.merge("b", "a", at(2));
  EXPECT_EQ(m_.find_call("b"), nullptr);
  const Call* a = m_.find_call("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->connections.size(), 2u);
  EXPECT_EQ(last().type, CallEventType::transferred);
}

TEST_F(CallModelTest, ACallOnTheLineBeatsAnOfflineDeskPhone) {
  // AnyDevice: the desk phone is not registered, the user talks on their mobile (the tracker
  // gives the line a connection): busy, not unavailable; offline again once the call ended.
  m_.set_pbx_device_state("103", DeviceState::unavailable, at(0));
  EXPECT_EQ(m_.device_state("103"), DeviceState::unavailable);
  m_.update("m", "103", ConnectionState::alerting, CallEventType::delivered, at(1), "+4989123456");
  EXPECT_EQ(m_.device_state("103"), DeviceState::unavailable) << "ringing only: still shown offline";
  m_.update("m", "103", ConnectionState::connected, CallEventType::established, at(2));
  EXPECT_EQ(m_.device_state("103"), DeviceState::busy);
  m_.clear("m", "103", at(3));
  EXPECT_EQ(m_.device_state("103"), DeviceState::unavailable);
}

TEST_F(CallModelTest, PbxDeviceStatePresenceAndDnd) {
  EXPECT_EQ(m_.device_state("105"), DeviceState::unknown);
  m_.set_pbx_device_state("105", DeviceState::idle, at(0));
  EXPECT_EQ(m_.device_state("105"), DeviceState::idle);
  m_.set_dnd("105", true, at(1));
  EXPECT_EQ(m_.device_state("105"), DeviceState::dnd);
  m_.set_pbx_device_state("105", DeviceState::unavailable, at(2));
  EXPECT_EQ(m_.device_state("105"), DeviceState::unavailable) << "offline beats dnd";
  m_.set_pbx_device_state("105", DeviceState::busy, at(3));
  m_.set_dnd("105", false, at(3));
  EXPECT_EQ(m_.device_state("105"), DeviceState::busy) << "busy on a call we do not model";
  auto devs = m_.devices();
  EXPECT_EQ(devs, std::vector<std::string>{"105"});
}

TEST(CallEventJson, RendersAllFields) {
  CallEvent e{.tenant = base::TenantId("t1")};
  e.type = CallEventType::connection_cleared;
  e.call_id = "c\"1";
  e.device = "100";
  e.state = ConnectionState::null;
  e.connections = {{"102", ConnectionState::connected}};
  e.remote = "+4989123456";
  e.allowed_actions = static_cast<ActionSet>(Action::hangup) | static_cast<ActionSet>(Action::hold);
  e.at = at(0);
  e.cause = 16;
  EXPECT_EQ(to_json_line(e),
            "{\"tenant\": \"t1\", \"event\": \"connectionCleared\", \"call_id\": \"c\\\"1\", "
            "\"device\": \"100\", \"state\": \"null\", \"connections\": {\"102\": \"connected\"}, "
            "\"remote\": \"+4989123456\", \"allowed_actions\": [\"hangup\", \"hold\"], "
            "\"at\": \"2026-11-22T21:25:53.000Z\", \"cause\": 16}");
}

}  // namespace
}  // namespace callbridge::model
