// AmiServerSession without sockets: login variants, responses, list actions, action effects.
#include "sim/ami_server_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "protocols/ami/frame_reader.hpp"
#include "sim/flows.hpp"
#include "sim/traffic.hpp"

namespace callbridge::sim {
namespace {

struct Harness {
  explicit Harness(LabConfig lab = {})
      : engine{std::move(lab), base::from_micros(1'795'382'753'000'000),
               [this](const SimMessage& m) { events.push_back(m); }} {}
  AmiServerConfig cfg;
  std::vector<SimMessage> events;
  SimEngine engine;
  AmiServerSession session{engine, cfg, "127.0.0.1/5038", "127.0.0.1/40000", 7};
  ami::FrameReader reader{{}, true};
  std::vector<ami::OwnedAmiMessage> got;

  // Sends, delivers engine events to the session like the server does, parses what came back.
  void send(std::string_view bytes) {
    ASSERT_TRUE(session.on_bytes(bytes).has_value());
    deliver();
  }
  void deliver() {
    for (const auto& e : events) session.on_event(e);
    events.clear();
    reader.feed(session.take_output());
    ami::AmiMessage m;
    while (true) {
      auto r = reader.next(m);
      ASSERT_TRUE(r.has_value());
      if (!*r) break;
      got.emplace_back(m);
    }
  }
  const ami::AmiMessage* find(std::string_view key, std::string_view value, std::size_t from = 0) {
    for (std::size_t i = from; i < got.size(); ++i) {
      if (got[i].view().get(key) == value) return &got[i].view();
    }
    return nullptr;
  }
  void login() {
    send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nActionID: login\r\n\r\n");
    ASSERT_TRUE(session.logged_in());
  }
};

// What a dialled string is on the simulator's trunk; with the site's outside-line code in front
// (issue 19: callbridged with outside_prefix "0" dials a mobile 0170... as "00170...").
TEST(SimDialling, NumbersWithAndWithoutTheOutsideLineCode) {
  EXPECT_EQ(e164_from_dialed("089123456"), "+4989123456");
  EXPECT_EQ(e164_from_dialed("0041441234567"), "+41441234567");
  EXPECT_EQ(e164_from_dialed("+491701234567"), "+491701234567");
  EXPECT_EQ(e164_from_dialed("001701234567"), "+1701234567") << "no outside-line code: international";
  EXPECT_EQ(e164_from_dialed("001701234567", "0"), "+491701234567");
  EXPECT_EQ(e164_from_dialed("0001701234567", "0"), "+1701234567");
  EXPECT_EQ(e164_from_dialed("0+491701234567", "0"), "+491701234567");
  EXPECT_EQ(e164_from_dialed("089123456", "0"), "+4989123456") << "dialled without the code";
  EXPECT_EQ(e164_from_dialed("101", "0"), "");
  EXPECT_EQ(e164_from_dialed("0", "0"), "");
  EXPECT_EQ(e164_from_dialed("9089123456", "9"), "+4989123456");
}

TEST(AmiServerSession, BannerAndPlainLoginAsAsterisk22) {
  Harness h;
  h.login();
  EXPECT_EQ(h.reader.banner(), "Asterisk Call Manager/11.0.0");
  ASSERT_GE(h.got.size(), 3u);
  const auto& r = h.got[0].view();
  ASSERT_EQ(r.headers().size(), 3u);
  EXPECT_EQ(r.headers()[0].key, "Response");
  EXPECT_EQ(r.response(), "Success");
  EXPECT_EQ(r.action_id(), "login");
  EXPECT_EQ(r.get("Message"), "Authentication accepted");
  EXPECT_EQ(h.got[1].view().event(), "FullyBooted");
  EXPECT_EQ(h.got[2].view().event(), "SuccessfulAuth");
}

TEST(AmiServerSession, Md5ChallengeLogin) {
  Harness h;
  h.send("Action: Challenge\r\nAuthType: MD5\r\nActionID: ch\r\n\r\n");
  const auto* ch = h.find("ActionID", "ch");
  ASSERT_NE(ch, nullptr);
  std::string challenge(ch->get("Challenge"));
  ASSERT_FALSE(challenge.empty());
  h.send("Action: Login\r\nAuthType: MD5\r\nUsername: cti\r\nKey: " + md5_hex(challenge + "cti-secret") +
         "\r\nActionID: l\r\n\r\n");
  EXPECT_TRUE(h.session.logged_in());
  EXPECT_EQ(h.find("ActionID", "l")->get("Message"), "Authentication accepted");
}

TEST(AmiServerSession, WrongMd5KeyFailsAndCloses) {
  Harness h;
  h.send("Action: Challenge\r\nAuthType: MD5\r\nActionID: ch\r\n\r\n");
  h.send("Action: Login\r\nAuthType: MD5\r\nUsername: cti\r\nKey: " + md5_hex("0cti-secret") +
         "\r\nActionID: l\r\n\r\n");
  EXPECT_FALSE(h.session.logged_in());
  EXPECT_TRUE(h.session.closing());
  EXPECT_EQ(h.find("ActionID", "l")->get("Message"), "Authentication failed");
}

TEST(AmiServerSession, WrongSecretAndActionsBeforeLogin) {
  Harness h;
  h.send("Action: Ping\r\nActionID: p\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "p")->get("Message"), "Permission denied");
  h.send("Action: Login\r\nUsername: cti\r\nSecret: nope\r\nActionID: l\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "l")->response(), "Error");
  EXPECT_TRUE(h.session.closing());
}

TEST(AmiServerSession, OversizedMessageIsAProtocolError) {
  Harness h;
  std::string huge = "Action: Ping\r\nX: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
  auto st = h.session.on_bytes(huge);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code(), base::Errc::protocol);
}

TEST(AmiServerSession, PingLogoffAndUnknownAction) {
  Harness h;
  h.login();
  h.send("Action: Ping\r\nActionID: p1\r\n\r\n");
  const auto* p = h.find("ActionID", "p1");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->get("Ping"), "Pong");
  EXPECT_EQ(p->get("Timestamp"), "1795382753.000000");
  h.send("Action: NoSuchThing\r\nActionID: x\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "x")->response(), "Error");
  h.send("Action: Logoff\r\nActionID: bye\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "bye")->response(), "Goodbye");
  EXPECT_TRUE(h.session.closing());
}

TEST(AmiServerSession, EventsOffSilencesTheStream) {
  Harness h;
  h.login();
  h.send("Action: Events\r\nEventMask: off\r\nActionID: ev\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "ev")->get("Events"), "Off");
  std::size_t before = h.got.size();
  start_inbound(h.engine, {.ring = 2s, .talk = 3s});
  h.engine.run_all();
  h.deliver();
  EXPECT_EQ(h.got.size(), before);
  h.send("Action: Events\r\nEventMask: on\r\nActionID: ev2\r\n\r\n");
  start_inbound(h.engine, {.ring = 2s, .talk = 3s});
  h.engine.run_all();
  h.deliver();
  EXPECT_NE(h.find("Event", "Newchannel", before), nullptr);
}

TEST(AmiServerSession, ListsDuringACall) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ring = 2s, .talk = 60s});
  h.engine.run_until(h.engine.now() + 5s);
  h.deliver();
  std::size_t mark = h.got.size();
  h.send("Action: CoreShowChannels\r\nActionID: csc\r\n\r\n");
  const auto* start = h.find("ActionID", "csc", mark);
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->get("EventList"), "start");
  EXPECT_EQ(start->get("Message"), "Channels will follow");
  int items = 0;
  for (std::size_t i = mark; i < h.got.size(); ++i) {
    const auto& m = h.got[i].view();
    if (m.event() == "CoreShowChannel") {
      ++items;
      EXPECT_EQ(m.get("ChannelStateDesc"), "Up");
      EXPECT_FALSE(m.get("BridgeId").empty());
      EXPECT_EQ(m.get("Duration"), "00:00:05");
    }
    if (m.event() == "CoreShowChannelsComplete") {
      EXPECT_EQ(m.get("ListItems"), "2");
    }
  }
  EXPECT_EQ(items, 2);

  mark = h.got.size();
  h.send("Action: DeviceStateList\r\nActionID: dsl\r\n\r\n");
  bool saw_busy = false;
  for (std::size_t i = mark; i < h.got.size(); ++i) {
    const auto& m = h.got[i].view();
    if (m.event() == "DeviceStateChange" && m.get("Device") == "PJSIP/100") saw_busy = m.get("State") == "BUSY";
    if (m.event() == "DeviceStateListComplete") {
      EXPECT_EQ(m.get("ListItems"), "12");
    }
  }
  EXPECT_TRUE(saw_busy);

  mark = h.got.size();
  h.send("Action: ExtensionStateList\r\nActionID: esl\r\n\r\n");
  const auto* e100 = h.find("Exten", "100", mark);
  ASSERT_NE(e100, nullptr);
  EXPECT_EQ(e100->get("StatusText"), "Busy");

  mark = h.got.size();
  h.send("Action: Status\r\nActionID: st\r\n\r\n");
  const auto* done = h.find("Event", "StatusComplete", mark);
  ASSERT_NE(done, nullptr);
  EXPECT_EQ(done->get("Items"), "2");

  mark = h.got.size();
  h.send("Action: QueueStatus\r\nActionID: qs\r\n\r\n");
  ASSERT_NE(h.find("Event", "QueueParams", mark), nullptr);
  EXPECT_EQ(h.find("Event", "QueueStatusComplete", mark)->get("ListItems"), "3");
}

TEST(AmiServerSession, HangupActionEndsTheCall) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ring = 2s, .talk = 60s});
  h.engine.run_until(h.engine.now() + 3s);
  std::string chan = h.engine.model().channels().front().name;
  h.send("Action: Hangup\r\nChannel: " + chan + "\r\nActionID: h\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "h")->get("Message"), "Channel Hungup");
  EXPECT_TRUE(h.engine.model().channels().empty());
  int hangups = 0;
  for (const auto& m : h.got) hangups += m.view().event() == "Hangup";
  EXPECT_EQ(hangups, 2);
  h.send("Action: Hangup\r\nChannel: PJSIP/nope-00000000\r\nActionID: h2\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "h2")->get("Message"), "No such channel");
  h.engine.run_all();  // the flow's later steps find no channels and do nothing
  EXPECT_TRUE(h.engine.model().channels().empty());
}

TEST(AmiServerSession, RedirectMovesTheCallerToAnotherPhone) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ring = 2s, .talk = 60s});
  h.engine.run_until(h.engine.now() + 3s);
  std::string trunk;
  for (const auto& c : h.engine.model().channels()) {
    if (c.device == "PJSIP/trunk") trunk = c.name;
  }
  h.send("Action: Redirect\r\nChannel: " + trunk + "\r\nExten: 103\r\nContext: from-internal\r\nPriority: 1\r\nActionID: r\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "r")->get("Message"), "Redirect successful");
  h.engine.run_until(h.engine.now() + 3s);
  h.deliver();
  bool bridged_with_103 = false;
  for (const auto& c : h.engine.model().channels()) bridged_with_103 |= c.device == "PJSIP/103" && !c.bridge.empty();
  EXPECT_TRUE(bridged_with_103);
}

TEST(AmiServerSession, AtxferBridgesTransfereeAndTarget) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ring = 2s, .talk = 60s});
  h.engine.run_until(h.engine.now() + 3s);
  std::string phone;
  for (const auto& c : h.engine.model().channels()) {
    if (c.device == "PJSIP/100") phone = c.name;
  }
  h.send("Action: Atxfer\r\nChannel: " + phone + "\r\nExten: 102\r\nContext: from-internal\r\nActionID: a\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "a")->response(), "Success");
  // Hold, Local pair dials 102 (answers after 2 s), transferer hangs up 2.6 s later, the Local
  // pair optimizes away 0.4 s after that.
  h.engine.run_until(h.engine.now() + 6s);
  h.deliver();
  EXPECT_NE(h.find("Event", "AttendedTransfer"), nullptr);
  EXPECT_NE(h.find("Event", "LocalOptimizationEnd"), nullptr);
  const Channel *trunk = nullptr, *target = nullptr;
  for (const auto& c : h.engine.model().channels()) {
    if (c.device == "PJSIP/trunk") trunk = &c;
    if (c.device == "PJSIP/102") target = &c;
  }
  ASSERT_TRUE(trunk && target);
  EXPECT_EQ(trunk->bridge, target->bridge);
  EXPECT_EQ(h.engine.model().channels().size(), 2u);
}

TEST(Traffic, SameSeedSameStreamOtherSeedOther) {
  auto run = [](std::uint64_t seed) {
    std::string out;
    TrafficProfile p;
    p.seed = seed;
    p.cps = 2;
    p.max_calls = 200;
    p.talk_mean_s = 20;
    SimEngine e(lab_with_seats(20), base::from_micros(1'795'382'753'000'000),
                [&out](const SimMessage& m) { m.append_wire(out); });
    TrafficGenerator g(p);
    g.start(e);
    e.run_all();
    EXPECT_EQ(g.started(), 200u);
    EXPECT_TRUE(e.model().channels().empty());
    return out;
  };
  std::string a = run(1), b = run(1), c = run(2);
  EXPECT_GT(a.size(), 100'000u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Traffic, OutcomeRatiosFollowTheProfile) {
  TrafficProfile p;
  p.seats = 400;
  p.cps = 1;
  p.max_calls = 2000;
  p.inbound = 1;
  p.outbound = p.internal = p.queue = 0;
  p.answer_ratio = 0.6;
  p.miss_ratio = 0.3;
  p.busy_ratio = 0.1;
  p.hold_ratio = p.transfer_ratio = p.attended_ratio = 0;
  int answered = 0, cancel = 0, busy = 0;
  SimEngine e(lab_with_seats(p.seats), base::from_micros(1'795'382'753'000'000), [&](const SimMessage& m) {
    if (m.event() != "DialEnd") return;
    auto s = m.get("DialStatus");
    answered += s == "ANSWER";
    cancel += s == "CANCEL";
    busy += s == "BUSY";
  });
  TrafficGenerator g(p);
  g.start(e);
  e.run_all();
  ASSERT_EQ(answered + cancel + busy, 2000);
  EXPECT_NEAR(answered / 2000.0, 0.6, 0.05);
  EXPECT_NEAR(cancel / 2000.0, 0.3, 0.05);
  EXPECT_NEAR(busy / 2000.0, 0.1, 0.03);
}

TEST(Traffic, EveryCallKindRunsToTheEnd) {
  TrafficProfile p;
  p.seats = 30;
  p.cps = 1;
  p.max_calls = 600;
  p.talk_mean_s = 20;
  p.hold_ratio = 0.2;
  p.transfer_ratio = 0.2;
  p.attended_ratio = 0.2;
  std::map<std::string, int> seen;
  SimEngine e(lab_with_seats(p.seats), base::from_micros(1'795'382'753'000'000),
              [&](const SimMessage& m) { seen[std::string(m.event())]++; });
  TrafficGenerator g(p);
  g.start(e);
  e.run_all();
  EXPECT_EQ(g.started(), 600u);
  EXPECT_TRUE(e.model().channels().empty());
  EXPECT_TRUE(e.model().bridges().empty());
  for (const char* ev : {"Hold", "BlindTransfer", "AttendedTransfer", "QueueCallerJoin", "AgentConnect",
                         "NewCallerid", "DialEnd"}) {
    EXPECT_GT(seen[ev], 0) << ev;
  }
  EXPECT_EQ(seen["Newchannel"], seen["Hangup"]);
  EXPECT_EQ(seen["BridgeCreate"], seen["BridgeDestroy"]);
}

TEST(Traffic, ProfileValidationNamesTheKey) {
  TrafficProfile p;
  p.cps = 0;
  auto st = p.validate();
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("cps"), std::string::npos);
  EXPECT_TRUE(TrafficProfile{}.validate().has_value());
}

// res_astdb over AMI (what callbridged's AmiFeatures sends, docs/dialplan.md): the actions of
// tests/fixtures/asterisk-22/astdb in its order get the answers the lab's Asterisk 22 gave, every
// message's headers and values in order (the include not loaded: ShowDialPlan finds no context).
TEST(AmiServerSession, AstDbActionsAnswerAsTheLabsAsterisk) {
  Harness h;
  h.login();
  const std::size_t from = h.got.size();
  h.send(
      "Action: ShowDialPlan\r\nActionID: version-missing\r\nContext: callbridge-version\r\n\r\n"
      "Action: DBPut\r\nActionID: put-dnd\r\nFamily: callbridge\r\nKey: dnd/101\r\nVal: 1\r\n\r\n"
      "Action: DBPut\r\nActionID: put-cfnr\r\nFamily: callbridge\r\nKey: cfnr/102\r\nVal: +491701234567\r\n\r\n"
      "Action: DBPut\r\nActionID: put-cfnrtime\r\nFamily: callbridge\r\nKey: cfnrtime/102\r\nVal: 10\r\n\r\n"
      "Action: DBPut\r\nActionID: put-other\r\nFamily: callbridge\r\nKey: unrelated/103\r\nVal: x\r\n\r\n"
      "Action: DBGet\r\nActionID: get-dnd\r\nFamily: callbridge\r\nKey: dnd/101\r\n\r\n"
      "Action: DBGet\r\nActionID: get-missing\r\nFamily: callbridge\r\nKey: dnd/999\r\n\r\n"
      "Action: DBGetTree\r\nActionID: tree\r\nFamily: callbridge\r\n\r\n"
      "Action: DBDel\r\nActionID: del-dnd\r\nFamily: callbridge\r\nKey: dnd/101\r\n\r\n"
      "Action: DBDel\r\nActionID: del-missing\r\nFamily: callbridge\r\nKey: dnd/101\r\n\r\n"
      "Action: DBDelTree\r\nActionID: deltree\r\nFamily: callbridge\r\n\r\n"
      "Action: DBGetTree\r\nActionID: tree-empty\r\nFamily: callbridge\r\n\r\n");
  std::ifstream in(std::string(CALLBRIDGE_FIXTURES_DIR) + "/astdb/ami.log", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(bytes.empty());
  ami::FrameReader fixture{{}, true};
  fixture.feed(bytes);
  std::vector<ami::OwnedAmiMessage> want;
  ami::AmiMessage m;
  while (true) {
    auto r = fixture.next(m);
    ASSERT_TRUE(r.has_value());
    if (!*r) break;
    if (m.action_id() != "login") want.emplace_back(m);
  }
  ASSERT_EQ(h.got.size() - from, want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& w = want[i].view().headers();
    const auto& g = h.got[from + i].view().headers();
    ASSERT_EQ(g.size(), w.size()) << "message " << i << " (" << want[i].view().action_id() << ")";
    for (std::size_t k = 0; k < w.size(); ++k) {
      EXPECT_EQ(g[k].key, w[k].key) << "message " << i;
      EXPECT_EQ(g[k].value, w[k].value) << "message " << i << " " << w[k].key;
    }
  }
}

// With callbridge.conf loaded (LabConfig::callbridge_dialplan) ShowDialPlan lists its version
// context; writes the dialplan reads change what the flows see; bad AstDB input is refused.
TEST(AmiServerSession, CallbridgeIncludeVersionAndAstDbLimits) {
  Harness h;
  LabConfig lab;
  lab.callbridge_dialplan = true;
  SimEngine engine{lab, base::from_micros(1'795'382'753'000'000), nullptr};
  AmiServerSession session{engine, h.cfg, "127.0.0.1/5038", "127.0.0.1/40000", 7};
  ami::FrameReader reader{{}, true};
  auto send = [&](std::string_view bytes) {
    EXPECT_TRUE(session.on_bytes(bytes).has_value());
    reader.feed(session.take_output());
    std::vector<ami::OwnedAmiMessage> got;
    ami::AmiMessage m;
    while (true) {
      auto r = reader.next(m);
      if (!r || !*r) break;
      got.emplace_back(m);
    }
    return got;
  };
  send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\n\r\n");
  auto v = send("Action: ShowDialPlan\r\nActionID: v\r\nContext: callbridge-version\r\n\r\n");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].view().get("Message"), "DialPlan list will follow");
  EXPECT_EQ(v[1].view().event(), "ListDialplan");
  EXPECT_EQ(v[1].view().get("AppData"), "callbridge dialplan 2");
  EXPECT_EQ(v[2].view().event(), "ShowDialPlanComplete");
  auto other = send("Action: ShowDialPlan\r\nActionID: o\r\nContext: from-internal\r\n\r\n");
  ASSERT_EQ(other.size(), 1u);
  EXPECT_EQ(other[0].view().get("Message"), "Did not find context from-internal");

  send("Action: DBPut\r\nFamily: callbridge\r\nKey: cfu/101\r\nVal: +49 89 (123)\r\n\r\n");
  EXPECT_EQ(engine.model().callbridge_setting("cfu", "101"), "+4989123") << "filtered as FILTER(+0-9,...)";
  send("Action: DBPut\r\nFamily: callbridge\r\nKey: cfnrtime/101\r\nVal: 12345\r\n\r\n");
  EXPECT_EQ(engine.model().callbridge_setting("cfnrtime", "101"), "123") << "${cfnrtime:0:3}";
  EXPECT_EQ(engine.model().callbridge_setting("dnd", "102"), "");
  auto no_family = send("Action: DBPut\r\nKey: x\r\nVal: 1\r\n\r\n");
  ASSERT_EQ(no_family.size(), 1u);
  EXPECT_EQ(no_family[0].view().get("Message"), "No family specified.");
  auto no_key = send("Action: DBGet\r\nFamily: callbridge\r\n\r\n");
  ASSERT_EQ(no_key.size(), 1u);
  EXPECT_EQ(no_key[0].view().get("Message"), "No key specified.");
  auto big = send("Action: DBPut\r\nFamily: callbridge\r\nKey: cfu/101\r\nVal: " +
                  std::string(PbxModel::kMaxAstDbText + 1, '1') + "\r\n\r\n");
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].view().get("Message"), "Failed to update entry");
  for (std::size_t i = engine.model().astdb().size(); i < PbxModel::kMaxAstDbEntries; ++i)
    ASSERT_TRUE(engine.model().db_put("fill", std::to_string(i), "1"));
  auto full = send("Action: DBPut\r\nFamily: callbridge\r\nKey: dnd/105\r\nVal: 1\r\n\r\n");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].view().get("Message"), "Failed to update entry");
  EXPECT_EQ(engine.model().astdb().size(), PbxModel::kMaxAstDbEntries);
}


// --- Hold in the PBX (callbridge.conf version 2, [callbridge-hold]) ---------------------------
// The expected sequences are the lab's Asterisk 22 recordings of callbridged's actions on an
// AnyDevice call (mobile and destination both behind the trunk): hold, retrieve, hang-up after the
// retrieve, hang-up while held. One line per message: the event, its channel and what tells the
// step apart (dialplan location, application, handler, cause, bridge size).

LabConfig hold_lab() {
  LabConfig lab;
  lab.callbridge_dialplan = true;
  return lab;
}

std::string line(const ami::AmiMessage& m) {
  auto g = [&m](std::string_view k) { return std::string(m.get(k)); };
  auto at = [&] { return " @" + g("Context") + "," + g("Exten") + "," + g("Priority"); };
  if (!m.response().empty()) return "Response " + g("Response") + " " + g("ActionID") + ": " + g("Message");
  std::string e(m.event());
  std::string out = e + (m.has("Channel") ? " " + g("Channel") : "");
  if (e == "Newexten") return out + at() + " " + g("Application") + "(" + g("AppData") + ")";
  if (e == "VarSet") return out + " " + g("Variable") + "=" + g("Value");
  if (e == "BridgeEnter" || e == "BridgeLeave") return out + " n=" + g("BridgeNumChannels") + at();
  if (e == "BridgeCreate" || e == "BridgeDestroy") return out + " n=" + g("BridgeNumChannels");
  if (e == "HangupHandlerPush" || e == "HangupHandlerRun") return out + " " + g("Handler") + at();
  if (e == "SoftHangupRequest" || e == "HangupRequest" || e == "Hangup") return out + " cause=" + g("Cause") + at();
  if (e == "MusicOnHoldStart") return out + " " + g("Class") + at();
  if (e == "DeviceStateChange") return out + " " + g("Device") + " " + g("State");
  return out + at();
}

struct HoldCall {
  Harness h{hold_lab()};
  std::string mobile, remote;  // the device's and the destination's trunk channels

  // callbridged's AnyDevice make call (as live_make_call_from_mobile): the mobile answers after
  // 3 s, the destination 2 s later, the Local pair is optimized away 400 ms after that.
  HoldCall() {
    h.login();
    h.send("Action: Originate\r\nActionID: orig\r\nChannel: Local/001701234567@from-internal\r\n"
           "Context: from-internal\r\nExten: 089123456\r\nPriority: 1\r\n"
           "CallerID: \"+4930555103\" <+4930555103>\r\nAsync: true\r\n\r\n");
    h.engine.run_until(h.engine.now() + 6s);
    h.deliver();
    for (const auto& c : h.engine.model().channels()) {
      if (c.dnid == "+1701234567") mobile = c.name;  // 00 1701234567: international
      else if (c.dnid == "+4989123456") remote = c.name;
    }
  }
  // Sends one action; the lines of everything it brought.
  std::vector<std::string> act(const std::string& action) {
    std::size_t from = h.got.size();
    h.send(action);
    std::vector<std::string> out;
    for (std::size_t i = from; i < h.got.size(); ++i) out.push_back(line(h.got[i].view()));
    return out;
  }
  std::vector<std::string> run_for(std::chrono::microseconds d) {
    std::size_t from = h.got.size();
    h.engine.run_until(h.engine.now() + d);
    h.deliver();
    std::vector<std::string> out;
    for (std::size_t i = from; i < h.got.size(); ++i) out.push_back(line(h.got[i].view()));
    return out;
  }
  std::vector<std::string> hold() {
    auto a = act("Action: Setvar\r\nActionID: sv1\r\nChannel: " + mobile + "\r\nVariable: CALLBRIDGE_HOLD_PEER\r\nValue: " +
                 remote + "\r\n\r\n");
    auto b = act("Action: Setvar\r\nActionID: sv2\r\nChannel: " + remote + "\r\nVariable: CALLBRIDGE_HOLD_PEER\r\nValue: " +
                 mobile + "\r\n\r\n");
    auto c = act("Action: Redirect\r\nActionID: hold\r\nChannel: " + mobile +
                 "\r\nContext: callbridge-hold\r\nExten: device\r\nPriority: 1\r\nExtraChannel: " + remote +
                 "\r\nExtraContext: callbridge-hold\r\nExtraExten: remote\r\nExtraPriority: 1\r\n\r\n");
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    return a;
  }
  std::vector<std::string> retrieve() {
    auto a = act("Action: Bridge\r\nActionID: retrieve\r\nChannel1: " + mobile + "\r\nChannel2: " + remote +
                 "\r\nTone: no\r\n\r\n");
    auto b = act("Action: Setvar\r\nActionID: sv3\r\nChannel: " + mobile + "\r\nVariable: CALLBRIDGE_HOLD_PEER\r\nValue: \r\n\r\n");
    auto c = act("Action: Setvar\r\nActionID: sv4\r\nChannel: " + remote + "\r\nVariable: CALLBRIDGE_HOLD_PEER\r\nValue: \r\n\r\n");
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    return a;
  }
};

std::vector<std::string> arm_and_play(const std::string& ch, const std::string& exten, bool first_time) {
  std::vector<std::string> out = {
      "Newexten " + ch + " @callbridge-hold,arm,1 ExecIf(" + (first_time ? "1" : "0") +
      "?Set(CHANNEL(hangup_handler_push)=callbridge-hold,peer-gone,1))"};
  if (first_time) out.push_back("HangupHandlerPush " + ch + " callbridge-hold,peer-gone,1 @callbridge-hold,arm,1");
  for (std::string l : {"Newexten " + ch + " @callbridge-hold,arm,2 Set(CALLBRIDGE_HOLD_ARMED=1)",
                        "Newexten " + ch + " @callbridge-hold,arm,3 Return()",
                        "Newexten " + ch + " @callbridge-hold," + exten + ",2 MusicOnHold()",
                        "MusicOnHoldStart " + ch + " default @callbridge-hold," + exten + ",2"})
    out.push_back(l);
  return out;
}

std::vector<std::string> hold_lines(const std::string& m, const std::string& r, bool first_time,
                                    const std::string& before_m, const std::string& before_r) {
  std::vector<std::string> want = {
      "Response Success sv1: Variable Set",
      "VarSet " + m + " CALLBRIDGE_HOLD_PEER=" + r,
      "Response Success sv2: Variable Set",
      "VarSet " + r + " CALLBRIDGE_HOLD_PEER=" + m,
      "Response Success hold: Dual Redirect successful",
      "Newexten " + m + " @callbridge-hold,device,1 " + before_m,
      "Newexten " + r + " @callbridge-hold,remote,1 " + before_r,
      "BridgeLeave " + m + " n=1 @callbridge-hold,device,1"};
  for (auto& l : arm_and_play(m, "device", first_time)) want.push_back(l);
  want.push_back("BridgeLeave " + r + " n=0 @callbridge-hold,remote,1");
  want.push_back("BridgeDestroy n=0");
  for (auto& l : arm_and_play(r, "remote", first_time)) want.push_back(l);
  return want;
}

std::vector<std::string> retrieve_lines(const std::string& m, const std::string& r) {
  return {"Response Success retrieve: Channels have been bridged",
          "BridgeCreate n=0",
          "MusicOnHoldStop " + m + " @callbridge-hold,device,2",
          "BridgeEnter " + m + " n=1 @callbridge-hold,device,3",
          "MusicOnHoldStop " + r + " @callbridge-hold,remote,2",
          "BridgeEnter " + r + " n=2 @callbridge-hold,remote,3",
          "Response Success sv3: Variable Set",
          "VarSet " + m + " CALLBRIDGE_HOLD_PEER=",
          "Response Success sv4: Variable Set",
          "VarSet " + r + " CALLBRIDGE_HOLD_PEER="};
}

TEST(AmiServerSessionHold, HoldRetrieveAndHangUpAsTheLabsAsterisk) {
  HoldCall call;
  const std::string m = call.mobile, r = call.remote;
  ASSERT_EQ(m, "PJSIP/trunk-00000000");
  ASSERT_EQ(r, "PJSIP/trunk-00000001");
  auto& model = call.h.engine.model();
  ASSERT_EQ(model.channels().size(), 2u) << "the Local pair is optimized away";
  ASSERT_EQ(model.find_by_name(m)->bridge, model.find_by_name(r)->bridge);

  EXPECT_EQ(call.hold(), hold_lines(m, r, true, "AppDial((Outgoing Line))", "AppDial((Outgoing Line))"));
  // Both stay up, out of any bridge, in MusicOnHold (CoreShowChannels as the lab's after the hold).
  EXPECT_TRUE(model.bridges().empty());
  auto list = call.act("Action: CoreShowChannels\r\nActionID: csc\r\n\r\n");
  ASSERT_EQ(list.size(), 4u);
  for (std::size_t i = call.h.got.size() - 3; i < call.h.got.size() - 1; ++i) {
    const auto& item = call.h.got[i].view();
    EXPECT_EQ(item.get("Application"), "MusicOnHold");
    EXPECT_EQ(item.get("BridgeId"), "");
    EXPECT_EQ(item.get("Context"), "callbridge-hold");
    EXPECT_EQ(item.get("Priority"), "2");
  }
  EXPECT_TRUE(call.run_for(1s).empty()) << "nothing happens while held";

  EXPECT_EQ(call.retrieve(), retrieve_lines(m, r));
  ASSERT_EQ(model.bridges().size(), 1u);
  EXPECT_EQ(model.bridges().front().members.size(), 2u);
  EXPECT_EQ(model.find_by_name(m)->app, "");

  // The device hangs up (AMI Hangup): the remote continues after the bridge into Hangup(); both
  // handlers run, neither has a peer any more.
  std::vector<std::string> want = {
      "Response Success hup: Channel Hungup",
      "BridgeLeave " + m + " n=1 @callbridge-hold,device,3",
      "BridgeLeave " + r + " n=0 @callbridge-hold,remote,3",
      "BridgeDestroy n=0",
      "HangupHandlerRun " + m + " callbridge-hold,peer-gone,1 @callbridge-hold,device,3",
      "Newexten " + m + " @callbridge-hold,peer-gone,1 ExecIf(0?SoftHangup())",
      "Newexten " + m + " @callbridge-hold,peer-gone,2 Return()",
      "Newexten " + r + " @callbridge-hold,remote,3 Hangup()",
      "SoftHangupRequest " + r + " cause=16 @callbridge-hold,remote,3",
      "HangupHandlerRun " + r + " callbridge-hold,peer-gone,1 @callbridge-hold,remote,3",
      "Newexten " + r + " @callbridge-hold,peer-gone,1 ExecIf(0?SoftHangup())",
      "Newexten " + r + " @callbridge-hold,peer-gone,2 Return()",
      "Hangup " + r + " cause=16 @callbridge-hold,remote,3",
      "Hangup " + m + " cause=16 @callbridge-hold,device,3",
      "DeviceStateChange PJSIP/trunk NOT_INUSE"};
  EXPECT_EQ(call.act("Action: Hangup\r\nActionID: hup\r\nChannel: " + m + "\r\n\r\n"), want);
  EXPECT_TRUE(model.channels().empty());
  EXPECT_TRUE(model.bridges().empty());
  EXPECT_TRUE(call.run_for(60s).empty()) << "the talk timer of the ended call does nothing";
}

TEST(AmiServerSessionHold, TheRemoteHangsUpWhileHeldAndTheHandlerTakesTheDeviceAlong) {
  HoldCall call;
  const std::string m = call.mobile, r = call.remote;
  call.hold();
  std::vector<std::string> want = {
      "Response Success hup-remote: Channel Hungup",
      "MusicOnHoldStop " + r + " @callbridge-hold,remote,2",
      "SoftHangupRequest " + r + " cause=16 @callbridge-hold,remote,2",
      "HangupHandlerRun " + r + " callbridge-hold,peer-gone,1 @callbridge-hold,remote,2",
      "Newexten " + r + " @callbridge-hold,peer-gone,1 ExecIf(1?SoftHangup(" + m + "))",
      "SoftHangupRequest " + m + " cause=32 @callbridge-hold,device,2",
      "Newexten " + r + " @callbridge-hold,peer-gone,2 Return()",
      "MusicOnHoldStop " + m + " @callbridge-hold,device,2",
      "SoftHangupRequest " + m + " cause=16 @callbridge-hold,device,2",
      "HangupHandlerRun " + m + " callbridge-hold,peer-gone,1 @callbridge-hold,device,2",
      "Newexten " + m + " @callbridge-hold,peer-gone,1 ExecIf(1?SoftHangup(" + r + "))",
      "Newexten " + m + " @callbridge-hold,peer-gone,2 Return()",
      "Newexten " + m + " @callbridge-hold,device,2 AppDial((Outgoing Line))",
      "Newexten " + r + " @callbridge-hold,remote,2 AppDial((Outgoing Line))",
      "Hangup " + r + " cause=16 @callbridge-hold,remote,2",
      "Hangup " + m + " cause=16 @callbridge-hold,device,2",
      "DeviceStateChange PJSIP/trunk NOT_INUSE"};
  EXPECT_EQ(call.act("Action: Hangup\r\nActionID: hup-remote\r\nChannel: " + r + "\r\n\r\n"), want);
  EXPECT_TRUE(call.h.engine.model().channels().empty());
  EXPECT_TRUE(call.h.engine.model().bridges().empty());
}

// The destination's talk time (it hangs up after 20 s) ends the call whether it is held then or
// was held and retrieved, any number of times; a second hold pushes no second handler.
TEST(AmiServerSessionHold, TalkTimeEndsAHeldOrRetrievedCall) {
  {
    HoldCall call;
    const std::string m = call.mobile, r = call.remote;
    call.hold();
    auto end = call.run_for(30s);
    std::vector<std::string> want = {
        "HangupRequest " + r + " cause=16 @callbridge-hold,remote,2",
        "MusicOnHoldStop " + r + " @callbridge-hold,remote,2",
        "HangupHandlerRun " + r + " callbridge-hold,peer-gone,1 @callbridge-hold,remote,2",
        "Newexten " + r + " @callbridge-hold,peer-gone,1 ExecIf(1?SoftHangup(" + m + "))",
        "SoftHangupRequest " + m + " cause=32 @callbridge-hold,device,2",
        "Newexten " + r + " @callbridge-hold,peer-gone,2 Return()",
        "MusicOnHoldStop " + m + " @callbridge-hold,device,2",
        "SoftHangupRequest " + m + " cause=16 @callbridge-hold,device,2",
        "HangupHandlerRun " + m + " callbridge-hold,peer-gone,1 @callbridge-hold,device,2",
        "Newexten " + m + " @callbridge-hold,peer-gone,1 ExecIf(1?SoftHangup(" + r + "))",
        "Newexten " + m + " @callbridge-hold,peer-gone,2 Return()",
        "Newexten " + m + " @callbridge-hold,device,2 AppDial((Outgoing Line))",
        "Newexten " + r + " @callbridge-hold,remote,2 AppDial((Outgoing Line))",
        "Hangup " + r + " cause=16 @callbridge-hold,remote,2",
        "Hangup " + m + " cause=16 @callbridge-hold,device,2",
        "DeviceStateChange PJSIP/trunk NOT_INUSE"};
    EXPECT_EQ(end, want);
    EXPECT_TRUE(call.h.engine.model().channels().empty());
  }
  {
    HoldCall call;
    const std::string m = call.mobile, r = call.remote;
    call.hold();
    EXPECT_EQ(call.retrieve(), retrieve_lines(m, r));
    // Held again: the location it was bridged from is what the Newexten shows; no second handler.
    EXPECT_EQ(call.hold(), hold_lines(m, r, false, "()", "()"));
    EXPECT_EQ(call.retrieve(), retrieve_lines(m, r));
    auto end = call.run_for(30s);
    ASSERT_FALSE(end.empty());
    EXPECT_EQ(end.front(), "HangupRequest " + r + " cause=16 @callbridge-hold,remote,3");
    EXPECT_EQ(end.back(), "DeviceStateChange PJSIP/trunk NOT_INUSE");
    EXPECT_TRUE(call.h.engine.model().channels().empty());
    EXPECT_TRUE(call.h.engine.model().bridges().empty());
    EXPECT_EQ(std::count_if(end.begin(), end.end(), [](const std::string& l) { return l.starts_with("HangupHandlerRun"); }), 2);
  }
}

TEST(AmiServerSessionHold, BadHoldActionsGetAsterisksErrorsAndChangeNothing) {
  HoldCall call;
  const std::string m = call.mobile, r = call.remote;
  auto one = [&](const std::string& a) {
    auto out = call.act(a);
    return out.size() == 1 ? out[0] : "(" + std::to_string(out.size()) + " messages)";
  };
  EXPECT_EQ(one("Action: Redirect\r\nActionID: x1\r\nChannel: " + m + "\r\nContext: callbridge-hold\r\nExten: device\r\n"
                "Priority: 1\r\nExtraChannel: PJSIP/trunk-0000ffff\r\nExtraContext: callbridge-hold\r\nExtraExten: remote\r\n"
                "ExtraPriority: 1\r\n\r\n"),
            "Response Error x1: ExtraChannel does not exist: PJSIP/trunk-0000ffff");
  EXPECT_EQ(one("Action: Redirect\r\nActionID: x2\r\nChannel: " + m + "\r\nContext: callbridge-hold\r\nExten: nowhere\r\n"
                "Priority: 1\r\n\r\n"),
            "Response Error x2: Extension does not exist.");
  EXPECT_EQ(one("Action: Bridge\r\nActionID: x3\r\nChannel1: " + m + "\r\n\r\n"),
            "Response Error x3: Missing channel parameter in request");
  EXPECT_EQ(one("Action: Bridge\r\nActionID: x4\r\nChannel1: PJSIP/nope-1\r\nChannel2: " + r + "\r\n\r\n"),
            "Response Error x4: Channel1 does not exist: PJSIP/nope-1");
  EXPECT_EQ(one("Action: Bridge\r\nActionID: x5\r\nChannel1: " + m + "\r\nChannel2: PJSIP/nope-2\r\n\r\n"),
            "Response Error x5: Channel2 does not exist: PJSIP/nope-2");
  EXPECT_EQ(one("Action: Setvar\r\nActionID: x6\r\nChannel: " + m + "\r\nValue: 1\r\n\r\n"),
            "Response Error x6: No variable specified");
  EXPECT_EQ(one("Action: Setvar\r\nActionID: x7\r\nChannel: PJSIP/nope-3\r\nVariable: A\r\nValue: 1\r\n\r\n"),
            "Response Error x7: No such channel");
  EXPECT_EQ(one("Action: Setvar\r\nActionID: x8\r\nChannel: " + m + "\r\nVariable: A\r\nValue: " +
                std::string(kMaxVarText + 1, 'x') + "\r\n\r\n"),
            "Response Error x8: Variable not set");
  EXPECT_EQ(one("Action: Setvar\r\nActionID: x9\r\nVariable: GLOBAL_ONE\r\nValue: 1\r\n\r\n"),
            "Response Success x9: Variable Set");
  EXPECT_EQ(call.h.engine.model().global_vars.at("GLOBAL_ONE"), "1");
  const auto& model = call.h.engine.model();
  ASSERT_EQ(model.bridges().size(), 1u);
  EXPECT_EQ(model.bridges().front().members.size(), 2u) << "the call is untouched";

  // Without callbridge.conf the PBX has no [callbridge-hold]: answered as any unknown extension.
  Harness plain;
  plain.login();
  plain.send("Action: Originate\r\nActionID: orig\r\nChannel: Local/001701234567@from-internal\r\n"
             "Context: from-internal\r\nExten: 089123456\r\nAsync: true\r\n\r\n");
  plain.engine.run_until(plain.engine.now() + 6s);
  plain.deliver();
  const std::size_t from = plain.got.size();
  plain.send("Action: Redirect\r\nActionID: off\r\nChannel: PJSIP/trunk-00000000\r\nContext: callbridge-hold\r\n"
             "Exten: device\r\nPriority: 1\r\nExtraChannel: PJSIP/trunk-00000001\r\nExtraContext: callbridge-hold\r\n"
             "ExtraExten: remote\r\nExtraPriority: 1\r\n\r\n");
  ASSERT_EQ(plain.got.size(), from + 1);
  EXPECT_EQ(line(plain.got[from].view()), "Response Error off: Extension does not exist.");
  EXPECT_EQ(plain.engine.model().bridges().size(), 1u);
}

}  // namespace
}  // namespace callbridge::sim
