// AmiQueueTracker on real Asterisk 22 bytes (tests/fixtures/asterisk-22): the queue call (caller
// joins at position 1, both static agents ring, 102 answers, completes), the resync's QueueStatus
// after a reconnect, a caller abandoning the queue, and the lab's member changes (QueueAdd,
// QueuePause with a reason, unpause, QueueRemove; QueueStatus while paused); the actions
// QueueAdd/QueueRemove/QueuePause it builds for a request.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "drivers/ami/ami_queue_tracker.hpp"

namespace callbridge::drivers::ami {
namespace {

const std::string kFixtures = CALLBRIDGE_FIXTURES_DIR;

// `as_resync`: the lab client's QueueStatus answers (ActionID status-N) carry the resync's ActionID,
// as AmiProtocol's resync would have them.
std::vector<OwnedAmiMessage> read_messages(const std::string& rel, bool as_resync = false,
                                           const std::string& replace_from = {}, const std::string& replace_to = {}) {
  std::ifstream in(kFixtures + "/" + rel, std::ios::binary);
  EXPECT_TRUE(in) << rel;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  if (!replace_from.empty()) bytes.replace(bytes.find(replace_from), replace_from.size(), replace_to);
  if (as_resync)
    for (std::string from : {"ActionID: status-1\r\n", "ActionID: status-2\r\n"})
      for (auto p = bytes.find(from); p != std::string::npos; p = bytes.find(from, p))
        bytes.replace(p, from.size(), "ActionID: resync-QueueStatus\r\n");
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

// The message's own Timestamp when it has one, else the last one seen.
struct Feeder {
  AmiQueueTracker t{"lab", [](std::string_view ep) {
                      return !ep.empty() && ep.size() <= 4 &&
                             std::all_of(ep.begin(), ep.end(), [](char c) { return c >= '0' && c <= '9'; });
                    }};
  base::Timestamp now{std::chrono::seconds(1795382900)};
  std::vector<std::vector<std::string>> changes;
  std::map<std::string, std::size_t> fed;  // per file: messages fed so far (feed() continues there)

  // Feeds messages of `rel` until `stop` (an event name, its n-th occurrence) or the end; as
  // "resync-QueueStatus" when `as_resync`.
  void feed(const std::string& rel, std::string_view stop = {}, int nth = 1, bool as_resync_of = false) {
    const auto msgs = read_messages(rel, as_resync_of);
    for (std::size_t& i = fed[rel]; i < msgs.size();) {
      auto m = msgs[i++].view();
      if (auto ts = m.get("Timestamp"); !ts.empty()) {
        double v = std::stod(std::string(ts));
        now = base::Timestamp(std::chrono::microseconds(static_cast<long long>(v * 1e6)));
      }
      t.on_message(m, now);
      if (t.state().has_changes()) changes.push_back(t.state().take_changed());
      if (!stop.empty() && m.event() == stop && --nth == 0) return;
    }
  }
  const model::Queue& q(std::string_view name = "support") {
    const auto* x = t.state().find(name);
    EXPECT_NE(x, nullptr) << name;
    static model::Queue none;
    return x ? *x : none;
  }
};

TEST(AmiQueueTracker, QueueCallFromTheCaptureWaitsRingsIsAnsweredAndCompleted) {
  Feeder f;
  f.feed("queue/ami.log", "QueueCallerJoin");
  {
    const auto& q = f.q();
    ASSERT_EQ(q.callers.size(), 1u);
    EXPECT_EQ(q.callers[0].position, 1);
    EXPECT_EQ(q.callers[0].number, "+4989123456");
    EXPECT_EQ(q.callers[0].name, "");  // <unknown>
    EXPECT_EQ(q.callers[0].channel, "PJSIP/trunk-0000001e");
    EXPECT_EQ(q.callers[0].uniqueid, "ctilab-1795382915.34");
    EXPECT_EQ(q.longest_wait(f.now + std::chrono::seconds(7)), 7);
  }
  f.feed("queue/ami.log", "QueueMemberStatus", 2);  // both agents called
  {
    const auto& q = f.q();
    ASSERT_EQ(q.members.size(), 2u);
    EXPECT_EQ(q.members[0].interface, "PJSIP/101");
    EXPECT_EQ(q.members[0].device, "101");
    EXPECT_EQ(q.members[0].name, "Ben Bravo");
    EXPECT_EQ(q.members[0].membership, "static");
    EXPECT_EQ(q.state(q.members[0], f.now), model::AgentState::ringing);
    EXPECT_EQ(q.state(q.members[1], f.now), model::AgentState::ringing);
  }
  f.feed("queue/ami.log", "AgentConnect");
  {
    const auto& q = f.q();
    EXPECT_TRUE(q.callers.empty());
    EXPECT_EQ(q.answered_today, 1u);
    EXPECT_EQ(q.state(*q.member("PJSIP/102"), f.now), model::AgentState::busy);
    EXPECT_NE(q.state(*q.member("PJSIP/101"), f.now), model::AgentState::ringing);
  }
  f.feed("queue/ami.log");
  const auto& q = f.q();
  EXPECT_EQ(q.state(*q.member("PJSIP/102"), f.now), model::AgentState::available);  // wrapuptime 0
  EXPECT_EQ(q.state(*q.member("PJSIP/101"), f.now), model::AgentState::available);
  EXPECT_EQ(q.member("PJSIP/102")->wrapup_seconds, 0);
  EXPECT_FALSE(q.wrapup_until(*q.member("PJSIP/102")));
  EXPECT_EQ(q.answered_today, 1u);
  EXPECT_EQ(q.abandoned_today, 0u);
  EXPECT_FALSE(f.changes.empty());
}

// Two callers: the second one leaving does not stop the agents ringing for the first.
TEST(AmiQueueTracker, AgentsRingForTheirCallerOnly) {
  Feeder f;
  f.feed("queue/ami.log", "QueueMemberStatus", 2);  // both agents ringing for ctilab-1795382915.34
  FrameReader r({}, false);
  r.feed("Event: QueueCallerJoin\r\nQueue: support\r\nChannel: PJSIP/trunk-00000099\r\nUniqueid: other.1\r\n"
         "CallerIDNum: +4930111\r\nPosition: 2\r\nCount: 2\r\n\r\n"
         "Event: QueueCallerLeave\r\nQueue: support\r\nChannel: PJSIP/trunk-00000099\r\nUniqueid: other.1\r\n"
         "Position: 2\r\nCount: 1\r\n\r\n");
  AmiMessage m;
  while (r.next(m).value_or(false)) f.t.on_message(m, f.now);
  const auto& q = f.q();
  EXPECT_EQ(q.callers.size(), 1u);
  EXPECT_EQ(q.state(*q.member("PJSIP/101"), f.now), model::AgentState::ringing);
  EXPECT_EQ(q.state(*q.member("PJSIP/102"), f.now), model::AgentState::ringing);
  f.feed("queue/ami.log", "QueueCallerLeave");  // the first caller is taken by 102
  EXPECT_FALSE(f.q().member("PJSIP/101")->ringing);
}

TEST(AmiQueueTracker, ResyncAfterReconnectListsTheQueueAndDropsQueuesNoLongerListed) {
  Feeder f;
  model::Queue old;
  old.name = "gone";
  f.t.state().put(old);
  f.t.state().take_changed();
  f.t.on_session_start(f.now);
  f.feed("ami_reconnect/ami-reconnect.log");
  EXPECT_EQ(f.t.state().find("gone"), nullptr);
  const auto& q = f.q();
  EXPECT_EQ(q.strategy, "ringall");
  EXPECT_EQ(q.pbx_completed, 1u);
  EXPECT_EQ(q.holdtime, 3);
  EXPECT_EQ(q.talktime, 10);
  ASSERT_EQ(q.members.size(), 2u);
  const auto* clara = q.member("PJSIP/102");
  ASSERT_NE(clara, nullptr);
  EXPECT_EQ(clara->calls_taken, 1u);
  ASSERT_TRUE(clara->last_call);
  EXPECT_EQ(base::format_rfc3339_ms(*clara->last_call), "2026-11-22T21:28:48.000Z");
  EXPECT_EQ(q.state(*clara, f.now), model::AgentState::available);
  bool gone_published = false;
  for (const auto& c : f.changes)
    for (const auto& n : c) gone_published |= n == "gone";
  EXPECT_TRUE(gone_published);
}

// Today's counts kept by a previous run (AmiQueueTracker::restore_today, docs/queues.md): applied at
// the first resync of the same UTC day, plus the PBX's Completed/Abandoned since minus the calls then
// in progress; a row of another day, a PBX whose counters went back (restarted) and garbage do not
// add what they cannot know. The row written afterwards carries the sum.
TEST(AmiQueueTracker, TodaysCountsContinueFromWhatThePreviousRunKept) {
  const std::int64_t day = std::chrono::floor<std::chrono::days>(
                               std::chrono::sys_days(std::chrono::year{2026} / 11 / 22))
                               .time_since_epoch()
                               .count();
  auto resync_with = [&](const std::string& row, std::vector<std::string>* saved = nullptr) {
    Feeder f;
    if (saved) f.t.enable_today_state([saved](std::string text) { saved->push_back(std::move(text)); });
    EXPECT_TRUE(f.t.restore_today(row) || !row.starts_with("queues-today="));
    f.t.on_session_start(f.now);
    f.feed("ami_reconnect/ami-reconnect.log");  // QueueParams Completed 1, Abandoned 0
    return std::pair{f.q().answered_today, f.q().abandoned_today};
  };
  const std::string d = std::to_string(day);
  std::vector<std::string> saved;
  // Kept: 5 answered, 3 abandoned, the PBX at 0/0, no call in progress: +1 completed meanwhile.
  EXPECT_EQ(resync_with("queues-today=" + d + "\nsupport\t5\t3\t0\t0\t0\n", &saved), (std::pair{6u, 3u}));
  ASSERT_FALSE(saved.empty());
  EXPECT_EQ(saved.back(), "queues-today=" + d + "\nsupport\t6\t3\t1\t0\t0\n");
  // One agent was in a queue call when it was kept: the completed call was that one, already counted.
  EXPECT_EQ(resync_with("queues-today=" + d + "\nsupport\t5\t3\t0\t0\t1\n"), (std::pair{5u, 3u}));
  // The PBX's counters are below what was kept: it restarted, only the kept counts.
  EXPECT_EQ(resync_with("queues-today=" + d + "\nsupport\t5\t3\t9\t0\t0\n"), (std::pair{5u, 3u}));
  // Yesterday's row: today starts at 0; another queue's row: nothing for support.
  EXPECT_EQ(resync_with("queues-today=" + std::to_string(day - 1) + "\nsupport\t5\t3\t0\t0\t0\n"), (std::pair{0u, 0u}));
  EXPECT_EQ(resync_with("queues-today=" + d + "\nsales\t5\t3\t0\t0\t0\n"), (std::pair{0u, 0u}));
  // Garbage: lines with the wrong number of fields are skipped; not a row of ours at all.
  EXPECT_EQ(resync_with("queues-today=" + d + "\nsupport\t5\t3\n\t1\t1\t1\t1\t1\n"), (std::pair{0u, 0u}));
  Feeder f;
  EXPECT_FALSE(f.t.restore_today("seen=123"));
  EXPECT_FALSE(f.t.restore_today("queues-today=x\n"));
}

TEST(AmiQueueTracker, CallerWhoHangsUpInTheQueueIsAbandonedToday) {
  Feeder f;
  f.feed("live_queue_abandoned/ami.log", "QueueCallerJoin");
  EXPECT_EQ(f.q().callers.size(), 1u);
  f.feed("live_queue_abandoned/ami.log");
  const auto& q = f.q();
  EXPECT_TRUE(q.callers.empty());
  EXPECT_EQ(q.abandoned_today, 1u);
  EXPECT_EQ(q.answered_today, 0u);
  for (const auto& m : q.members) EXPECT_FALSE(m.ringing) << m.interface;
}

TEST(AmiQueueTracker, LoginPauseWithReasonUnpauseLogoutFromTheLab) {
  Feeder f;
  f.feed("queue_members/ami.log", "QueueMemberAdded", 1, true);  // QueueStatus first: 101, 102
  {
    const auto& q = f.q();
    const auto* dora = q.member("PJSIP/103");
    ASSERT_NE(dora, nullptr);
    EXPECT_EQ(dora->name, "Dora Delta");
    EXPECT_EQ(dora->device, "103");
    EXPECT_EQ(dora->membership, "dynamic");
    EXPECT_EQ(q.state(*dora, f.now), model::AgentState::available);
  }
  f.feed("queue_members/ami.log", "QueueMemberPause", 1, true);
  {
    const auto& q = f.q();
    const auto* dora = q.member_by_device("103");
    ASSERT_NE(dora, nullptr);
    EXPECT_TRUE(dora->paused);
    EXPECT_EQ(dora->paused_reason, "lunch break");
    EXPECT_EQ(q.state(*dora, f.now), model::AgentState::paused);
    EXPECT_TRUE(dora->last_pause);
  }
  f.feed("queue_members/ami.log", "QueueMemberPause", 1, true);
  EXPECT_FALSE(f.q().member_by_device("103")->paused);
  EXPECT_EQ(f.q().member_by_device("103")->paused_reason, "");
  f.feed("queue_members/ami.log", {}, 1, true);
  EXPECT_EQ(f.q().member_by_device("103"), nullptr);
  EXPECT_EQ(f.q().members.size(), 2u);  // the static ones stay
}

TEST(AmiQueueTracker, QueueStatusWhilePausedAsAResyncKeepsTheReason) {
  Feeder f;
  f.feed("queue_members/ami.log", "QueueStatusComplete", 2, true);
  const auto& q = f.q();
  ASSERT_EQ(q.members.size(), 3u);
  const auto* dora = q.member_by_device("103");
  ASSERT_NE(dora, nullptr);
  EXPECT_TRUE(dora->paused);
  EXPECT_EQ(dora->paused_reason, "lunch break");
}

// GetConfig queues.conf as the lab's Asterisk answers it (tests/fixtures/asterisk-22/queues_config).
AmiResponse config_answer(const std::string& replace_from = {}, const std::string& replace_to = {}) {
  for (const auto& m : read_messages("queues_config/ami.log", false, replace_from, replace_to))
    if (m.view().action_id() == "queues-config") {
      AmiResponse a;
      a.response = m;
      return a;
    }
  ADD_FAILURE() << "no queues-config answer";
  return {};
}

// Wrap-up is the PBX's: the queue's wrapuptime from queues.conf (GetConfig; QueueStatus has none);
// an agent is in wrap-up from its last queue call until that many seconds later.
TEST(AmiQueueTracker, WrapupTimeComesFromQueuesConf) {
  Feeder f;
  f.feed("queue/ami.log");
  EXPECT_FALSE(f.q().wrapup_seconds);  // unknown until the config is read
  f.t.on_config(config_answer());
  ASSERT_TRUE(f.q().wrapup_seconds);
  EXPECT_EQ(*f.q().wrapup_seconds, 0);  // the lab's support: wrapuptime = 0
  f.t.state().take_changed();
  // The same queue with wrapuptime = 30: 102 ended its call at the capture's AgentComplete.
  f.t.on_config(config_answer("wrapuptime=0", "wrapuptime=30"));
  EXPECT_EQ(f.t.state().take_changed(), std::vector<std::string>{"support"});
  const auto& q = f.q();
  const auto* clara = q.member("PJSIP/102");
  ASSERT_NE(clara, nullptr);
  ASSERT_TRUE(clara->last_call);
  auto until = q.wrapup_until(*clara);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until - *clara->last_call, std::chrono::seconds(30));
  EXPECT_EQ(q.state(*clara, *clara->last_call + std::chrono::seconds(10)), model::AgentState::wrap_up);
  EXPECT_EQ(q.state(*clara, *clara->last_call + std::chrono::seconds(31)), model::AgentState::available);
  EXPECT_EQ(q.state(*q.member("PJSIP/101"), *clara->last_call + std::chrono::seconds(10)),
            model::AgentState::available);  // 101 took no call
  // No such file (or no privilege): nothing changes.
  AmiResponse err;
  for (const auto& m : read_messages("queues_config/ami.log"))
    if (m.view().action_id() == "nosuch-config") err.response = m;
  ASSERT_EQ(err.response.view().get("Message"), "Config file not found");
  f.t.on_config(err);
  EXPECT_EQ(f.q().wrapup_seconds, 30);
}

TEST(AmiQueueTracker, ActionsForRequests) {
  Feeder f;
  f.feed("queue_members/ami.log", "QueueStatusComplete", 1, true);
  using Op = ports::QueueMemberRequest::Op;
  auto add = f.t.action_for({.op = Op::add, .queue = "support", .device = "103", .member_name = "Dora Delta"});
  ASSERT_TRUE(add) << add.error().message();
  EXPECT_EQ(add->serialize("x"),
            "Action: QueueAdd\r\nActionID: x\r\nQueue: support\r\nInterface: PJSIP/103\r\nStateInterface: "
            "PJSIP/103\r\nPaused: false\r\nMemberName: Dora Delta\r\n\r\n");
  auto again = f.t.action_for({.op = Op::add, .queue = "support", .device = "101"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), base::Errc::conflict);
  auto pause = f.t.action_for({.op = Op::pause, .queue = "support", .device = "101", .reason = "lunch"});
  ASSERT_TRUE(pause);
  EXPECT_EQ(pause->serialize("p"),
            "Action: QueuePause\r\nActionID: p\r\nQueue: support\r\nInterface: PJSIP/101\r\nPaused: true\r\nReason: "
            "lunch\r\n\r\n");
  auto unpause = f.t.action_for({.op = Op::unpause, .queue = "support", .device = "101"});
  ASSERT_TRUE(unpause);
  EXPECT_NE(unpause->serialize("u").find("Paused: false\r\n"), std::string::npos);
  auto remove = f.t.action_for({.op = Op::remove, .queue = "support", .device = "102"});
  ASSERT_TRUE(remove);
  EXPECT_NE(remove->serialize("r").find("Action: QueueRemove\r\n"), std::string::npos);
  EXPECT_EQ(f.t.action_for({.op = Op::pause, .queue = "support", .device = "199"}).error().code(),
            base::Errc::not_found);
  EXPECT_EQ(f.t.action_for({.op = Op::pause, .queue = "nosuch", .device = "101"}).error().code(),
            base::Errc::not_found);
  EXPECT_EQ(f.t.action_for({.op = Op::pause, .queue = "support", .device = "101", .reason = "a\r\nAction: Hangup"})
                .error()
                .code(),
            base::Errc::invalid_argument);
  EXPECT_EQ(f.t.action_for({.op = Op::add, .queue = "support", .device = "1/2"}).error().code(),
            base::Errc::invalid_argument);
}

}  // namespace
}  // namespace callbridge::drivers::ami
