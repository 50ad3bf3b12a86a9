// The project's own AMI client (drivers/ami AmiProtocol, sans-I/O) against the simulator's
// server session (sans-I/O): bytes are pumped between them, no sockets. Plain and MD5 login,
// the default resync actions all answered successfully, and call events delivered to the sink.
#include <gtest/gtest.h>

#include "drivers/ami/ami_protocol.hpp"
#include "sim/ami_server_session.hpp"
#include "sim/flows.hpp"

namespace callbridge::sim {
namespace {

// The client side under test is the driver's (AmiProtocol, AmiSink); its message types are the
// shared wire types of protocols/ami.
namespace ami = drivers::ami;

struct Sink : ami::AmiSink {
  int starts = 0, ends = 0;
  std::vector<ami::OwnedAmiMessage> messages;
  void on_session_start(base::Timestamp) override { ++starts; }
  void on_message(const ami::AmiMessage& m, base::Timestamp) override { messages.emplace_back(m); }
  void on_session_end(base::Timestamp, const base::Error&) override { ++ends; }
  int count(std::string_view event) const {
    int n = 0;
    for (const auto& m : messages) n += m.view().event() == event;
    return n;
  }
};

struct Pair {
  AmiServerConfig server_cfg;
  std::vector<SimMessage> events;
  SimEngine engine{LabConfig{}, base::from_micros(1'795'382'753'000'000), [this](const SimMessage& m) {
                     events.push_back(m);
                   }};
  AmiServerSession server{engine, server_cfg, "127.0.0.1/5038", "127.0.0.1/40000", 11};
  Sink sink;
  ami::AmiProtocol client;

  explicit Pair(ami::AmiAuth auth)
      : client(
            [auth] {
              ami::AmiProtocolConfig c;
              c.username = "cti";
              c.secret = "cti-secret";
              c.auth = auth;
              return c;
            }(),
            sink) {}

  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int i = 0; i < 100; ++i) {
      for (const auto& e : events) server.on_event(e);
      events.clear();
      bool moved = false;
      if (server.has_output()) {
        ASSERT_TRUE(client.on_bytes(server.take_output(), engine.now()).has_value());
        moved = true;
      }
      if (client.has_output()) {
        ASSERT_TRUE(server.on_bytes(client.take_output()).has_value());
        moved = true;
      }
      if (!moved && events.empty()) return;
    }
    FAIL() << "pump did not settle";
  }
};

void expect_login_and_resync(ami::AmiAuth auth) {
  Pair p(auth);
  p.client.begin(p.engine.now());
  p.pump();
  ASSERT_TRUE(p.client.up()) << ami::to_string(p.client.state());
  EXPECT_EQ(p.sink.starts, 1);
  EXPECT_EQ(p.client.pending_actions(), 0u);  // every resync action was answered
  int errors = 0;
  for (const auto& m : p.sink.messages) errors += m.view().response() == "Error";
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(p.sink.count("EndpointList"), 7);
  EXPECT_EQ(p.sink.count("DeviceStateListComplete"), 1);

  start_inbound(p.engine, {.ring = 2s, .talk = 3s});
  p.engine.run_all();
  p.pump();
  EXPECT_EQ(p.sink.count("Newchannel"), 2);
  EXPECT_EQ(p.sink.count("Hangup"), 2);
  EXPECT_EQ(p.sink.ends, 0);
}

TEST(ClientInterop, PlainLoginResyncAndEvents) { expect_login_and_resync(ami::AmiAuth::plain); }
TEST(ClientInterop, Md5LoginResyncAndEvents) { expect_login_and_resync(ami::AmiAuth::md5); }

}  // namespace
}  // namespace callbridge::sim
