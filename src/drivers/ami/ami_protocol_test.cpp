#include "drivers/ami/ami_protocol.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace callbridge::drivers::ami {
namespace {

using std::chrono::milliseconds;

struct Sink : AmiSink {
  std::vector<std::string> log;  // "start", "end:<msg>", "msg:<Event or Response>:<ActionID>"
  int starts = 0, ends = 0;
  void on_session_start(base::Timestamp) override {
    ++starts;
    log.push_back("start");
  }
  void on_message(const AmiMessage& m, base::Timestamp) override {
    log.push_back("msg:" + std::string(m.event().empty() ? m.response() : m.event()) + ":" +
                  std::string(m.action_id()));
  }
  void on_session_end(base::Timestamp, const base::Error& why) override {
    ++ends;
    log.push_back("end:" + why.message());
  }
};

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

base::Timestamp at(int ms) { return base::from_micros(1'795'000'000'000'000 + ms * 1000LL); }

AmiProtocolConfig plain() {
  AmiProtocolConfig c;
  c.username = "cti";
  c.secret = "cti-secret";
  return c;
}

constexpr std::string_view kBanner = "Asterisk Call Manager/11.0.0\r\n";
constexpr std::string_view kLoginOk = "Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n";

// Logs in with no resync actions, so tests start from a quiet, up session.
void login(AmiProtocol& p) {
  p.begin(at(0));
  ASSERT_TRUE(p.on_bytes(kBanner, at(0)));
  ASSERT_TRUE(p.on_bytes(kLoginOk, at(1)));
  ASSERT_TRUE(p.up());
  p.take_output();
}

TEST(AmiProtocol, ReconnectFixtureProducesExactlyTheRecordedClientBytes) {
  // The real client that captured ami_reconnect logged in and resynced one action at a time;
  // our protocol, fed the bytes it received, must send byte-for-byte what it sent.
  const std::string dir = CALLBRIDGE_FIXTURES_DIR "/ami_reconnect/";
  const std::string in = slurp(dir + "ami-reconnect.log");
  const std::string want = slurp(dir + "ami-reconnect.sent");
  ASSERT_FALSE(in.empty());
  Sink sink;
  AmiProtocolConfig cfg = plain();
  // The capture predates the resync's ParkedCalls (docs/parking.md): the rest, in its order.
  std::erase(cfg.resync_actions, "ParkedCalls");
  ASSERT_EQ(cfg.resync_actions.size() + 1, default_resync_actions().size());
  AmiProtocol p(cfg, sink);
  p.begin(at(0));
  std::string sent;
  for (char c : in) {  // one byte at a time: the worst chunking
    ASSERT_TRUE(p.on_bytes(std::string_view(&c, 1), at(5)));
    sent += p.take_output();
  }
  EXPECT_EQ(sent, want);
  EXPECT_EQ(sink.starts, 1);
  EXPECT_EQ(p.pending_actions(), 0u);  // every resync action completed
  EXPECT_EQ(p.counters().sessions_started, 1u);
  EXPECT_EQ(p.counters().messages_received, 95u + 9u);  // 95 events + 9 resync responses
  EXPECT_EQ(p.counters().events_received, 95u);
}

TEST(AmiProtocol, PlainLoginMatchesFixtureSentBytes) {
  Sink sink;
  AmiProtocol p(plain(), sink);
  p.begin(at(0));
  EXPECT_FALSE(p.has_output());  // nothing before the banner
  ASSERT_TRUE(p.on_bytes("Asterisk Call Manager/11.0.0\r", at(0)));
  EXPECT_FALSE(p.has_output());
  ASSERT_TRUE(p.on_bytes("\n", at(0)));
  EXPECT_EQ(p.take_output(), slurp(CALLBRIDGE_FIXTURES_DIR "/inbound_answered/ami.sent"));
  EXPECT_EQ(p.state(), AmiProtocolState::logging_in);
  EXPECT_EQ(*p.banner(), "Asterisk Call Manager/11.0.0");
}

TEST(AmiProtocol, Md5KeyIsHexMd5OfChallengeAndSecret) {
  EXPECT_EQ(ami_md5_key("", ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(ami_md5_key("ab", "c"), "900150983cd24fb0d6963f7d28e17f72");  // md5("abc"), RFC 1321
}

TEST(AmiProtocol, Md5LoginSendsChallengeThenKey) {
  Sink sink;
  auto cfg = plain();
  cfg.auth = AmiAuth::md5;
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  p.begin(at(0));
  ASSERT_TRUE(p.on_bytes(kBanner, at(0)));
  EXPECT_EQ(p.take_output(), "Action: Challenge\r\nAuthType: MD5\r\nActionID: login-challenge\r\n\r\n");
  EXPECT_EQ(p.state(), AmiProtocolState::challenging);
  ASSERT_TRUE(p.on_bytes("Response: Success\r\nChallenge: 840415273\r\nActionID: login-challenge\r\n\r\n", at(1)));
  EXPECT_EQ(p.take_output(), "Action: Login\r\nAuthType: MD5\r\nUsername: cti\r\nKey: " +
                                 ami_md5_key("840415273", "cti-secret") +
                                 "\r\nEvents: on\r\nActionID: login\r\n\r\n");
  ASSERT_TRUE(p.on_bytes(kLoginOk, at(2)));
  EXPECT_TRUE(p.up());
  EXPECT_EQ(sink.log, std::vector<std::string>{"start"});
}

TEST(AmiProtocol, RejectedLoginIsAClearErrorAndNoSessionEvents) {
  Sink sink;
  AmiProtocol p(plain(), sink);
  p.begin(at(0));
  ASSERT_TRUE(p.on_bytes(kBanner, at(0)));
  auto st = p.on_bytes("Response: Error\r\nActionID: login\r\nMessage: Authentication failed\r\n\r\n", at(1));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::invalid_argument);
  EXPECT_EQ(st.error().message(), "AMI login rejected for user 'cti': Authentication failed");
  p.end(at(2), st.error());
  EXPECT_EQ(sink.starts, 0);
  EXPECT_EQ(sink.ends, 0);  // on_session_end pairs with on_session_start only
}

TEST(AmiProtocol, BadBannerIsAProtocolError) {
  Sink sink;
  AmiProtocol p(plain(), sink);
  p.begin(at(0));
  auto st = p.on_bytes("HTTP/1.1 400 Bad Request\r\n\r\n", at(0));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::protocol);
  EXPECT_NE(st.error().message().find("banner"), std::string::npos);
}

TEST(AmiProtocol, ResyncRunsOneActionAtATimeAndSurvivesErrors) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions = {"CoreShowChannels", "QueueStatus", "CoreStatus"};
  AmiProtocol p(cfg, sink);
  p.begin(at(0));
  ASSERT_TRUE(p.on_bytes(std::string(kBanner) + std::string(kLoginOk), at(0)));
  std::string out = p.take_output();
  EXPECT_NE(out.find("ActionID: resync-CoreShowChannels"), std::string::npos);
  EXPECT_EQ(out.find("resync-QueueStatus"), std::string::npos);
  ASSERT_TRUE(p.on_bytes("Response: Success\r\nActionID: resync-CoreShowChannels\r\nEventList: start\r\n\r\n"
                         "Event: CoreShowChannel\r\nActionID: resync-CoreShowChannels\r\nChannel: X\r\n\r\n",
                         at(1)));
  EXPECT_FALSE(p.has_output());  // still inside the list
  ASSERT_TRUE(p.on_bytes("Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\n"
                         "EventList: Complete\r\nListItems: 1\r\n\r\n", at(2)));
  EXPECT_EQ(p.take_output(), "Action: QueueStatus\r\nActionID: resync-QueueStatus\r\n\r\n");
  ASSERT_TRUE(p.on_bytes("Response: Error\r\nActionID: resync-QueueStatus\r\nMessage: No such command\r\n\r\n", at(3)));
  EXPECT_EQ(p.take_output(), "Action: CoreStatus\r\nActionID: resync-CoreStatus\r\n\r\n");
  ASSERT_TRUE(p.on_bytes("Response: Success\r\nActionID: resync-CoreStatus\r\nCoreUptime: 1\r\n\r\n", at(4)));
  EXPECT_EQ(p.pending_actions(), 0u);
  EXPECT_EQ(sink.log, (std::vector<std::string>{"start", "msg:Success:resync-CoreShowChannels",
                                                "msg:CoreShowChannel:resync-CoreShowChannels",
                                                "msg:CoreShowChannelsComplete:resync-CoreShowChannels",
                                                "msg:Error:resync-QueueStatus", "msg:Success:resync-CoreStatus"}));
}

TEST(AmiProtocol, ListActionCollectsItsItemsAmidInterleavedEvents) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  login(p);
  std::optional<base::Result<AmiResponse>> list, ping;
  auto id1 = p.submit(AmiAction("PJSIPShowEndpoints"), [&](auto r) { list = std::move(r); }, at(2));
  auto id2 = p.submit(AmiAction("Ping"), [&](auto r) { ping = std::move(r); }, at(2));
  ASSERT_TRUE(id1 && id2);
  EXPECT_EQ(*id1, "cb-1");
  EXPECT_EQ(*id2, "cb-2");
  EXPECT_EQ(p.take_output(), "Action: PJSIPShowEndpoints\r\nActionID: cb-1\r\n\r\nAction: Ping\r\nActionID: cb-2\r\n\r\n");
  ASSERT_TRUE(p.on_bytes("Response: Success\r\nActionID: cb-1\r\nEventList: start\r\n\r\n"
                         "Event: EndpointList\r\nActionID: cb-1\r\nObjectName: 100\r\n\r\n"
                         "Event: Newstate\r\nChannel: PJSIP/100-1\r\n\r\n"
                         "Response: Success\r\nActionID: cb-2\r\nPing: Pong\r\n\r\n"
                         "Event: EndpointList\r\nActionID: cb-1\r\nObjectName: 101\r\n\r\n"
                         "Event: OtherList\r\nActionID: unrelated\r\n\r\n",
                         at(3)));
  ASSERT_TRUE(ping.has_value());
  ASSERT_TRUE(*ping);
  EXPECT_EQ((*ping)->response.view().get("Ping"), "Pong");
  EXPECT_FALSE(list.has_value());
  ASSERT_TRUE(p.on_bytes("Event: EndpointListComplete\r\nActionID: cb-1\r\nEventList: Complete\r\nListItems: 2\r\n\r\n", at(4)));
  ASSERT_TRUE(list.has_value() && *list);
  const AmiResponse& r = **list;
  EXPECT_TRUE(r.success());
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].view().get("ObjectName"), "100");
  EXPECT_EQ(r.items[1].view().get("ObjectName"), "101");
  ASSERT_TRUE(r.complete.has_value());
  EXPECT_EQ(r.complete->view().get("ListItems"), "2");
  EXPECT_EQ(sink.log.size(), 1u + 7u);  // every message reached the sink too
}

TEST(AmiProtocol, ErrorResponseIsAResponseNotAnError) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  login(p);
  std::optional<base::Result<AmiResponse>> got;
  AmiAction a("Originate");
  a.action_id = "c2d-0001";
  a.set("Channel", "PJSIP/100");
  ASSERT_EQ(*p.submit(a, [&](auto r) { got = std::move(r); }, at(2)), "c2d-0001");
  EXPECT_EQ(p.take_output(), "Action: Originate\r\nActionID: c2d-0001\r\nChannel: PJSIP/100\r\n\r\n");
  auto dup = p.submit(a, nullptr, at(2));
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), base::Errc::conflict);
  for (const char* reserved : {"login", "resync-Status", "cb-7"}) {
    AmiAction r("Ping");
    r.action_id = reserved;
    auto res = p.submit(r, nullptr, at(2));
    ASSERT_FALSE(res) << reserved;
    EXPECT_EQ(res.error().code(), base::Errc::invalid_argument);
  }
  ASSERT_TRUE(p.on_bytes("Response: Error\r\nActionID: c2d-0001\r\nMessage: Extension does not exist.\r\n\r\n", at(3)));
  ASSERT_TRUE(got && *got);
  EXPECT_FALSE((*got)->success());
  EXPECT_EQ((*got)->message(), "Extension does not exist.");
}

TEST(AmiProtocol, ActionsAreValidated) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  auto before = p.submit(AmiAction("Ping"), nullptr, at(0));
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code(), base::Errc::unavailable);
  login(p);
  for (auto bad : {AmiAction("Ping\r\nAction: Logoff"), AmiAction(""), AmiAction("X").set("Chan\nnel", "v"),
                   AmiAction("X").set("Channel", "PJSIP/100\r\n\r\nAction: Hangup"),
                   AmiAction("X").set("ActionID", "x"), AmiAction("X").set("Key:", "v"),
                   AmiAction("X").set("K", std::string(70'000, 'v'))}) {
    auto r = p.submit(bad, nullptr, at(1));
    ASSERT_FALSE(r) << bad.name;
    EXPECT_EQ(r.error().code(), base::Errc::invalid_argument);
  }
  EXPECT_FALSE(p.has_output());
}

TEST(AmiProtocol, BoundedSendQueueAndPendingActions) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  cfg.max_output_bytes = 100;
  cfg.max_pending_actions = 3;
  AmiProtocol p(cfg, sink);
  login(p);
  ASSERT_TRUE(p.submit(AmiAction("Ping"), nullptr, at(1)));
  auto big = p.submit(AmiAction("X").set("K", std::string(100, 'v')), nullptr, at(1));
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message().find("send queue full"), std::string::npos);
  p.take_output();
  ASSERT_TRUE(p.submit(AmiAction("Ping"), nullptr, at(1)));
  ASSERT_TRUE(p.submit(AmiAction("Ping"), nullptr, at(1)));
  auto fourth = p.submit(AmiAction("Ping"), nullptr, at(1));
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code(), base::Errc::unavailable);
}

TEST(AmiProtocol, KeepalivePingAndTimeout) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  cfg.ping_interval = milliseconds(1000);
  cfg.ping_timeout = milliseconds(500);
  AmiProtocol p(cfg, sink);
  login(p);  // up at t=1ms
  ASSERT_TRUE(p.tick(at(900)));
  EXPECT_FALSE(p.has_output());
  ASSERT_TRUE(p.tick(at(1001)));
  EXPECT_EQ(p.take_output(), "Action: Ping\r\nActionID: cb-1\r\n\r\n");
  ASSERT_TRUE(p.on_bytes("Response: Success\r\nActionID: cb-1\r\nPing: Pong\r\n\r\n", at(1100)));
  ASSERT_TRUE(p.tick(at(1500)));
  EXPECT_FALSE(p.has_output());
  ASSERT_TRUE(p.tick(at(2001)));
  EXPECT_EQ(p.take_output(), "Action: Ping\r\nActionID: cb-2\r\n\r\n");
  ASSERT_TRUE(p.tick(at(2400)));
  auto st = p.tick(at(2501));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::timeout);
  EXPECT_NE(st.error().message().find("Ping"), std::string::npos);
}

TEST(AmiProtocol, LoginTimeout) {
  Sink sink;
  auto cfg = plain();
  cfg.login_timeout = milliseconds(100);
  AmiProtocol p(cfg, sink);
  p.begin(at(0));
  ASSERT_TRUE(p.on_bytes(kBanner, at(10)));
  ASSERT_TRUE(p.tick(at(99)));
  auto st = p.tick(at(100));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::timeout);
}

TEST(AmiProtocol, ActionTimeoutAndSessionEndFailPendingActions) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  cfg.ping_interval = milliseconds(0);
  AmiProtocol p(cfg, sink);
  login(p);
  std::optional<base::Result<AmiResponse>> a, b;
  ASSERT_TRUE(p.submit(AmiAction("QueueStatus"), [&](auto r) { a = std::move(r); }, at(10), milliseconds(50)));
  ASSERT_TRUE(p.submit(AmiAction("Status"), [&](auto r) { b = std::move(r); }, at(10)));
  ASSERT_TRUE(p.tick(at(60)));
  ASSERT_TRUE(a.has_value());
  ASSERT_FALSE(*a);
  EXPECT_EQ(a->error().code(), base::Errc::timeout);
  EXPECT_FALSE(b.has_value());
  p.end(at(70), base::Error::unavailable("peer closed"));
  ASSERT_TRUE(b.has_value());
  ASSERT_FALSE(*b);
  EXPECT_EQ(b->error().code(), base::Errc::unavailable);
  EXPECT_EQ(sink.log.back(), "end:peer closed");
  EXPECT_EQ(sink.ends, 1);
  p.end(at(80), base::Error::unavailable("again"));  // idempotent
  EXPECT_EQ(sink.ends, 1);
}

TEST(AmiProtocol, MessageWithoutEventOrResponseEndsTheSession) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  login(p);
  auto st = p.on_bytes("\x01\x02garbage\xff\r\nmore: garbage\r\n\r\n", at(2));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::protocol);
}

TEST(AmiProtocol, OversizeLineEndsTheSession) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  login(p);
  std::string big(1 << 20, 'x');
  base::Status st;
  for (int i = 0; i < 10 && st; ++i) st = p.on_bytes(big, at(2));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::protocol);
}

TEST(AmiProtocol, NewSessionAfterEndStartsOver) {
  Sink sink;
  auto cfg = plain();
  cfg.resync_actions.clear();
  AmiProtocol p(cfg, sink);
  login(p);
  p.end(at(5), base::Error::unavailable("gone"));
  EXPECT_EQ(p.state(), AmiProtocolState::closed);
  login(p);
  EXPECT_EQ(sink.log, (std::vector<std::string>{"start", "end:gone", "start"}));
  EXPECT_EQ(p.counters().sessions_started, 2u);
}

}  // namespace
}  // namespace callbridge::drivers::ami
