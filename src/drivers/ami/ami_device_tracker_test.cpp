// AmiDeviceTracker on real Asterisk 22 bytes (tests/fixtures/asterisk-22): the resync after a
// reconnect (EndpointList/ContactList with the phones' User-Agents), live ContactStatus of the
// register/unregister captures, the PJSIPShowEndpoint answers of the lab (ContactStatusDetail,
// AuthDetail with a password that must not be kept, a static trunk contact, an unknown endpoint),
// call events, removal by an admin and what brings a device back.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_device_tracker.hpp"

namespace callbridge::drivers::ami {
namespace {

const std::string kFixtures = CALLBRIDGE_FIXTURES_DIR;

std::vector<OwnedAmiMessage> read_messages(const std::string& rel) {
  std::ifstream in(kFixtures + "/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  FrameReader r({}, bytes.starts_with("Asterisk Call Manager"));
  r.feed(bytes);
  std::vector<OwnedAmiMessage> out;
  AmiMessage m;
  for (;;) {
    auto more = r.next(m);
    EXPECT_TRUE(more) << rel << ": " << more.error().message();
    if (!more || !*more) break;
    out.emplace_back(m);
  }
  return out;
}

// A PJSIPShowEndpoint answer as AmiProtocol hands it to the callback: response, items, complete.
AmiResponse read_answer(const std::string& rel) {
  auto msgs = read_messages(rel);
  AmiResponse r;
  if (msgs.empty()) return r;
  r.response = msgs.front();
  for (std::size_t i = 1; i < msgs.size(); ++i) {
    if (msgs[i].view().get("EventList") == "Complete") r.complete = msgs[i];
    else r.items.push_back(msgs[i]);
  }
  return r;
}

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1795382700 + s)); }

struct Rig {
  std::vector<std::string> asked;
  AmiCallTracker calls;
  AmiDeviceTracker devices;
  Rig()
      : calls(TrackerOptions{.tenant = base::TenantId("acme")},
              TrackerOutputs{.on_journal = {}, .on_event = [this](const model::CallEvent& e) { devices.on_call_event(e); }}),
        devices("lab", calls.model(),
                [](std::string_view ep) { return is_party_endpoint(TrackerOptions{.tenant = base::TenantId("acme")}, ep); },
                [this](const std::string& ep) { asked.push_back(ep); }) {}

  void session(const std::string& rel, int t) {
    calls.on_session_start(at(t));
    devices.on_session_start(at(t));
    feed(rel, t);
  }
  void feed(const std::string& rel, int t) {
    for (const auto& m : read_messages(rel)) step(m.view(), at(t));
  }
  // What AmiDriver does with each message.
  void step(const AmiMessage& m, base::Timestamp when) {
    calls.on_message(m, when);
    devices.on_message(m, when);
    auto ev = m.event();
    if (ev == "DeviceStateChange" || ev == "ExtensionStatus" || ev == "PresenceStateChange" ||
        ev == "DeviceStateListComplete" || ev == "ExtensionStateListComplete")
      devices.sync_status();
  }
  const model::RegisteredDevice& dev(std::string_view ep) {
    const auto* d = devices.registry().find(ep);
    EXPECT_NE(d, nullptr) << ep;
    static model::RegisteredDevice none;
    return d ? *d : none;
  }
};

TEST(AmiDeviceTracker, ResyncListsEveryEndpointWithItsRegistrationAndUserAgent) {
  Rig r;
  r.calls.on_session_start(at(0));
  r.devices.on_session_start(at(0));
  std::optional<model::DeviceStatus> listed_100;
  for (const auto& m : read_messages("ami_reconnect/ami-reconnect.log")) {
    r.step(m.view(), at(0));
    if (m.view().event() == "EndpointListComplete") listed_100 = r.dev("100").status;
  }
  // 100 was on a call when the link came back (DeviceState Busy, a channel in CoreShowChannels);
  // the call ends later in the capture.
  EXPECT_EQ(listed_100, model::DeviceStatus::off_hook);
  EXPECT_EQ(r.dev("100").status, model::DeviceStatus::on_hook);
  EXPECT_FALSE(r.dev("100").last_call_id.empty());
  const auto& reg = r.devices.registry();
  ASSERT_EQ(reg.size(), 7u);  // 100..105 and the trunk
  const auto& d = r.dev("100");
  EXPECT_EQ(d.id, "lab:100");
  EXPECT_EQ(d.extension, "100");
  EXPECT_EQ(d.sip_user, "100");
  EXPECT_EQ(d.registration(), model::Registration::registered);
  EXPECT_EQ(d.address(), "127.0.0.1:5100");
  EXPECT_EQ(d.user_agent, "SIPp-phone-100");
  EXPECT_EQ(d.agent, model::UserAgentInfo{});  // not a format the parser knows: kept raw only
  ASSERT_EQ(d.contacts.size(), 1u);
  EXPECT_EQ(d.contacts[0].uri, "sip:100@127.0.0.1:5100");
  EXPECT_EQ(d.contacts[0].status, "NonQualified");
  EXPECT_EQ(d.contacts[0].expires, base::Timestamp(std::chrono::seconds(1795386347)));
  EXPECT_EQ(r.dev("101").status, model::DeviceStatus::on_hook);
  const auto& trunk = r.dev("trunk");
  EXPECT_EQ(trunk.extension, "");
  EXPECT_EQ(trunk.registration(), model::Registration::static_contact);
  EXPECT_EQ(trunk.address(), "127.0.0.1:5070");
  EXPECT_EQ(trunk.user_agent, "");
  EXPECT_TRUE(r.asked.empty()) << "the resync lists carry everything";
  auto changed = r.devices.registry().take_changed();
  EXPECT_EQ(changed.size(), 7u);

  // The same resync again (another reconnect): the idle phones it only lists do not change.
  r.session("ami_reconnect/ami-reconnect.log", 5);
  for (const auto& id : r.devices.registry().take_changed())
    EXPECT_TRUE(id == "lab:100" || id == "lab:trunk") << id << " changed";  // only the call's parties
}

TEST(AmiDeviceTracker, ContactStatusFollowsUnregisterAndRegisterAndAsksForTheDetails) {
  Rig r;
  r.session("ami_reconnect/ami-reconnect.log", 0);
  r.devices.registry().take_changed();

  r.feed("unregister/ami.log", 10);
  for (std::string ep : {"100", "101", "102", "103", "104", "105"}) {
    const auto& d = r.dev(ep);
    EXPECT_EQ(d.registration(), model::Registration::unregistered) << ep;
    EXPECT_EQ(d.address(), "") << ep;
    EXPECT_EQ(d.user_agent, "") << ep;
    EXPECT_EQ(d.status, model::DeviceStatus::offline) << ep;  // DeviceStateChange UNAVAILABLE
    EXPECT_EQ(d.last_seen, at(10)) << ep;
  }
  EXPECT_EQ(r.devices.registry().take_changed().size(), 6u);
  EXPECT_TRUE(r.asked.empty());

  r.feed("register/ami.log", 20);
  EXPECT_EQ(r.asked, (std::vector<std::string>{"100", "101", "102", "103", "104", "105"}));
  const auto& d = r.dev("100");
  EXPECT_EQ(d.registration(), model::Registration::registered);
  EXPECT_EQ(d.address(), "127.0.0.1:5100");
  EXPECT_EQ(d.status, model::DeviceStatus::on_hook);
  EXPECT_EQ(d.user_agent, "") << "ContactStatus carries no User-Agent";

  // The answer to the PJSIPShowEndpoint it asked for (captured from the lab).
  r.devices.on_endpoint_detail("100", read_answer("pjsip_show_endpoint/ep100.log"), at(21));
  const auto& after = r.dev("100");
  EXPECT_EQ(after.user_agent, "SIPp-phone-100");
  EXPECT_EQ(after.sip_user, "100");  // AuthDetail Username
  ASSERT_EQ(after.contacts.size(), 1u);
  EXPECT_TRUE(after.contacts[0].dynamic);
  EXPECT_EQ(after.contacts[0].address, "127.0.0.1:5100");
  EXPECT_EQ(after.contacts[0].expires, base::Timestamp(std::chrono::seconds(1796618844)));
  // AuthDetail's Password is never kept anywhere.
  auto holds_secret = [](const model::RegisteredDevice& x) {
    std::string all = x.id + x.endpoint + x.extension + x.sip_user + x.user_agent + x.last_call_id;
    for (const auto& c : x.contacts) all += c.uri + c.address + c.user_agent + c.status;
    return all.find("pw100") != std::string::npos;
  };
  EXPECT_FALSE(holds_secret(after));
}

TEST(AmiDeviceTracker, EndpointDetailOfAStaticTrunkAndOfAnEndpointThatIsGone) {
  Rig r;
  r.session("ami_reconnect/ami-reconnect.log", 0);
  r.devices.on_endpoint_detail("trunk", read_answer("pjsip_show_endpoint/trunk.log"), at(3));
  const auto& trunk = r.dev("trunk");
  ASSERT_EQ(trunk.contacts.size(), 1u);
  EXPECT_FALSE(trunk.contacts[0].dynamic);  // RegExpire 0, ID trunk@@...
  EXPECT_EQ(trunk.registration(), model::Registration::static_contact);
  EXPECT_EQ(trunk.sip_user, "");

  r.devices.registry().take_changed();
  auto gone = read_answer("pjsip_show_endpoint/nosuch.log");
  ASSERT_FALSE(gone.success());
  r.devices.on_endpoint_detail("105", gone, at(4));  // as if 105 had been removed from pjsip.conf
  EXPECT_EQ(r.devices.registry().find("105"), nullptr);
  auto changed = r.devices.registry().take_changed();
  EXPECT_NE(std::find(changed.begin(), changed.end(), "lab:105"), changed.end());
  // The idle phones the lists only repeat did not change (100 and the trunk had live device state
  // changes in this capture: last seen).
  for (const char* same : {"lab:101", "lab:102", "lab:103", "lab:104"})
    EXPECT_EQ(std::find(changed.begin(), changed.end(), same), changed.end()) << same;
}

TEST(AmiDeviceTracker, CallsSetLastCallAndLastSeen) {
  Rig r;
  r.session("ami_reconnect/ami-reconnect.log", 0);
  r.calls.on_session_start(at(30));
  r.devices.on_session_start(at(30));
  r.feed("inbound_answered/ami.log", 30);
  const auto& d = r.dev("100");
  EXPECT_FALSE(d.last_call_id.empty());
  ASSERT_TRUE(d.last_seen.has_value());
  EXPECT_EQ(r.dev("103").last_call_id, "") << "103 had no call";
}

TEST(AmiDeviceTracker, ForgottenDevicesComeBackWhenThePbxReportsThemAgain) {
  Rig r;
  r.session("ami_reconnect/ami-reconnect.log", 0);
  r.devices.registry().take_changed();
  EXPECT_FALSE(r.devices.forget("lab:nope"));
  EXPECT_FALSE(r.devices.forget("other:100"));
  ASSERT_TRUE(r.devices.forget("lab:100"));
  EXPECT_EQ(r.devices.registry().find("100"), nullptr);
  EXPECT_EQ(r.devices.registry().take_changed(), std::vector<std::string>{"lab:100"});

  // A DeviceStateChange alone does not bring it back ...
  AmiMessage dsc;
  dsc.add("Event", "DeviceStateChange");
  dsc.add("Device", "PJSIP/100");
  dsc.add("State", "INUSE");
  r.devices.on_message(dsc, at(2));
  EXPECT_EQ(r.devices.registry().find("100"), nullptr);
  // ... its next ContactStatus does (and asks for the details),
  AmiMessage cs;
  cs.add("Event", "ContactStatus");
  cs.add("URI", "sip:100@127.0.0.1:5100");
  cs.add("ContactStatus", "NonQualified");
  cs.add("AOR", "100");
  cs.add("EndpointName", "100");
  r.devices.on_message(cs, at(3));
  ASSERT_NE(r.devices.registry().find("100"), nullptr);
  EXPECT_EQ(r.asked, std::vector<std::string>{"100"});
  EXPECT_EQ(r.dev("100").last_call_id, "") << "what the registry knew of it is gone";
  // ... as does the next resync after a reconnect.
  ASSERT_TRUE(r.devices.forget("lab:101"));
  r.session("ami_reconnect/ami-reconnect.log", 5);
  ASSERT_NE(r.devices.registry().find("101"), nullptr);
  EXPECT_EQ(r.dev("101").user_agent, "SIPp-phone-101");
}

TEST(AmiDeviceTracker, AResyncDropsEndpointsThePbxNoLongerHas) {
  Rig r;
  r.session("ami_reconnect/ami-reconnect.log", 0);
  r.devices.registry().take_changed();
  // The next session's endpoint list without 105 (removed from pjsip.conf while the link was down).
  r.calls.on_session_start(at(9));
  r.devices.on_session_start(at(9));
  for (const auto& m : read_messages("ami_reconnect/ami-reconnect.log")) {
    const auto& v = m.view();
    if ((v.event() == "EndpointList" && v.get("ObjectName") == "105") ||
        (v.event() == "ContactList" && v.get("Endpoint") == "105"))
      continue;
    r.devices.on_message(v, at(9));
  }
  EXPECT_EQ(r.devices.registry().find("105"), nullptr);
  EXPECT_EQ(r.devices.registry().size(), 6u);
  auto changed = r.devices.registry().take_changed();
  EXPECT_NE(std::find(changed.begin(), changed.end(), "lab:105"), changed.end());
  // The idle phones the lists only repeat did not change (100 and the trunk had live device state
  // changes in this capture: last seen).
  for (const char* same : {"lab:101", "lab:102", "lab:103", "lab:104"})
    EXPECT_EQ(std::find(changed.begin(), changed.end(), same), changed.end()) << same;
}

TEST(AmiDeviceTracker, EndlessNewEndpointsStopAtTheBound) {
  Rig r;
  r.devices.on_session_start(at(0));
  const std::size_t n = AmiDeviceTracker::kMaxDevices + 50;
  FrameReader fr({}, false);
  AmiMessage m;
  std::size_t fed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto ep = "x" + std::to_string(i);
    fr.feed("Event: ContactStatus\r\nURI: sip:" + ep + "@192.0.2.1:5060\r\nContactStatus: Created\r\nAOR: " + ep +
            "\r\nEndpointName: " + ep + "\r\n\r\n");
    while (fr.next(m).value_or(false)) {
      r.devices.on_message(m, at(1));
      ++fed;
    }
  }
  ASSERT_EQ(fed, n);
  EXPECT_EQ(r.devices.registry().size(), AmiDeviceTracker::kMaxDevices);
  EXPECT_EQ(r.devices.dropped_devices(), 50u);
  EXPECT_EQ(r.asked.size(), AmiDeviceTracker::kMaxDevices);  // no PJSIPShowEndpoint for the ignored ones
}

}  // namespace
}  // namespace callbridge::drivers::ami
