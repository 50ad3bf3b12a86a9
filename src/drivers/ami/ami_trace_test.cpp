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

// The ingest path keeps the event's bytes (note_ami_event -> CallTrace::add_raw) and formats them
// when the trace is read: the same steps as formatting on the way in, the same events skipped.
struct RawSteps final : ports::CallTrace {
  struct S {
    std::string call, raw;
    ports::RawTraceFormat format;
  };
  std::vector<S> got;
  int formatted_now = 0;
  void add(std::string_view, ports::TraceStage, base::Timestamp, std::string, std::string) override {
    ++formatted_now;
  }
  void add_raw(std::string_view call_id, base::Timestamp, std::string_view raw, ports::RawTraceFormat f) override {
    got.push_back({std::string(call_id), std::string(raw), f});
  }
};

TEST(AmiTrace, KeepsRawEventsThatReadAsTheFormattedSteps) {
  const std::string text =
      "Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\nSecret: hunter2\r\n\r\n"
      "Event: Newchannel\r\nChannel: PJSIP/201-00000001\r\nChannelStateDesc: Ring\r\nCallerIDNum: 089123456\r\n"
      "Uniqueid: 1700.1\r\nLinkedid: 1700.1\r\nSecret: hunter2\r\nAccountCode: topsecret\r\n\r\n"
      "Event: VarSet\r\nChannel: PJSIP/201-00000001\r\nVariable: PIN\r\nValue: 98765\r\nLinkedid: 1700.1\r\n\r\n"
      "Event: PeerStatus\r\nPeer: PJSIP/201\r\nPeerStatus: Reachable\r\n\r\n"
      "Event: CoreShowChannel\r\nActionID: resync-1\r\nChannel: PJSIP/202-2\r\nLinkedid: 1700.1\r\n\r\n"
      "Event: DialEnd\r\nChannel: PJSIP/trunk-2\r\nDestChannel: PJSIP/202-3\r\nDialStatus: NOANSWER\r\n"
      "Linkedid: 1700.1\r\nLinkedid: 1700.9\r\n\r\n";
  FrameReader r({}, /*expect_banner=*/false);
  r.feed(text);
  RawSteps raw;
  Steps formatted;
  AmiMessage m;
  int noted = 0, traced = 0;
  while (true) {
    auto got = r.next(m);
    ASSERT_TRUE(got);
    if (!*got) break;
    ASSERT_FALSE(m.raw().empty());
    noted += note_ami_event(raw, m, base::Timestamp{});
    traced += trace_ami_event(formatted, m, base::Timestamp{});
  }
  EXPECT_EQ(noted, 3);
  EXPECT_EQ(traced, 3);
  EXPECT_EQ(raw.formatted_now, 0);  // nothing formatted on the way in
  ASSERT_EQ(raw.got.size(), formatted.got.size());
  for (std::size_t i = 0; i < raw.got.size(); ++i) {
    EXPECT_EQ(raw.got[i].call, formatted.got[i].call);
    std::string what, detail;
    ASSERT_TRUE(raw.got[i].format(raw.got[i].raw, what, detail));
    EXPECT_EQ(what, formatted.got[i].what);
    EXPECT_EQ(detail, formatted.got[i].detail);
    EXPECT_EQ(detail.find("hunter2"), std::string::npos);
    EXPECT_EQ(detail.find("topsecret"), std::string::npos);
  }
  EXPECT_EQ(raw.got[1].call, "1700.1");
  EXPECT_EQ(formatted.got[1].detail, "Channel=PJSIP/202-2 (resync list item)");
  EXPECT_EQ(raw.got[2].call, "1700.9");  // the last Linkedid, as formatted
  // Bytes that are no call's event (garbage, a response) are no step.
  std::string what, detail;
  EXPECT_FALSE(format_ami_trace_step("Response: Success\r\nActionID: 1\r\n\r\n", what, detail));
  EXPECT_FALSE(format_ami_trace_step("", what, detail));
  // A message built by hand has no bytes: it is formatted at once.
  AmiMessage hand;
  hand.add("Event", "Hangup");
  hand.add("Channel", "PJSIP/201-1");
  hand.add("Linkedid", "1700.1");
  EXPECT_TRUE(note_ami_event(raw, hand, base::Timestamp{}));
  EXPECT_EQ(raw.formatted_now, 1);
}

}  // namespace
}  // namespace callbridge::drivers::ami
