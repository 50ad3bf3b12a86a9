// End to end: AMI fixture bytes from a loopback fake Asterisk -> AmiLink -> AmiCallTracker ->
// core::EventHub -> api::EventStream on the real HttpServer (port 0) -> raw WebSocket clients.
// Checks snapshot, order and seq, resume after a dropped connection, resync, the slow-client close
// (1008 "client too slow"), heartbeats and the upgrade's auth/scope checks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <future>
#include <map>
#include <thread>

#include "api/http_server.hpp"
#include "api/ws_event_stream.hpp"
#include "core/event_hub.hpp"
#include "drivers/ami/ami_call_tracker.hpp"
#include "drivers/ami/ami_link.hpp"
#include "fixture_replay.hpp"
#include "support/fake_asterisk.hpp"

namespace callbridge {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

// ---- a small blocking RFC 6455 client (masked frames out, unmasked in) ----
struct WsFrame {
  int opcode = 0;
  std::string payload;
};

class WsClient {
 public:
  ~WsClient() { abort(); }
  // Returns the HTTP status of the handshake (101 on success).
  int connect(std::uint16_t port, const std::string& query, const std::string& token,
              int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};  // a hung server fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    std::string req = "GET /api/v1/events" + query + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n";
    send_all(req);
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!fill()) return -2;
    auto end = buf_.find("\r\n\r\n");
    head_ = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    return std::stoi(head_.substr(9, 3));
  }
  const std::string& head() const { return head_; }

  std::optional<WsFrame> read() {
    for (;;) {
      if (buf_.size() >= 2) {
        auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
        std::size_t len = p[1] & 0x7f, hdr = 2;
        if (len == 126) {
          if (buf_.size() < 4) goto more;
          len = (p[2] << 8) | p[3];
          hdr = 4;
        } else if (len == 127) {
          if (buf_.size() < 10) goto more;
          len = 0;
          for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
          hdr = 10;
        }
        if (buf_.size() >= hdr + len) {
          WsFrame f{p[0] & 0x0f, buf_.substr(hdr, len)};
          buf_.erase(0, hdr + len);
          return f;
        }
      }
    more:
      if (!fill()) return std::nullopt;
    }
  }
  // The next text message as JSON, skipping heartbeats unless asked for.
  std::optional<json::object> next(bool heartbeats = false) {
    for (;;) {
      auto f = read();
      if (!f || f->opcode != 1) {
        last_ = f;
        return std::nullopt;
      }
      auto o = json::parse(f->payload).as_object();
      if (!heartbeats && o["type"] == "heartbeat") continue;
      return o;
    }
  }
  const std::optional<WsFrame>& last_non_text() const { return last_; }

  void send_masked(int opcode, std::string_view payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    f += static_cast<char>(0x80 | payload.size());  // < 126 here
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    send_all(f);
  }
  void shutdown() { ::shutdown(fd_, SHUT_RDWR); }  // wakes a reader blocked in recv()
  void abort() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool fill() {
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  void send_all(std::string_view s) {
    while (!s.empty()) {
      auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  std::string buf_, head_;
  std::optional<WsFrame> last_;
};

// ---- tokens -> principals ----
class TestAuth final : public api::PrincipalResolver {
 public:
  std::map<std::string, api::Principal> tokens;
  std::expected<api::Principal, api::AuthFailure> resolve(const api::HttpRequest& req, bool) override {
    auto h = std::string(req.header("authorization"));
    if (h.rfind("Bearer ", 0) == 0)
      if (auto it = tokens.find(h.substr(7)); it != tokens.end()) return it->second;
    return std::unexpected(api::AuthFailure{401, "no valid token", 0});
  }
};

std::string fixture(const std::string& scenario) {
  return testing::read_file(std::string(CALLBRIDGE_FIXTURES_DIR) + "/" + scenario + "/ami.log");
}
// The part of a captured session after the login response (the fake Asterisk does the login).
std::string after_login(const std::string& log) {
  auto p = log.find("Authentication accepted");
  p = log.find("\r\n\r\n", p);
  return log.substr(p + 4);
}

// PBX device/extension/presence state changes reach the hub as line events (as drivers/ami AmiDriver does).
class LineStateTap final : public drivers::ami::AmiSink {
 public:
  LineStateTap(drivers::ami::AmiCallTracker& t, core::EventHub& hub) : t_(t), hub_(hub) {}
  void on_session_start(base::Timestamp at) override { t_.on_session_start(at); }
  void on_message(const drivers::ami::AmiMessage& m, base::Timestamp at) override {
    t_.on_message(m, at);
    auto ev = m.event();
    if (ev == "DeviceStateChange" || ev == "ExtensionStatus" || ev == "PresenceStateChange")
      hub_.sync_lines("default", t_.model());
  }
  void on_session_end(base::Timestamp at, const base::Error& why) override {
    t_.on_session_end(at, why);
    hub_.sync_lines("default", t_.model());
  }

 private:
  drivers::ami::AmiCallTracker& t_;
  core::EventHub& hub_;
};

struct Stack {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  testing::FakeAsterisk ami{io, [] {
                              testing::FakeAsteriskOptions o;
                              o.list_items = 0;
                              return o;
                            }()};
  core::EventHub hub{core::EventHubOptions{.retention = 100'000, .encode = api::EventStream::frame_text}};
  TestAuth auth;
  std::vector<model::CallEvent> events;  // what the tracker published, in order
  drivers::ami::AmiCallTracker tracker{{.tenant = "default"}, {.on_journal = {}, .on_event = [this](const model::CallEvent& e) {
                                             events.push_back(e);
                                             hub.on_call_event(e, tracker.model());
                                           }}};
  LineStateTap tap{tracker, hub};
  api::HttpServer http{io, api::HttpServerOptions{.port = 0}};
  std::unique_ptr<api::EventStream> stream;
  std::unique_ptr<drivers::ami::AmiLink> link;
  std::promise<void> up;
  std::thread thread;

  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }

  explicit Stack(api::EventStreamOptions so = {}) {
    auth.tokens.insert_or_assign("sup", api::Principal{"default", "sue", api::Role::supervisor, {}, "", "", ""});
    auth.tokens.insert_or_assign("anna", api::Principal{"default", "anna", api::Role::user, {"100"}, "", "", ""});
    hub.add_model("default", &tracker.model());
    stream = std::make_unique<api::EventStream>(io, hub, auth, so);
    stream->install(http);
    EXPECT_TRUE(http.start());
    drivers::ami::AmiLinkOptions o;
    o.session.host = "127.0.0.1";
    o.session.port = ami.port();
    o.protocol.username = "cti";
    o.protocol.secret = "cti-secret";
    o.protocol.ping_interval = milliseconds(60'000);
    o.backoff = net::BackoffPolicy::none();
    o.backoff_seed = 1;
    link = std::move(*drivers::ami::AmiLink::create(io.get_executor(), o, tap));
    bool signalled = false;
    link->set_state_listener([this, signalled](drivers::ami::AmiLinkState s, const auto&) mutable {
      if (s == drivers::ami::AmiLinkState::up && !signalled) {
        signalled = true;
        up.set_value();
      }
    });
    link->start();
    thread = std::thread([this] { io.run(); });
    up.get_future().wait();
  }
  // The fake Asterisk lives on the io thread (it is not thread-safe): the test thread hands it bytes there.
  void pbx_send(std::string bytes) {
    on_io([&] { ami.send_all(std::move(bytes)); });
  }
  ~Stack() {
    on_io([this] {
      stream->stop();
      http.stop();
      link->stop();
    });
    work.reset();
    on_io([this] { stream.reset(); });
    io.stop();
    thread.join();
  }
};

std::vector<std::string> call_events_of(const std::vector<model::CallEvent>& ev) {
  std::vector<std::string> out;
  for (const auto& e : ev) out.push_back(std::string(model::to_string(e.type)) + " " + e.device);
  return out;
}

TEST(EventsE2E, SnapshotThenEveryCallEventInOrderWithContiguousSeq) {
  const auto log = fixture("inbound_answered");
  auto expected = testing::replay_streams({log});
  ASSERT_FALSE(expected.events.empty());
  Stack s;
  WsClient sup;
  ASSERT_EQ(sup.connect(s.http.port(), "?scope=tenant", "sup"), 101);
  EXPECT_NE(sup.head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  auto snap = sup.next();
  ASSERT_TRUE(snap);
  EXPECT_EQ((*snap)["type"], "snapshot");
  std::int64_t seq = (*snap)["seq"].as_int64();
  EXPECT_TRUE((*snap)["calls"].as_array().empty());

  s.pbx_send(after_login(log));
  std::vector<std::string> got;
  std::map<std::string, std::string> lines;
  while (got.size() < expected.events.size()) {
    auto m = sup.next();
    ASSERT_TRUE(m) << "stream ended after " << got.size() << " call events";
    EXPECT_EQ((*m)["seq"].as_int64(), ++seq) << "tenant scope sees every seq";
    if ((*m)["type"] == "call")
      got.push_back(std::string((*m)["event"].as_string()) + " " + std::string((*m)["device"].as_string()));
    else if ((*m)["type"] == "line")
      lines[std::string((*m)["device"].as_string())] = (*m)["state"].as_string();
  }
  EXPECT_EQ(got, call_events_of(expected.events));
  // A PBX device state of an otherwise unknown line marks the end of the stream.
  s.pbx_send("Event: DeviceStateChange\r\nDevice: PJSIP/199\r\nState: UNAVAILABLE\r\n\r\n");
  while (lines.count("199") == 0) {
    auto m = sup.next();
    ASSERT_TRUE(m);
    EXPECT_EQ((*m)["seq"].as_int64(), ++seq);
    if ((*m)["type"] == "line")
      lines[std::string((*m)["device"].as_string())] = (*m)["state"].as_string();
  }
  EXPECT_EQ(lines["199"], "offline");
  ASSERT_GE(lines.size(), 2u);
  for (const auto& [d, st] : lines)
    if (d != "199") EXPECT_EQ(st, "idle") << d << " after the call ended";

  // A late joiner's snapshot carries the same seq and the final line states.
  WsClient late;
  ASSERT_EQ(late.connect(s.http.port(), "?scope=tenant", "sup"), 101);
  auto snap2 = late.next();
  ASSERT_TRUE(snap2);
  EXPECT_EQ((*snap2)["seq"].as_int64(), s.on_io([&] { return s.hub.last_seq("default"); }));
}

TEST(EventsE2E, ResumeAfterDroppedConnectionLosesNothing) {
  const auto log = fixture("attended_transfer");
  auto expected = testing::replay_streams({log});
  ASSERT_GT(expected.events.size(), 4u);
  Stack s;
  auto first = std::make_unique<WsClient>();
  ASSERT_EQ(first->connect(s.http.port(), "?scope=tenant", "sup"), 101);
  ASSERT_TRUE(first->next());  // snapshot
  s.pbx_send(after_login(log));
  std::vector<std::string> got;
  std::int64_t last = 0;
  while (got.size() < expected.events.size() / 2) {
    auto m = first->next();
    ASSERT_TRUE(m);
    last = (*m)["seq"].as_int64();
    if ((*m)["type"] == "call")
      got.push_back(std::string((*m)["event"].as_string()) + " " + std::string((*m)["device"].as_string()));
  }
  first.reset();  // dropped without a close handshake

  WsClient again;
  ASSERT_EQ(again.connect(s.http.port(), "?scope=tenant&since=" + std::to_string(last), "sup"), 101);
  while (got.size() < expected.events.size()) {
    auto m = again.next();
    ASSERT_TRUE(m);
    ASSERT_NE((*m)["type"], "snapshot") << "within the window a resume replays, no snapshot";
    EXPECT_EQ((*m)["seq"].as_int64(), ++last);
    if ((*m)["type"] == "call")
      got.push_back(std::string((*m)["event"].as_string()) + " " + std::string((*m)["device"].as_string()));
  }
  EXPECT_EQ(got, call_events_of(expected.events));

  // Own scope: user anna (100) sees only events that involve 100.
  WsClient anna;
  ASSERT_EQ(anna.connect(s.http.port(), "?since=0", "anna"), 101);
  std::size_t involving_100 = 0;
  for (const auto& e : expected.events) {
    bool has = e.device == "100";
    for (const auto& [d, st] : e.connections) has = has || d == "100";
    involving_100 += has;
  }
  std::size_t seen = 0;
  while (seen < involving_100) {
    auto m = anna.next();
    ASSERT_TRUE(m);
    if ((*m)["type"] == "line") EXPECT_EQ((*m)["device"], "100");
    if ((*m)["type"] == "call") ++seen;
  }
}

TEST(EventsE2E, ResyncAndSnapshotWhenSinceIsOutsideTheWindow) {
  Stack s;
  s.on_io([&] {
    for (int i = 0; i < 10; ++i)
      s.hub.publish_raw("default", core::HubMessage::Kind::line, {"100"}, "line",
                        ",\"device\":\"100\",\"state\":\"busy\"}");
  });
  WsClient c;
  ASSERT_EQ(c.connect(s.http.port(), "?since=4711", "anna"), 101);  // e.g. before a restart
  auto m = c.next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "resync");
  EXPECT_EQ((*m)["seq"], 10);
  m = c.next();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["type"], "snapshot");
  EXPECT_EQ((*m)["seq"], 10);
}

TEST(EventsE2E, SlowClientIsClosedWith1008AndOthersGetEverything) {
  api::EventStreamOptions so;
  so.max_outbox = 64;
  Stack s(so);
  WsClient slow, fast;
  ASSERT_EQ(slow.connect(s.http.port(), "?scope=tenant", "sup", 4096), 101);
  ASSERT_EQ(fast.connect(s.http.port(), "?scope=tenant", "sup"), 101);
  ASSERT_TRUE(fast.next());
  const std::string pad(1000, 'x');
  std::atomic<std::int64_t> fast_last{0};
  std::thread reader([&] {
    while (auto m = fast.next()) fast_last = (*m)["seq"].as_int64();
  });
  std::int64_t published = 0;
  // Bursts below the outbox limit: only a client that stops reading can overflow.
  while (s.on_io([&] { return s.stream->stats().closed_slow; }) == 0 && published < 200'000) {
    s.on_io([&] {
      for (int i = 0; i < 16; ++i)
        s.hub.publish_raw("default", core::HubMessage::Kind::line, {"100"}, "line",
                          ",\"pad\":\"" + pad + "\"}");
    });
    published += 16;
  }
  ASSERT_EQ(s.on_io([&] { return s.stream->stats().closed_slow; }), 1u);
  // The slow client finds the close frame after what was already on its way.
  std::optional<json::object> m;
  std::int64_t prev = 0;
  while ((m = slow.next())) {
    if ((*m)["type"] != "snapshot") {
      EXPECT_EQ((*m)["seq"].as_int64(), prev + 1);
    }
    prev = (*m)["seq"].as_int64();
  }
  ASSERT_TRUE(slow.last_non_text());
  EXPECT_EQ(slow.last_non_text()->opcode, 8);
  const auto& p = slow.last_non_text()->payload;
  ASSERT_GE(p.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1]), 1008);
  EXPECT_EQ(p.substr(2), "client too slow");
  EXPECT_LT(prev, published);

  s.on_io([&] { s.hub.publish_raw("default", core::HubMessage::Kind::line, {"100"}, "line", "}"); });
  ++published;
  while (fast_last.load() < published) std::this_thread::yield();  // bounded by the 10 s read timeout
  fast.shutdown();
  reader.join();
  EXPECT_EQ(s.on_io([&] { return s.stream->stats().closed_slow; }), 1u) << "the reading client stays";
}

TEST(EventsE2E, HeartbeatPingPongCloseHandshake) {
  api::EventStreamOptions so;
  so.heartbeat = milliseconds(100);
  Stack s(so);
  WsClient c;
  ASSERT_EQ(c.connect(s.http.port(), "", "anna"), 101);
  ASSERT_TRUE(c.next());  // snapshot
  auto hb = c.next(true);
  ASSERT_TRUE(hb);
  EXPECT_EQ((*hb)["type"], "heartbeat");
  c.send_masked(0x9, "abc");
  std::optional<WsFrame> f;
  while ((f = c.read()) && f->opcode == 1) {
  }
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 0xA);
  EXPECT_EQ(f->payload, "abc");
  c.send_masked(0x8, std::string("\x03\xe8", 2));
  while ((f = c.read()) && f->opcode == 1) {
  }
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 0x8);
  EXPECT_FALSE(c.read()) << "the server closes the TCP connection after the close handshake";
}

TEST(EventsE2E, UpgradeNeedsAuthAndTheRightRoleForTenantScope) {
  Stack s;
  WsClient a, b, c, d;
  EXPECT_EQ(a.connect(s.http.port(), "", ""), 401);
  EXPECT_EQ(b.connect(s.http.port(), "?scope=tenant", "anna"), 403);
  EXPECT_EQ(c.connect(s.http.port(), "?since=abc", "anna"), 400);
  EXPECT_EQ(d.connect(s.http.port(), "?scope=team", "anna"), 101);
}

}  // namespace
}  // namespace callbridge
