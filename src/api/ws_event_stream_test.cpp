// EventStream on the real HttpServer (port 0) with raw loopback WebSocket clients: gathered writes
// of many queued frames (all sizes of length header) arrive intact and in order, a client that
// reads again after its socket filled up gets the rest, idle clients keep no buffers, a client
// frame split across TCP segments is reassembled. (End to end with the AMI side:
// tests/events_e2e_test.cpp.)
#include "api/ws_event_stream.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <optional>
#include <thread>

#include "core/event_hub.hpp"

namespace callbridge::api {
namespace {

namespace asio = boost::asio;

class Everyone final : public PrincipalResolver {
 public:
  std::expected<Principal, AuthFailure> resolve(const HttpRequest&, bool) override {
    return Principal{"default", "sue", Role::supervisor, {}, "", "", ""};
  }
};

struct Frame {
  int opcode = 0;
  std::string payload;
};

// Blocking RFC 6455 client: masked frames out, unmasked frames in; 10 s receive timeout.
class Client {
 public:
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  int connect(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    send_raw("GET /api/v1/events?scope=tenant HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!fill()) return -2;
    const auto end = buf_.find("\r\n\r\n");
    const int status = std::stoi(buf_.substr(9, 3));
    buf_.erase(0, end + 4);
    return status;
  }
  std::optional<Frame> read() {
    for (;;) {
      if (buf_.size() >= 2) {
        const auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
        std::uint64_t len = p[1] & 0x7f;
        std::size_t hdr = 2;
        if (len == 126 && buf_.size() >= 4) {
          len = (p[2] << 8) | p[3];
          hdr = 4;
        } else if (len == 127 && buf_.size() >= 10) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
          hdr = 10;
        } else if (len >= 126) {
          hdr = SIZE_MAX;
        }
        if (hdr != SIZE_MAX && buf_.size() >= hdr + len) {
          EXPECT_EQ(p[0] & 0x80, 0x80) << "FIN";
          EXPECT_EQ(p[1] & 0x80, 0) << "server frames are not masked";
          Frame f{p[0] & 0x0f, buf_.substr(hdr, len)};
          buf_.erase(0, hdr + len);
          return f;
        }
      }
      if (!fill()) return std::nullopt;
    }
  }
  static std::string masked(int opcode, std::string_view payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    f += static_cast<char>(0x80 | payload.size());  // < 126 here
    const char mask[4] = {0x11, 0x22, 0x33, 0x44};
    f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
  }
  void send_raw(std::string_view s) {
    while (!s.empty()) {
      const auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }

 private:
  bool fill() {
    char tmp[65536];
    const auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buf_;
};

struct Stack {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  core::EventHub hub{core::EventHubOptions{.retention = 100'000, .encode = EventStream::frame_text}};
  Everyone auth;
  HttpServer http{io, [] {
                    HttpServerOptions o;
                    o.port = 0;
                    return o;
                  }()};
  std::unique_ptr<EventStream> stream;
  std::thread thread;

  explicit Stack(EventStreamOptions so = {}) {
    stream = std::make_unique<EventStream>(io, hub, auth, so);
    stream->install(http);
    EXPECT_TRUE(http.start());
    thread = std::thread([this] { io.run(); });
  }
  // Polls `pred` on the io thread until it holds (false after 10 s).
  template <class F>
  bool eventually(F pred) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end)
      if (on_io(pred)) return true;
    return false;
  }
  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io, [&task] { task(); });
    return fut.get();
  }
  ~Stack() {
    on_io([this] {
      stream->stop();
      http.stop();
    });
    on_io([this] { stream.reset(); });
    work.reset();
    io.stop();
    thread.join();
  }
};

// Payload of message `i`: its seq in the JSON, then a pattern that depends on i and the position,
// in sizes that use all three WebSocket length encodings.
std::size_t pad_size(int i) {
  switch (i % 5) {
    case 0: return 10;        // 7-bit length
    case 1: return 300;       // 16-bit
    case 2: return 70'000;    // 64-bit
    case 3: return 0;
    default: return 1'000 + static_cast<std::size_t>(i);
  }
}
std::string pad_for(int i) {
  std::string p(pad_size(i), 'a');
  for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<char>('a' + (k * 7 + static_cast<std::size_t>(i)) % 26);
  return p;
}

TEST(EventStream, ManyQueuedFramesAreGatheredIntoFewWritesAndArriveIntactInOrder) {
  EventStreamOptions so;
  so.max_outbox = 10'000;
  // Counts sendmsg calls: with the kernel's send buffer autotuning, as the bound below assumes.
  // (A fixed buffer, the default, makes the count depend on how fast this client drains it;
  // that setting is checked by the slow-client campaign, ctest faults_ws_stall.)
  so.send_buffer_bytes = 0;
  Stack s(so);
  Client c;
  // A small receive buffer and no reading during the burst: the server's socket fills up, so the
  // writer also goes through EAGAIN -> EPOLLOUT -> resume (and partial sends inside a frame).
  ASSERT_EQ(c.connect(s.http.port(), 4096), 101);
  auto snap = c.read();
  ASSERT_TRUE(snap);
  EXPECT_NE(snap->payload.find("\"type\":\"snapshot\""), std::string::npos);
  const auto before = s.on_io([&] { return s.stream->stats(); });
  constexpr int kMessages = 2'000;
  s.on_io([&] {  // one io turn: every frame is queued before the first write
    for (int i = 1; i <= kMessages; ++i)
      s.hub.publish_raw("default", core::HubMessage::Kind::call, {}, "call", ",\"pad\":\"" + pad_for(i) + "\"}");
  });
  for (int i = 1; i <= kMessages; ++i) {
    auto f = c.read();
    ASSERT_TRUE(f) << "message " << i;
    ASSERT_EQ(f->opcode, 1);
    const std::string want = "{\"type\":\"call\",\"seq\":" + std::to_string(i) + ",\"pad\":\"" + pad_for(i) + "\"}";
    ASSERT_EQ(f->payload.size(), want.size()) << "message " << i;
    ASSERT_TRUE(f->payload == want) << "message " << i << " differs";
  }
  const auto after = s.on_io([&] { return s.stream->stats(); });
  EXPECT_EQ(after.frames_out - before.frames_out, static_cast<std::uint64_t>(kMessages));
  EXPECT_LT(after.writes - before.writes, static_cast<std::uint64_t>(kMessages) / 4)
      << "frames queued in one turn go out in gathered sendmsg calls";
  EXPECT_EQ(after.queued, 0u);
  EXPECT_EQ(after.holding_buffers, 0u) << "a drained client holds no outbox";
  EXPECT_EQ(after.closed_slow, 0u);
}

TEST(EventStream, FramesPublishedWhileOthersAreBeingWrittenKeepTheirOrderPerClient) {
  EventStreamOptions so;
  so.clients_per_turn = 3;  // several writer turns per round of clients
  Stack s(so);
  std::vector<std::unique_ptr<Client>> cs;
  for (int k = 0; k < 10; ++k) {
    cs.push_back(std::make_unique<Client>());
    ASSERT_EQ(cs.back()->connect(s.http.port()), 101);
    ASSERT_TRUE(cs.back()->read());  // snapshot
  }
  constexpr int kMessages = 300;
  for (int i = 1; i <= kMessages; ++i)  // one io turn per message, as AMI events arrive
    asio::post(s.io, [&s] { s.hub.publish_raw("default", core::HubMessage::Kind::line, {"100"}, "line", "}"); });
  for (auto& c : cs) {
    for (int i = 1; i <= kMessages; ++i) {
      auto f = c->read();
      ASSERT_TRUE(f);
      ASSERT_EQ(f->payload, "{\"type\":\"line\",\"seq\":" + std::to_string(i) + "}");
    }
  }
  const auto st = s.on_io([&] { return s.stream->stats(); });
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(st.holding_buffers, 0u);
}

TEST(EventStream, ClientFrameSplitAcrossSegmentsIsReassembledAndIdleClientsHoldNothing) {
  Stack s;
  Client c;
  ASSERT_EQ(c.connect(s.http.port()), 101);
  ASSERT_TRUE(c.read());  // snapshot
  const std::string ping = Client::masked(0x9, "split-ping");
  c.send_raw(ping.substr(0, 3));  // the length header cut in the middle
  EXPECT_TRUE(s.eventually([&] { return s.stream->stats().holding_buffers == 1; }))
      << "the partial frame is kept";
  c.send_raw(ping.substr(3, 5));
  c.send_raw(ping.substr(8));
  auto f = c.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 0xA);
  EXPECT_EQ(f->payload, "split-ping");
  const auto st = s.on_io([&] { return s.stream->stats(); });
  EXPECT_EQ(st.clients, 1u);
  EXPECT_EQ(st.frames_in, 1u);
  EXPECT_EQ(st.holding_buffers, 0u) << "no input or output buffer once the frame is complete";
}

TEST(EventStream, UnmaskedClientFrameIsAProtocolErrorWithCloseCode1002) {
  Stack s;
  Client c;
  ASSERT_EQ(c.connect(s.http.port()), 101);
  ASSERT_TRUE(c.read());
  c.send_raw(std::string("\x81\x02hi", 4));
  auto f = c.read();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 0x8);
  ASSERT_GE(f->payload.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(f->payload[0]) << 8) | static_cast<unsigned char>(f->payload[1]), 1002);
  c.send_raw(Client::masked(0x8, std::string("\x03\xea", 2)));  // answer the close
  EXPECT_FALSE(c.read()) << "then the server closes the connection";
  EXPECT_TRUE(s.eventually([&] { return s.stream->stats().clients == 0; }));
}

// RFC 6455 message rules over a real socket (issue 12): each violation gets its close code, and the
// connection ends once the client answers the close.
TEST(EventStream, BadUtf8InvalidCloseCodeAndStrayContinuationCloseWithTheirCodes) {
  Stack s;
  const std::pair<std::string, int> cases[] = {
      {Client::masked(0x1, "{\"x\":\"\xc0\xaf\"}"), 1007},           // text that is not UTF-8
      {Client::masked(0x8, std::string("\x03\xed", 2)), 1002},          // close code 1005
      {Client::masked(0x8, std::string("\x13\x88", 2)), 1002},          // close code 5000
      {Client::masked(0x0, "more"), 1002},                               // continuation, no message
  };
  for (const auto& [frame, code] : cases) {
    Client c;
    ASSERT_EQ(c.connect(s.http.port()), 101);
    ASSERT_TRUE(c.read());  // snapshot
    c.send_raw(frame);
    auto f = c.read();
    ASSERT_TRUE(f) << code;
    EXPECT_EQ(f->opcode, 0x8);
    ASSERT_GE(f->payload.size(), 2u);
    EXPECT_EQ((static_cast<unsigned char>(f->payload[0]) << 8) | static_cast<unsigned char>(f->payload[1]), code);
    c.send_raw(Client::masked(0x8, std::string("\x03\xe8", 2)));
    EXPECT_FALSE(c.read()) << "then the server closes the connection";
  }
  EXPECT_TRUE(s.eventually([&] { return s.stream->stats().clients == 0; }));
}

TEST(EventStream, StopSendsGoingAwayToEveryClient) {
  Stack s;
  Client a, b;
  ASSERT_EQ(a.connect(s.http.port()), 101);
  ASSERT_EQ(b.connect(s.http.port()), 101);
  ASSERT_TRUE(a.read());
  ASSERT_TRUE(b.read());
  s.on_io([&] { s.stream->stop(); });
  for (auto* c : {&a, &b}) {
    auto f = c->read();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->opcode, 0x8);
    EXPECT_EQ(f->payload.substr(2), "server shutting down");
  }
}

}  // namespace
}  // namespace callbridge::api
