#include "support/fake_asterisk.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>

#include "drivers/ami/ami_protocol.hpp"
#include "protocols/ami/frame_reader.hpp"

namespace callbridge::testing {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

std::string FakeAction::get(std::string_view key) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, key)) return v;
  }
  return {};
}

struct Conn;

struct FakeAsterisk::Impl : std::enable_shared_from_this<FakeAsterisk::Impl> {
  Impl(asio::io_context& io, FakeAsteriskOptions o) : io(io), opts(std::move(o)), acceptor(io) {}
  asio::io_context& io;
  FakeAsteriskOptions opts;
  tcp::acceptor acceptor;
  std::vector<std::weak_ptr<Conn>> conns;
  std::vector<FakeAction> actions;
  int accepted = 0, logins_ok = 0, logins_failed = 0;
  bool closed = false;

  asio::awaitable<void> accept_loop();
};

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(std::shared_ptr<FakeAsterisk::Impl> s, tcp::socket sock, int id)
      : server(std::move(s)), socket(std::move(sock)), wake(socket.get_executor()), id(id) {}
  std::shared_ptr<FakeAsterisk::Impl> server;
  tcp::socket socket;
  asio::steady_timer wake;
  int id;
  std::string outbox;
  bool logged_in = false;
  bool close_after_write = false;
  bool closed = false;

  void send(std::string bytes) {
    outbox += bytes;
    wake.cancel();
  }
  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    wake.cancel();
  }

  asio::awaitable<void> writer() {
    auto self = shared_from_this();
    while (!closed) {
      if (outbox.empty()) {
        if (close_after_write) {
          close();
          break;
        }
        wake.expires_at(asio::steady_timer::time_point::max());
        co_await wake.async_wait(kTuple);
        continue;
      }
      std::string out = std::exchange(outbox, {});
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), kTuple);
      if (ec) {
        close();
        break;
      }
    }
  }

  asio::awaitable<void> reader() {
    auto self = shared_from_this();
    send(server->opts.banner + "\r\n");
    drivers::ami::FrameReader frames({1 << 20, 1024}, /*expect_banner=*/false);
    std::vector<char> buf(16 * 1024);
    while (!closed) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kTuple);
      if (ec) break;
      frames.feed({buf.data(), n});
      drivers::ami::AmiMessage m;
      for (;;) {
        auto got = frames.next(m);
        if (!got || !*got) break;
        FakeAction a;
        a.connection = id;
        for (const auto& h : m.headers()) a.headers.emplace_back(std::string(h.key), std::string(h.value));
        server->actions.push_back(a);
        handle(a);
      }
    }
    close();
  }

  void handle(const FakeAction& a) {
    const auto& o = server->opts;
    const std::string name = a.name();
    const std::string id = "ActionID: " + a.action_id() + "\r\n";
    if (iequals(name, "Challenge")) {
      send("Response: Success\r\nChallenge: " + o.challenge + "\r\n" + id + "\r\n");
      return;
    }
    if (iequals(name, "Login")) {
      bool ok = a.get("Username") == o.username &&
                (iequals(a.get("AuthType"), "MD5")
                     ? a.get("Key") == drivers::ami::ami_md5_key(o.challenge, o.secret)
                     : a.get("Secret") == o.secret);
      if (ok) {
        logged_in = true;
        ++server->logins_ok;
        send("Response: Success\r\n" + id + "Message: Authentication accepted\r\n\r\n"
             "Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 5\r\nStatus: Fully Booted\r\n\r\n" +
             o.after_login);
      } else {
        ++server->logins_failed;
        send("Response: Error\r\n" + id + "Message: Authentication failed\r\n\r\n");
        close_after_write = true;
        wake.cancel();
      }
      return;
    }
    if (!logged_in) {
      send("Response: Error\r\n" + id + "Message: Permission denied\r\n\r\n");
      return;
    }
    if (iequals(name, "Ping")) {
      if (o.answer_ping) send("Response: Success\r\n" + id + "Ping: Pong\r\nTimestamp: 1795382931.000000\r\n\r\n");
      return;
    }
    if (iequals(name, "Silent")) return;  // never answered (action timeout tests)
    if (iequals(name, "Originate") && o.accept_originate) {
      send("Response: Success\r\n" + id + "Message: Originate successfully queued\r\n\r\n");
      return;
    }
    if (iequals(name, "Logoff")) {
      send("Response: Goodbye\r\n" + id + "Message: Thanks for all the fish.\r\n\r\n");
      close_after_write = true;
      wake.cancel();
      return;
    }
    if (iequals(name, "CoreStatus")) {
      send("Response: Success\r\n" + id + "CoreStartupDate: 2026-11-22\r\nCoreCurrentCalls: 0\r\n\r\n");
      return;
    }
    if (iequals(name, "CoreShowChannels")) {
      std::string out = "Response: Success\r\n" + id + "EventList: start\r\nMessage: Channels will follow\r\n\r\n";
      for (int i = 0; i < o.list_items; ++i) {
        out += "Event: CoreShowChannel\r\n" + id + "Channel: PJSIP/10" + std::to_string(i) + "-0000000" +
               std::to_string(i) + "\r\nChannelStateDesc: Up\r\n\r\n";
        out += "Event: Newstate\r\nPrivilege: call,all\r\nTimestamp: 1795382932.00000" + std::to_string(i) +
               "\r\nChannel: PJSIP/200-0000000" + std::to_string(i) + "\r\nChannelStateDesc: Ringing\r\n\r\n";
      }
      out += "Event: CoreShowChannelsComplete\r\n" + id + "EventList: Complete\r\nListItems: " +
             std::to_string(o.list_items) + "\r\n\r\n";
      send(out);
      return;
    }
    for (const char* list : {"Status", "BridgeList", "DeviceStateList", "ExtensionStateList",
                             "PJSIPShowEndpoints", "PJSIPShowContacts", "QueueStatus"}) {
      if (iequals(name, list)) {
        send("Response: Success\r\n" + id + "EventList: start\r\nMessage: will follow\r\n\r\n"
             "Event: " + name + "Complete\r\n" + id + "EventList: Complete\r\nListItems: 0\r\n\r\n");
        return;
      }
    }
    send("Response: Error\r\n" + id + "Message: Invalid/unknown command\r\n\r\n");
  }
};

asio::awaitable<void> FakeAsterisk::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!closed) {
    auto [ec, sock] = co_await acceptor.async_accept(kTuple);
    if (ec) break;
    auto c = std::make_shared<Conn>(self, std::move(sock), ++accepted);
    conns.push_back(c);
    asio::co_spawn(io, c->reader(), asio::detached);
    asio::co_spawn(io, c->writer(), asio::detached);
  }
}

FakeAsterisk::FakeAsterisk(asio::io_context& io, FakeAsteriskOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  asio::co_spawn(io, impl_->accept_loop(), asio::detached);
}

FakeAsterisk::~FakeAsterisk() {
  stop_listening();
  close_all();
}

std::uint16_t FakeAsterisk::port() const { return impl_->acceptor.local_endpoint().port(); }
FakeAsteriskOptions& FakeAsterisk::options() { return impl_->opts; }

void FakeAsterisk::send_all(std::string bytes) {
  for (auto& w : impl_->conns) {
    if (auto c = w.lock(); c && !c->closed) c->send(bytes);
  }
}

void FakeAsterisk::close_all() {
  for (auto& w : impl_->conns) {
    if (auto c = w.lock()) c->close();
  }
}

void FakeAsterisk::stop_listening() {
  impl_->closed = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

int FakeAsterisk::accepted() const { return impl_->accepted; }
int FakeAsterisk::open_connections() const {
  int n = 0;
  for (auto& w : impl_->conns) {
    if (auto c = w.lock(); c && !c->closed) ++n;
  }
  return n;
}
int FakeAsterisk::logins_ok() const { return impl_->logins_ok; }
int FakeAsterisk::logins_failed() const { return impl_->logins_failed; }
const std::vector<FakeAction>& FakeAsterisk::actions() const { return impl_->actions; }

}  // namespace callbridge::testing
