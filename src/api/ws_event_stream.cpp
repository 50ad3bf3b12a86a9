// WebSocket sessions of the event stream (RFC 6455 server side) over plain Asio sockets.
#include "api/ws_event_stream.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/uuid/detail/sha1.hpp>
#include <cstring>

namespace callbridge::api {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Frame = std::shared_ptr<const std::string>;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Clock = std::chrono::steady_clock;

namespace {

std::string base64(const unsigned char* p, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    unsigned v = p[i] << 16;
    if (i + 1 < n) v |= p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

bool contains_token(std::string_view header, std::string_view token) {
  // Case-insensitive search of a comma-separated token ("keep-alive, Upgrade").
  std::string h(header), t(token);
  for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return h.find(t) != std::string::npos;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string f;
  f += static_cast<char>(0x88);
  f += static_cast<char>(2 + reason.size());  // reasons here are < 124 bytes
  f += static_cast<char>(code >> 8);
  f += static_cast<char>(code & 0xff);
  f += reason;
  return f;
}

// A buffer sequence over part of a vector (asio copies the sequence object, not the buffers).
struct BufferRange {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  const asio::const_buffer* b;
  const asio::const_buffer* e;
  const_iterator begin() const { return b; }
  const_iterator end() const { return e; }
};

}  // namespace

std::string EventStream::frame_text(std::string_view json) {
  std::string f;
  f.reserve(json.size() + 10);
  f += static_cast<char>(0x81);  // FIN + text
  const std::uint64_t n = json.size();
  if (n < 126) {
    f += static_cast<char>(n);
  } else if (n < 65536) {
    f += static_cast<char>(126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  f += json;
  return f;
}

std::string EventStream::accept_key(std::string_view key) {
  boost::uuids::detail::sha1 sha;
  std::string s(key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  sha.process_bytes(s.data(), s.size());
  boost::uuids::detail::sha1::digest_type d;
  sha.get_digest(d);
  unsigned char bytes[20];
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) bytes[i * 4 + j] = static_cast<unsigned char>(d[i] >> (24 - 8 * j));
  return base64(bytes, 20);
}

class Client;

struct EventStream::Impl {
  asio::io_context& io;
  core::EventHub& hub;
  PrincipalResolver& auth;
  EventStreamOptions options;
  asio::steady_timer tick;
  asio::steady_timer flush_timer;
  std::vector<std::shared_ptr<Client>> clients;  // index kept in Client::index_
  std::vector<std::shared_ptr<Client>> dirty;    // have new frames; flushed once per io turn
  bool flush_posted = false;
  bool stopped = false;
  Clock::time_point now = Clock::now();  // coarse, updated by the tick
  std::vector<char> read_buf = std::vector<char>(64 * 1024);  // shared by all clients' reads
  std::vector<asio::const_buffer> gather;  // scratch of Client::write (synchronous sends)
  Stats stats;

  Impl(asio::io_context& i, core::EventHub& h, PrincipalResolver& a, EventStreamOptions o)
      : io(i), hub(h), auth(a), options(std::move(o)), tick(i), flush_timer(i) {}

  void arm_tick();
  void flush();
  void remove(Client& c);
};

class Client final : public core::EventSubscriber, public std::enable_shared_from_this<Client> {
 public:
  Client(std::shared_ptr<EventStream::Impl> s, Socket socket, std::string tenant)
      : s_(std::move(s)), socket_(std::move(socket)), tenant_(std::move(tenant)) {}

  std::size_t index_ = 0;
  std::uint64_t sub_ = 0;
  bool dirty_ = false;

  const std::string& tenant() const { return tenant_; }

  void start(std::vector<Frame> initial, std::string_view early) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    last_out_ = s_->now;
    for (auto& f : initial) enqueue(std::move(f));
    if (!early.empty()) in_.assign(early);
    if (!in_.empty() && !consume()) return;
    wait_read();
  }

  void on_message(const core::HubMessage& m) override { enqueue(m.frame); }

  void enqueue(Frame f) {
    if (closing_) return;
    if (outbox_.size() - head_ >= s_->options.max_outbox) {
      ++s_->stats.closed_slow;
      close(1008, "client too slow");
      return;
    }
    if (head_ > 1024 && head_ * 2 > outbox_.size()) {  // keep a blocked outbox compact
      outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    outbox_.push_back(std::move(f));
    last_out_ = s_->now;
    mark_dirty();
  }

  void mark_dirty() {
    if (dirty_ || writing_) return;
    dirty_ = true;
    s_->dirty.push_back(shared_from_this());
    if (!s_->flush_posted) {
      s_->flush_posted = true;
      if (s_->options.flush_delay.count() <= 0) {
        asio::post(s_->io, [s = s_] { s->flush(); });
      } else {
        s_->flush_timer.expires_after(s_->options.flush_delay);
        s_->flush_timer.async_wait([s = s_](const boost::system::error_code&) { s->flush(); });
      }
    }
  }

  void heartbeat_if_quiet(Clock::time_point now) {
    if (closing_) {
      if (now >= close_deadline_) finish();
      return;
    }
    if (now - last_out_ >= s_->options.heartbeat) {
      ++s_->stats.heartbeats;
      enqueue(std::make_shared<const std::string>(s_->hub.heartbeat(tenant_)));
    }
  }

  // Writes queued frames with non-blocking gathered sends until the outbox is empty or the socket
  // is full; then waits for writability. No completion handler per frame (libuv's try_write idea).
  void write() {
    dirty_ = false;
    if (writing_ || finished_) return;
    while (head_ < outbox_.size()) {
      const std::size_t n = std::min(outbox_.size() - head_, s_->options.max_batch);
      boost::system::error_code ec;
      std::size_t sent = 0;
      if (n == 1) {
        sent = socket_.write_some(asio::buffer(*outbox_[head_]) + offset_, ec);
      } else {
        auto& g = s_->gather;
        g.clear();
        g.push_back(asio::buffer(*outbox_[head_]) + offset_);
        for (std::size_t i = 1; i < n; ++i) g.push_back(asio::buffer(*outbox_[head_ + i]));
        sent = socket_.write_some(BufferRange{g.data(), g.data() + n}, ec);
      }
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        writing_ = true;
        socket_.async_wait(tcp::socket::wait_write,
                           [self = shared_from_this()](const boost::system::error_code& wec) {
                             self->writing_ = false;
                             if (self->finished_) return;
                             if (wec) return self->finish();
                             self->write();
                           });
        return;
      }
      if (ec) return finish();
      // Advance over what the kernel took.
      while (sent > 0) {
        const std::size_t rest = outbox_[head_]->size() - offset_;
        if (sent >= rest) {
          sent -= rest;
          offset_ = 0;
          ++head_;
          ++s_->stats.frames_out;
        } else {
          offset_ += sent;
          sent = 0;
        }
      }
    }
    outbox_ = {};  // an idle client holds no buffers
    head_ = 0;
    if (closing_) {  // the close frame is out: FIN, then wait for the peer's close or EOF
      boost::system::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      if (peer_closed_) finish();
    }
  }

  void close(std::uint16_t code, std::string_view reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    close_deadline_ = Clock::now() + s_->options.close_grace;
    if (sub_ != 0) {
      s_->hub.unsubscribe(tenant_, sub_);
      sub_ = 0;
    }
    // Queued frames are dropped (the client is behind anyway), except one partly sent.
    outbox_.resize(head_ + (offset_ > 0 ? 1 : 0));
    outbox_.push_back(std::make_shared<const std::string>(close_frame(code, reason)));
    if (!writing_) mark_dirty();
  }

  // Closes the socket and forgets the client.
  void finish() {
    if (finished_) return;
    finished_ = true;
    closing_ = true;
    if (sub_ != 0) {
      s_->hub.unsubscribe(tenant_, sub_);
      sub_ = 0;
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
    s_->remove(*this);
  }

 private:
  void wait_read() {
    if (finished_) return;
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         self->readable(ec);
                       });
  }

  void readable(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) return finish();
    for (;;) {
      boost::system::error_code rec;
      const std::size_t n = socket_.read_some(asio::buffer(s_->read_buf), rec);
      if (rec == asio::error::would_block || rec == asio::error::try_again) break;
      if (rec) {  // EOF or reset
        peer_closed_ = true;
        return finish();
      }
      in_.append(s_->read_buf.data(), n);
      if (!consume()) return;
      if (n < s_->read_buf.size()) break;
    }
    wait_read();
  }

  // Parses complete client frames from in_. false when the connection is being closed.
  bool consume() {
    std::size_t pos = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data());
    const std::size_t size = in_.size();
    while (size - pos >= 2) {
      const unsigned char b0 = p[pos], b1 = p[pos + 1];
      const unsigned opcode = b0 & 0x0f;
      const bool masked = (b1 & 0x80) != 0;
      std::uint64_t len = b1 & 0x7f;
      std::size_t hdr = 2;
      if (len == 126) {
        if (size - pos < 4) break;
        len = (std::uint64_t{p[pos + 2]} << 8) | p[pos + 3];
        hdr = 4;
      } else if (len == 127) {
        if (size - pos < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | p[pos + 2 + i];
        hdr = 10;
      }
      if (!masked) return protocol_close(1002, "client frames must be masked");
      if ((b0 & 0x70) != 0) return protocol_close(1002, "no extensions negotiated");
      if (len > s_->options.max_frame_bytes) return protocol_close(1009, "message too big");
      if (opcode >= 0x8 && (len > 125 || !(b0 & 0x80)))
        return protocol_close(1002, "bad control frame");
      if (size - pos < hdr + 4 + len) break;
      const unsigned char* mask = p + pos + hdr;
      std::string payload(len, '\0');
      for (std::size_t i = 0; i < len; ++i)
        payload[i] = static_cast<char>(p[pos + hdr + 4 + i] ^ mask[i % 4]);
      pos += hdr + 4 + len;
      ++s_->stats.frames_in;
      switch (opcode) {
        case 0x0: case 0x1: case 0x2: break;  // the API defines no client messages; ignored
        case 0x8: {  // close: answer it (RFC 6455 5.5.1), then the TCP close follows
          peer_closed_ = true;
          std::uint16_t code = 1000;
          if (payload.size() >= 2)
            code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                              static_cast<unsigned char>(payload[1]));
          if (closing_) {
            finish();
          } else {
            close(code == 1005 ? 1000 : code, "");
          }
          in_.clear();
          return false;
        }
        case 0x9: {  // ping -> pong with the same payload
          std::string pong;
          pong += static_cast<char>(0x8A);
          pong += static_cast<char>(payload.size());
          pong += payload;
          enqueue(std::make_shared<const std::string>(std::move(pong)));
          break;
        }
        case 0xA: break;
        default: return protocol_close(1002, "unknown opcode");
      }
    }
    in_.erase(0, pos);
    if (in_.empty()) in_.shrink_to_fit();
    return true;
  }

  bool protocol_close(std::uint16_t code, std::string_view why) {
    in_.clear();
    close(code, why);
    return false;
  }

  std::shared_ptr<EventStream::Impl> s_;
  Socket socket_;
  std::string tenant_;
  std::vector<Frame> outbox_;  // [head_, end) still to send; offset_ bytes of head_ are sent
  std::size_t head_ = 0;
  std::size_t offset_ = 0;
  std::string in_;                          // an incomplete client frame, else empty
  Clock::time_point last_out_{};
  Clock::time_point close_deadline_{};
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
  bool peer_closed_ = false;
};

void EventStream::Impl::arm_tick() {
  const auto period = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(10), std::min(options.heartbeat, options.close_grace) / 4);
  tick.expires_after(period);
  tick.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    now = Clock::now();
    auto snapshot = clients;  // heartbeat_if_quiet may remove clients
    for (auto& c : snapshot) c->heartbeat_if_quiet(now);
    arm_tick();
  });
}

void EventStream::Impl::flush() {
  flush_posted = false;
  auto batch = std::move(dirty);
  dirty.clear();
  for (auto& c : batch) c->write();
}

void EventStream::Impl::remove(Client& c) {
  if (c.index_ >= clients.size() || clients[c.index_].get() != &c) return;
  auto keep = clients[c.index_];  // c stays alive until we return
  clients[c.index_] = std::move(clients.back());
  clients[c.index_]->index_ = c.index_;
  clients.pop_back();
}

EventStream::EventStream(asio::io_context& io, core::EventHub& hub, PrincipalResolver& auth,
                         EventStreamOptions options)
    : impl_(std::make_shared<Impl>(io, hub, auth, std::move(options))) {
  impl_->arm_tick();
}

EventStream::~EventStream() {
  stop();
  auto all = std::move(impl_->clients);
  impl_->clients.clear();
  impl_->dirty.clear();
  for (auto& c : all) c->finish();
}

void EventStream::install(HttpServer& http, std::string path) {
  http.upgrade_route(std::move(path), [this](const HttpRequest& r) { return handle(r); });
}

HttpUpgrade EventStream::handle(const HttpRequest& req) {
  auto& s = *impl_;
  auto problem = [](int status, std::string_view title, std::string_view detail) {
    return HttpUpgrade{HttpResponse::problem(status, title, detail), {}};
  };
  if (!contains_token(req.header("upgrade"), "websocket"))
    return problem(426, "Upgrade Required", "this resource is a WebSocket (Upgrade: websocket)");
  if (req.header("sec-websocket-version") != "13") {
    auto u = problem(426, "Upgrade Required", "WebSocket version 13 is required");
    u.response.headers.emplace_back("Sec-WebSocket-Version", "13");
    return u;
  }
  const auto key = req.header("sec-websocket-key");
  if (key.empty() || key.size() > 64) return problem(400, "Bad Request", "Sec-WebSocket-Key is missing");

  auto who = s.auth.resolve(req, true);
  if (!who) {
    auto u = problem(who.error().status, who.error().status == 429 ? "Too Many Requests" : "Unauthorized",
                     who.error().detail);
    if (who.error().retry_after_s > 0)
      u.response.headers.emplace_back("Retry-After", std::to_string(who.error().retry_after_s));
    return u;
  }
  core::EventFilter filter;
  std::optional<std::uint64_t> since;
  for (const auto& [k, v] : parse_query(req.query)) {
    if (k == "scope") {
      if (v == "own") filter.scope = core::EventScope::own;
      else if (v == "team") filter.scope = core::EventScope::team;
      else if (v == "tenant") filter.scope = core::EventScope::tenant;
      else return problem(400, "Bad Request", "scope must be own, team or tenant");
    } else if (k == "since") {
      std::uint64_t n = 0;
      if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return problem(400, "Bad Request", "since must be a sequence number");
      for (char c : v) n = n * 10 + static_cast<std::uint64_t>(c - '0');
      since = n;
    }
  }
  if (filter.scope == core::EventScope::tenant && !who->sees_whole_tenant())
    return problem(403, "Forbidden", "scope=tenant needs the supervisor or admin role");
  filter.own = who->devices;
  if (filter.scope == core::EventScope::team && !who->team.empty() && s.options.team_devices)
    filter.team = s.options.team_devices(who->tenant, who->team);
  if (s.stopped) return problem(503, "Service Unavailable", "shutting down");
  if (s.clients.size() >= s.options.max_clients)
    return problem(503, "Service Unavailable", "too many event stream clients");

  HttpUpgrade up;
  up.response.status = 101;
  up.response.headers = {{"Upgrade", "websocket"},
                         {"Connection", "Upgrade"},
                         {"Sec-WebSocket-Accept", accept_key(key)}};
  up.adopt = [impl = impl_, tenant = who->tenant, filter = std::move(filter), since](
                 int fd, std::string_view early) mutable {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    Socket sock(impl->io.get_executor());
    boost::system::error_code ec;
    sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec || impl->stopped) {
      if (ec) ::close(fd);
      return;
    }
    // Small frames must not wait for the peer's delayed ACK (Nagle), as in every WebSocket server.
    sock.set_option(tcp::no_delay(true), ec);
    auto c = std::make_shared<Client>(impl, std::move(sock), tenant);
    c->index_ = impl->clients.size();
    impl->clients.push_back(c);
    ++impl->stats.accepted;
    auto attach = impl->hub.subscribe(tenant, std::move(filter), since, c.get());
    c->sub_ = attach.id;
    c->start(std::move(attach.initial), early);
  };
  return up;
}

void EventStream::stop() {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.tick.cancel();
  auto all = s.clients;
  for (auto& c : all) c->close(1001, "server shutting down");
  // The close frames go out while the io loop still runs; ~EventStream cuts what is left.
}

EventStream::Stats EventStream::stats() const {
  Stats st = impl_->stats;
  st.clients = impl_->clients.size();
  return st;
}

}  // namespace callbridge::api
