// Issue 13 in the simulator: phones answer and hold when asked by PJSIPNotify (as Yealink/Snom),
// a phone without remote control ignores it; the displayed clock of a fast simulator stays on
// the wall clock; the focus seat of a traffic profile gets its calls early and regularly.
#include <gtest/gtest.h>

#include <map>

#include "protocols/ami/frame_reader.hpp"
#include "sim/ami_server_session.hpp"
#include "sim/flows.hpp"
#include "sim/traffic.hpp"

namespace callbridge::sim {
namespace {

constexpr std::int64_t kStartUs = 1'795'382'753'000'000;

LabConfig lab_with_old_phone() {
  LabConfig lab;
  lab.phones.back().remote_control = false;  // 105
  return lab;
}

struct Harness {
  AmiServerConfig cfg;
  std::vector<SimMessage> events;
  SimEngine engine{lab_with_old_phone(), base::from_micros(kStartUs),
                   [this](const SimMessage& m) { events.push_back(m); }};
  AmiServerSession session{engine, cfg, "127.0.0.1/5038", "127.0.0.1/40000", 7};
  ami::FrameReader reader{{}, true};
  std::vector<ami::OwnedAmiMessage> got;

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
  void run_for(std::chrono::microseconds d) {
    engine.run_until(engine.now() + d);
    deliver();
  }
  const ami::AmiMessage* find(std::string_view key, std::string_view value, std::size_t from = 0) {
    for (std::size_t i = from; i < got.size(); ++i)
      if (got[i].view().get(key) == value) return &got[i].view();
    return nullptr;
  }
  // The first event named `event` about a channel of `device` ("PJSIP/100-") from `from` on.
  const ami::AmiMessage* event_on(std::string_view event, std::string_view device, std::size_t from = 0) {
    for (std::size_t i = from; i < got.size(); ++i) {
      const auto& m = got[i].view();
      if (m.event() == event && m.get("Channel").starts_with(std::string(device) + "-")) return &m;
    }
    return nullptr;
  }
  void login() {
    send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nActionID: login\r\n\r\n");
    ASSERT_TRUE(session.logged_in());
  }
  void notify(std::string_view endpoint, std::string_view event, std::string_view id) {
    send("Action: PJSIPNotify\r\nActionID: " + std::string(id) + "\r\nEndpoint: " + std::string(endpoint) +
         "\r\nVariable: Event=" + std::string(event) + "\r\n\r\n");
  }
  const Channel* channel_of(std::string_view device) {
    for (const auto& c : engine.model().channels())
      if (c.device == device) return &c;
    return nullptr;
  }
};

TEST(SimRemoteControl, TalkAnswersARingingPhoneBeforeItsCallerGivesUp) {
  Harness h;
  h.login();
  // Left alone, the caller would give up after 30 s.
  start_inbound(h.engine, {.caller = "+4989123456", .ext = "100", .outcome = Outcome::missed, .ring = 30s, .talk = 40s});
  h.run_for(2s);
  ASSERT_NE(h.channel_of("PJSIP/100"), nullptr);
  EXPECT_EQ(h.channel_of("PJSIP/100")->state, ChanState::ringing);
  std::size_t mark = h.got.size();
  h.notify("100", "talk", "n1");
  const auto* r = h.find("ActionID", "n1", mark);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->response(), "Success");
  EXPECT_EQ(r->get("Message"), "NOTIFY sent");
  EXPECT_EQ(h.event_on("Newstate", "PJSIP/100", mark), nullptr) << "the phone acts a moment later";
  h.run_for(kPhoneReaction);
  const auto* up = h.event_on("Newstate", "PJSIP/100", mark);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->get("ChannelStateDesc"), "Up");
  const auto* dial_end = h.find("Event", "DialEnd", mark);
  ASSERT_NE(dial_end, nullptr);
  EXPECT_EQ(dial_end->get("DialStatus"), "ANSWER");
  EXPECT_NE(h.event_on("BridgeEnter", "PJSIP/100", mark), nullptr);
  // The caller's give-up time passes without effect; the call lasts its talk time after answer.
  h.run_for(28s);
  EXPECT_EQ(h.find("DialStatus", "CANCEL", mark), nullptr);
  ASSERT_NE(h.channel_of("PJSIP/100"), nullptr);
  EXPECT_EQ(h.channel_of("PJSIP/100")->state, ChanState::up);
  h.run_for(20s);
  EXPECT_EQ(h.channel_of("PJSIP/100"), nullptr) << "hung up after the talk time";
  EXPECT_EQ(h.engine.answers_pending(), 0u);
}

TEST(SimRemoteControl, HoldThenTalkHoldsAndResumesTheActiveCall) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ext = "101", .ring = 1s, .talk = 60s});
  h.run_for(2s);
  std::size_t mark = h.got.size();
  h.notify("101", "hold", "h");
  EXPECT_EQ(h.find("ActionID", "h", mark)->response(), "Success");
  h.run_for(kPhoneReaction);
  const auto* hold = h.event_on("Hold", "PJSIP/101", mark);
  ASSERT_NE(hold, nullptr);
  EXPECT_EQ(hold->get("MusicClass"), "default");
  EXPECT_NE(h.event_on("MusicOnHoldStart", "PJSIP/trunk", mark), nullptr) << "the caller hears music";
  EXPECT_TRUE(h.channel_of("PJSIP/trunk")->held);
  EXPECT_TRUE(h.channel_of("PJSIP/101")->holding_since.has_value());
  // A second hold finds no active call: nothing happens.
  mark = h.got.size();
  h.notify("101", "hold", "h2");
  h.run_for(kPhoneReaction);
  EXPECT_EQ(h.event_on("Hold", "PJSIP/101", mark), nullptr);
  h.notify("101", "talk", "t");
  h.run_for(kPhoneReaction);
  EXPECT_NE(h.event_on("Unhold", "PJSIP/101", mark), nullptr);
  EXPECT_NE(h.event_on("MusicOnHoldStop", "PJSIP/trunk", mark), nullptr);
  EXPECT_EQ(h.channel_of("PJSIP/101")->holding_since, std::nullopt);
}

TEST(SimRemoteControl, APhoneWithoutRemoteControlIgnoresTheNotify) {
  Harness h;
  h.login();
  start_inbound(h.engine, {.ext = "105", .outcome = Outcome::missed, .ring = 10s});
  h.run_for(1s);
  std::size_t mark = h.got.size();
  h.notify("105", "talk", "old");
  EXPECT_EQ(h.find("ActionID", "old", mark)->response(), "Success") << "Asterisk sent it; the phone ignores it";
  h.run_for(5s);
  EXPECT_EQ(h.event_on("Newstate", "PJSIP/105", mark), nullptr);
  EXPECT_EQ(h.channel_of("PJSIP/105")->state, ChanState::ringing);
  h.run_for(5s);
  EXPECT_EQ(h.channel_of("PJSIP/105"), nullptr) << "the caller gave up as planned";
}

TEST(SimRemoteControl, UnknownEndpointAndMissingEventAreErrors) {
  Harness h;
  h.login();
  h.notify("999", "talk", "u");
  const auto* r = h.find("ActionID", "u");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->response(), "Error");
  EXPECT_EQ(r->get("Message"), "Unable to retrieve endpoint 999");
  h.send("Action: PJSIPNotify\r\nActionID: nv\r\nEndpoint: 100\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "nv")->response(), "Error");
  h.send("Action: PJSIPNotify\r\nActionID: ne\r\n\r\n");
  EXPECT_EQ(h.find("ActionID", "ne")->response(), "Error");
}

TEST(SimRemoteControl, OriginatedPhoneLegCanBeAnsweredRemotely) {
  Harness h;
  h.login();
  start_originate(h.engine, {.action_id = "c2d", .ext = "102", .exten = "103", .ring = 20s, .far_ring = 1s});
  h.run_for(1s);
  std::size_t mark = h.got.size();
  h.notify("102", "talk", "a");
  h.run_for(kPhoneReaction);
  const auto* resp = h.find("Event", "OriginateResponse", mark);
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->get("Response"), "Success");
  EXPECT_NE(h.event_on("Newchannel", "PJSIP/103", mark), nullptr) << "the destination rings next";
}

TEST(SimDisplayClock, AFastSimulatorShowsTheWallClock) {
  std::vector<SimMessage> out;
  SimEngine e(LabConfig{}, base::from_micros(kStartUs), [&](const SimMessage& m) { out.push_back(m); });
  const auto wall = base::from_micros(kStartUs + 500'000'000);
  e.set_display_scale(wall, 10);
  e.run_until(e.now() + 100s);  // 100 simulated seconds = 10 s on the wall
  EXPECT_EQ(e.shown_now(), wall + 10s);
  start_inbound(e, {.ring = 2s, .talk = 3s});
  ASSERT_FALSE(out.empty());
  std::string ts;
  for (const auto& [k, v] : out.front().fields())
    if (k == "Timestamp") ts = v;
  EXPECT_EQ(ts, "1795383263.000000");  // kStart + 500 s + 10 s
  const auto* ch = e.model().find_by_name(e.model().channels().front().name);
  ASSERT_NE(ch, nullptr);
  EXPECT_NE(ch->uniqueid.find("-1795383263."), std::string::npos) << ch->uniqueid;
  e.run_all();
  // The last Hangup: 5 simulated seconds later = 0.5 s on the wall.
  for (const auto& [k, v] : out.back().fields())
    if (k == "Timestamp") ts = v;
  EXPECT_EQ(ts, "1795383263.500000");
}

TEST(SimDisplayClock, WithoutAScaleTheShownTimeIsTheSimulatedTime) {
  SimEngine e(LabConfig{}, base::from_micros(kStartUs), nullptr);
  e.run_until(e.now() + 100s);
  EXPECT_EQ(e.shown_now(), e.now());
  e.set_display_scale(base::from_micros(0), 0);  // speed 0 (as fast as possible): no mapping
  EXPECT_EQ(e.shown_now(), e.now());
}

// Seconds since the engine start of every ring of `device`: Newstate Ringing -> Up or Hangup.
struct Ring {
  double start_s, end_s;
  bool answered;
};

TEST(SimTraffic, TheFocusSeatRingsEarlyRegularlyAndLongEnoughToAct) {
  TrafficProfile p;
  p.seats = 6;
  p.cps = 4.0 / 60;
  p.seed = 42;
  p.focus_ext = "100";
  ASSERT_TRUE(p.validate());
  std::map<std::string, base::Timestamp> ringing_since;  // by Uniqueid
  std::vector<Ring> rings;
  SimEngine* ep = nullptr;
  auto secs = [](base::Timestamp t) { return std::chrono::duration<double>(t - base::from_micros(kStartUs)).count(); };
  SimEngine e(LabConfig{}, base::from_micros(kStartUs), [&](const SimMessage& m) {
    std::map<std::string, std::string> f(m.fields().begin(), m.fields().end());
    if (!f["Channel"].starts_with("PJSIP/100-")) return;
    const std::string uid = f["Uniqueid"];
    if (f["Event"] == "Newstate" && f["ChannelStateDesc"] == "Ringing") ringing_since[uid] = ep->now();
    bool up = f["Event"] == "Newstate" && f["ChannelStateDesc"] == "Up";
    if ((up || f["Event"] == "Hangup") && ringing_since.contains(uid)) {
      rings.push_back({secs(ringing_since[uid]), secs(ep->now()), up});
      ringing_since.erase(uid);
    }
  });
  ep = &e;
  TrafficGenerator gen(p);
  gen.start(e);
  e.run_until(e.now() + 600s);
  ASSERT_FALSE(rings.empty());
  EXPECT_NEAR(rings.front().start_s, 4.0, 0.01) << "the first call rings 4 s after start";
  EXPECT_GE(gen.focus_calls(), 10u) << "every 20-40 s (or 5 s after a long call) over 10 minutes";
  for (const auto& r : rings) {
    double len = r.end_s - r.start_s;
    EXPECT_GE(len, 8.0 - 1e-6) << "rang at " << r.start_s;
    EXPECT_LE(len, 15.0 + 1e-6) << "rang at " << r.start_s;
  }
  for (std::size_t i = 1; i < rings.size(); ++i)
    EXPECT_LE(rings[i].start_s - rings[i - 1].start_s, 40 + 40 + 5 + 1e-6) << "no long silence at " << rings[i].start_s;
  // One ring per focus call (the last may still ring at the end): the random traffic leaves 100 alone.
  EXPECT_LE(rings.size(), gen.focus_calls());
  EXPECT_GE(rings.size() + 1, gen.focus_calls());
}

// A viewer arrives (demo: a browser opened the event stream): the focus seat rings within the
// asked time instead of at its next scheduled call, once; not while it is busy.
TEST(SimTraffic, FocusSoonBringsTheNextFocusCallForward) {
  TrafficProfile p;
  p.seats = 6;
  p.cps = 1.0 / 3600;  // next to no other traffic
  p.seed = 3;
  p.focus_ext = "100";
  p.focus_first_s = 100;
  ASSERT_TRUE(p.validate());
  std::vector<double> rings;  // seconds since start of each Newchannel on 100
  SimEngine* ep = nullptr;
  SimEngine e(LabConfig{}, base::from_micros(kStartUs), [&](const SimMessage& m) {
    std::map<std::string, std::string> f(m.fields().begin(), m.fields().end());
    if (f["Event"] == "Newchannel" && f["Channel"].starts_with("PJSIP/100-"))
      rings.push_back(std::chrono::duration<double>(ep->now() - base::from_micros(kStartUs)).count());
  });
  ep = &e;
  TrafficGenerator gen(p);
  gen.focus_soon(e, 2s);  // not started: nothing
  EXPECT_TRUE(e.idle());
  gen.start(e);
  e.run_until(e.now() + 10s);
  EXPECT_TRUE(rings.empty());
  gen.focus_soon(e, 2s);
  e.run_until(e.now() + 3s);
  ASSERT_EQ(rings.size(), 1u);
  EXPECT_NEAR(rings[0], 12.0, 0.01);
  gen.focus_soon(e, 2s);  // busy: it rings already
  e.run_until(e.now() + 5s);
  EXPECT_EQ(rings.size(), 1u);
  e.run_until(base::from_micros(kStartUs) + 200s);
  for (double r : rings) EXPECT_NE(r, 100.0) << "the replaced first call does not come as well";
  for (std::size_t i = 1; i < rings.size(); ++i) EXPECT_GE(rings[i] - rings[i - 1], 20.0 - 1e-6);
  EXPECT_EQ(gen.focus_calls(), rings.size());
}

TEST(SimTraffic, FocusMustBeASeat) {
  TrafficProfile p;
  p.focus_ext = "199";
  auto st = p.validate();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("focus_ext"), std::string::npos);
  p.focus_ext = "101";
  p.focus_ring_max_s = 1;
  EXPECT_FALSE(p.validate());
}

}  // namespace
}  // namespace callbridge::sim
