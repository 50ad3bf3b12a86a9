// The PBX part of the explain trace: call events are noted under their Linkedid with whitelisted
// fields only; responses (Login's too), VarSet/DTMF and events without a Linkedid are not.
#include "drivers/ami/ami_trace.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace callbridge::drivers::ami {
namespace {

struct Steps final : ports::CallTrace {
  struct S {
    std::string call, what, detail;
  };
  std::vector<S> got;
  void add(std::string_view call_id, ports::TraceStage, base::Timestamp, std::string what,
           std::string detail) override {
    got.push_back({std::string(call_id), std::move(what), std::move(detail)});
  }
};

std::vector<OwnedAmiMessage> parse(std::string_view text) {
  FrameReader r({}, /*expect_banner=*/false);
  r.feed(text);
  std::vector<OwnedAmiMessage> out;
  AmiMessage m;
  while (true) {
    auto got = r.next(m);
    if (!got || !*got) break;
    out.emplace_back(m);
  }
  return out;
}

TEST(AmiTrace, NotesCallEventsWithWhitelistedFieldsOnly) {
  const auto msgs = parse(
      "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\nSecret: hunter2\r\n\r\n"
      "Event: Newchannel\r\nChannel: PJSIP/201-00000001\r\nChannelStateDesc: Ring\r\nCallerIDNum: 089123456\r\n"
      "Uniqueid: 1700.1\r\nLinkedid: 1700.1\r\nSecret: hunter2\r\nAccountCode: topsecret\r\n\r\n"
      "Event: VarSet\r\nChannel: PJSIP/201-00000001\r\nVariable: PIN\r\nValue: 98765\r\nLinkedid: 1700.1\r\n\r\n"
      "Event: DTMFEnd\r\nDigit: 4\r\nLinkedid: 1700.1\r\n\r\n"
      "Event: PeerStatus\r\nPeer: PJSIP/201\r\nPeerStatus: Reachable\r\n\r\n"
      "Event: DialEnd\r\nChannel: PJSIP/trunk-2\r\nDestChannel: PJSIP/202-3\r\nDialStatus: NOANSWER\r\n"
      "Linkedid: 1700.1\r\n\r\n");
  ASSERT_EQ(msgs.size(), 6u);
  Steps s;
  int noted = 0;
  for (const auto& m : msgs) noted += trace_ami_event(s, m.view(), base::Timestamp{});
  EXPECT_EQ(noted, 2);
  ASSERT_EQ(s.got.size(), 2u);
  EXPECT_EQ(s.got[0].call, "1700.1");
  EXPECT_EQ(s.got[0].what, "Newchannel");
  EXPECT_EQ(s.got[0].detail,
            "Channel=PJSIP/201-00000001 ChannelStateDesc=Ring CallerIDNum=089123456 Uniqueid=1700.1");
  EXPECT_EQ(s.got[1].what, "DialEnd");
  EXPECT_NE(s.got[1].detail.find("DialStatus=NOANSWER"), std::string::npos);
  for (const auto& g : s.got) {
    EXPECT_EQ(g.detail.find("hunter2"), std::string::npos);
    EXPECT_EQ(g.detail.find("topsecret"), std::string::npos);
    EXPECT_EQ(g.detail.find("98765"), std::string::npos);
  }
}

}  // namespace
}  // namespace callbridge::drivers::ami
