// Faults between callbridge and Asterisk, replayed deterministically from the real captures
// (tests/fixtures/asterisk-22): an AMI connection drop at every phase of a call (the lost events
// are cut out of the capture and the second session starts with the resync lists Asterisk would
// answer, support/ami_gap.*), a callbridged restart (kill -9: the tracker is dropped without a
// flush) with and without the open-call state a journal store keeps, and an Asterisk restart (the
// resync lists nothing). Each test is named after the bug it pins (issue #11). No sockets.
#include <gtest/gtest.h>

#include <map>

#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_replay.hpp"
#include "fixture_replay.hpp"
#include "support/ami_gap.hpp"

namespace callbridge::testing {
namespace {

namespace ami = drivers::ami;
using model::Disposition;
using model::JournalEntry;

const std::string kDir = CALLBRIDGE_FIXTURES_DIR;

AmiCapture capture(const std::string& scenario) {
  return AmiCapture::parse(read_file(kDir + "/" + scenario + "/ami.log"));
}

double secs(base::Timestamp a, base::Timestamp b) {
  return std::chrono::duration<double>(b - a).count();
}
base::Timestamp at(const std::string& rfc3339) {
  auto t = base::parse_rfc3339(rfc3339);
  EXPECT_TRUE(t) << rfc3339;
  return t.value_or(base::Timestamp{});
}
std::string dump(const std::vector<JournalEntry>& v) {
  std::string s;
  for (const auto& e : v) s += model::to_json_line(e) + "\n";
  return s;
}

// inbound_answered: DialBegin 53.711 (ring), second BridgeEnter 55.719 (answer), Hangup 58.727.
struct Inbound {
  AmiCapture c = capture("inbound_answered");
  base::Timestamp ring = at("2026-11-22T21:25:53.711Z");
  base::Timestamp answer = at("2026-11-22T21:25:55.719Z");
  base::Timestamp end = at("2026-11-22T21:25:58.727Z");
  std::size_t dial_begin = c.after({"Event: DialBegin"});
  std::size_t answered = c.after({"Event: BridgeEnter", "PJSIP/trunk"});
  std::size_t first_hangup = *c.find({"Event: Hangup"});
  std::size_t newchannel = *c.find({"Event: Newchannel"});
};

TEST(AmiDropResync, DropWhileRingingAnsweredInTheGapIsOneAnsweredEntryNotAPhantomMissed) {
  // Issue #11, live: every call in progress at a drop was journaled twice (missed + answered).
  Inbound in;
  auto g = cut_with_gap(in.c, in.dial_begin, in.answered);
  ASSERT_GT(g.lost_messages, 0u);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  const JournalEntry& e = r.entries[0];
  EXPECT_EQ(e.party, "100");
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_EQ(e.disposition, Disposition::answered);
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.01) << "the ring phase was seen: real start";
  ASSERT_TRUE(e.answered_at);
  // Answered somewhere in the gap (last event before the cut .. first after): its midpoint.
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 1.1);
  EXPECT_EQ(e.estimated, model::kEstimatedAnswer) << model::to_json_line(e);
  EXPECT_NEAR(secs(in.end, e.ended_at), 0.0, 0.01);
}

TEST(AmiDropResync, CallThatStartedInTheGapAndRingsAtResyncIsNotJournaledTwice) {
  // The phantom pair of the live load test: a call first seen ringing in CoreShowChannels got a
  // leg with an unknown caller, then its BridgeEnter opened a second one.
  Inbound in;
  auto g = cut_with_gap(in.c, in.newchannel, in.dial_begin);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  const JournalEntry& e = r.entries[0];
  EXPECT_EQ(e.disposition, Disposition::answered);
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_EQ(e.direction, model::Direction::inbound);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.01) << "the answer was seen live";
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 1.0) << "from Duration (whole seconds)";
  EXPECT_EQ(e.estimated, model::kEstimatedStart) << model::to_json_line(e);
}

// Found by the fault campaign (tests/faults): an outbound call first seen in a resync was
// journaled with the party's own company number as remote. The lab's pre-dial handler presents
// +4930555101 on the trunk, and Asterisk hands that back to the phone as its connected line; what
// the party dialed is its channel's extension while it runs Dial.
TEST(AmiDropResync, OutboundCallFirstSeenInAResyncNamesTheDialedNumberNotOurOwnPresentedNumber) {
  AmiCapture c = capture("outbound_dial");
  std::size_t newchannel = *c.find({"Event: Newchannel"});
  std::size_t first_enter = *c.find({"Event: BridgeEnter"});
  std::size_t second_enter = c.after({"Event: BridgeEnter"}, first_enter + 1);  // both talk
  for (std::size_t resume : {c.after({"Event: NewConnectedLine", "ConnectedLineNum: +4930555101"}), second_enter}) {
    auto g = cut_with_gap(c, newchannel, resume);
    ReplayResult r = replay_streams({g.first, g.second});
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
    const JournalEntry& e = r.entries[0];
    EXPECT_EQ(e.party, "101");
    EXPECT_EQ(e.direction, model::Direction::outbound) << model::to_json_line(e);
    EXPECT_EQ(e.remote, "+4989123456") << "resume at message " << resume << ": " << model::to_json_line(e);
    EXPECT_EQ(e.disposition, Disposition::answered);
  }
}

// queue: 101 and 102 ring (AgentCalled, DialBegin), 101 ends (answered elsewhere), 102 answers.
struct QueueCall {
  AmiCapture c = capture("queue");
  std::size_t newchannel = *c.find({"Event: Newchannel"});
  std::size_t first_dial = *c.find({"Event: DialBegin"});
  std::size_t both_ringing = c.after({"Event: DialBegin"}, first_dial + 1);
  std::size_t first_enter = *c.find({"Event: BridgeEnter"});
  std::size_t talking = c.after({"Event: BridgeEnter"}, first_enter + 1);
  const JournalEntry* of(const std::vector<JournalEntry>& v, std::string_view party) {
    for (const auto& e : v)
      if (e.party == party) return &e;
    return nullptr;
  }
};

// Found by the fault campaign: queue members are listed with Application AppQueue (not AppDial),
// so a queue call first seen in a resync lost the relation between caller and members; the member
// that did not answer was journaled `missed` instead of `answered_elsewhere`.
TEST(AmiDropResync, QueueCallFirstSeenRingingKnowsItsMembersWereDialedByTheQueue) {
  QueueCall q;
  auto g = cut_with_gap(q.c, q.newchannel, q.both_ringing);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 2u) << dump(r.entries);
  auto* e101 = q.of(r.entries, "101");
  auto* e102 = q.of(r.entries, "102");
  ASSERT_TRUE(e101 && e102) << dump(r.entries);
  EXPECT_EQ(e101->disposition, Disposition::answered_elsewhere) << dump(r.entries);
  EXPECT_EQ(e102->disposition, Disposition::answered);
  EXPECT_EQ(e101->remote, "+4989123456");
  EXPECT_EQ(e102->remote, "+4989123456");
  EXPECT_EQ(e102->estimated, model::kEstimatedStart) << "the answer was seen live: " << dump(r.entries);
}

// Found by the fault campaign: the member that answered in the gap got the gap's midpoint as its
// answer without saying it is an estimate (the other member's end, handled first, refreshed it
// as if live).
TEST(AmiDropResync, QueueMemberAnsweredInTheGapHasItsAnswerMarkedEstimated) {
  QueueCall q;
  auto g = cut_with_gap(q.c, q.both_ringing, q.talking);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 2u) << dump(r.entries);
  auto* e102 = q.of(r.entries, "102");
  ASSERT_TRUE(e102 && e102->answered_at) << dump(r.entries);
  EXPECT_EQ(e102->disposition, Disposition::answered);
  EXPECT_TRUE(e102->estimated & model::kEstimatedAnswer) << dump(r.entries);
}

TEST(AmiDropResync, DropWhileTalkingKeepsRealTimesAndNoEstimates) {
  Inbound in;
  auto g = cut_with_gap(in.c, in.answered, in.first_hangup);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  const JournalEntry& e = r.entries[0];
  EXPECT_EQ(e.estimated, 0) << model::to_json_line(e);
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.01);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.01);
  EXPECT_NEAR(secs(in.end, e.ended_at), 0.0, 0.01);
}

TEST(AmiDropResync, CallThatEndedInTheGapEndsInTheGapWithTheEndMarkedEstimated) {
  Inbound in;
  auto g = cut_with_gap(in.c, in.answered, in.c.messages.size());
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  EXPECT_EQ(r.entries[0].disposition, Disposition::answered);
  EXPECT_EQ(r.entries[0].estimated, model::kEstimatedEnd);
  // The gap runs from the answer to the end of the capture: its midpoint.
  EXPECT_GT(r.entries[0].ended_at, in.answer);
  EXPECT_NEAR(secs(in.end, r.entries[0].ended_at), 0.0, 2.0);
}

TEST(AmiDropResync, RingingCallThatEndedInTheGapSaysItsDispositionIsUnknown) {
  Inbound in;
  auto g = cut_with_gap(in.c, in.dial_begin, in.c.messages.size());
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  EXPECT_EQ(r.entries[0].disposition, Disposition::unknown);
  EXPECT_EQ(r.entries[0].estimated, model::kEstimatedEnd | model::kEstimatedDisposition);
}

TEST(AmiDropResync, DropWhileOnHoldKeepsTheHoldTime) {
  AmiCapture c = capture("hold_retrieve");
  std::size_t cut = c.after({"Event: Hold"});
  std::size_t resume = *c.find({"Event: Unhold"});
  auto g = cut_with_gap(c, cut, resume);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 1u) << dump(r.entries);
  EXPECT_EQ(r.entries[0].disposition, Disposition::answered);
  EXPECT_NEAR(r.entries[0].hold_s, 4.0, 1.0);
  EXPECT_NEAR(r.entries[0].talk_s(), 8.0, 1.0);
  EXPECT_EQ(r.entries[0].estimated, 0);
}

TEST(AmiDropResync, DropAcrossABlindTransferGivesEachPartyOneEntry) {
  // 100 talks to the caller, blind-transfers to 101 (REFER) while the link is down; 101 answers
  // in the gap. Each party: one entry, nothing left open.
  AmiCapture c = capture("blind_transfer");
  std::size_t cut = *c.find({"Event: BlindTransfer"});
  std::size_t enter_101 = *c.find({"Event: BridgeEnter", "PJSIP/101"});
  std::size_t both_in_bridge = c.after({"Event: BridgeEnter"}, enter_101 + 1);
  for (std::size_t resume : {enter_101 + 1, both_in_bridge}) {
    SCOPED_TRACE(resume == both_in_bridge ? "resync: 101 talks to the caller" : "resync: 101 alone in its bridge");
    auto g = cut_with_gap(c, cut, resume);
    ReplayResult r = replay_streams({g.first, g.second});
    ASSERT_TRUE(r.error.empty()) << r.error;
    std::map<std::string, int> per_party;
    for (const auto& e : r.entries) ++per_party[e.party];
    EXPECT_EQ(per_party["100"], 1) << dump(r.entries);
    EXPECT_EQ(per_party["101"], 1) << dump(r.entries);
    EXPECT_EQ(r.entries.size(), 2u) << dump(r.entries);
    for (const auto& e : r.entries) {
      EXPECT_EQ(e.disposition, Disposition::answered) << model::to_json_line(e);
      EXPECT_EQ(e.remote, "+4989123456") << model::to_json_line(e);
      // Found by the fault campaign: 101's ring started unseen; its entry must say so even when
      // its leg opens only at a later live event (it was alone in its bridge at the resync).
      if (e.party == "101") {
        EXPECT_TRUE(e.estimated & model::kEstimatedStart) << model::to_json_line(e);
      }
      if (resume != both_in_bridge) continue;
      // Found by the fault campaign: the hand-over in the gap was not journaled. 100's remote is
      // still there and talks to 101, first seen in the resync: 100 transferred it to 101.
      if (e.party == "100") {
        EXPECT_EQ(e.transferred_to, "101") << model::to_json_line(e);
      }
      if (e.party == "101") {
        EXPECT_EQ(e.transferred_from, "100") << model::to_json_line(e);
      }
    }
  }
}

// attended_transfer_refer: the link is gone from 102's answered consultation (the fourth
// BridgeEnter) until 100's channel has hung up, so the transfer (REFER) completes in the gap.
struct AttendedTransferGap {
  AmiCapture c = capture("attended_transfer_refer");
  std::size_t e1 = *c.find({"Event: BridgeEnter"});
  std::size_t e2 = *c.find({"Event: BridgeEnter"}, e1 + 1);
  std::size_t e3 = *c.find({"Event: BridgeEnter"}, e2 + 1);
  std::size_t consult_answered = c.after({"Event: BridgeEnter"}, e3 + 1);
  std::size_t resume = c.after({"Event: Hangup", "PJSIP/100-00000019"});
};

TEST(AmiDropResync, AttendedTransferCompletedInTheGapGivesNoPhantomConferenceEntries) {
  // 100 talks to the caller and consults 102 (answered); the link drops; 100 completes the
  // transfer (REFER) and hangs up in the gap; the resync lists the caller and 102 in one bridge.
  // Found by the fault campaign (tests/faults): ending 100's gone channels one by one, the tracker
  // saw caller, 102 and 100's consultation channel in one bridge (a conference) and journaled an
  // extra entry with no remote for 100 and 102 (the symptom issue #11 saw live); 102's new leg
  // started at the creation of its consultation channel, and the transfer was not journaled.
  AttendedTransferGap t;
  auto g = cut_with_gap(t.c, t.consult_answered, t.resume);
  ReplayResult r = replay_streams({g.first, g.second});
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.entries.size(), 4u) << dump(r.entries);  // as expected-journal.jsonl: 2 per party
  const JournalEntry* target = nullptr;
  const JournalEntry* transferer = nullptr;
  for (const auto& e : r.entries) {
    EXPECT_TRUE(e.remote) << model::to_json_line(e);
    if (e.party == "102" && e.remote == "+4989123456") target = &e;
    if (e.party == "100" && e.remote == "+4989123456") transferer = &e;
  }
  ASSERT_TRUE(target && transferer) << dump(r.entries);
  base::Timestamp consult_answer = at("2026-11-22T21:28:05.238Z");
  base::Timestamp transfer = at("2026-11-22T21:28:07.242Z");
  EXPECT_GE(target->started_at, consult_answer) << model::to_json_line(*target);
  EXPECT_LE(target->started_at, transfer + std::chrono::milliseconds(100)) << model::to_json_line(*target);
  EXPECT_TRUE(target->estimated & model::kEstimatedStart) << model::to_json_line(*target);
  EXPECT_EQ(target->transferred_from, "100") << model::to_json_line(*target);
  EXPECT_EQ(transferer->transferred_to, "102") << model::to_json_line(*transferer);
}

TEST(AmiDropResync, EveryCutPointOfEveryCaptureGivesOneEntryPerPartyAndNothingOpen) {
  // A drop anywhere (1..5 events lost): never a second entry for a party, never a call left live.
  for (const char* scenario : {"inbound_answered", "inbound_missed", "internal_call", "outbound_dial",
                               "hold_retrieve"}) {
    AmiCapture c = capture(scenario);
    ReplayResult whole = replay_streams({read_file(kDir + "/" + scenario + "/ami.log")});
    std::map<std::string, int> want;
    for (const auto& e : whole.entries) ++want[e.party];
    for (std::size_t cut = 1; cut + 1 < c.messages.size(); ++cut) {
      for (std::size_t lost : {1, 3, 5}) {
        std::size_t resume = std::min(cut + lost, c.messages.size());
        auto g = cut_with_gap(c, cut, resume);
        ReplayResult r = replay_streams({g.first, g.second});
        ASSERT_TRUE(r.error.empty()) << r.error;
        std::map<std::string, int> got;
        for (const auto& e : r.entries) ++got[e.party];
        ASSERT_EQ(got, want) << scenario << " cut " << cut << " lost " << lost << "\n" << dump(r.entries);
        EXPECT_EQ(r.stats.dropped_channels, 0u);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// callbridged restarts (kill -9): open-call state as a journal store keeps it

// What SqliteJournalStore does with the rows, in memory: put/delete, and an entry deletes its row.
struct StateStore {
  std::map<std::string, std::string> rows;
  std::vector<JournalEntry> entries;
  bool lose_entries = false;  // the last batch never committed (entry and its row delete lost)
  ami::AmiCallTracker::StatePut put() {
    return [this](const std::string& key, std::string text) {
      if (text.empty()) rows.erase(key);
      else rows[key] = std::move(text);
    };
  }
  void entry(JournalEntry e) {
    if (lose_entries) return;
    rows.erase(e.state_key);
    entries.push_back(std::move(e));
  }
  // The open legs' rows (without the tracker's "~seen" heartbeat row).
  std::size_t legs() const { return rows.size() - rows.count("~seen"); }
  std::vector<std::string> texts() const {
    std::vector<std::string> v;
    for (const auto& [k, t] : rows) v.push_back(t);
    return v;
  }
};

// One run of callbridged over `sessions`; `killed`: no flush at the end (kill -9).
void run(StateStore& st, const std::vector<std::string>& sessions, bool killed) {
  ami::TrackerOutputs outs;
  outs.on_journal = [&](JournalEntry e) { st.entry(std::move(e)); };
  ami::AmiCallTracker t({.tenant = "default"}, outs);
  t.enable_state("ami:default:pbx", st.put());
  t.restore_state(st.texts());
  ami::AmiReplay replay(t);
  for (const auto& s : sessions) ASSERT_TRUE(replay.run_contents(s, "session"));
  if (!killed) t.flush(t.last_event_time());
}

TEST(RestartResync, KilledDuringTalkRestartKeepsTheRealRingAndTalkTimesFromPersistedState) {
  // Issue #11, replayed: after kill -9 the resynced call had ring_s 0 and talk_s 16.2 for ~12 s.
  StateStore st;
  run(st, {read_file(kDir + "/ami_reconnect/ami.log")}, true);
  EXPECT_TRUE(st.entries.empty());
  ASSERT_EQ(st.legs(), 1u);
  run(st, {read_file(kDir + "/ami_reconnect/ami-reconnect.log")}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(at("2026-11-22T21:28:52.445Z"), e.started_at), 0.0, 0.001);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(at("2026-11-22T21:28:54.450Z"), *e.answered_at), 0.0, 0.001);
  EXPECT_NEAR(secs(at("2026-11-22T21:29:06.459Z"), e.ended_at), 0.0, 0.001);
  EXPECT_EQ(e.estimated, 0) << model::to_json_line(e);
  EXPECT_EQ(e.remote, "+4989123456");
  EXPECT_EQ(st.legs(), 0u) << "the row leaves with the entry";
}

TEST(RestartResync, AttendedTransferCompletedWhileDownStartsTheTargetsNewLegAfterItsConsultation) {
  // Found by the fault campaign (disk: read-only, stop, restart): callbridged stopped while 100
  // consulted 102; the transfer completed while it was down. 102's channel, re-attached to its
  // restored consultation leg, got its new leg with the caller from the channel's creation (the
  // start of the consultation, 4 s early) instead of from when the restart found it.
  AttendedTransferGap t;
  auto g = cut_with_gap(t.c, t.consult_answered, t.resume);
  StateStore st;
  run(st, {g.first}, true);
  run(st, {g.second}, false);
  ASSERT_EQ(st.entries.size(), 4u) << dump(st.entries);
  const JournalEntry* target = nullptr;
  for (const auto& e : st.entries)
    if (e.party == "102" && e.remote == "+4989123456") target = &e;
  ASSERT_TRUE(target) << dump(st.entries);
  EXPECT_GE(target->started_at, at("2026-11-22T21:28:05.238Z")) << model::to_json_line(*target);
  EXPECT_TRUE(target->estimated & model::kEstimatedStart) << model::to_json_line(*target);
}

TEST(RestartResync, KilledDuringTalkWithoutStateMarksStartAndAnswerEstimated) {
  ReplayResult r = replay_files({kDir + "/ami_reconnect/ami-reconnect.log"});
  ASSERT_EQ(r.entries.size(), 1u) << r.jsonl();
  EXPECT_EQ(r.entries[0].estimated, model::kEstimatedStart | model::kEstimatedAnswer);
  // The true talk (12.0 s) lies between the two bounds the resync gives.
  EXPECT_LE(r.entries[0].talk_s(), 14.0);
}

TEST(RestartResync, KilledWhileRingingRestartKeepsTheRingStartAndAnswerIsEstimated) {
  Inbound in;
  auto g = cut_with_gap(in.c, in.dial_begin, in.answered);
  StateStore st;
  run(st, {g.first}, true);
  run(st, {g.second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.001);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 1.1);
  EXPECT_EQ(e.estimated, model::kEstimatedAnswer);
  EXPECT_EQ(e.disposition, Disposition::answered);
}

// Live events that arrive after the login, before the resync lists (Asterisk answers the
// actions while events flow): the answer of a call whose leg the previous run left ringing.
GapSessions answered_before_the_lists(const Inbound& in) {
  return cut_with_gap(in.c, in.dial_begin, in.dial_begin,
                      {.live_before_lists = in.answered - in.dial_begin});
}

TEST(RestartResync, CallAnsweredBeforeTheResyncListsAfterARestartIsOneEntryWithItsLiveAnswer) {
  // Found by the kill campaign (dup_answer_at_resync): the restored leg was attached to its
  // channel only at CoreShowChannelsComplete; the BridgeEnter before it opened a second leg for
  // the party, starting at the answer, beside the restored one (then answered at the gap's midpoint).
  Inbound in;
  StateStore st;
  run(st, {cut_with_gap(in.c, in.dial_begin, in.dial_begin).first}, true);
  ASSERT_EQ(st.legs(), 1u);
  run(st, {answered_before_the_lists(in).second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.001);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001) << "the answer was seen live";
  EXPECT_NEAR(secs(in.end, e.ended_at), 0.0, 0.001);
  EXPECT_EQ(e.estimated, 0) << model::to_json_line(e);
  EXPECT_EQ(e.disposition, Disposition::answered);
  EXPECT_EQ(st.legs(), 0u);
}

TEST(RestartResync, CallFirstSeenInAResyncThenAnsweredBeforeTheListsOfTheNextRestartIsOneEntry) {
  // The campaign's shape: the call started while callbridged was down, the next run found it
  // ringing in its resync (start estimated) and was killed too; the run after that saw the
  // answer live before its lists. Before the fix: that entry plus one starting at the answer.
  Inbound in;
  StateStore st;
  run(st, {cut_with_gap(in.c, in.newchannel, in.dial_begin, {.rest = false}).second}, true);
  ASSERT_EQ(st.legs(), 1u);
  run(st, {answered_before_the_lists(in).second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_EQ(e.estimated, model::kEstimatedStart) << model::to_json_line(e);
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 1.1);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001) << "the answer was seen live";
  EXPECT_NEAR(secs(in.end, e.ended_at), 0.0, 0.001);
  EXPECT_EQ(st.legs(), 0u);
}

TEST(RestartResync, CallThatRangInTheGapAndWasAnsweredBeforeTheListsStartsWhenItsChannelWasCreated) {
  // Seen in the kill campaign's recordings: the answer (Newstate, BridgeEnter) of a call that began
  // ringing in the gap arrived after the login, before the lists. The party's leg started at the
  // answer with nothing estimated (ring_s 0, 2 s late here); now it starts at its channel's
  // creation as the list gives it, marked estimated, and keeps the answer it saw live.
  Inbound in;
  auto g = cut_with_gap(in.c, in.newchannel, in.dial_begin,
                        {.live_before_lists = in.answered - in.dial_begin});
  std::string before = cut_with_gap(in.c, in.newchannel, in.newchannel).first;
  ReplayResult dropped = replay_streams({before, g.second});
  ASSERT_TRUE(dropped.error.empty()) << dropped.error;
  StateStore st;  // the same after a restart of callbridged that never saw the call
  run(st, {before}, true);
  run(st, {g.second}, false);
  for (const auto* entries : {&dropped.entries, &st.entries}) {
    ASSERT_EQ(entries->size(), 1u) << dump(*entries);
    const JournalEntry& e = entries->front();
    EXPECT_EQ(e.estimated, model::kEstimatedStart) << model::to_json_line(e);
    EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 1.1) << model::to_json_line(e);
    ASSERT_TRUE(e.answered_at);
    EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001) << "the answer was seen live";
    EXPECT_EQ(e.disposition, Disposition::answered);
  }
}

TEST(RestartResync, CallThatEndsBeforeTheResyncListsAfterARestartEndsAtItsHangupNotInTheGap) {
  // The hangup of a call the previous run left talking arrives after the login, before the lists
  // (which then no longer list it): the restored leg is attached at the first event naming its
  // channel and ends at the hangup, instead of at the gap's midpoint with its end estimated.
  Inbound in;
  StateStore st;
  run(st, {cut_with_gap(in.c, in.answered, in.answered).first}, true);
  ASSERT_EQ(st.legs(), 1u);
  run(st, {cut_with_gap(in.c, in.answered, in.answered,
                        {.live_before_lists = in.c.messages.size() - in.answered}).second},
      false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.001);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001);
  EXPECT_NEAR(secs(in.end, e.ended_at), 0.0, 0.01) << model::to_json_line(e);
  EXPECT_EQ(e.estimated, 0) << model::to_json_line(e);
  EXPECT_EQ(st.legs(), 0u);
}

TEST(RestartResync, CallThatEndedWhileCallbridgedWasDownIsJournaledOnceFromState) {
  // Issue #11, live: 2 of 300 calls were never journaled after kill -9 + restart.
  Inbound in;
  auto g = cut_with_gap(in.c, in.answered, in.c.messages.size());
  StateStore st;
  run(st, {g.first}, true);
  run(st, {g.second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(in.ring, e.started_at), 0.0, 0.001);
  ASSERT_TRUE(e.answered_at);
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001);
  EXPECT_EQ(e.disposition, Disposition::answered);
  EXPECT_EQ(e.estimated, model::kEstimatedEnd);
  EXPECT_EQ(st.legs(), 0u);
}

TEST(RestartResync, CallThatEndedWhileDownEndsAfterWhereTheKilledRunStoppedNotAtItsLastChange) {
  // A call talking when callbridged died ended unseen: its end is after the last moment the
  // killed run heard anything (its heartbeat row), not at its answer (talk_s 0 for a long call).
  Inbound in;
  auto g = cut_with_gap(in.c, in.first_hangup, in.c.messages.size());
  base::Timestamp last_seen{};
  for (std::size_t i = 0; i < in.first_hangup; ++i) {
    auto p = in.c.messages[i].find("Timestamp: ");
    if (p == std::string::npos) continue;
    auto v = in.c.messages[i].substr(p + 11, in.c.messages[i].find('\r', p) - p - 11);
    if (auto t = base::parse_epoch_seconds(v)) last_seen = std::max(last_seen, *t);
  }
  StateStore st;
  run(st, {g.first}, true);
  run(st, {g.second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  const JournalEntry& e = st.entries[0];
  EXPECT_NEAR(secs(in.answer, *e.answered_at), 0.0, 0.001);
  // Between the heartbeat (at most 1 s behind the last event heard) and the restart's resync.
  EXPECT_GE(e.ended_at, last_seen - std::chrono::seconds(1)) << "heartbeat: at most 1 s behind";
  EXPECT_LE(e.ended_at, in.end + std::chrono::seconds(1));
  EXPECT_GT(e.talk_s(), 0.0);
  EXPECT_EQ(e.estimated, model::kEstimatedEnd);
}

TEST(RestartResync, EntryOfAFinishedCallIsNotWrittenAgainAfterRestart) {
  StateStore st;
  run(st, {read_file(kDir + "/inbound_answered/ami.log")}, true);
  ASSERT_EQ(st.entries.size(), 1u);
  EXPECT_EQ(st.legs(), 0u);
  // A later restart: the resync lists nothing of that call.
  AmiCapture c = capture("inbound_answered");
  run(st, {cut_with_gap(c, c.messages.size(), c.messages.size()).second}, false);
  EXPECT_EQ(st.entries.size(), 1u) << dump(st.entries);
}

TEST(RestartResync, EntryLostInAnUncommittedBatchIsWrittenOnceWithItsRealEndAfterRestart) {
  // kill -9 between the call's end and the journal commit: the entry and its row delete were in
  // the lost batch; the row (last written with the real end) brings the entry back once.
  StateStore st;
  st.lose_entries = true;
  run(st, {read_file(kDir + "/inbound_answered/ami.log")}, true);
  st.lose_entries = false;
  ASSERT_TRUE(st.entries.empty());
  ASSERT_EQ(st.legs(), 1u);
  Inbound in;
  run(st, {cut_with_gap(in.c, in.c.messages.size(), in.c.messages.size()).second}, false);
  ASSERT_EQ(st.entries.size(), 1u) << dump(st.entries);
  EXPECT_NEAR(secs(in.end, st.entries[0].ended_at), 0.0, 0.001);
  EXPECT_EQ(st.entries[0].estimated, 0);
  EXPECT_EQ(st.legs(), 0u);
}

TEST(RestartResync, EveryKillPointOfEveryCaptureWithEventsBeforeTheListsGivesOneEntryPerParty) {
  // kill -9 anywhere, events lost while down (0 or 2), then 2..12 events that arrive after the
  // login before the lists (the order that gave the kill campaign's second entries): one entry
  // per party, nothing left open.
  for (const char* scenario : {"inbound_answered", "inbound_missed", "internal_call", "outbound_dial",
                               "hold_retrieve", "blind_transfer", "attended_transfer"}) {
    AmiCapture c = capture(scenario);
    ReplayResult whole = replay_streams({read_file(kDir + "/" + scenario + "/ami.log")});
    std::map<std::string, int> want;
    for (const auto& e : whole.entries) ++want[e.party];
    for (std::size_t cut = 1; cut + 1 < c.messages.size(); ++cut) {
      for (std::size_t lost : {0, 2}) {
        for (std::size_t live : {2, 6, 12}) {
          std::size_t resume = std::min(cut + lost, c.messages.size());
          live = std::min(live, c.messages.size() - resume);
          StateStore st;
          auto g = cut_with_gap(c, cut, resume, {.live_before_lists = live});
          run(st, {g.first}, true);
          run(st, {g.second}, false);
          std::map<std::string, int> got;
          for (const auto& e : st.entries) ++got[e.party];
          ASSERT_EQ(got, want) << scenario << " cut " << cut << " lost " << lost << " live " << live
                               << "\n" << dump(st.entries);
          EXPECT_EQ(st.legs(), 0u) << scenario << " cut " << cut;
        }
      }
    }
  }
}

TEST(AsteriskRestart, AllChannelsGoneEndsEveryOpenCallAndLeavesNothingLive) {
  // Asterisk restarted mid-call: the new connection lists no channel at all.
  Inbound in;
  for (std::size_t cut : {in.dial_begin, in.answered}) {
    std::string empty = cut_with_gap(in.c, cut, cut + 1, {.asterisk_restarted = true, .rest = false}).second;
    ami::TrackerOutputs outs;
    std::vector<JournalEntry> entries;
    outs.on_journal = [&](JournalEntry e) { entries.push_back(std::move(e)); };
    ami::AmiCallTracker t({.tenant = "default"}, outs);
    ami::AmiReplay replay(t);
    auto g = cut_with_gap(in.c, cut, cut);
    ASSERT_TRUE(replay.run_contents(g.first, "before"));
    ASSERT_TRUE(replay.run_contents(empty, "after Asterisk restart"));
    EXPECT_EQ(entries.size(), 1u) << dump(entries);
    EXPECT_EQ(t.live_channels(), 0u);
    EXPECT_TRUE(t.model().calls().empty()) << "no call stays live";
    for (const auto& e : entries) EXPECT_TRUE(e.estimated & model::kEstimatedEnd);
  }
}

}  // namespace
}  // namespace callbridge::testing
