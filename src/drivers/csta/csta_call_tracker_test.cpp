// CstaCallTracker: event streams shaped as callbridge's CSTA server sends them for the simulator's
// scenarios (each event at the monitors that get it), checked for the call model's line states
// and the journal entries; snapshots after a reconnect; expand_devices.
#include "drivers/csta/csta_call_tracker.hpp"

#include <gtest/gtest.h>

#include "drivers/csta/csta_driver.hpp"

namespace callbridge::drivers::csta {
namespace {

using model::Direction;
using model::Disposition;
using wire::EventDevice;
using L = wire::LocalConnectionState;

base::Timestamp at(double s) { return base::from_micros(1'795'382'753'000'000LL + static_cast<std::int64_t>(s * 1e6)); }
EventDevice dev(std::string id) { return id.empty() ? EventDevice{EventDevice::Status::not_known, ""} : EventDevice::of(std::move(id)); }

class TrackerTest : public ::testing::Test {
 protected:
  TrackerTest()
      : t_(base::TenantId("acme"), [this](const model::CallEvent& e) { events_.push_back(e); },
           [this](model::JournalEntry e) { journal_.push_back(std::move(e)); },
           [](std::string_view d) { return d == "100" || d == "101" || d == "102"; }) {
    for (const char* d : {"100", "101", "102"}) t_.on_monitored(d, at(0));
  }
  void delivered(const char* mon, const char* call, const char* alerting, const char* calling, L local, double s) {
    t_.on_event(mon, wire::DeliveredEvent{"1", {call, alerting}, dev(alerting), dev(calling), dev(alerting), {}, local, "newCall"}, at(s));
  }
  void originated(const char* mon, const char* call, const char* calling, const char* called, double s) {
    t_.on_event(mon, wire::OriginatedEvent{"1", {call, calling}, dev(calling), dev(called), L::initiated, "newCall"}, at(s));
  }
  void established(const char* mon, const char* call, const char* answering, const char* calling, L local, double s) {
    t_.on_event(mon, wire::EstablishedEvent{"1", {call, answering}, dev(answering), dev(calling), dev(answering), {}, local, "newCall"}, at(s));
  }
  void cleared(const char* mon, const char* call, const char* releasing, L local, const char* cause, double s) {
    t_.on_event(mon, wire::ConnectionClearedEvent{"1", {call, releasing}, dev(releasing), local, cause}, at(s));
  }
  void call_cleared(const char* mon, const char* call, double s) {
    t_.on_event(mon, wire::CallClearedEvent{"1", {call, ""}, L::null, "normalClearing"}, at(s));
  }
  void transferred(const char* mon, const char* call, const char* transferring, const char* to, L local, double s,
                   const char* from_call = nullptr) {
    wire::TransferredEvent e{"1", {call, transferring}, std::nullopt, dev(transferring), dev(to), {}, local, "transfer"};
    if (from_call) e.secondary_old_call = wire::ConnectionId{from_call, ""};
    t_.on_event(mon, e, at(s));
  }
  const model::JournalEntry* entry(std::string_view party, std::string_view remote) const {
    for (const auto& e : journal_)
      if (e.party == party && e.remote.value_or("") == remote) return &e;
    return nullptr;
  }
  model::DeviceState line(const char* d) const { return t_.model().device_state(d); }

  CstaCallTracker t_;
  std::vector<model::CallEvent> events_;
  std::vector<model::JournalEntry> journal_;
};

TEST_F(TrackerTest, InboundAnswered) {
  delivered("100", "00000001", "100", "+4989123456", L::alerting, 0);
  EXPECT_EQ(line("100"), model::DeviceState::ringing);
  established("100", "00000001", "100", "+4989123456", L::connected, 2);
  EXPECT_EQ(line("100"), model::DeviceState::busy);
  cleared("100", "00000001", "100", L::null, "normalClearing", 5);
  call_cleared("100", "00000001", 5);
  EXPECT_EQ(line("100"), model::DeviceState::idle);
  ASSERT_EQ(journal_.size(), 1u);
  EXPECT_EQ(journal_[0].direction, Direction::inbound);
  EXPECT_EQ(journal_[0].disposition, Disposition::answered);
  EXPECT_DOUBLE_EQ(journal_[0].ring_s(), 2.0);
  EXPECT_DOUBLE_EQ(journal_[0].talk_s(), 3.0);
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[0].type, model::CallEventType::delivered);
  EXPECT_EQ(events_[1].type, model::CallEventType::established);
  EXPECT_EQ(events_[2].type, model::CallEventType::connection_cleared);
}

TEST_F(TrackerTest, RejectedIsBusyCause) {
  delivered("100", "00000002", "100", "+4989123456", L::alerting, 0);
  cleared("100", "00000002", "100", L::null, "busy", 2);
  call_cleared("100", "00000002", 2);
  ASSERT_EQ(journal_.size(), 1u);
  EXPECT_EQ(journal_[0].disposition, Disposition::rejected);
}

TEST_F(TrackerTest, InternalCallBothSides) {
  // As the server sends it: 102's own Established is the one with answering=102 at 102's monitor
  // (its localConnectionInfo may still say alerting: the caller's side was reported first).
  originated("100", "00000003", "100", "102", 0);
  delivered("100", "00000003", "102", "100", L::initiated, 0.1);
  delivered("102", "00000003", "102", "100", L::alerting, 0.1);
  established("100", "00000003", "102", "100", L::connected, 2);
  established("102", "00000003", "102", "100", L::alerting, 2);
  EXPECT_EQ(line("100"), model::DeviceState::busy);
  EXPECT_EQ(line("102"), model::DeviceState::busy);
  cleared("100", "00000003", "100", L::null, "normalClearing", 5);
  cleared("102", "00000003", "100", L::connected, "normalClearing", 5);
  cleared("102", "00000003", "102", L::null, "normalClearing", 5);
  call_cleared("102", "00000003", 5);
  ASSERT_EQ(journal_.size(), 2u);
  auto* a = entry("100", "102");
  auto* b = entry("102", "100");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->direction, Direction::internal);
  EXPECT_EQ(a->disposition, Disposition::answered);
  EXPECT_EQ(b->disposition, Disposition::answered);
  EXPECT_EQ(line("100"), model::DeviceState::idle);
  EXPECT_EQ(line("102"), model::DeviceState::idle);
}

TEST_F(TrackerTest, QueueRingsTwoOneAnswers) {
  delivered("101", "00000004", "101", "+4989123456", L::alerting, 0);
  delivered("101", "00000004", "102", "+4989123456", L::alerting, 0);  // 102's event at 101's monitor: ignored
  delivered("102", "00000004", "102", "+4989123456", L::alerting, 0);
  cleared("101", "00000004", "101", L::null, "normalClearing", 3);
  established("102", "00000004", "102", "+4989123456", L::connected, 3);
  cleared("102", "00000004", "102", L::null, "normalClearing", 13);
  call_cleared("102", "00000004", 13);
  ASSERT_EQ(journal_.size(), 2u);
  EXPECT_EQ(entry("101", "+4989123456")->disposition, Disposition::answered_elsewhere);
  EXPECT_EQ(entry("102", "+4989123456")->disposition, Disposition::answered);
}

TEST_F(TrackerTest, BlindTransferNewCall) {
  delivered("100", "00000005", "100", "+4989123456", L::alerting, 0);
  established("100", "00000005", "100", "+4989123456", L::connected, 2);
  transferred("100", "00000005", "100", "101", L::null, 5);
  cleared("100", "00000005", "100", L::null, "transfer", 5);
  call_cleared("100", "00000005", 5);
  delivered("101", "00000006", "101", "+4989123456", L::alerting, 5.1);
  established("101", "00000006", "101", "+4989123456", L::connected, 7);
  cleared("101", "00000006", "101", L::null, "normalClearing", 12);
  call_cleared("101", "00000006", 12);
  ASSERT_EQ(journal_.size(), 2u);
  EXPECT_EQ(entry("100", "+4989123456")->transferred_to, "101");
  auto* e = journal_[1].party == "101" ? &journal_[1] : &journal_[0];
  EXPECT_EQ(e->transferred_from, "100");
  EXPECT_EQ(e->disposition, Disposition::answered);
  EXPECT_EQ(line("100"), model::DeviceState::idle);
  EXPECT_EQ(line("101"), model::DeviceState::idle);
}

TEST_F(TrackerTest, AttendedTransfer) {
  delivered("100", "00000002", "100", "+4989123456", L::alerting, 0);
  established("100", "00000002", "100", "+4989123456", L::connected, 2);
  t_.on_event("100", wire::HeldEvent{"1", {"00000002", "100"}, dev("100"), L::hold, "normal"}, at(3));
  originated("100", "00000003", "100", "102", 4);
  delivered("102", "00000003", "102", "100", L::alerting, 4);
  delivered("100", "00000003", "102", "100", L::initiated, 4);
  established("100", "00000003", "102", "100", L::connected, 6);
  established("102", "00000003", "102", "100", L::alerting, 6);
  transferred("100", "00000002", "102", "", L::hold, 9, "00000003");
  transferred("102", "00000002", "102", "", L::connected, 9, "00000003");
  transferred("100", "00000002", "100", "102", L::null, 9);
  cleared("100", "00000002", "100", L::null, "transfer", 9);
  transferred("102", "00000002", "100", "102", L::connected, 9);
  cleared("100", "00000003", "100", L::null, "normalClearing", 9);
  cleared("102", "00000003", "100", L::connected, "normalClearing", 9);
  cleared("102", "00000003", "102", L::null, "normalClearing", 9);
  call_cleared("102", "00000003", 9);
  EXPECT_EQ(line("100"), model::DeviceState::idle);
  EXPECT_EQ(line("102"), model::DeviceState::busy);
  cleared("102", "00000002", "102", L::null, "normalClearing", 16);
  call_cleared("102", "00000002", 16);
  ASSERT_EQ(journal_.size(), 4u);
  auto* in100 = entry("100", "+4989123456");
  auto* c100 = entry("100", "102");
  auto* c102 = entry("102", "100");
  auto* in102 = entry("102", "+4989123456");
  ASSERT_TRUE(in100 && c100 && c102 && in102);
  EXPECT_EQ(in100->transferred_to, "102");
  EXPECT_DOUBLE_EQ(in100->hold_s, 6.0);
  EXPECT_EQ(c100->direction, Direction::internal);
  EXPECT_EQ(c100->ended_at, at(9));  // the consultation ends with the transfer
  EXPECT_EQ(c102->direction, Direction::internal);
  EXPECT_EQ(in102->direction, Direction::inbound);
  EXPECT_EQ(in102->transferred_from, "100");
  EXPECT_DOUBLE_EQ(in102->ring_s(), 0.0);
  EXPECT_DOUBLE_EQ(in102->talk_s(), 7.0);
  EXPECT_EQ(line("102"), model::DeviceState::idle);
}

TEST_F(TrackerTest, SnapshotAfterReconnectEndsAndTakesUpCalls) {
  delivered("100", "00000007", "100", "+4989123456", L::alerting, 0);
  established("100", "00000007", "100", "+4989123456", L::connected, 1);
  t_.on_link_down(at(2));
  // Back up: the call ended meanwhile, another one is in progress.
  t_.on_snapshot("100", {wire::SnapshotDeviceItem{{"00000009", "100"}, L::connected}}, at(10));
  ASSERT_EQ(journal_.size(), 1u);
  EXPECT_EQ(journal_[0].disposition, Disposition::answered);
  EXPECT_TRUE(journal_[0].estimated & model::kEstimatedEnd);
  ASSERT_NE(t_.model().find_call("00000009"), nullptr);
  EXPECT_EQ(line("100"), model::DeviceState::busy);
  cleared("100", "00000009", "100", L::null, "normalClearing", 12);
  call_cleared("100", "00000009", 12);
  ASSERT_EQ(journal_.size(), 2u);
  EXPECT_TRUE(journal_[1].estimated & model::kEstimatedStart);
  EXPECT_EQ(line("100"), model::DeviceState::idle);
}

TEST_F(TrackerTest, ShortNumberThatIsNoLineIsOutbound) {
  // A conference room: dialed as 800, not one of the lines, answered at once.
  originated("100", "00000008", "100", "800", 0);
  established("100", "00000008", "800", "100", L::connected, 0);
  cleared("100", "00000008", "100", L::null, "normalClearing", 9);
  call_cleared("100", "00000008", 9);
  ASSERT_EQ(journal_.size(), 1u);
  EXPECT_EQ(journal_[0].direction, Direction::outbound);
  EXPECT_EQ(journal_[0].remote, "800");
  EXPECT_EQ(journal_[0].disposition, Disposition::answered);
}

TEST_F(TrackerTest, EventsOfOtherDevicesAndOtherMessagesIgnored) {
  delivered("101", "00000001", "100", "+4989123456", L::null, 0);
  t_.on_event("100", wire::MonitorStartResponse{"1", {}}, at(0));
  EXPECT_TRUE(events_.empty());
  EXPECT_TRUE(t_.model().calls().empty());
}

TEST(ExpandDevices, RangesAndErrors) {
  auto r = expand_devices({"100-102", "099", "101", "*21#"});
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"*21#", "099", "100", "101", "102"}));
  auto zero = expand_devices({"008-010"});
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->front(), "008");
  EXPECT_FALSE(expand_devices({"10-100"}));
  EXPECT_FALSE(expand_devices({"200-100"}));
  EXPECT_FALSE(expand_devices({"0-99999"}));
  EXPECT_FALSE(expand_devices({"1<2"}));
  EXPECT_EQ(q850_of("busy"), 17);
  EXPECT_EQ(q850_of("whatever"), std::nullopt);
}

}  // namespace
}  // namespace callbridge::drivers::csta
