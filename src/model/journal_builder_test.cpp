#include "model/journal_builder.hpp"

#include <gtest/gtest.h>

#include <map>

namespace callbridge::model {
namespace {


base::Timestamp at(double s) {
  return base::from_micros(1'795'382'753'000'000LL + static_cast<std::int64_t>(s * 1e6));
}

class JournalBuilderTest : public ::testing::Test {
 protected:
  JournalBuilderTest() : b_(base::TenantId("acme"), [this](JournalEntry e) { out_.push_back(std::move(e)); }) {}
  LegId incoming(std::string party, double t, std::string anchor = "trunk-1") {
    LegStart s;
    s.conversation = "conv";
    s.party = std::move(party);
    s.direction = Direction::inbound;
    s.remote = "+4989123456";
    s.started_at = at(t);
    s.incoming = true;
    s.anchor = std::move(anchor);
    return b_.open(std::move(s));
  }
  LegId outgoing(std::string party, double t) {
    LegStart s;
    s.conversation = "conv";
    s.party = std::move(party);
    s.direction = Direction::outbound;
    s.remote = "+4989123456";
    s.started_at = at(t);
    s.incoming = false;
    return b_.open(std::move(s));
  }
  JournalBuilder b_;
  std::vector<JournalEntry> out_;
};

// A call moved between the party's devices (docs/call-control.md "Moving a call"): one entry, the
// device that ended it, and the trunk time of each external device while it carried (or rang for)
// the call, plus the remote's. Desk 0..10 s, the mobile from its ring at 9 s to 20 s, then the desk
// again to 30 s; the caller's trunk channel all along.
TEST_F(JournalBuilderTest, AMovedCallIsOneEntryCountingEachDevicesTrunkTime) {
  LegStart s;
  s.conversation = "conv";
  s.party = "100";
  s.remote = "+4989123456";
  s.started_at = at(0);
  s.anchor = "trunk-1";
  s.state_key = "desk-uid#1";
  LegId l = b_.open(std::move(s));
  b_.set_remote_trunk(l, at(0));
  b_.answered(l, at(2));
  b_.move_device(l, at(10), "mobile-uid", std::string("+491701234567"), true, at(9));
  const Leg* leg = b_.leg(l);
  ASSERT_NE(leg, nullptr);
  EXPECT_EQ(leg->start.party_channel, "mobile-uid");
  // Open-call state keeps it across a restart.
  auto round = decode_leg_state(encode_leg_state(*leg));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->device_since, at(9));
  EXPECT_EQ(round->start.device_number, "+491701234567");
  b_.move_device(l, at(20), "desk-uid", std::nullopt, false, at(18));
  round = decode_leg_state(encode_leg_state(*b_.leg(l)));
  ASSERT_TRUE(round);
  EXPECT_EQ(round->device_trunk_before_us, 11'000'000);
  b_.end(l, at(30));
  b_.conversation_ended("conv", at(30));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].disposition, Disposition::answered);
  EXPECT_FALSE(out_[0].device_number.has_value()) << "the desk phone ended it";
  EXPECT_DOUBLE_EQ(out_[0].trunk_channel_s, 30.0 + 11.0);
  EXPECT_DOUBLE_EQ(out_[0].talk_s(), 28.0);
}

TEST_F(JournalBuilderTest, EntriesWaitForTheWholeConversation) {
  LegId l = incoming("100", 0);
  b_.answered(l, at(2));
  b_.end(l, at(5));
  EXPECT_TRUE(out_.empty());
  b_.conversation_ended("conv", at(6));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].disposition, Disposition::answered);
  EXPECT_EQ(out_[0].tenant, "acme");
  EXPECT_EQ(out_[0].call_id, "conv");
  EXPECT_DOUBLE_EQ(out_[0].ring_s(), 2.0);
  EXPECT_DOUBLE_EQ(out_[0].talk_s(), 3.0);
  EXPECT_EQ(b_.open_conversations(), 0u);
}

TEST_F(JournalBuilderTest, RingingMemberIsAnsweredElsewhereWhenAnotherAnswersLater) {
  LegId a = incoming("101", 0);
  LegId b = incoming("102", 0);
  b_.end(a, at(3.0));       // 101 stops ringing first ...
  b_.answered(b, at(3.1));  // ... and only then 102's answer shows
  b_.end(b, at(10));
  b_.conversation_ended("conv", at(10));
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].party, "101");
  EXPECT_EQ(out_[0].disposition, Disposition::answered_elsewhere);
  EXPECT_EQ(out_[1].disposition, Disposition::answered);
}

TEST_F(JournalBuilderTest, MissedRejectedNoAnswerBusyFailed) {
  LegId missed = incoming("100", 0);
  LegId rejected = incoming("101", 0, "other");
  b_.set_outcome(rejected, LegOutcome::rejected);
  LegId no_answer = outgoing("102", 0);
  LegId busy = outgoing("103", 0);
  b_.set_outcome(busy, LegOutcome::busy);
  LegId failed = outgoing("104", 0);
  b_.set_outcome(failed, LegOutcome::failed);
  b_.conversation_ended("conv", at(5));
  ASSERT_EQ(out_.size(), 5u);
  auto disp = [&](const std::string& p) {
    for (const auto& e : out_)
      if (e.party == p) return e.disposition;
    return Disposition::answered;
  };
  EXPECT_EQ(disp("100"), Disposition::missed);
  EXPECT_EQ(disp("101"), Disposition::rejected);
  EXPECT_EQ(disp("102"), Disposition::no_answer);
  EXPECT_EQ(disp("103"), Disposition::busy);
  EXPECT_EQ(disp("104"), Disposition::failed);
  for (const auto& e : out_) EXPECT_EQ(e.ended_at, at(5));
  (void)missed;
  (void)no_answer;
}

// A leg that ended while callbridge could not hear the PBX, before an answer was seen, may have
// been answered unseen: "unknown", never a guessed "missed"/"no_answer". What the PBX did show
// (another member answered, the callee was busy, the answer itself) stays.
TEST_F(JournalBuilderTest, LegsThatEndedUnseenBeforeAnAnswerHaveAnUnknownDisposition) {
  LegId ringing = incoming("100", 0, "lonely");
  LegId dialing = outgoing("102", 0);
  LegId busy = outgoing("103", 0);
  b_.set_outcome(busy, LegOutcome::busy);
  LegId talked = incoming("104", 0, "other");
  b_.answered(talked, at(1));
  for (LegId l : {ringing, dialing, busy, talked})
    b_.mark_estimated(l, kEstimatedEnd | kEstimatedDisposition);
  LegId elsewhere = incoming("101", 0);
  b_.mark_estimated(elsewhere, kEstimatedEnd | kEstimatedDisposition);
  b_.anchor_answered("conv", "trunk-1", at(2));
  LegId seen = incoming("105", 0, "third");  // ended in plain sight: missed
  b_.end(seen, at(3));
  b_.conversation_ended("conv", at(5));
  ASSERT_EQ(out_.size(), 6u);
  std::map<std::string, JournalEntry> by;
  for (const auto& e : out_) by.emplace(e.party, e);
  EXPECT_EQ(by.at("100").disposition, Disposition::unknown);
  EXPECT_EQ(by.at("102").disposition, Disposition::unknown);
  EXPECT_EQ(by.at("103").disposition, Disposition::busy);
  EXPECT_EQ(by.at("104").disposition, Disposition::answered);
  EXPECT_EQ(by.at("104").estimated, kEstimatedEnd);
  EXPECT_EQ(by.at("101").disposition, Disposition::answered_elsewhere);
  EXPECT_EQ(by.at("105").disposition, Disposition::missed);
  EXPECT_EQ(parse_disposition("unknown"), Disposition::unknown);
  EXPECT_EQ(to_string(Disposition::unknown), "unknown");
}

TEST_F(JournalBuilderTest, AnswerBeforeTheLegStartedIsNotElsewhere) {
  // The caller talked to 100 first, was then transferred to 101 who did not answer.
  b_.anchor_answered("conv", "trunk-1", at(1));
  LegId l = incoming("101", 5);
  b_.end(l, at(9));
  b_.conversation_ended("conv", at(9));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].disposition, Disposition::missed);
}

// Found by fuzz_ami_tracker: an end estimated at the midpoint of a link gap came before an answer
// a live event reported during the resync (talk -0.8 s). Times of an entry stay ordered whatever
// order the estimates and events arrive in.
TEST_F(JournalBuilderTest, EndAndAnswerNeverPrecedeWhatWasAlreadySeenOfTheLeg) {
  LegId l = incoming("100", 2);
  b_.answered(l, at(5.3));
  b_.end(l, at(4.6));  // the estimate
  LegId m = incoming("101", 2, "trunk-2");
  b_.answered(m, at(1));  // an answer time from before the leg started
  b_.hold(m, at(3));
  b_.end(m, at(2.5));
  b_.conversation_ended("conv", at(9));
  ASSERT_EQ(out_.size(), 2u);
  for (const auto& e : out_) {
    ASSERT_TRUE(e.answered_at.has_value());
    EXPECT_LE(e.started_at, *e.answered_at);
    EXPECT_LE(*e.answered_at, e.ended_at);
    EXPECT_GE(e.ring_s(), 0.0);
    EXPECT_GE(e.talk_s(), 0.0);
    EXPECT_GE(e.hold_s, 0.0);
  }
  EXPECT_EQ(out_[0].ended_at, at(5.3));
  EXPECT_EQ(out_[1].answered_at, at(2));
  EXPECT_EQ(out_[1].ended_at, at(3));
}

TEST_F(JournalBuilderTest, ASeenAnswerOrEndBeforeAnEstimatedStartMovesTheStartNotTheAnswer) {
  // Found by the kill campaign: a call listed ringing at the first login started (estimated) at
  // our clock, 3.5 ms after the PBX's time of its answer; the answer was moved to that start and
  // was then off although not marked estimated.
  LegId l = incoming("100", 2);
  b_.mark_estimated(l, model::kEstimatedStart);
  b_.answered(l, at(1.9));
  LegId m = incoming("101", 2, "trunk-2");
  b_.mark_estimated(m, model::kEstimatedStart);
  b_.end(m, at(1.95));  // hung up ringing
  LegId n = incoming("102", 2, "trunk-3");  // a real start: the answer is clamped as before
  b_.answered(n, at(1.9));
  LegId o = incoming("103", 2, "trunk-4");
  b_.mark_estimated(o, model::kEstimatedStart);
  b_.answered(o, at(1.8), /*estimated=*/true);  // an estimated answer does not move a start
  b_.conversation_ended("conv", at(9));
  ASSERT_EQ(out_.size(), 4u);
  std::map<std::string, const JournalEntry*> by;
  for (const auto& e : out_) by[e.party] = &e;
  EXPECT_EQ(by["100"]->started_at, at(1.9));
  EXPECT_EQ(by["100"]->answered_at, at(1.9));
  EXPECT_EQ(by["100"]->estimated, model::kEstimatedStart);
  EXPECT_EQ(by["101"]->started_at, at(1.95));
  EXPECT_EQ(by["101"]->ended_at, at(1.95));
  EXPECT_EQ(by["102"]->started_at, at(2));
  EXPECT_EQ(by["102"]->answered_at, at(2));
  EXPECT_EQ(by["103"]->started_at, at(2));
  EXPECT_EQ(by["103"]->answered_at, at(2));
}

TEST_F(JournalBuilderTest, HoldCountsUntilUnholdOrEnd) {
  LegId l = incoming("100", 0);
  b_.answered(l, at(1));
  b_.hold(l, at(2));
  b_.hold(l, at(3));  // repeated Hold: still since 2
  b_.unhold(l, at(4));
  b_.unhold(l, at(4.5));  // lone Unhold: harmless
  b_.hold(l, at(6));
  b_.end(l, at(8.46));
  b_.conversation_ended("conv", at(9));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_DOUBLE_EQ(out_[0].hold_s, 4.5);
}

TEST_F(JournalBuilderTest, TransfersRestartAndMerge) {
  LegId a = incoming("100", 0);
  b_.answered(a, at(1));
  b_.set_transferred_to(a, "101");
  b_.end(a, at(3));
  LegStart s;
  s.conversation = "other";
  s.party = "101";
  s.started_at = at(3);
  s.anchor = "trunk-1";
  LegId c = b_.open(s);
  b_.set_transferred_from(c, "100");
  b_.restart(c, at(3.5), true);
  b_.merge_conversations("other", "conv");
  b_.conversation_ended("conv", at(9));
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].transferred_to, "101");
  EXPECT_EQ(out_[1].transferred_from, "100");
  EXPECT_EQ(out_[1].call_id, "conv");
  EXPECT_EQ(out_[1].started_at, at(3.5));
  // 100 answered the same caller before 101's leg started: that is not "elsewhere".
  EXPECT_EQ(out_[1].disposition, Disposition::missed);
}

TEST_F(JournalBuilderTest, FlushEndsEverything) {
  incoming("100", 0);
  b_.flush(at(3));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].ended_at, at(3));
  EXPECT_EQ(b_.open_conversations(), 0u);
}

// AnyDevice follow-me: the desk phone and the user's mobile ring for one caller; one entry for the
// party (JOURNAL.md: one per party per conversation with one remote).
TEST_F(JournalBuilderTest, FollowMeDeskAndDeviceAreOneEntryCarriedByWhoAnswered) {
  LegId desk = incoming("103", 0);
  LegStart s;
  s.conversation = "conv";
  s.party = "103";
  s.remote = "+4989123456";
  s.started_at = at(0.4);
  s.anchor = "trunk-1";
  s.device_number = "+491701234567";
  LegId mobile = b_.open(s);
  b_.answered(mobile, at(2));
  b_.end(desk, at(2));
  b_.end(mobile, at(7));
  b_.conversation_ended("conv", at(7));
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].disposition, Disposition::answered);
  EXPECT_EQ(out_[0].device_number, "+491701234567");
  EXPECT_TRUE(out_[0].private_device);
  EXPECT_DOUBLE_EQ(out_[0].ring_s(), 2.0) << "from the desk phone's first ring";
  EXPECT_DOUBLE_EQ(out_[0].talk_s(), 5.0);
}

TEST_F(JournalBuilderTest, FollowMeNobodyAnsweredIsOneMissedEntryOfTheDeskPhone) {
  LegId desk = incoming("103", 0);
  LegStart s;
  s.conversation = "conv";
  s.party = "103";
  s.started_at = at(15);  // sequential: the mobile after 15 s of the desk phone
  s.anchor = "trunk-1";
  s.device_number = "+491701234567";
  LegId mobile = b_.open(s);
  b_.end(desk, at(15));
  b_.end(mobile, at(40));
  LegId other = incoming("104", 0, "trunk-2");  // another caller: not merged
  b_.end(other, at(3));
  b_.conversation_ended("conv", at(40));
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].party, "103");
  EXPECT_EQ(out_[0].disposition, Disposition::missed);
  EXPECT_FALSE(out_[0].device_number);
  EXPECT_DOUBLE_EQ(out_[0].ring_s(), 40.0);
  EXPECT_EQ(out_[1].party, "104");
}

TEST_F(JournalBuilderTest, DeviceNumberSurvivesTheOpenCallState) {
  LegStart s;
  s.conversation = "conv";
  s.party = "103";
  s.started_at = at(0);
  s.state_key = "k";
  s.device_number = "+491701234567";
  Leg l;
  l.start = s;
  auto back = decode_leg_state(encode_leg_state(l));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->start.device_number, "+491701234567");
}

// Channel accounting: trunk seconds of an entry = its external remote's channel (from when it was
// the remote) + the party's own external device's; the caller's channel once in a merged entry.
TEST_F(JournalBuilderTest, TrunkSecondsCountTheRemoteAndTheDeviceChannelOnce) {
  LegId desk = incoming("103", 0);
  b_.set_remote_trunk(desk, at(0));
  LegStart s;
  s.conversation = "conv";
  s.party = "103";
  s.started_at = at(0.4);
  s.anchor = "trunk-1";
  s.device_number = "+491701234567";
  s.device_trunk = true;
  LegId mobile = b_.open(s);
  b_.set_remote_trunk(mobile, at(0.4));
  b_.answered(mobile, at(2));
  b_.end(desk, at(2));
  b_.end(mobile, at(7));
  LegId out = outgoing("104", 1);  // desk phone dialling out: the remote from its dial on
  b_.set_remote_trunk(out, at(3));
  b_.answered(out, at(4));
  b_.end(out, at(6));
  LegId internal = incoming("105", 0, "100-chan");  // an internal caller: no trunk
  b_.end(internal, at(1));
  b_.conversation_ended("conv", at(7));
  ASSERT_EQ(out_.size(), 3u);
  std::map<std::string, double> by_party;
  for (const auto& e : out_) by_party[e.party] = e.trunk_channel_s;
  EXPECT_DOUBLE_EQ(by_party["103"], 7.0 + 6.6) << "the caller 0..7 once, the mobile 0.4..7";
  EXPECT_DOUBLE_EQ(by_party["104"], 3.0);
  EXPECT_DOUBLE_EQ(by_party["105"], 0.0);
  Leg l;
  l.start = s;
  l.start.state_key = "k";
  l.remote_trunk_since = at(0.4);
  auto back = decode_leg_state(encode_leg_state(l));
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->start.device_trunk);
  EXPECT_EQ(back->remote_trunk_since, at(0.4));
}

}  // namespace
}  // namespace callbridge::model
