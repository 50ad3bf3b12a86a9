// AmiParkingTracker on real Asterisk 22 bytes: the live park-and-retrieve capture (ParkedCall after
// a blind transfer to 700, UnParkedCall when 102 dialed 701), and on crafted orders in the shape
// the lab's Asterisk 22.10.1 sent them (ParkedCallTimeOut, ParkedCallGiveUp, ParkedCallSwap, the
// ParkedCalls list of a resync with its remaining ParkingTimeout and ParkingDuration); the Park and
// ParkedCall() Originate actions it builds.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "drivers/ami/ami_parking_tracker.hpp"

namespace callbridge::drivers::ami {
namespace {

using model::ParkingChange;

const std::string kFixtures = CALLBRIDGE_FIXTURES_DIR;

bool digits(std::string_view ep) {
  return !ep.empty() && ep.size() <= 4 && ep.find_first_not_of("0123456789") == std::string_view::npos;
}

struct Feeder {
  AmiParkingTracker t{"lab", digits};
  base::Timestamp now{std::chrono::seconds(1796536000)};
  std::vector<ParkingChange> changes;

  void feed_bytes(const std::string& bytes) {
    FrameReader r({}, bytes.starts_with("Asterisk Call Manager"));
    r.feed(bytes);
    AmiMessage m;
    for (;;) {
      auto more = r.next(m);
      ASSERT_TRUE(more) << more.error().message();
      if (!*more) break;
      if (auto ts = m.get("Timestamp"); !ts.empty())
        now = base::Timestamp(std::chrono::microseconds(static_cast<long long>(std::stod(std::string(ts)) * 1e6)));
      t.on_message(m, now);
      for (auto& c : t.state().take_changes()) changes.push_back(std::move(c));
    }
  }
  void feed_file(const std::string& rel) {
    std::ifstream in(kFixtures + "/" + rel, std::ios::binary);
    ASSERT_TRUE(in) << rel;
    std::stringstream ss;
    ss << in.rdbuf();
    feed_bytes(ss.str());
  }
};

// A ParkedCall event as res_parking writes it (live: no ActionID; a ParkedCalls item: with one).
std::string parked(std::string_view event, std::string_view space, std::string_view uid, std::string_view number,
                   int timeout, int duration, std::string_view action_id = {}, std::string_view parker = "PJSIP/101") {
  std::string s = "Event: " + std::string(event) + "\r\nPrivilege: call,all\r\n";
  if (action_id.empty()) s += "Timestamp: 1796536129.440720\r\n";
  s += "ParkeeChannel: PJSIP/trunk-" + std::string(uid) + "\r\nParkeeChannelState: 6\r\nParkeeChannelStateDesc: Up\r\n"
       "ParkeeCallerIDNum: " + std::string(number) + "\r\nParkeeCallerIDName: <unknown>\r\n"
       "ParkeeConnectedLineNum: 101\r\nParkeeConnectedLineName: Ben Bravo\r\nParkeeUniqueid: ctilab-" + std::string(uid) +
       "\r\nParkeeLinkedid: ctilab-" + std::string(uid) + "\r\nParkerDialString: " + std::string(parker) +
       "\r\nParkinglot: default\r\nParkingSpace: " + std::string(space) + "\r\nParkingTimeout: " + std::to_string(timeout) +
       "\r\nParkingDuration: " + std::to_string(duration) + "\r\n";
  if (!action_id.empty()) s += "ActionID: " + std::string(action_id) + "\r\n";
  return s + "\r\n";
}

TEST(AmiParkingTracker, TheRecordedParkAndRetrieveParksTheCallerAt701AndRetrievesItBy102) {
  Feeder f;
  f.feed_file("live_park_and_retrieve/ami.log");
  ASSERT_EQ(f.changes.size(), 2u);
  const ParkingChange& in = f.changes[0];
  EXPECT_EQ(in.kind, ParkingChange::Kind::parked);
  EXPECT_EQ(in.lot, "default");
  EXPECT_EQ(in.space, "701");
  EXPECT_EQ(in.call.channel, "PJSIP/trunk-0000001f");
  EXPECT_EQ(in.call.uniqueid, "ctilab-1796536128.37");
  EXPECT_EQ(in.call.linkedid, "ctilab-1796536128.37");
  EXPECT_EQ(in.call.number, "+4989123001");
  EXPECT_EQ(in.call.name, "");  // <unknown>
  EXPECT_EQ(in.call.parker, "101");
  EXPECT_EQ(in.call.parker_dial_string, "PJSIP/101");
  EXPECT_EQ(base::to_micros(in.call.since), 1796536129440720);
  ASSERT_TRUE(in.call.times_out_at);
  EXPECT_EQ(*in.call.times_out_at - in.call.since, std::chrono::seconds(45));  // parkingtime => 45
  const ParkingChange& out = f.changes[1];
  EXPECT_EQ(out.kind, ParkingChange::Kind::left);
  EXPECT_EQ(out.reason, ParkingChange::Reason::retrieved);
  EXPECT_EQ(out.by, "102");  // RetrieverChannel PJSIP/102-00000021
  EXPECT_EQ(out.call.number, "+4989123001");
  EXPECT_EQ(f.t.state().size(), 0u);
}

// The same through the API (live_park_via_api_and_unpark): the AMI Park action, then ParkedCall
// with 101's channel as parker; 102 retrieves it through an Originate into ParkedCall().
TEST(AmiParkingTracker, TheRecordedApiParkAndUnparkFollowTheSameEvents) {
  Feeder f;
  f.feed_file("live_park_via_api_and_unpark/ami.log");
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(f.changes[0].kind, ParkingChange::Kind::parked);
  EXPECT_EQ(f.changes[0].space, "701");
  EXPECT_EQ(f.changes[0].call.number, "+4989123001");
  EXPECT_EQ(f.changes[0].call.parker, "101");
  EXPECT_EQ(f.changes[1].kind, ParkingChange::Kind::left);
  EXPECT_EQ(f.changes[1].reason, ParkingChange::Reason::retrieved);
  EXPECT_EQ(f.changes[1].by, "102");
  EXPECT_EQ(f.t.state().size(), 0u);
}

// Parking the far end of an outgoing call: Asterisk gives the dialed channel the caller's
// CallerID (here 100's office number), so the space shows the number it was dialed with.
TEST(AmiParkingTracker, TheFarEndOfAnOutgoingCallIsShownByTheNumberDialed) {
  Feeder f;
  f.feed_bytes("Event: DialBegin\r\nChannel: PJSIP/100-00000001\r\nUniqueid: ctilab-1.0\r\n"
               "DestChannel: PJSIP/trunk-00000002\r\nDestUniqueid: ctilab-1.5\r\nDialString: 089123456@trunk\r\n\r\n");
  f.feed_bytes(parked("ParkedCall", "701", "1.5", "+4930555100", 45, 0, {}, "PJSIP/100"));
  const auto* c = f.t.state().find("default", "701");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->number, "089123456");
  EXPECT_EQ(c->name, "");
  // A channel that hung up is forgotten: a later channel with its id (none in practice) is not.
  f.feed_bytes("Event: Hangup\r\nUniqueid: ctilab-1.5\r\nCause: 16\r\n\r\n");
  f.feed_bytes(parked("ParkedCall", "702", "1.5", "+4989123001", 45, 0));
  EXPECT_EQ(f.t.state().find("default", "702")->number, "+4989123001");
}

TEST(AmiParkingTracker, TimeoutAndGiveUpLeaveTheSpaceWithTheirReason) {
  Feeder f;
  f.feed_bytes(parked("ParkedCall", "701", "1.5", "+4989123001", 3, 0));
  f.feed_bytes(parked("ParkedCall", "702", "1.6", "anonymous", 45, 0, {}, "PJSIP/trunk"));
  ASSERT_EQ(f.t.state().size(), 2u);
  EXPECT_EQ(f.t.state().find("default", "702")->parker, "");  // a trunk parked it: no line of ours
  EXPECT_EQ(f.t.state().find_by_uniqueid("ctilab-1.6")->space, "702");
  // res_parking rings the parker (ParkerDialString) again when the time is over.
  f.feed_bytes(parked("ParkedCallTimeOut", "701", "1.5", "+4989123001", 0, 3));
  f.feed_bytes(parked("ParkedCallGiveUp", "702", "1.6", "anonymous", 20, 25));
  ASSERT_EQ(f.changes.size(), 4u);
  EXPECT_EQ(f.changes[2].kind, ParkingChange::Kind::left);
  EXPECT_EQ(f.changes[2].reason, ParkingChange::Reason::timeout);
  EXPECT_EQ(f.changes[2].space, "701");
  EXPECT_EQ(f.changes[3].reason, ParkingChange::Reason::gave_up);
  EXPECT_EQ(f.changes[3].space, "702");
  EXPECT_EQ(f.t.state().size(), 0u);
  // An event for a space that holds nothing changes nothing.
  f.feed_bytes(parked("ParkedCallGiveUp", "703", "1.7", "1", 0, 0));
  f.feed_bytes("Event: UnParkedCall\r\nParkinglot: default\r\nParkingSpace: 704\r\nRetrieverChannel: PJSIP/102-1\r\n\r\n");
  EXPECT_EQ(f.changes.size(), 4u);
}

TEST(AmiParkingTracker, SwapPutsAnotherCallerInTheSpaceKeepingWhenItWasParked) {
  Feeder f;
  f.feed_bytes(parked("ParkedCall", "701", "1.5", "+4989123001", 45, 0));
  const auto since = f.t.state().find("default", "701")->since;
  f.now += std::chrono::seconds(10);
  std::string swap = parked("ParkedCallSwap", "701", "1.9", "+4930999", 35, 10);
  swap.erase(swap.find("Timestamp:"), swap.find("\r\n", swap.find("Timestamp:")) + 2 - swap.find("Timestamp:"));
  f.feed_bytes(swap);
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(f.changes[1].kind, ParkingChange::Kind::parked);  // another caller
  const auto* c = f.t.state().find("default", "701");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->uniqueid, "ctilab-1.9");
  EXPECT_EQ(c->number, "+4930999");
  EXPECT_EQ(c->since, since);
  EXPECT_EQ(f.t.state().size(), 1u);
}

TEST(AmiParkingTracker, TheResyncListKeepsWhatItListsAddsWhatWasMissedAndDropsTheRest) {
  Feeder f;
  f.feed_bytes(parked("ParkedCall", "701", "1.5", "+4989123001", 45, 0));
  f.feed_bytes(parked("ParkedCall", "702", "1.6", "+4989123002", 45, 0));
  const auto since701 = f.t.state().find("default", "701")->since;
  f.changes.clear();
  // The link was down: 702 was retrieved meanwhile, 703 parked. The list after the login.
  f.t.on_session_start(f.now);
  f.now += std::chrono::seconds(30);
  f.feed_bytes("Response: Success\r\nActionID: resync-ParkedCalls\r\nEventList: start\r\nMessage: Parked calls will follow\r\n\r\n" +
               parked("ParkedCall", "701", "1.5", "+4989123001", 15, 30, "resync-ParkedCalls") +
               parked("ParkedCall", "703", "1.8", "+4989123003", 42, 3, "resync-ParkedCalls"));
  // Someone else's ParkedCalls list changes nothing.
  f.feed_bytes(parked("ParkedCall", "709", "1.1", "1", 42, 3, "pc-7"));
  EXPECT_EQ(f.t.state().find("default", "709"), nullptr);
  f.feed_bytes("Event: ParkedCallsComplete\r\nActionID: resync-ParkedCalls\r\nEventList: Complete\r\nListItems: 2\r\nTotal: 2\r\n\r\n");
  ASSERT_EQ(f.changes.size(), 2u);
  EXPECT_EQ(f.changes[0].kind, ParkingChange::Kind::parked);
  EXPECT_EQ(f.changes[0].space, "703");
  EXPECT_EQ(f.changes[1].kind, ParkingChange::Kind::left);
  EXPECT_EQ(f.changes[1].reason, ParkingChange::Reason::gone);
  EXPECT_EQ(f.changes[1].space, "702");
  // 701 as the live event said (the list's whole seconds do not move it); 703 from the list.
  EXPECT_EQ(f.t.state().find("default", "701")->since, since701);
  const auto* c703 = f.t.state().find("default", "703");
  ASSERT_NE(c703, nullptr);
  EXPECT_EQ(c703->since, f.now - std::chrono::seconds(3));
  EXPECT_EQ(*c703->times_out_at, f.now + std::chrono::seconds(42));
  // An empty list (nothing parked any more) empties the state.
  f.t.on_session_start(f.now);
  f.feed_bytes("Event: ParkedCallsComplete\r\nActionID: resync-ParkedCalls\r\nEventList: Complete\r\nListItems: 0\r\nTotal: 0\r\n\r\n");
  EXPECT_EQ(f.t.state().size(), 0u);
}

TEST(AmiParkingTracker, TheStateIsBounded) {
  model::ParkingState st("lab");
  for (std::size_t i = 0; i < model::ParkingState::kMaxParked + 5; ++i) {
    model::ParkedCall c;
    c.lot = "default";
    c.space = std::to_string(1000 + i);
    c.uniqueid = "u" + c.space;
    st.park(c);
  }
  EXPECT_EQ(st.size(), model::ParkingState::kMaxParked);
  EXPECT_EQ(st.dropped(), 5u);
}

TEST(AmiParkingActions, ParkAndUnparkAreWhatTheLabAccepted) {
  auto park = park_action("PJSIP/102-00000001", "PJSIP/101-00000000", "default");
  EXPECT_EQ(park.serialize("park-0001"),
            "Action: Park\r\nActionID: park-0001\r\nChannel: PJSIP/102-00000001\r\n"
            "TimeoutChannel: PJSIP/101-00000000\r\nParkinglot: default\r\n\r\n");
  auto unpark = unpark_action("PJSIP/103", "default", "701", "+4989123001", std::chrono::milliseconds(30000));
  EXPECT_EQ(unpark.serialize("unpark-0001"),
            "Action: Originate\r\nActionID: unpark-0001\r\nChannel: PJSIP/103\r\nApplication: ParkedCall\r\n"
            "Data: default,701\r\nCallerID: \"+4989123001\" <+4989123001>\r\nTimeout: 30000\r\nAsync: true\r\n\r\n");
}

}  // namespace
}  // namespace callbridge::drivers::ami
