// CallMapper: model call events in, the CSTA events a device monitor sees out (ECMA-269 17.2).
#include "csta_server/call_mapper.hpp"

#include <gtest/gtest.h>

#include "csta_server/call_ids.hpp"

namespace callbridge::csta_server {
namespace {

using model::CallEventType;
using model::ConnectionState;

base::Timestamp at(int s) { return base::Timestamp(std::chrono::seconds(1'795'000'000 + s)); }

// Runs a CallModel and collects what monitors of `devices` see, as "Kind conn-device local cause".
struct Harness {
  model::CallModel model{base::TenantId("default")};
  CallMapper mapper;
  std::vector<std::string> monitored;
  std::vector<std::pair<std::string, MappedEvent>> seen;  // monitored device, event
  Harness(std::vector<std::string> devs) : monitored(std::move(devs)) {
    model.set_sink([this](const model::CallEvent& e) {
      const auto* after = model.find_call(e.call_id);
      bool gone = after == nullptr || after->connections.empty();
      mapper.observe(e);
      for (const auto& d : monitored)
        for (auto& m : mapper.map(e, d, gone)) seen.emplace_back(d, std::move(m));
      if (gone) mapper.forget(e.call_id);
    });
  }
  std::vector<std::string> lines(const std::string& device) const {
    std::vector<std::string> out;
    for (const auto& [d, m] : seen)
      if (d == device)
        out.push_back(std::string(to_string(m.kind)) + " " + m.connection.call + "/" + m.connection.device + " " +
                      std::string(to_string(m.local)) + " " + m.cause);
    return out;
  }
};

TEST(CallMapper, InboundAnsweredAndClearedAsTheRungDeviceSeesIt) {
  Harness h({"100"});
  h.model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+498912345");
  h.model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(1), "+498912345");
  h.model.clear("c1", "100", at(9), 16);
  EXPECT_EQ(h.lines("100"), (std::vector<std::string>{
                                "Delivered c1/100 alerting newCall",
                                "Established c1/100 connected newCall",
                                "ConnectionCleared c1/100 null normalClearing",
                                "CallCleared c1/ null normalClearing",
                            }));
  const auto& d = h.seen[0].second;
  EXPECT_EQ(d.subject, "100");
  EXPECT_EQ(d.calling, "+498912345");
  EXPECT_EQ(d.called, "100");
  EXPECT_EQ(h.mapper.calls_known(), 0u) << "an ended call is forgotten";
}

TEST(CallMapper, InternalCallBothSidesSeeEachOthersChangesWithTheSameConnectionIds) {
  Harness h({"100", "101"});
  h.model.update("c1", "100", ConnectionState::initiated, CallEventType::originated, at(0), "101");
  h.model.update("c1", "101", ConnectionState::alerting, CallEventType::delivered, at(1), "100");
  h.model.update("c1", "101", ConnectionState::connected, CallEventType::established, at(2), "100");
  h.model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(2), "101");
  h.model.update("c1", "101", ConnectionState::held, CallEventType::held, at(3), "100");
  h.model.clear("c1", "100", at(5), 16);
  h.model.clear("c1", "101", at(5), 16);
  EXPECT_EQ(h.lines("100"), (std::vector<std::string>{
                                "ServiceInitiated c1/100 initiated newCall",
                                "Originated c1/100 initiated newCall",
                                "Delivered c1/101 initiated newCall",
                                "Established c1/101 initiated newCall",
                                "Established c1/101 connected newCall",
                                "Held c1/101 connected normal",
                                "ConnectionCleared c1/100 null normalClearing",
                            }));
  // 101 is not in the call before it rings: a device monitor sees only its device's calls.
  EXPECT_EQ(h.lines("101"), (std::vector<std::string>{
                                "Delivered c1/101 alerting newCall",
                                "Established c1/101 connected newCall",
                                "Established c1/101 connected newCall",
                                "Held c1/101 hold normal",
                                "ConnectionCleared c1/100 hold normalClearing",
                                "ConnectionCleared c1/101 null normalClearing",
                                "CallCleared c1/ null normalClearing",
                            }));
  // Originated names who calls whom; the answer at 101 is 101's connection for both monitors.
  EXPECT_EQ(h.seen[1].second.calling, "100");
  EXPECT_EQ(h.seen[1].second.called, "101");
}

TEST(CallMapper, CausesOfFailuresAndTheMakeCallCause) {
  Harness h({"100"});
  h.mapper.expect_make_call("100", "+4930777");
  h.model.update("c1", "100", ConnectionState::initiated, CallEventType::originated, at(0));
  h.model.clear("c1", "100", at(4), 17, /*failed=*/true);
  EXPECT_EQ(h.lines("100"), (std::vector<std::string>{
                                "ServiceInitiated c1/100 initiated makeCall",
                                "Originated c1/100 initiated makeCall",
                                "Failed c1/100 null busy",
                                "CallCleared c1/ null busy",
                            }));
  EXPECT_EQ(h.seen[1].second.called, "+4930777") << "the MakeCall's destination, which the PBX did not report";
  EXPECT_EQ(clearing_cause(19, false), "callNotAnswered");
  EXPECT_EQ(clearing_cause(std::nullopt, true), "destNotObtainable");
  EXPECT_EQ(clearing_cause(16, false), "normalClearing");
}

TEST(CallMapper, DevicesOutsideTheCallSeeNothing) {
  Harness h({"102"});
  h.model.update("c1", "100", ConnectionState::alerting, CallEventType::delivered, at(0), "+498912345");
  h.model.clear("c1", "100", at(1), 16);
  EXPECT_TRUE(h.lines("102").empty());
}

TEST(CallMapper, BlindTransferAwayEndsTheTransferersConnection) {
  Harness h({"100"});
  h.model.update("c1", "100", ConnectionState::connected, CallEventType::established, at(0), "+498912345");
  h.model.update("c1", "101", ConnectionState::alerting, CallEventType::delivered, at(1), "+498912345");
  h.model.clear("c1", "100", at(2), 16, false, std::string("101"), /*transferred=*/true);
  auto l = h.lines("100");
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[1], "Delivered c1/101 connected newCall");
  EXPECT_EQ(l[2], "Transferred c1/100 null transfer");
  EXPECT_EQ(l[3], "ConnectionCleared c1/100 null transfer");
  EXPECT_EQ(h.seen[2].second.other, "101");
}

TEST(CallMapper, QueuedAndConferencedAndDiverted) {
  Harness h({"101"});
  h.model.update("c1", "101", ConnectionState::queued, CallEventType::queued, at(0), "+498912345");
  h.model.update("c1", "101", ConnectionState::connected, CallEventType::conferenced, at(1), "+498912345",
                 std::string("100"));
  h.model.update("c1", "101", ConnectionState::alerting, CallEventType::diverted, at(2), "+498912345",
                 std::string("102"));
  auto l = h.lines("101");
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0], "Queued c1/101 queued enteringDistribution");
  EXPECT_EQ(l[1], "Conferenced c1/101 connected conference");
  EXPECT_EQ(l[2], "Diverted c1/101 alerting redirected");
  EXPECT_EQ(h.seen[2].second.other, "102");
  EXPECT_EQ(h.seen[1].second.connections.size(), 1u);
}

TEST(CallIds, StableHexIdsReservationsAndForgetting) {
  CallIds ids;
  const std::string a = ids.of("ctilab-1.1");
  EXPECT_EQ(a, "00000001");
  EXPECT_EQ(ids.of("ctilab-1.1", "100"), a);
  const std::string r = ids.reserve("100");
  EXPECT_EQ(ids.of("ctilab-1.7", "101"), "00000003") << "a reservation is for its device only";
  EXPECT_EQ(ids.of("ctilab-1.8", "100"), r);
  EXPECT_EQ(ids.call_of(r), "ctilab-1.8");
  ids.forget("ctilab-1.8");
  EXPECT_FALSE(ids.call_of(r));
  EXPECT_EQ(ids.size(), 2u);
}

}  // namespace
}  // namespace callbridge::csta_server
