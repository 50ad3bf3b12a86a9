// Call flows the fixture folders lack (pickup, park, follow-me, busy, cancel, call waiting,
// withheld numbers, transfer to an external number) as hand-written AMI streams in the shape
// Asterisk 22 emits them, plus malformed and out-of-order input. Drives the real FrameReader and
// AmiCallTracker through replay_streams().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fixture_replay.hpp"

namespace callbridge::testing {
namespace {

using model::Direction;
using model::Disposition;

constexpr double kBase = 1795382753.0;

struct Ch {
  std::string name, uid, linkedid, cid, cname, exten = "s";
  int state = 0;
};

const char* state_desc(int s) {
  switch (s) {
    case 4: return "Ring";
    case 5: return "Ringing";
    case 6: return "Up";
    default: return "Down";
  }
}

class Script {
 public:
  // A real session start: banner + the Login response (ActionID `login`, as AmiProtocol sends it).
  Script() : out_("Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\nMessage: ok\r\n\r\n") {}

  Script& raw(const std::string& event, std::vector<std::pair<std::string, std::string>> h,
              std::optional<double> t) {
    out_ += "Event: " + event + "\r\nPrivilege: call,all\r\n";
    if (t) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6f", kBase + *t);
      out_ += std::string("Timestamp: ") + buf + "\r\n";
    }
    for (const auto& [k, v] : h) out_ += k + ": " + v + "\r\n";
    out_ += "\r\n";
    return *this;
  }
  static std::vector<std::pair<std::string, std::string>> chan(const Ch& c, const std::string& p = "") {
    return {{p + "Channel", c.name},
            {p + "ChannelState", std::to_string(c.state)},
            {p + "ChannelStateDesc", state_desc(c.state)},
            {p + "CallerIDNum", c.cid},
            {p + "CallerIDName", c.cname},
            {p + "Exten", c.exten},
            {p + "Context", "from-internal"},
            {p + "Uniqueid", c.uid},
            {p + "Linkedid", c.linkedid}};
  }
  Script& ev(const std::string& event, const Ch& c, double t,
             std::vector<std::pair<std::string, std::string>> extra = {}) {
    auto h = chan(c);
    h.insert(h.end(), extra.begin(), extra.end());
    return raw(event, h, t);
  }
  Script& newchannel(const Ch& c, double t) { return ev("Newchannel", c, t); }
  Script& newstate(Ch& c, int s, double t) {
    c.state = s;
    return ev("Newstate", c, t);
  }
  Script& dial_begin(const Ch* src, const Ch& dst, const std::string& dial, double t) {
    auto h = src ? chan(*src) : decltype(chan(dst)){};
    auto d = chan(dst, "Dest");
    h.insert(h.end(), d.begin(), d.end());
    h.emplace_back("DialString", dial);
    return raw("DialBegin", h, t);
  }
  Script& dial_end(const Ch* src, const Ch& dst, const std::string& status, double t) {
    auto h = src ? chan(*src) : decltype(chan(dst)){};
    auto d = chan(dst, "Dest");
    h.insert(h.end(), d.begin(), d.end());
    h.emplace_back("DialStatus", status);
    return raw("DialEnd", h, t);
  }
  Script& enter(const Ch& c, const std::string& bridge, double t,
                const std::string& tech = "simple_bridge") {
    return ev("BridgeEnter", c, t, {{"BridgeUniqueid", bridge}, {"BridgeTechnology", tech}});
  }
  Script& leave(const Ch& c, const std::string& bridge, double t) {
    return ev("BridgeLeave", c, t, {{"BridgeUniqueid", bridge}});
  }
  Script& hangup(const Ch& c, int cause, double t) {
    return ev("Hangup", c, t, {{"Cause", std::to_string(cause)}});
  }
  // Inbound: trunk channel `tr` calls party `p` which rings from `t`.
  Script& ring(Ch& tr, Ch& p, double t) {
    newchannel(p, t);
    dial_begin(&tr, p, p.name.substr(6, 3), t);
    return newstate(p, 5, t);
  }
  Script& answer(Ch& tr, Ch& p, const std::string& bridge, double t) {
    newstate(p, 6, t);
    dial_end(&tr, p, "ANSWER", t);
    newstate(tr, 6, t);
    enter(p, bridge, t);
    return enter(tr, bridge, t);
  }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

Ch trunk(const std::string& uid, const std::string& cid = "+4989123456") {
  return Ch{"PJSIP/trunk-" + uid, uid, uid, cid, "", "+4930555100", 4};
}
Ch phone(const std::string& ext, const std::string& uid, const std::string& linkedid, int state = 0,
         const std::string& exten = "s") {
  return Ch{"PJSIP/" + ext + "-" + uid, uid, linkedid, ext, "Name " + ext, exten, state};
}

base::Timestamp at(double t) {
  return base::from_micros(static_cast<std::int64_t>((kBase + t) * 1e6 + 0.5));
}

const model::JournalEntry* find(const ReplayResult& r, const std::string& party,
                                std::optional<std::string> remote) {
  for (const auto& e : r.entries) {
    if (e.party == party && e.remote == remote) return &e;
  }
  return nullptr;
}

ReplayResult run(const Script& s) {
  ReplayResult r = replay_streams({s.bytes()});
  EXPECT_TRUE(r.error.empty()) << r.error;
  return r;
}

TEST(AmiScenario, PickupWhereThePickerKeepsItsChannel) {
  Ch tr = trunk("u1");
  Ch p100 = phone("100", "u2", "u1");
  Ch p101 = phone("101", "u3", "u3", 4, "*8");
  Script s;
  s.newchannel(tr, 0).ring(tr, p100, 0.01).newchannel(p101, 2);
  s.raw("Pickup", {{"Channel", p101.name}, {"Uniqueid", p101.uid}, {"TargetChannel", p100.name},
                   {"TargetUniqueid", p100.uid}}, 2.1);
  s.dial_end(&tr, p100, "CANCEL", 2.2).hangup(p100, 26, 2.2);
  s.newstate(p101, 6, 2.25).enter(p101, "b1", 2.3).enter(tr, "b1", 2.3);
  s.hangup(tr, 16, 10).hangup(p101, 16, 10);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* a = find(r, "100", "+4989123456");
  ASSERT_NE(a, nullptr) << r.jsonl();
  EXPECT_EQ(a->disposition, Disposition::answered_elsewhere);
  const auto* b = find(r, "101", "+4989123456");
  ASSERT_NE(b, nullptr) << r.jsonl();
  EXPECT_EQ(b->direction, Direction::inbound);
  EXPECT_EQ(b->disposition, Disposition::answered);
  EXPECT_EQ(b->started_at, at(2.3));
  EXPECT_EQ(b->ended_at, at(10));
}

// Directed pickup through the API (Originate of 102 into PickupChan of 101's ringing channel), in
// the two orders a live Asterisk 22 emits it (tests/live pickup_via_line, 1 run in ~12): the
// caller's Dial ends ANSWER naming the picker, a channel it never dialed; the Pickup event comes
// before the picker's BridgeEnter, or after it (Pickup and the bridge travel on different stasis
// topics). Either way the picker's own originated call is no call: the caller is handed to it
// (CSTA transferred, not established) and its entry is the inbound call from the pickup on.
void pickup_through_api(bool pickup_after_bridge) {
  SCOPED_TRACE(pickup_after_bridge ? "Pickup after BridgeEnter" : "Pickup before BridgeEnter");
  Ch tr = trunk("u1");
  Ch p101 = phone("101", "u2", "u1");
  Ch p102 = phone("102", "u3", "u3");
  Script s;
  s.newchannel(tr, 0).ring(tr, p101, 0.01);
  s.newchannel(p102, 1).dial_begin(nullptr, p102, "102", 1).newstate(p102, 5, 1);
  s.newstate(p102, 6, 3).dial_end(nullptr, p102, "ANSWER", 3);
  s.dial_end(&tr, p102, "ANSWER", 3.01).newstate(tr, 6, 3.01);
  auto pickup = [&] {
    s.raw("Pickup", {{"Channel", p102.name}, {"Uniqueid", p102.uid}, {"TargetChannel", p101.name},
                     {"TargetUniqueid", p101.uid}}, 3.02);
  };
  if (!pickup_after_bridge) pickup();
  s.enter(p102, "b1", 3.03).enter(tr, "b1", 3.03);
  if (pickup_after_bridge) pickup();
  s.hangup(p101, 26, 3.04);
  s.leave(p102, "b1", 5).leave(tr, "b1", 5).hangup(p102, 16, 5).hangup(tr, 16, 5);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* a = find(r, "101", "+4989123456");
  ASSERT_NE(a, nullptr) << r.jsonl();
  EXPECT_EQ(a->disposition, Disposition::answered_elsewhere);
  const auto* b = find(r, "102", "+4989123456");
  ASSERT_NE(b, nullptr) << r.jsonl();
  EXPECT_EQ(b->direction, Direction::inbound);
  EXPECT_EQ(b->disposition, Disposition::answered);
  EXPECT_EQ(b->started_at, at(3.03));  // talks from the bridge on
  EXPECT_EQ(b->ended_at, at(5));
  std::vector<model::CallEventType> ev102;
  for (const auto& e : r.events)
    if (e.device == "102") ev102.push_back(e.type);
  using T = model::CallEventType;
  EXPECT_NE(std::find(ev102.begin(), ev102.end(), T::transferred), ev102.end()) << r.jsonl();
  EXPECT_EQ(std::find(ev102.begin(), ev102.end(), T::established), ev102.end()) << r.jsonl();
  EXPECT_EQ(ev102.back(), T::connection_cleared) << r.jsonl();
}

TEST(AmiScenario, PickupThroughTheApiHandsTheCallerOverWhereverThePickupEventComes) {
  pickup_through_api(false);
  pickup_through_api(true);
}

TEST(AmiScenario, PickupByMasqueradeRename) {
  Ch tr = trunk("u1");
  Ch p100 = phone("100", "u2", "u1");
  Ch p101 = phone("101", "u3", "u3", 4, "*8");
  Script s;
  s.newchannel(tr, 0).ring(tr, p100, 0.01).newchannel(p101, 2);
  s.raw("Pickup", {{"Channel", p101.name}, {"Uniqueid", p101.uid}, {"TargetChannel", p100.name},
                   {"TargetUniqueid", p100.uid}}, 2.1);
  // The ringing channel takes over the picker's identity; the picker's channel dies as a zombie.
  std::string old100 = p100.name, old101 = p101.name;
  s.raw("Rename", {{"Channel", old100}, {"Newname", old101}, {"Uniqueid", "u2"}}, 2.1);
  s.raw("Rename", {{"Channel", old101}, {"Newname", old100 + "<ZOMBIE>"}, {"Uniqueid", "u3"}}, 2.1);
  p100.name = old101;
  p101.name = old100 + "<ZOMBIE>";
  s.hangup(p101, 16, 2.15);
  s.newstate(p100, 6, 2.2).dial_end(&tr, p100, "ANSWER", 2.2).enter(p100, "b1", 2.3).enter(tr, "b1", 2.3);
  s.hangup(tr, 16, 10).hangup(p100, 16, 10);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* a = find(r, "100", "+4989123456");
  ASSERT_NE(a, nullptr) << r.jsonl();
  EXPECT_EQ(a->disposition, Disposition::answered_elsewhere);
  const auto* b = find(r, "101", "+4989123456");
  ASSERT_NE(b, nullptr) << r.jsonl();
  EXPECT_EQ(b->disposition, Disposition::answered);
  EXPECT_EQ(b->direction, Direction::inbound);
  EXPECT_NEAR(base::to_micros(b->started_at) / 1e6 - kBase, 2.1, 0.25);
}

TEST(AmiScenario, ParkAndRetrieve) {
  Ch tr = trunk("u1");
  Ch p100 = phone("100", "u2", "u1");
  Script s;
  s.newchannel(tr, 0).ring(tr, p100, 0.01).answer(tr, p100, "b1", 2);
  s.raw("BlindTransfer", {{"Result", "Success"}, {"TransfererChannel", p100.name},
                          {"TransfererUniqueid", "u2"}, {"TransfereeChannel", tr.name},
                          {"TransfereeUniqueid", "u1"}, {"Extension", "700"}}, 5);
  s.leave(tr, "b1", 5).leave(p100, "b1", 5).hangup(p100, 16, 5.05);
  s.raw("ParkedCall", {{"ParkeeChannel", tr.name}, {"ParkeeUniqueid", "u1"},
                       {"ParkerDialString", "PJSIP/100"}, {"ParkingSpace", "701"}}, 5.2);
  s.enter(tr, "park-1", 5.2, "holding_bridge");
  Ch p101 = phone("101", "u3", "u3", 4, "701");
  s.newchannel(p101, 10);
  s.raw("UnParkedCall", {{"ParkeeUniqueid", "u1"}, {"RetrieverUniqueid", "u3"}}, 10.05);
  s.leave(tr, "park-1", 10.1).newstate(p101, 6, 10.1).enter(p101, "b2", 10.1).enter(tr, "b2", 10.1);
  s.hangup(tr, 16, 20).hangup(p101, 16, 20);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* a = find(r, "100", "+4989123456");
  ASSERT_NE(a, nullptr) << r.jsonl();
  EXPECT_EQ(a->transferred_to, "701");
  EXPECT_EQ(a->ended_at, at(5));
  const auto* b = find(r, "101", "+4989123456");
  ASSERT_NE(b, nullptr) << r.jsonl();
  EXPECT_EQ(b->direction, Direction::inbound);
  EXPECT_EQ(b->transferred_from, "100");
  EXPECT_EQ(b->started_at, at(10.1));
  EXPECT_EQ(b->disposition, Disposition::answered);
}

TEST(AmiScenario, FollowMeToMobileThroughLocalChannels) {
  Ch tr = trunk("u1");
  Ch l1{"Local/100@followme-00000001;1", "u2", "u1", "", "", "100", 0};
  Ch l2{"Local/100@followme-00000001;2", "u3", "u1", "", "", "100", 4};
  Ch p100 = phone("100", "u4", "u1");
  Ch mob{"PJSIP/trunk-u5", "u5", "u1", "", "", "s", 0};
  Script s;
  s.newchannel(tr, 0).newchannel(l1, 0.01).newchannel(l2, 0.01);
  s.raw("LocalBridge", {{"LocalOneChannel", l1.name}, {"LocalOneUniqueid", "u2"},
                        {"LocalTwoChannel", l2.name}, {"LocalTwoUniqueid", "u3"}}, 0.01);
  s.dial_begin(&tr, l1, "Local/100@followme", 0.01);
  s.newchannel(p100, 0.02).dial_begin(&l2, p100, "PJSIP/100", 0.02).newstate(p100, 5, 0.02);
  s.newchannel(mob, 0.02).dial_begin(&l2, mob, "PJSIP/+4917012345@trunk", 0.02);
  s.newstate(mob, 6, 5).dial_end(&l2, mob, "ANSWER", 5).dial_end(&l2, p100, "CANCEL", 5);
  s.hangup(p100, 26, 5).enter(mob, "b2", 5).enter(l2, "b2", 5);
  s.dial_end(&tr, l1, "ANSWER", 5.1).enter(l1, "b1", 5.1).enter(tr, "b1", 5.1);
  s.hangup(tr, 16, 20).hangup(l1, 16, 20).hangup(l2, 16, 20).hangup(mob, 16, 20);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].party, "100");
  EXPECT_EQ(r.entries[0].remote, "+4989123456");
  EXPECT_EQ(r.entries[0].direction, Direction::inbound);
  EXPECT_EQ(r.entries[0].disposition, Disposition::answered_elsewhere);
}

TEST(AmiScenario, OutboundBusy) {
  Ch p101 = phone("101", "u1", "u1", 4, "0891234567");
  Ch out{"PJSIP/trunk-u2", "u2", "u1", "", "", "s", 0};
  Script s;
  s.newchannel(p101, 0).newchannel(out, 0.01).dial_begin(&p101, out, "+49891234567@trunk", 0.01);
  s.dial_end(&p101, out, "BUSY", 1).hangup(out, 17, 1).hangup(p101, 17, 1.01);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].direction, Direction::outbound);
  EXPECT_EQ(r.entries[0].remote, "+49891234567");
  EXPECT_EQ(r.entries[0].disposition, Disposition::busy);
  bool failed_event = false;
  for (const auto& e : r.events) failed_event |= e.type == model::CallEventType::failed;
  EXPECT_TRUE(failed_event);
}

TEST(AmiScenario, InternalCallCancelledBeforeAnswer) {
  Ch p100 = phone("100", "u1", "u1", 4, "102");
  Ch p102 = phone("102", "u2", "u1");
  Script s;
  s.newchannel(p100, 0).newchannel(p102, 0.01).dial_begin(&p100, p102, "102", 0.01);
  s.newstate(p102, 5, 0.01).dial_end(&p100, p102, "CANCEL", 3).hangup(p102, 16, 3).hangup(p100, 16, 3);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* a = find(r, "100", "102");
  const auto* b = find(r, "102", "100");
  ASSERT_TRUE(a && b) << r.jsonl();
  EXPECT_EQ(a->disposition, Disposition::no_answer);
  EXPECT_EQ(a->direction, Direction::internal);
  EXPECT_EQ(b->disposition, Disposition::missed);
}

TEST(AmiScenario, CallWaitingSecondCallerMissed) {
  Ch t1 = trunk("u1");
  Ch a = phone("100", "u2", "u1");
  Ch t2 = trunk("u3", "+4930111222");
  Ch b = phone("100", "u4", "u3");
  Script s;
  s.newchannel(t1, 0).ring(t1, a, 0).answer(t1, a, "b1", 1);
  s.newchannel(t2, 3).ring(t2, b, 3).dial_end(&t2, b, "CANCEL", 8).hangup(b, 127, 8).hangup(t2, 127, 8);
  s.hangup(t1, 16, 10).hangup(a, 16, 10);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 2u) << r.jsonl();
  const auto* first = find(r, "100", "+4989123456");
  const auto* second = find(r, "100", "+4930111222");
  ASSERT_TRUE(first && second) << r.jsonl();
  EXPECT_EQ(first->disposition, Disposition::answered);
  EXPECT_EQ(second->disposition, Disposition::missed);
  EXPECT_NE(first->call_id, second->call_id);
}

TEST(AmiScenario, DeclinedWithCause21IsRejected) {
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).dial_end(&tr, p, "CHANUNAVAIL", 2).hangup(p, 21, 2).hangup(tr, 21, 2);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].disposition, Disposition::rejected);
}

TEST(AmiScenario, WithheldCaller) {
  Ch tr = trunk("u1", "anonymous");
  Ch p = phone("100", "u2", "u1");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1).hangup(tr, 16, 4).hangup(p, 16, 4);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].remote, std::nullopt);
  EXPECT_TRUE(r.entries[0].remote_withheld);
  EXPECT_EQ(r.entries[0].direction, Direction::inbound);
}

TEST(AmiScenario, BlindTransferToExternalNumber) {
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Ch out{"PJSIP/trunk-u3", "u3", "u1", "", "", "s", 0};
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1);
  s.raw("BlindTransfer", {{"Result", "Success"}, {"TransfererUniqueid", "u2"},
                          {"TransfereeUniqueid", "u1"}, {"Extension", "0891111111"}}, 3);
  s.leave(tr, "b1", 3).leave(p, "b1", 3).hangup(p, 16, 3);
  s.newchannel(out, 3.1).dial_begin(&tr, out, "+49891111111@trunk", 3.1);
  s.dial_end(&tr, out, "ANSWER", 5).enter(out, "b2", 5).enter(tr, "b2", 5);
  s.hangup(tr, 16, 9).hangup(out, 16, 9);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].transferred_to, "+49891111111");
  EXPECT_EQ(r.entries[0].ended_at, at(3));
}

TEST(AmiScenario, MalformedAndOutOfOrderInputKeepsStateConsistent) {
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Script s;
  s.hangup(Ch{"PJSIP/100-zz", "nope", "nope", "", "", "s", 0}, 16, 0);  // unknown channel
  s.raw("BridgeEnter", {{"BridgeUniqueid", "b9"}}, 0);         // no channel at all
  s.raw("DialBegin", {{"Channel", tr.name}, {"Uniqueid", "u1"}}, 0);  // no destination
  s.raw("DialEnd", {{"DestUniqueid", "ghost"}, {"DialStatus", "ANSWER"}}, 0);
  s.raw("SomethingNew", {{"Foo", "bar"}}, 0);                  // unknown event
  s.raw("Hold", {{"Uniqueid", "ghost"}}, 0);
  s.raw("AttendedTransfer", {{"Result", "Success"}}, 0);       // nothing known
  s.raw("BlindTransfer", {{"Result", "Fail"}, {"TransfererUniqueid", "u2"}}, 0);
  s.raw("Newstate", {{"Uniqueid", "u1"}, {"ChannelState", "x"}}, 0);  // before Newchannel
  s.raw("Newchannel", {{"Channel", tr.name}, {"Uniqueid", "u1"}, {"Timestamp", "garbage"}}, std::nullopt);
  s.ring(tr, p, 0.5);
  s.enter(p, "b1", 1).enter(p, "b1", 1).enter(tr, "b1", 1);    // duplicate BridgeEnter
  s.raw("BridgeMerge", {{"ToBridgeUniqueid", "b1"}, {"FromBridgeUniqueid", "b1"}}, 1.5);
  s.raw("Unhold", p.name.empty() ? std::vector<std::pair<std::string, std::string>>{}
                                 : Script::chan(p), 2);         // lone Unhold
  s.hangup(p, 16, 4).hangup(p, 16, 4).hangup(tr, 16, 4);      // duplicate Hangup
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].disposition, Disposition::answered);
  EXPECT_EQ(r.entries[0].answered_at, at(1));
  EXPECT_GE(r.stats.unknown_channel, 3u);
}

TEST(AmiScenario, UnterminatedCallsAreFlushedAtTheEnd) {
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1);
  ReplayResult r = run(s);  // the stream ends mid-call: flush() closes it
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].ended_at, at(1));
}

}  // namespace
}  // namespace callbridge::testing

namespace callbridge::testing {
namespace {

std::string resync_item(const std::string& event, const std::string& action, const Ch& c,
                        const std::string& app, const std::string& bridge, const std::string& conn,
                        const std::string& duration) {
  std::string s = "Event: " + event + "\r\nActionID: " + action + "\r\n";
  for (const auto& [k, v] : Script::chan(c)) s += k + ": " + v + "\r\n";
  s += "ConnectedLineNum: " + conn + "\r\nApplication: " + app + "\r\nDuration: " + duration +
       "\r\nBridgeId: " + bridge + "\r\n\r\n";
  return s;
}

// Found by fuzz_ami_replay (UBSan: signed overflow): a listed channel whose Duration has more
// digits than an int holds. An age beyond any real call's counts as unknown (the call starts at
// the resync), never as decades ago or an overflow.
TEST(AmiScenario, ListedChannelWithAnAbsurdDurationStartsAtTheResync) {
  for (const char* duration : {"891230020:00:00", "99999999999999999999", "00:00:99999999999"}) {
    Ch p101 = phone("101", "u1", "u1", 6, "");
    Ch out{"PJSIP/trunk-u2", "u2", "u1", "+4930555101", "", "", 6};
    std::string s2 = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n";
    s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", p101, "Dial", "b1", "+4989123456",
                      duration);
    s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", out, "AppDial", "b1", "101", duration);
    s2 += "Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\n\r\n";
    Script tail;
    tail.hangup(p101, 16, 20).hangup(out, 16, 20);
    ReplayResult r =
        replay_streams({Script().bytes(), s2 + tail.bytes().substr(tail.bytes().find("Event:"))});
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.entries.size(), 1u) << duration << "\n" << r.jsonl();
    EXPECT_EQ(r.entries[0].started_at, at(20)) << duration << "\n" << r.jsonl();
  }
}

TEST(AmiScenario, OutboundCallFirstSeenInResync) {
  // Session 1 knew nothing; session 2's resync shows 101 talking to the trunk for 10 s.
  Ch p101 = phone("101", "u1", "u1", 6, "");
  Ch out{"PJSIP/trunk-u2", "u2", "u1", "+4930555101", "", "", 6};
  std::string s2 = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n";
  s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", p101, "Dial", "b1", "+4989123456",
                    "00:00:10");
  s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", out, "AppDial", "b1", "101",
                    "00:00:10");
  s2 += "Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\n\r\n";
  Script tail;  // its banner and login response are dropped: only the events are appended
  tail.hangup(p101, 16, 20).hangup(out, 16, 20);
  ReplayResult r =
      replay_streams({Script().bytes(), s2 + tail.bytes().substr(tail.bytes().find("Event:"))});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  const auto& e = r.entries[0];
  EXPECT_EQ(e.party, "101");
  EXPECT_EQ(e.direction, Direction::outbound);
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_TRUE(e.answered_at.has_value());
  EXPECT_EQ(e.started_at, at(10));  // 10 s before the first timestamp seen (Duration 00:00:10)
  EXPECT_EQ(e.ended_at, at(20));
}

// Found on the simulator under load (ctest, 1 run in 12 with 8 at once); Asterisk's action
// responses can overtake its queued events the same way. The driver's directed pickup (Originate
// of 102 into PickupChan) was sent while the login's resync was still asking its lists: 102's new
// channel appeared in the Status list, after CoreShowChannelsComplete, before its Newchannel.
// Opened from that list it was a ringing inbound call of 102 with an estimated start; when
// PickupChan found the call already answered, 102 got a missed call. A channel that only a later
// list names is left to its own events, which follow on this session: no entry for the picker.
TEST(AmiScenario, ChannelListedByALaterListBeforeItsNewchannelIsLeftToItsLiveEvents) {
  Ch tr = trunk("u1");
  Ch p101 = phone("101", "u2", "u1", 5, "101");
  Ch p102 = phone("102", "u3", "u3", 5, "s");  // the picker's originated channel
  std::string s2 = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n";
  s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", tr, "Dial", "", "101", "00:00:00");
  s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", p101, "AppDial", "", "+4989123456",
                    "00:00:00");
  s2 += "Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\n\r\n";
  s2 += resync_item("Status", "resync-Status", tr, "Dial", "", "101", "");
  s2 += resync_item("Status", "resync-Status", p101, "AppDial", "", "+4989123456", "");
  s2 += resync_item("Status", "resync-Status", p102, "AppDial2", "", "+4989123456", "");
  s2 += "Event: StatusComplete\r\nActionID: resync-Status\r\n\r\n";
  Script tail;
  p102.state = 0;
  tail.newchannel(p102, 0.1).dial_begin(nullptr, p102, "102", 0.1).newstate(p102, 5, 0.1);
  tail.answer(tr, p101, "b1", 1);
  tail.newstate(p102, 6, 2);
  tail.raw("OriginateResponse", {{"ActionID", "pickup-0001"}, {"Response", "Success"}, {"Channel", "PJSIP/102"},
                                 {"Application", "PickupChan"}, {"Data", p101.name}, {"Reason", "4"},
                                 {"Uniqueid", p102.uid}},
           2);
  tail.hangup(p102, 0, 2);
  tail.hangup(p101, 16, 3).hangup(tr, 16, 3);
  ReplayResult r =
      replay_streams({Script().bytes(), s2 + tail.bytes().substr(tail.bytes().find("Event:"))});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].party, "101") << r.jsonl();
  EXPECT_EQ(r.entries[0].disposition, Disposition::answered) << r.jsonl();
}

}  // namespace
}  // namespace callbridge::testing

namespace callbridge::testing {
namespace {

// Found by fuzz_ami_tracker: a channel first listed Up (a resync list still in progress), then
// announced again by a Newchannel in state Ring, started a call whose hangup took the old Up time
// as its answer: answered 5 s before it started (ring -5 s). A channel that is no longer Up has
// no answer time to lend; a leg's times stay ordered whatever the order of the events.
TEST(AmiScenario, ChannelListedUpThenAnnouncedRingingIsNotAnsweredBeforeItStarts) {
  Ch p = phone("100", "u8", "u8", 6, "089123456");
  std::string s2 = "Asterisk Call Manager/11.0.0\r\nResponse: Success\r\nActionID: login\r\n\r\n";
  s2 += resync_item("CoreShowChannel", "resync-CoreShowChannels", p, "AppDial", "", "089123001",
                    "00:00:05");
  Script tail;
  p.state = 4;
  tail.newchannel(p, 7).hangup(p, 127, 7.5);
  ReplayResult r =
      replay_streams({Script().bytes(), s2 + tail.bytes().substr(tail.bytes().find("Event:"))});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_FALSE(r.entries.empty());
  for (const auto& e : r.entries) {
    EXPECT_LE(e.started_at, e.ended_at) << r.jsonl();
    if (e.answered_at) {
      EXPECT_LE(e.started_at, *e.answered_at) << r.jsonl();
      EXPECT_LE(*e.answered_at, e.ended_at) << r.jsonl();
    }
    EXPECT_GE(e.ring_s(), 0.0) << r.jsonl();
  }
}

TEST(AmiScenario, ClickToDialOwnPhoneNeverAnswers) {
  Ch p100 = phone("100", "u1", "u1", 0);
  p100.cid = "089123456";  // Originate's CallerID on the party's own phone
  Script s;
  s.newchannel(p100, 0).dial_begin(nullptr, p100, "100", 0.01).newstate(p100, 5, 0.01);
  s.dial_end(nullptr, p100, "NOANSWER", 30).hangup(p100, 19, 30);
  s.raw("OriginateResponse", {{"ActionID", "c2d-0002"}, {"Response", "Failure"},
                              {"Channel", "PJSIP/100"}, {"Context", "from-internal"},
                              {"Exten", "089123456"}, {"Reason", "3"}, {"Uniqueid", "<null>"}},
        30.01);
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  const auto& e = r.entries[0];
  EXPECT_EQ(e.party, "100");
  EXPECT_EQ(e.direction, Direction::outbound);
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_EQ(e.disposition, Disposition::no_answer);
  EXPECT_EQ(e.started_at, at(0.01));
  EXPECT_EQ(e.ended_at, at(30));
}

TEST(AmiScenario, ClickToDialWithoutOriginateResponseIsStillWritten) {
  Ch p100 = phone("100", "u1", "u1", 0);
  Script s;
  s.newchannel(p100, 0).dial_begin(nullptr, p100, "100", 0.01).newstate(p100, 5, 0.01);
  s.hangup(p100, 19, 30);
  Ch other = trunk("u9");
  s.newchannel(other, 40).hangup(other, 16, 41);  // time moves on past the wait
  ReplayResult r = run(s);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].remote, std::nullopt);
  EXPECT_EQ(r.entries[0].ended_at, at(30));
}

}  // namespace
}  // namespace callbridge::testing

namespace callbridge::testing {
namespace {

TEST(TrackerDefaults, NumberClassificationAndCanonicalForm) {
  using drivers::ami::default_canonical_remote;
  using drivers::ami::default_is_internal_number;
  EXPECT_TRUE(default_is_internal_number("100"));
  EXPECT_TRUE(default_is_internal_number("800"));
  EXPECT_TRUE(default_is_internal_number("*97"));
  EXPECT_FALSE(default_is_internal_number("089123456"));
  EXPECT_FALSE(default_is_internal_number("+4989123456"));
  EXPECT_FALSE(default_is_internal_number("1"));
  // No dialing plan, no invented country: only "+..." becomes E.164, the rest stays as reported.
  EXPECT_EQ(default_canonical_remote("089123456"), "089123456");
  EXPECT_EQ(default_canonical_remote("0041441234567"), "0041441234567");
  EXPECT_EQ(default_canonical_remote("+49 89 123456"), "+4989123456");
  EXPECT_EQ(default_canonical_remote("+1 (650) 253-0000"), "+16502530000");
  EXPECT_EQ(default_canonical_remote("123456"), "123456");
  EXPECT_EQ(default_canonical_remote("sip:alice@example.com"), "sip:alice@example.com");
  EXPECT_EQ(default_canonical_remote("+49 CALL"), "+49 CALL");
  EXPECT_EQ(default_canonical_remote("+"), "+");
  EXPECT_EQ(default_canonical_remote(""), "");
}

// Regression: a tenant without a dialing plan got "+49" in front of every national number. The
// lab's outbound call to 089123456 (a German PBX) is journaled as dialed when no plan says so,
// and as +4989123456 with the lab's plan (country 49).
TEST(TrackerDefaults, WithoutADialingPlanNumbersStayAsThePbxReportedThem) {
  const std::string log = std::string(CALLBRIDGE_FIXTURES_DIR) + "/outbound_dial/ami.log";
  ReplayOptions no_plan;
  no_plan.tracker = drivers::ami::TrackerOptions{.tenant = base::TenantId("default")};
  ReplayResult r = replay_files({log}, no_plan);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].remote, "089123456");
  ReplayResult lab = replay_files({log});
  ASSERT_EQ(lab.entries.size(), 1u) << lab.jsonl();
  EXPECT_EQ(lab.entries[0].remote, "+4989123456");
}

TEST(TrackerOptionsHook, CustomNumberRulesAreUsed) {
  Ch tr = trunk("u1", "0301234567");
  Ch p = phone("100", "u2", "u1");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1).hangup(tr, 16, 3).hangup(p, 16, 3);
  ReplayOptions opt;
  opt.tracker.tenant = base::TenantId("acme");
  opt.tracker.canonical_remote = [](std::string_view raw) { return "E164(" + std::string(raw) + ")"; };
  ReplayResult r = replay_streams({s.bytes()}, opt);
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].remote, "E164(0301234567)");
  EXPECT_EQ(r.entries[0].tenant, "acme");
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events[0].tenant, "acme");
}

}  // namespace
}  // namespace callbridge::testing

namespace callbridge::testing {
namespace {

TEST(AmiScenario, LinkedidChangeMergesConversations) {
  // A channel that reports a new Linkedid joins that conversation: entries wait for both.
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Ch t2 = trunk("u3", "+4930999");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1);
  s.newchannel(t2, 2);
  tr.linkedid = "u3";
  s.newstate(tr, 6, 3);  // now reports Linkedid u3
  s.hangup(p, 16, 4).hangup(tr, 16, 4);
  ReplayResult partial = run(s);
  s.hangup(t2, 16, 6);
  ReplayResult full = run(s);
  ASSERT_EQ(full.entries.size(), 1u) << full.jsonl();
  EXPECT_EQ(full.entries[0].call_id, "u3");
  EXPECT_EQ(full.entries[0].ended_at, at(4));
  ASSERT_EQ(partial.entries.size(), 1u) << "flushed at the end of the stream";
}

TEST(AmiScenario, AttendedTransferIntoConferenceNamesTheRoom) {
  Ch tr = trunk("u1");
  Ch p = phone("100", "u2", "u1");
  Ch consult = phone("100", "u3", "u3", 4, "800");
  Script s;
  s.newchannel(tr, 0).ring(tr, p, 0).answer(tr, p, "b1", 1);
  s.raw("Hold", Script::chan(p), 2);
  s.newchannel(consult, 3).newstate(consult, 6, 3.1).enter(consult, "conf1", 3.2, "softmix");
  s.raw("AttendedTransfer", {{"Result", "Success"}, {"OrigTransfererUniqueid", "u2"},
                             {"SecondTransfererUniqueid", "u3"}, {"TransfereeUniqueid", "u1"},
                             {"DestType", "App"}, {"DestApp", "ConfBridge"}}, 5);
  s.leave(consult, "conf1", 5).hangup(consult, 16, 5).leave(p, "b1", 5).hangup(p, 16, 5);
  s.leave(tr, "b1", 5.1).enter(tr, "conf1", 5.1, "softmix").hangup(tr, 16, 9);
  ReplayResult r = run(s);
  const auto* orig = find(r, "100", "+4989123456");
  ASSERT_NE(orig, nullptr) << r.jsonl();
  EXPECT_EQ(orig->transferred_to, "800");
  EXPECT_NEAR(orig->hold_s, 3.0, 0.01);
  const auto* conf = find(r, "100", "800");
  ASSERT_NE(conf, nullptr) << r.jsonl();
  EXPECT_EQ(conf->direction, Direction::internal);
  EXPECT_EQ(conf->ended_at, at(5));
  EXPECT_EQ(r.entries.size(), 2u) << r.jsonl();
}

}  // namespace
}  // namespace callbridge::testing
