// SimServer over real TCP (port 0, no sleeps: blocking reads with a receive timeout).
#include "sim/sim_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <thread>

#include "protocols/ami/frame_reader.hpp"
#include "sim/flows.hpp"

namespace callbridge::sim {
namespace {

class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }
  // Reads until a message satisfies `pred`; nullopt on EOF or the 10 s receive timeout.
  std::optional<ami::OwnedAmiMessage> wait_for(const std::function<bool(const ami::AmiMessage&)>& pred) {
    ami::AmiMessage m;
    while (true) {
      while (true) {
        auto r = reader_.next(m);
        if (!r || !*r) break;
        seen_.emplace_back(m);
        if (pred(m)) return seen_.back();
      }
      char buf[8192];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      reader_.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
  std::optional<ami::OwnedAmiMessage> response(std::string_view action_id) {
    return wait_for([&](const ami::AmiMessage& m) { return !m.response().empty() && m.action_id() == action_id; });
  }
  const std::vector<ami::OwnedAmiMessage>& seen() const { return seen_; }
  const ami::FrameReader& reader() const { return reader_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  ami::FrameReader reader_{{}, true};
  std::vector<ami::OwnedAmiMessage> seen_;
};

struct ServerFixture {
  SimEngine engine{LabConfig{}, base::from_micros(1'795'382'753'000'000), nullptr};
  SimServer server;
  std::uint16_t port = 0;
  std::thread thread;
  explicit ServerFixture(double speed, std::function<void(SimEngine&)> first_login = nullptr)
      : server(SimServerOptions{.host = "127.0.0.1", .port = 0, .speed = speed}, engine) {
    if (first_login) server.on_first_login(std::move(first_login));  // before the thread starts
    auto p = server.listen();
    EXPECT_TRUE(p.has_value());
    port = p.value_or(0);
    thread = std::thread([this] { server.run(); });
  }
  ~ServerFixture() {
    server.stop();
    thread.join();
  }
};

TEST(SimServer, PlainLoginPingCoreShowChannelsAndOriginate) {
  ServerFixture f(0);  // as fast as possible
  Client c(f.port);
  ASSERT_TRUE(c.connected());
  c.send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nEvents: on\r\nActionID: login\r\n\r\n");
  auto login = c.response("login");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->view().get("Message"), "Authentication accepted");
  EXPECT_EQ(c.reader().banner(), "Asterisk Call Manager/11.0.0");

  c.send("Action: Ping\r\nActionID: p\r\n\r\n");
  auto pong = c.response("p");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->view().get("Ping"), "Pong");

  c.send("Action: CoreShowChannels\r\nActionID: csc\r\n\r\n");
  auto done = c.wait_for([](const ami::AmiMessage& m) { return m.event() == "CoreShowChannelsComplete"; });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->view().get("ListItems"), "0");

  c.send("Action: Originate\r\nActionID: c2d-0001\r\nChannel: PJSIP/100\r\nContext: from-internal\r\n"
         "Exten: 089123456\r\nPriority: 1\r\nCallerID: \"089123456\" <089123456>\r\nTimeout: 30000\r\n"
         "Async: true\r\nVariable: CTI_REQUEST=c2d-0001\r\n\r\n");
  auto queued = c.response("c2d-0001");
  ASSERT_TRUE(queued);
  EXPECT_EQ(queued->view().get("Message"), "Originate successfully queued");
  auto orig = c.wait_for([](const ami::AmiMessage& m) { return m.event() == "OriginateResponse"; });
  ASSERT_TRUE(orig);
  EXPECT_EQ(orig->view().get("Response"), "Success");
  EXPECT_EQ(orig->view().get("Reason"), "4");
  EXPECT_EQ(orig->view().get("ActionID"), "c2d-0001");
  // The call runs to its end (speed 0): the trunk leg answers, talks, both hang up.
  auto last = c.wait_for([](const ami::AmiMessage& m) {
    return m.event() == "Hangup" && m.get("Channel").starts_with("PJSIP/trunk-");
  });
  ASSERT_TRUE(last);
  bool response_before_events = false;
  for (const auto& m : c.seen()) {
    if (m.view().action_id() == "c2d-0001" && !m.view().response().empty()) { response_before_events = true; }
    if (m.view().event() == "Newchannel") {
      EXPECT_TRUE(response_before_events) << "Newchannel before the Originate response";
      break;
    }
  }
  // An endpoint the PBX does not have: queued, then refused (Async), or refused at once.
  c.send("Action: Originate\r\nActionID: c2d-0002\r\nChannel: PJSIP/999\r\nContext: from-internal\r\n"
         "Exten: 089123456\r\nPriority: 1\r\nCallerID: \"089123456\" <089123456>\r\nTimeout: 30000\r\n"
         "Async: true\r\n\r\n");
  auto q2 = c.response("c2d-0002");
  ASSERT_TRUE(q2);
  EXPECT_EQ(q2->view().get("Response"), "Success");
  auto refused = c.wait_for([](const ami::AmiMessage& m) {
    return m.event() == "OriginateResponse" && m.get("ActionID") == "c2d-0002";
  });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->view().get("Response"), "Failure");
  EXPECT_EQ(refused->view().get("Reason"), "0");
  EXPECT_EQ(refused->view().get("Channel"), "PJSIP/999");
  c.send("Action: Originate\r\nActionID: c2d-0003\r\nChannel: PJSIP/999\r\nExten: 1\r\n\r\n");
  auto sync = c.response("c2d-0003");
  ASSERT_TRUE(sync);
  EXPECT_EQ(sync->view().get("Response"), "Error");
  EXPECT_EQ(sync->view().get("Message"), "Originate failed");
}

// Paced, with the next step far off (as the demo's sparse traffic leaves it): what an action
// causes carries the time it runs at, not the time of the last step the engine ran (a hold and
// its retrieve were stamped alike, and the journal's hold time was 0).
TEST(SimServer, AnActionIsStampedWithThePresentBetweenSteps) {
  ServerFixture f(1000, [](SimEngine& e) { e.after(std::chrono::hours(24), [] {}); });
  Client c(f.port);
  ASSERT_TRUE(c.connected());
  c.send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nActionID: login\r\n\r\n");
  ASSERT_TRUE(c.response("login"));
  auto stamp = [&](const std::string& id) {
    c.send("Action: Ping\r\nActionID: " + id + "\r\n\r\n");
    auto pong = c.response(id);
    EXPECT_TRUE(pong);
    return pong ? std::stod(std::string(pong->view().get("Timestamp"))) : 0.0;
  };
  double first = stamp("p1");
  double second = stamp("p2");  // a round trip later: at speed 1000, milliseconds of simulated time
  EXPECT_GT(first, 1'795'382'753.0);
  EXPECT_GT(second, first);
}

TEST(SimServer, Md5LoginAndLogoff) {
  ServerFixture f(1);
  Client c(f.port);
  ASSERT_TRUE(c.connected());
  c.send("Action: Challenge\r\nAuthType: MD5\r\nActionID: ch\r\n\r\n");
  auto ch = c.response("ch");
  ASSERT_TRUE(ch);
  std::string key = md5_hex(std::string(ch->view().get("Challenge")) + "cti-secret");
  c.send("Action: Login\r\nAuthType: MD5\r\nUsername: cti\r\nKey: " + key + "\r\nActionID: l\r\n\r\n");
  auto l = c.response("l");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->view().response(), "Success");
  c.send("Action: Logoff\r\nActionID: bye\r\n\r\n");
  auto bye = c.response("bye");
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->view().response(), "Goodbye");
  // The server closes the connection after Goodbye.
  EXPECT_FALSE(c.wait_for([](const ami::AmiMessage&) { return false; }));
}

TEST(SimServer, FailedLoginIsDisconnected) {
  ServerFixture f(1);
  Client c(f.port);
  ASSERT_TRUE(c.connected());
  c.send("Action: Login\r\nUsername: cti\r\nSecret: wrong\r\nActionID: l\r\n\r\n");
  auto l = c.response("l");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->view().get("Message"), "Authentication failed");
  EXPECT_FALSE(c.wait_for([](const ami::AmiMessage&) { return false; }));
}

TEST(SimServer, ScenarioAfterFirstLoginReachesAllClients) {
  ServerFixture f(0, [](SimEngine& e) { start_inbound(e, {.ring = 2s, .talk = 3s}); });
  Client a(f.port);
  ASSERT_TRUE(a.connected());
  a.send("Action: Login\r\nUsername: cti\r\nSecret: cti-secret\r\nActionID: login\r\n\r\n");
  ASSERT_TRUE(a.response("login"));
  auto hangups = 0;
  auto end = a.wait_for([&](const ami::AmiMessage& m) { return m.event() == "Hangup" && ++hangups == 2; });
  ASSERT_TRUE(end);
  int newchannels = 0;
  for (const auto& m : a.seen()) newchannels += m.view().event() == "Newchannel";
  EXPECT_EQ(newchannels, 2);
}

}  // namespace
}  // namespace callbridge::sim
