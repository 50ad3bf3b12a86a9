#include "drivers/ami/ami_commands.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace callbridge::drivers::ami {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string fixture(std::string_view scenario, std::string_view file) {
  return slurp(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + std::string(scenario) + "/" + std::string(file));
}

// The block of ami.sent that starts with "Action: <name>", blank line included.
std::string sent_action(std::string_view scenario, std::string_view name) {
  std::string sent = fixture(scenario, "ami.sent");
  auto at = sent.find("Action: " + std::string(name) + "\r\n");
  if (at == std::string::npos) return "<missing>";
  auto end = sent.find("\r\n\r\n", at);
  return sent.substr(at, end + 4 - at);
}

base::Timestamp at(int ms) { return base::from_micros(1'795'000'000'000'000 + ms * 1000LL); }

TEST(AmiCommandBuilders, OriginateIsByteForByteTheCapturedClickToDial) {
  AmiCommandsOptions o;
  ports::MakeCallRequest r{.from_device = "100", .first_leg_dial_string = {}, .dial_string = "089123456",
                           .caller_id_name = "089123456", .caller_id_number = "089123456",
                           .request_id = "c2d-0001"};
  AmiAction a = originate_action(o, r);
  ASSERT_TRUE(a.validate());
  EXPECT_EQ(a.serialize("c2d-0001"), sent_action("click_to_dial_originate", "Originate"));
}

TEST(AmiCommandBuilders, TransfersAreByteForByteTheCapturedOnes) {
  EXPECT_EQ(blind_transfer_action("PJSIP/100-00000012", "101", "from-internal").serialize("bxfer-0001"),
            sent_action("blind_transfer_ami", "BlindTransfer"));
  EXPECT_EQ(atxfer_action("PJSIP/100-00000015", "102", "from-internal").serialize("atxfer-0001"),
            sent_action("attended_transfer", "Atxfer"));
}

TEST(AmiCommandBuilders, AnyDeviceOriginatesTheMobileThroughALocalChannelShowingTheOfficeNumber) {
  AmiCommandsOptions o;
  o.first_leg_context = "from-cti";
  ports::MakeCallRequest r{.from_device = "100", .first_leg_dial_string = "01701234567",
                           .dial_string = "089123456", .caller_id_name = "Office \"HQ\"",
                           .caller_id_number = "+4930555100", .request_id = "c2d-0007"};
  AmiAction a = originate_action(o, r);
  ASSERT_TRUE(a.validate());
  EXPECT_EQ(a.serialize("c2d-0007"),
            "Action: Originate\r\nActionID: c2d-0007\r\nChannel: Local/01701234567@from-cti\r\n"
            "Context: from-internal\r\nExten: 089123456\r\nPriority: 1\r\n"
            "CallerID: \"Office \\\"HQ\\\"\" <+4930555100>\r\nTimeout: 30000\r\nAsync: true\r\n"
            "Variable: CTI_REQUEST=c2d-0007\r\nVariable: CALLBRIDGE_PARTY=100\r\n\r\n");
}

TEST(AmiCommandBuilders, NotifyRedirectBridgeHangup) {
  EXPECT_EQ(notify_action("100", "talk").serialize("n-1"),
            "Action: PJSIPNotify\r\nActionID: n-1\r\nEndpoint: 100\r\nVariable: Event=talk\r\n\r\n");
  EXPECT_EQ(hangup_action("PJSIP/100-0000000a").serialize("h-1"),
            "Action: Hangup\r\nActionID: h-1\r\nChannel: PJSIP/100-0000000a\r\nCause: 16\r\n\r\n");
  EXPECT_EQ(redirect_action("PJSIP/trunk-1", std::nullopt, "from-internal", "101").serialize("r-1"),
            "Action: Redirect\r\nActionID: r-1\r\nChannel: PJSIP/trunk-1\r\nContext: from-internal\r\n"
            "Exten: 101\r\nPriority: 1\r\n\r\n");
  EXPECT_EQ(bridge_action("A", "B").serialize("b-1"),
            "Action: Bridge\r\nActionID: b-1\r\nChannel1: A\r\nChannel2: B\r\nTone: no\r\n\r\n");
  // The attended transfer's swap, keyed as if the channel's phone sent it (Receive).
  EXPECT_EQ(play_dtmf_action("PJSIP/trunk-0000006f", '*').serialize("d-1"),
            "Action: PlayDTMF\r\nActionID: d-1\r\nChannel: PJSIP/trunk-0000006f\r\nDigit: *\r\n"
            "Duration: 100\r\nReceive: yes\r\n\r\n");
  EXPECT_EQ(endpoint_of("PJSIP/100-0000000a", "PJSIP"), "100");
  EXPECT_EQ(endpoint_of("SIP/100-0000000a", "PJSIP"), "");
  EXPECT_EQ(endpoint_of("PJSIP/reception-00000001", "PJSIP"), "reception");
}

TEST(AmiCommandBuilders, PickupOriginatesThePickerIntoPickupChanOfTheRingingChannel) {
  AmiCommandsOptions o;
  EXPECT_EQ(pickup_action(o, "102", "PJSIP/101-0000001a", "+4989123001").serialize("pickup-0001"),
            "Action: Originate\r\nActionID: pickup-0001\r\nChannel: PJSIP/102\r\nApplication: PickupChan\r\n"
            "Data: PJSIP/101-0000001a\r\nCallerID: \"+4989123001\" <+4989123001>\r\nTimeout: 30000\r\n"
            "Async: true\r\n\r\n");
  // Unknown caller: no CallerID header (the phone shows what Asterisk has).
  EXPECT_EQ(pickup_action(o, "102", "PJSIP/101-1", "").serialize("p"),
            "Action: Originate\r\nActionID: p\r\nChannel: PJSIP/102\r\nApplication: PickupChan\r\n"
            "Data: PJSIP/101-1\r\nTimeout: 30000\r\nAsync: true\r\n\r\n");
}

// A live AMI session over the real capture: AmiProtocol (the code AmiLink runs) fed ami.log,
// AmiCallTracker as its sink, AmiCommands submitting through the protocol.
// As the app's tap: the tracker first, then the commands (OriginateResponse).
struct Tap final : AmiSink {
  AmiCallTracker& tracker;
  AmiCommands* commands = nullptr;
  explicit Tap(AmiCallTracker& t) : tracker(t) {}
  void on_session_start(base::Timestamp a) override { tracker.on_session_start(a); }
  void on_message(const AmiMessage& m, base::Timestamp a) override {
    tracker.on_message(m, a);
    if (commands) commands->on_ami_message(m);
  }
  void on_session_end(base::Timestamp a, const base::Error& why) override {
    tracker.on_session_end(a, why);
    if (commands) commands->on_session_end();
  }
};

struct Session {
  AmiCallTracker tracker{TrackerOptions{.tenant = "default"}, TrackerOutputs{}};
  Tap tap{tracker};
  AmiProtocol protocol;
  AmiCommands commands;
  std::string log;
  std::size_t pos = 0;
  std::string sent;

  explicit Session(std::string_view scenario, AmiCommandsOptions o = {})
      : protocol(config(), tap),
        commands(std::move(o), tracker,
                 [this](AmiAction a, ActionCallback cb, std::optional<std::chrono::milliseconds> t) {
                   return protocol.submit(std::move(a), std::move(cb), at(10), t);
                 },
                 [this] { return protocol.up(); }),
        log(fixture(scenario, "ami.log")) {
    tap.commands = &commands;
    protocol.begin(at(0));
  }
  static AmiProtocolConfig config() {
    AmiProtocolConfig c;
    c.username = "cti";
    c.secret = "cti-secret";
    c.resync_actions = {};  // the capture's client did not resync
    return c;
  }
  // Feeds the capture up to (not including) the response carrying `action_id`.
  void feed_until_response(std::string_view action_id) {
    auto id_at = log.find("ActionID: " + std::string(action_id) + "\r\n", pos);
    ASSERT_NE(id_at, std::string::npos);
    auto start = log.rfind("\r\n\r\n", id_at);
    ASSERT_NE(start, std::string::npos);
    feed(start + 4);
  }
  void feed(std::size_t to) {
    ASSERT_TRUE(protocol.on_bytes(std::string_view(log).substr(pos, to - pos), at(5)));
    pos = to;
    sent += protocol.take_output();
  }
  void feed_rest() { feed(log.size()); }
  std::string call_of(std::string_view device, model::ConnectionState state) const {
    for (const auto& [id, c] : tracker.model().calls())
      for (const auto& conn : c.connections)
        if (conn.device == device && conn.state == state) return id;
    return "";
  }
};

TEST(AmiCommandSession, BlindTransferOfTheLiveCallSendsWhatTheRealClientSent) {
  Session s("blind_transfer_ami");
  s.feed_until_response("bxfer-0001");
  EXPECT_EQ(s.sent, sent_action("blind_transfer_ami", "Login"));
  std::string call = s.call_of("100", model::ConnectionState::connected);
  ASSERT_FALSE(call.empty());
  std::optional<base::Status> result;
  s.commands.transfer(call, "100", "101", [&](base::Status st) { result = st; });
  EXPECT_FALSE(result);  // waits for Asterisk's answer
  EXPECT_EQ(s.protocol.take_output(), sent_action("blind_transfer_ami", "BlindTransfer"));
  s.feed_rest();
  ASSERT_TRUE(result);
  EXPECT_TRUE(*result) << result->error().to_string();
}

TEST(AmiCommandSession, ConsultOfTheLiveCallIsTheCapturedAtxfer) {
  Session s("attended_transfer");
  s.feed_until_response("atxfer-0001");
  std::string call = s.call_of("100", model::ConnectionState::connected);
  ASSERT_FALSE(call.empty());
  std::optional<base::Status> result;
  s.commands.consult(call, "100", "102", [&](base::Status st) { result = st; });
  EXPECT_EQ(s.protocol.take_output(), sent_action("attended_transfer", "Atxfer"));
  s.feed_rest();
  ASSERT_TRUE(result);
  EXPECT_TRUE(*result);
}

// Cancel of an Atxfer consultation (issue 13): while 100 consults 102, 100's one channel carries
// both calls. Hanging up the consultation hangs up its target's side (Asterisk returns 100 to the
// held caller), hanging up the held call the caller's side; only completing the transfer hangs up
// 100's own channel (atxferdropcall=no).
TEST(AmiCommandSession, HangupDuringAnAtxferConsultationEndsTheOtherSideNotTheTransferer) {
  Session s("attended_transfer");
  // Up to the moment 100 hangs up to complete the transfer: the consultation is connected.
  auto done_at = s.log.find("Event: HangupRequest\r\n");
  ASSERT_NE(done_at, std::string::npos);
  s.feed(done_at);
  std::string held = s.call_of("100", model::ConnectionState::held);
  std::string consult;
  for (const auto& [id, c] : s.tracker.model().calls())
    for (const auto& conn : c.connections)
      if (conn.device == "102" && conn.state == model::ConnectionState::connected) consult = id;
  ASSERT_FALSE(held.empty());
  ASSERT_FALSE(consult.empty());
  ASSERT_NE(held, consult);
  auto ch = s.tracker.call_channels(consult, "100");
  ASSERT_TRUE(ch && ch->shared && ch->remote);
  EXPECT_EQ(ch->party.name, "PJSIP/100-00000015");
  (void)s.protocol.take_output();
  s.commands.hangup(consult, "100", [](base::Status) {});
  auto sent = s.protocol.take_output();
  EXPECT_EQ(sent.find("Channel: PJSIP/100-"), std::string::npos) << sent;
  EXPECT_NE(sent.find("Channel: " + ch->remote->name + "\r\n"), std::string::npos) << sent;
  auto caller = s.tracker.call_channels(held, "100");
  ASSERT_TRUE(caller && caller->shared && caller->remote);
  s.commands.hangup(held, "100", [](base::Status) {});
  sent = s.protocol.take_output();
  EXPECT_NE(sent.find("Channel: " + caller->remote->name + "\r\n"), std::string::npos) << sent;
  EXPECT_NE(caller->remote->name, ch->remote->name);
  s.commands.complete_transfer(held, consult, "100", [](base::Status) {});
  EXPECT_NE(s.protocol.take_output().find("Channel: PJSIP/100-00000015\r\n"), std::string::npos);
}

TEST(AmiCommandSession, MakeCallIsTheCapturedOriginateAndCompletesOnItsResponse) {
  Session s("click_to_dial_originate");
  s.feed_until_response("c2d-0001");
  std::optional<base::Status> result;
  s.commands.make_call({.from_device = "100", .first_leg_dial_string = {}, .dial_string = "089123456",
                        .caller_id_name = "089123456", .caller_id_number = "089123456",
                        .request_id = "c2d-0001"},
                       [&](base::Status st) { result = st; });
  EXPECT_EQ(s.protocol.take_output(), sent_action("click_to_dial_originate", "Originate"));
  s.feed_rest();
  ASSERT_TRUE(result);
  EXPECT_TRUE(*result);
}

// The driver builds Channel: <tech>/<device>; a name that is not a device name never reaches AMI
// (issue 12: "PJSIP/101" became Channel: PJSIP/PJSIP/101), whoever let it through.
TEST(AmiCommandSession, MakeCallFromSomethingThatIsNotADeviceNameSendsNothing) {
  Session s("click_to_dial_originate");
  s.feed_until_response("c2d-0001");
  for (const char* dev : {"PJSIP/100", "../x", "a.b"}) {
    std::optional<base::Status> result;
    s.commands.make_call({.from_device = dev, .first_leg_dial_string = {}, .dial_string = "089123456",
                          .caller_id_name = "089123456", .caller_id_number = "089123456", .request_id = "x"},
                         [&](base::Status st) { result = st; });
    ASSERT_TRUE(result) << dev;
    EXPECT_EQ(result->error().code(), base::Errc::invalid_argument) << dev;
    EXPECT_FALSE(s.protocol.has_output()) << dev;
  }
}

TEST(AmiCommandSession, MakeCallOutcomeIsTheCapturedOriginateResponse) {
  Session s("click_to_dial_originate");
  s.feed_until_response("c2d-0001");
  std::optional<base::Status> result;
  std::optional<base::Result<std::string>> outcome;
  ports::MakeCallRequest r{.from_device = "100", .first_leg_dial_string = {}, .dial_string = "089123456",
                           .caller_id_name = "089123456", .caller_id_number = "089123456",
                           .request_id = "c2d-0001"};
  r.on_outcome = [&](base::Result<std::string> o) { outcome = std::move(o); };
  s.commands.make_call(r, [&](base::Status st) { result = st; });
  EXPECT_EQ(s.commands.pending_originates(), 1u);
  s.feed_rest();
  ASSERT_TRUE(result && *result);
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(*outcome) << outcome->error().message();
  EXPECT_EQ(**outcome, "ctilab-1795382796.10");  // the first leg's Uniqueid = the call's id
  EXPECT_EQ(s.commands.pending_originates(), 0u);
}

TEST(AmiCommandSession, OriginateFailuresCarryAsteriskReasonAndASessionEndFailsTheWaiting) {
  Session s("click_to_dial_originate");
  s.feed_rest();
  std::vector<base::Result<std::string>> outcomes;
  std::vector<base::Status> results;
  auto make = [&](std::string id, std::string device) {
    ports::MakeCallRequest r{.from_device = device, .first_leg_dial_string = {}, .dial_string = "089123456",
                             .caller_id_name = "x", .caller_id_number = "x", .request_id = id};
    r.on_outcome = [&](base::Result<std::string> o) { outcomes.push_back(std::move(o)); };
    s.commands.make_call(r, [&](base::Status st) { results.push_back(st); });
  };
  make("c2d-0101", "999");
  make("c2d-0102", "100");
  make("c2d-0103", "100");
  EXPECT_EQ(s.commands.pending_originates(), 3u);
  // 0101: refused at once (Response: Error) - no outcome follows; 0102: queued, then Asterisk
  // reports the unknown endpoint the way Asterisk 22 does for Async originates.
  ASSERT_TRUE(s.protocol.on_bytes(
      "Response: Error\r\nActionID: c2d-0101\r\nMessage: Originate failed\r\n\r\n"
      "Response: Success\r\nActionID: c2d-0102\r\nMessage: Originate successfully queued\r\n\r\n"
      "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: c2d-0102\r\nResponse: Failure\r\n"
      "Channel: PJSIP/100\r\nContext: from-internal\r\nExten: 089123456\r\nReason: 5\r\n"
      "Uniqueid: <null>\r\n\r\n",
      at(20)));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].error().code(), base::Errc::conflict);
  EXPECT_EQ(results[0].error().message(), "Originate: Originate failed");
  EXPECT_TRUE(results[1]);
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].error().code(), base::Errc::conflict);
  EXPECT_EQ(outcomes[0].error().message(), "Originate failed: busy on PJSIP/100 (OriginateResponse Reason 5)");
  EXPECT_EQ(s.commands.pending_originates(), 1u);
  // 0103 is queued, then the link drops before its OriginateResponse.
  ASSERT_TRUE(s.protocol.on_bytes(
      "Response: Success\r\nActionID: c2d-0103\r\nMessage: Originate successfully queued\r\n\r\n", at(25)));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[2]);
  s.protocol.end(at(30), base::Error::io("closed"));
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_EQ(outcomes[1].error().code(), base::Errc::unavailable);
  EXPECT_EQ(s.commands.pending_originates(), 0u);
  EXPECT_EQ(originate_failure_reason("0", "PJSIP/999"),
            "Originate failed: the call could not be set up (unknown, unregistered or unreachable device) on "
            "PJSIP/999 (OriginateResponse Reason 0)");
  EXPECT_EQ(originate_failure_reason("3", ""),
            "Originate failed: no answer (the phone rang until the originate timeout) (OriginateResponse Reason 3)");
}

TEST(AmiCommandSession, CommandsForUnknownCallsOrADownLinkFailWithoutSending) {
  Session s("blind_transfer_ami");
  std::optional<base::Status> r1;
  s.commands.hangup("ctilab-1.0", "100", [&](base::Status st) { r1 = st; });  // not logged in yet
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->error().code(), base::Errc::not_found);
  s.feed_until_response("bxfer-0001");
  std::optional<base::Status> r2;
  s.commands.hangup("no-such-call", "100", [&](base::Status st) { r2 = st; });
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->error().code(), base::Errc::not_found);
  EXPECT_FALSE(s.protocol.has_output());
  // Phones without configured NOTIFY events cannot be held remotely.
  std::string call = s.call_of("100", model::ConnectionState::connected);
  std::optional<base::Status> r3;
  s.commands.hold(call, "100", [&](base::Status st) { r3 = st; });
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->error().code(), base::Errc::conflict);
  EXPECT_FALSE(s.protocol.has_output());
  s.protocol.end(at(6), base::Error::io("closed"));
  std::optional<base::Status> r4;
  s.commands.transfer(call, "100", "101", [&](base::Status st) { r4 = st; });
  ASSERT_TRUE(r4);
  EXPECT_EQ(r4->error().code(), base::Errc::unavailable);
}

TEST(AmiCommandSession, HoldOnAPhoneWithNotifySupportSendsPJSIPNotifyAndHangupTheChannel) {
  AmiCommandsOptions o;
  o.phone = [](std::string_view d) {
    return d == "100" ? PhoneNotifyEvents{"talk", "hold", "talk"} : PhoneNotifyEvents{};
  };
  Session s("blind_transfer_ami", o);
  s.feed_until_response("bxfer-0001");
  std::string call = s.call_of("100", model::ConnectionState::connected);
  std::optional<base::Status> r;
  s.commands.hold(call, "100", [&](base::Status st) { r = st; });
  EXPECT_EQ(s.protocol.take_output(),
            "Action: PJSIPNotify\r\nActionID: notify-0001\r\nEndpoint: 100\r\nVariable: Event=hold\r\n\r\n");
  s.commands.hangup(call, "100", [&](base::Status st) { r = st; });
  EXPECT_EQ(s.protocol.take_output(),
            "Action: Hangup\r\nActionID: hangup-0002\r\nChannel: PJSIP/100-00000012\r\nCause: 16\r\n\r\n");
  // Asterisk refuses: a Response: Error is a conflict with its message.
  std::optional<base::Status> refused;
  s.commands.transfer(call, "100", "555", [&](base::Status st) { refused = st; });
  s.protocol.take_output();
  ASSERT_TRUE(s.protocol.on_bytes("Response: Error\r\nActionID: bxfer-0003\r\nMessage: No such channel\r\n\r\n", at(7)));
  ASSERT_TRUE(refused);
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().code(), base::Errc::conflict);
  EXPECT_EQ(refused->error().message(), "BlindTransfer: No such channel");
}

// The captured inbound_missed call while it rings at 100: 102 picks it up. The Originate names
// 100's ringing channel; a bad picker name, a device not in the call, or a down link send nothing.
TEST(AmiCommandSession, PickupOfTheRingingCallOriginatesPickupChanOfItsChannel) {
  Session s("inbound_missed");
  auto ringing_end = s.log.find("Event: HangupRequest\r\n");
  ASSERT_NE(ringing_end, std::string::npos);
  s.feed(ringing_end);
  s.sent.clear();
  std::string call = s.call_of("100", model::ConnectionState::alerting);
  ASSERT_FALSE(call.empty());
  std::optional<base::Status> bad;
  s.commands.pickup(call, "100", "102/evil", "+49", [&](base::Status st) { bad = st; }, {});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->error().code(), base::Errc::invalid_argument);
  std::optional<base::Status> absent;
  s.commands.pickup(call, "105", "102", "", [&](base::Status st) { absent = st; }, {});
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->error().code(), base::Errc::not_found);
  EXPECT_FALSE(s.protocol.has_output());
  std::optional<base::Status> r;
  // Quotes and CR/LF in a caller id never reach the action.
  s.commands.pickup(call, "100", "102", "+49 89\r\n\"x", [&](base::Status st) { r = st; }, {});
  EXPECT_EQ(s.protocol.take_output(),
            "Action: Originate\r\nActionID: pickup-0001\r\nChannel: PJSIP/102\r\nApplication: PickupChan\r\n"
            "Data: PJSIP/100-00000003\r\nCallerID: \"+4989\" <+4989>\r\nTimeout: 30000\r\nAsync: true\r\n\r\n");
  EXPECT_FALSE(r);
  ASSERT_TRUE(s.protocol.on_bytes("Response: Success\r\nActionID: pickup-0001\r\nMessage: Originate successfully queued\r\n\r\n", at(7)));
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
}

// Issue 13: a pickup's final word. Asterisk accepts the Originate whatever PickupChan finds; after
// the picker's OriginateResponse, its channel's Pickup event means it took the call
// (live_pickup_via_api), its Hangup without one that there was nothing to pick up any more
// (live_pickup_too_late: 101 answered while 102 rang). A picker that does not answer is the
// OriginateResponse Failure; a session that ends fails those still waiting.
TEST(AmiCommandSession, PickupOutcomeIsThePickerChannelsPickupOrItsHangupWithoutOne) {
  Session s("inbound_missed");
  auto ringing_end = s.log.find("Event: HangupRequest\r\n");
  ASSERT_NE(ringing_end, std::string::npos);
  s.feed(ringing_end);
  std::string call = s.call_of("100", model::ConnectionState::alerting);
  ASSERT_FALSE(call.empty());
  std::vector<std::pair<std::string, base::Status>> outcomes;
  auto start = [&](const std::string& name) {
    s.commands.pickup(call, "100", "102", "", [](base::Status) {}, [&, name](base::Status st) { outcomes.emplace_back(name, st); });
  };
  auto feed = [&](const std::string& msg, int t) { ASSERT_TRUE(s.protocol.on_bytes(msg, at(t))); };
  start("taken");
  start("too late");
  start("no answer");
  start("link lost");
  (void)s.protocol.take_output();
  for (int i = 1; i <= 4; ++i)
    feed("Response: Success\r\nActionID: pickup-000" + std::to_string(i) + "\r\nMessage: Originate successfully queued\r\n\r\n", 7);
  EXPECT_EQ(s.commands.pending_originates(), 4u);
  auto response = [](int n, std::string_view uid) {
    return "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: pickup-000" + std::to_string(n) +
           "\r\nResponse: Success\r\nChannel: PJSIP/102-0000000" + std::to_string(n) +
           "\r\nApplication: PickupChan\r\nData: PJSIP/100-00000003\r\nReason: 4\r\nUniqueid: " + std::string(uid) +
           "\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n";
  };
  feed(response(1, "pbx-1.1"), 8);
  feed(response(2, "pbx-1.2"), 8);
  feed(response(4, "pbx-1.4"), 8);
  EXPECT_TRUE(outcomes.empty());  // answered, but PickupChan has not spoken yet
  feed("Event: Pickup\r\nPrivilege: call,all\r\nChannel: PJSIP/102-00000001\r\nUniqueid: pbx-1.1\r\n"
       "TargetChannel: PJSIP/100-00000003\r\nTargetUniqueid: pbx-1.0\r\n\r\n", 9);
  feed("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/102-00000002\r\nUniqueid: pbx-1.2\r\n"
       "Cause: 0\r\nCause-txt: Unknown\r\n\r\n", 9);
  feed("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: pickup-0003\r\nResponse: Failure\r\n"
       "Channel: PJSIP/102\r\nApplication: PickupChan\r\nData: PJSIP/100-00000003\r\nReason: 3\r\n"
       "Uniqueid: <null>\r\n\r\n", 10);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].first, "taken");
  EXPECT_TRUE(outcomes[0].second);
  EXPECT_EQ(outcomes[1].first, "too late");
  ASSERT_FALSE(outcomes[1].second);
  EXPECT_EQ(outcomes[1].second.error().code(), base::Errc::not_found);
  EXPECT_EQ(outcomes[1].second.error().message(),
            "PickupChan found nothing to pick up: PJSIP/100-00000003 no longer rang when PJSIP/102 answered");
  EXPECT_EQ(outcomes[2].first, "no answer");
  ASSERT_FALSE(outcomes[2].second);
  EXPECT_EQ(outcomes[2].second.error().code(), base::Errc::conflict);
  EXPECT_NE(outcomes[2].second.error().message().find("no answer"), std::string::npos);
  // A later Hangup of the picker that took the call changes nothing.
  feed("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/102-00000001\r\nUniqueid: pbx-1.1\r\n"
       "Cause: 16\r\n\r\n", 20);
  EXPECT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(s.commands.pending_originates(), 1u);
  s.commands.on_session_end();
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[3].first, "link lost");
  ASSERT_FALSE(outcomes[3].second);
  EXPECT_EQ(outcomes[3].second.error().code(), base::Errc::unavailable);
  EXPECT_EQ(s.commands.pending_originates(), 0u);
}

// One pickup by 102 of the call ringing at 100 in inbound_missed, its Originate accepted: the AMI
// messages that follow decide its outcome.
struct OnePickup {
  Session s{"inbound_missed"};
  std::vector<base::Status> outcomes;

  OnePickup() {
    auto ringing_end = s.log.find("Event: HangupRequest\r\n");
    EXPECT_NE(ringing_end, std::string::npos);
    s.feed(ringing_end);
    std::string call = s.call_of("100", model::ConnectionState::alerting);
    EXPECT_FALSE(call.empty());
    s.commands.pickup(call, "100", "102", "", [](base::Status) {}, [this](base::Status st) { outcomes.push_back(st); });
    (void)s.protocol.take_output();
    feed("Response: Success\r\nActionID: pickup-0001\r\nMessage: Originate successfully queued\r\n\r\n");
  }
  void feed(const std::string& msg) { ASSERT_TRUE(s.protocol.on_bytes(msg, at(8))); }
  // What Asterisk 22 sent in the live runs, PJSIP/100-00000003 (pbx-1.0) ringing, 102 picking up.
  void originate_response(std::string_view channel, std::string_view uid) {
    feed("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: pickup-0001\r\nResponse: Success\r\n"
         "Channel: " + std::string(channel) + "\r\nApplication: PickupChan\r\nReason: 4\r\nUniqueid: " +
         std::string(uid) + "\r\n\r\n");
  }
  void pickup_event() {
    feed("Event: Pickup\r\nPrivilege: call,all\r\nChannel: PJSIP/102-00000001\r\nUniqueid: pbx-1.1\r\n"
         "TargetChannel: PJSIP/100-00000003\r\nTargetUniqueid: pbx-1.0\r\n\r\n");
  }
  void taken_channel_hangup() {
    feed("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/100-00000003\r\nUniqueid: pbx-1.0\r\n"
         "Cause: 26\r\nCause-txt: Answered elsewhere\r\n\r\n");
  }
};

// Seen in a CI run of live_pickup_via_api: PickupChan took the call before the OriginateResponse
// came, and that response named the taken channel (101's), whose Hangup (Cause 26, answered
// elsewhere) followed. That is a pickup, not "nothing to pick up".
TEST(AmiCommandSession, PickupSeenBeforeItsOriginateResponseIsTaken) {
  OnePickup p;
  p.pickup_event();
  EXPECT_TRUE(p.outcomes.empty());
  p.originate_response("PJSIP/100-00000003", "pbx-1.0");
  ASSERT_EQ(p.outcomes.size(), 1u);
  EXPECT_TRUE(p.outcomes[0]);
  p.taken_channel_hangup();
  EXPECT_EQ(p.outcomes.size(), 1u);
  EXPECT_EQ(p.s.commands.pending_originates(), 0u);
}

// Seen in a CI run of live_pickup_via_line (AMI recording of 2026-12-07): the OriginateResponse
// came first but already named the ringing channel PickupChan was taking (101's), then Pickup by
// the picker's channel with that channel as its target, then the taken channel's Hangup (Cause 26).
// The Pickup is the answer; the Hangup after it must not turn it into "nothing to pick up".
TEST(AmiCommandSession, OriginateResponseNamingTheTakenChannelThenPickupIsTaken) {
  OnePickup p;
  p.originate_response("PJSIP/100-00000003", "pbx-1.0");
  EXPECT_TRUE(p.outcomes.empty());
  p.pickup_event();
  ASSERT_EQ(p.outcomes.size(), 1u);
  EXPECT_TRUE(p.outcomes[0]);
  p.taken_channel_hangup();
  EXPECT_EQ(p.outcomes.size(), 1u);
  EXPECT_EQ(p.s.commands.pending_originates(), 0u);
}

}  // namespace
}  // namespace callbridge::drivers::ami

namespace callbridge::drivers::ami {
namespace {

// Park (docs/parking.md): the device's remote goes into the lot with the device's channel as the
// TimeoutChannel; the ParkedCall event for that channel names the space (what the lab's Asterisk
// 22.10.1 sent: "Park successful", then ParkedCall). Refused parks and a lost session fail.
TEST(AmiCommandSession, ParkSendsTheRemoteToTheLotAndItsParkedCallNamesTheSpace) {
  Session s("live_park_and_retrieve");
  auto transfer = s.log.find("Event: BlindTransfer\r\n");
  ASSERT_NE(transfer, std::string::npos);
  s.feed(s.log.rfind("\r\n\r\n", transfer) + 4);
  std::string call = s.call_of("101", model::ConnectionState::connected);
  ASSERT_FALSE(call.empty());
  std::optional<base::Status> absent;
  s.commands.park(call, "102", "default", [&](base::Status st) { absent = st; }, {});
  ASSERT_TRUE(absent);
  EXPECT_EQ(absent->error().code(), base::Errc::not_found);
  EXPECT_FALSE(s.protocol.has_output());
  std::vector<base::Result<std::string>> outcomes;
  auto keep = [&](base::Result<std::string> space) { outcomes.push_back(std::move(space)); };
  // Refused by the PBX: nothing waits.
  std::optional<base::Status> refused;
  s.commands.park(call, "101", "default", [&](base::Status st) { refused = st; }, keep);
  EXPECT_EQ(s.protocol.take_output(),
            "Action: Park\r\nActionID: park-0001\r\nChannel: PJSIP/trunk-0000001f\r\n"
            "TimeoutChannel: PJSIP/101-00000020\r\nParkinglot: default\r\n\r\n");
  ASSERT_TRUE(s.protocol.on_bytes("Response: Error\r\nActionID: park-0001\r\nMessage: Channel does not exist: x\r\n\r\n", at(7)));
  ASSERT_TRUE(refused && !*refused);
  EXPECT_EQ(refused->error().code(), base::Errc::conflict);
  EXPECT_EQ(s.commands.pending_originates(), 0u);
  // A session that ends fails a park still waiting for its ParkedCall.
  s.commands.park(call, "101", "default", [](base::Status) {}, keep);
  s.commands.on_session_end();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].error().code(), base::Errc::unavailable);
  outcomes.clear();
  (void)s.protocol.take_output();
  std::optional<base::Status> r;
  s.commands.park(call, "101", "default", [&](base::Status st) { r = st; }, keep);
  EXPECT_EQ(s.commands.pending_originates(), 1u);
  ASSERT_TRUE(s.protocol.on_bytes("Response: Success\r\nActionID: park-0003\r\nMessage: Park successful\r\n\r\n", at(7)));
  ASSERT_TRUE(r && *r);
  EXPECT_TRUE(outcomes.empty());
  // A second park of the same caller while the first is under way is refused without sending.
  EXPECT_NE(s.protocol.take_output().find("ActionID: park-0003"), std::string::npos);
  std::optional<base::Status> twice;
  s.commands.park(call, "101", "default", [&](base::Status st) { twice = st; }, [&](base::Result<std::string>) { FAIL(); });
  ASSERT_TRUE(twice && !*twice);
  EXPECT_EQ(twice->error().code(), base::Errc::conflict);
  EXPECT_FALSE(s.protocol.has_output());
  // The capture's own ParkedCall (after its blind transfer to 700) is the same event.
  auto parked = s.log.find("Event: ParkedCall\r\n");
  ASSERT_NE(parked, std::string::npos);
  s.feed(s.log.find("\r\n\r\n", parked) + 4);
  ASSERT_EQ(outcomes.size(), 1u);
  ASSERT_TRUE(outcomes[0]);
  EXPECT_EQ(*outcomes[0], "701");
  EXPECT_EQ(s.commands.pending_originates(), 0u);
}

// Unpark: Originate of the phone into ParkedCall(<lot>,<space>). Its final word as pickup's:
// UnParkedCall with the answered channel as RetrieverUniqueid (before or after the
// OriginateResponse, as the lab sent it: after), or that channel's Hangup without one (the space
// was empty: ParkedCall() played pbx-invalidpark), or the OriginateResponse Failure.
TEST(AmiCommandSession, UnparkOutcomeIsTheRetrieversUnParkedCallOrItsHangupWithoutOne) {
  Session s("inbound_missed");
  s.feed_rest();
  s.sent.clear();
  std::vector<std::pair<std::string, base::Status>> outcomes;
  auto start = [&](const std::string& name, const std::string& device, const std::string& space) {
    ports::UnparkRequest r{.from_device = device, .lot = "default", .space = space, .caller_id = "+4989123001"};
    s.commands.unpark(r, [](base::Status) {}, [&, name](base::Status st) { outcomes.emplace_back(name, st); });
  };
  std::optional<base::Status> bad;
  s.commands.unpark(ports::UnparkRequest{.from_device = "103", .lot = "default", .space = "701,x"},
                    [&](base::Status st) { bad = st; }, {});
  ASSERT_TRUE(bad && !*bad);
  EXPECT_EQ(bad->error().code(), base::Errc::invalid_argument);
  EXPECT_FALSE(s.protocol.has_output());
  start("taken", "103", "701");
  EXPECT_EQ(s.protocol.take_output(),
            "Action: Originate\r\nActionID: unpark-0001\r\nChannel: PJSIP/103\r\nApplication: ParkedCall\r\n"
            "Data: default,701\r\nCallerID: \"+4989123001\" <+4989123001>\r\nTimeout: 30000\r\nAsync: true\r\n\r\n");
  start("empty", "104", "702");
  start("before", "105", "703");
  start("no answer", "106", "704");
  (void)s.protocol.take_output();
  auto feed = [&](const std::string& msg, int t) { ASSERT_TRUE(s.protocol.on_bytes(msg, at(t))); };
  for (int i = 1; i <= 4; ++i)
    feed("Response: Success\r\nActionID: unpark-000" + std::to_string(i) + "\r\nMessage: Originate successfully queued\r\n\r\n", 7);
  auto response = [](int n, std::string_view uid) {
    return "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: unpark-000" + std::to_string(n) +
           "\r\nResponse: Success\r\nChannel: PJSIP/10" + std::to_string(n + 2) + "-00000002\r\nApplication: ParkedCall\r\n"
           "Data: default,70" + std::to_string(n) + "\r\nReason: 4\r\nUniqueid: " + std::string(uid) + "\r\n\r\n";
  };
  auto unparked = [](std::string_view uid) {
    return "Event: UnParkedCall\r\nPrivilege: call,all\r\nParkeeChannel: PJSIP/102-00000001\r\nParkeeUniqueid: ctilab-1.1\r\n"
           "RetrieverChannel: PJSIP/103-00000002\r\nRetrieverUniqueid: " + std::string(uid) +
           "\r\nParkinglot: default\r\nParkingSpace: 701\r\n\r\n";
  };
  feed(response(1, "ctilab-1.2"), 8);
  feed(response(2, "ctilab-1.3"), 8);
  feed(unparked("ctilab-1.4"), 8);  // the retrieval came first
  EXPECT_TRUE(outcomes.empty());
  feed(response(3, "ctilab-1.4"), 8);
  feed(unparked("ctilab-1.2"), 9);
  feed("Event: Hangup\r\nPrivilege: call,all\r\nChannel: PJSIP/104-00000003\r\nUniqueid: ctilab-1.3\r\nCause: 0\r\n\r\n", 9);
  feed("Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: unpark-0004\r\nResponse: Failure\r\n"
       "Channel: PJSIP/106\r\nApplication: ParkedCall\r\nData: default,704\r\nReason: 3\r\nUniqueid: <null>\r\n\r\n", 10);
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].first, "before");
  EXPECT_TRUE(outcomes[0].second);
  EXPECT_EQ(outcomes[1].first, "taken");
  EXPECT_TRUE(outcomes[1].second);
  EXPECT_EQ(outcomes[2].first, "empty");
  ASSERT_FALSE(outcomes[2].second);
  EXPECT_EQ(outcomes[2].second.error().code(), base::Errc::not_found);
  EXPECT_EQ(outcomes[3].first, "no answer");
  ASSERT_FALSE(outcomes[3].second);
  EXPECT_EQ(outcomes[3].second.error().code(), base::Errc::conflict);
  EXPECT_EQ(s.commands.pending_originates(), 0u);
}

}  // namespace
}  // namespace callbridge::drivers::ami
