// WebSocket sessions of the event stream (RFC 6455 server side) on raw sockets in one private epoll
// set that Asio watches as a single descriptor (see ws_event_stream.hpp). The wire format is
// api/ws_frames, the handshake and its authentication api/ws_upgrade; this file keeps the sessions:
// adopting sockets, outboxes, gathered writes, reads, heartbeats and closing.
#include "api/ws_event_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include "api/ws_frames.hpp"
#include "api/ws_upgrade.hpp"

namespace callbridge::api {

namespace asio = boost::asio;
using Frame = std::shared_ptr<const std::string>;
using Clock = std::chrono::steady_clock;

std::string EventStream::frame_text(std::string_view json) { return ws::text_frame(json); }

std::string EventStream::accept_key(std::string_view key) { return ws::accept_key(key); }

namespace {

constexpr std::size_t kReadBuf = 64 * 1024;  // shared by every client's reads
constexpr std::size_t kSpareOutboxes = 64;   // drained outbox arrays kept for reuse
constexpr std::size_t kSpareCapacity = 1024; // larger ones are freed (memory after a burst)
constexpr std::uint64_t kNeverChecked = ~std::uint64_t{0};

}  // namespace

struct Client;

// What a client was authenticated with, shared by every client opened with the same credential
// (10k streams of one token hold one copy). `key` names the credential (tenant, user, token,
// session).
struct Credential {
  std::string key;
  Principal who;
};

// All state of the event stream. Clients are plain objects owned by this (no shared_ptr, no
// handler per client): their sockets sit in the private epoll set `ep`, whose events carry the
// client's slot and generation, so an event for a client that is gone is recognised and dropped.
struct EventStream::Impl : std::enable_shared_from_this<EventStream::Impl> {
  asio::io_context& io;
  core::EventHub& hub;
  PrincipalResolver& auth;
  EventStreamOptions options;
  int ep = -1;
  asio::posix::stream_descriptor ep_watch;  // `ep` in Asio's reactor: readable = client events
  asio::steady_timer tick;
  asio::steady_timer revocation_tick;
  bool revocation_busy = false;            // a look for revocations is under way
  std::unordered_map<std::string, std::weak_ptr<const Credential>> credentials;  // by Credential::key
  std::vector<Client*> slots;              // epoll slot -> client (null when free)
  std::vector<std::uint32_t> free_slots;
  std::uint32_t next_gen = 1;
  std::vector<Client*> clients;            // live clients; Client::index is the position
  std::deque<Client*> dirty;               // clients with frames to send, in order (Client::dirty)
  std::vector<Client*> dead;               // finished, deleted by reap() when nothing points to them
  std::vector<std::vector<Frame>> spare;   // drained outbox arrays for reuse
  std::vector<iovec> iov;                  // scratch of write()
  std::unique_ptr<char[]> read_buf;
  bool pass_posted = false;
  bool reap_posted = false;
  bool stopped = false;
  bool destroyed = false;
  Clock::time_point now = Clock::now();    // coarse, updated by the tick
  Stats stats;

  Impl(asio::io_context& i, core::EventHub& h, PrincipalResolver& a, EventStreamOptions o)
      : io(i), hub(h), auth(a), options(std::move(o)), ep_watch(i), tick(i), revocation_tick(i),
        read_buf(new char[kReadBuf]) {
    options.max_batch = std::clamp<std::size_t>(options.max_batch, 1, IOV_MAX);
    options.clients_per_turn = std::max<std::size_t>(options.clients_per_turn, 1);
    ep = ::epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw std::system_error(errno, std::generic_category(), "event stream: epoll_create1");
    ep_watch.assign(ep);
  }
  ~Impl();

  // `who`: the user, the peer's address and the wall time, for the diagnostics' client list.
  void adopt(int fd, std::string_view early, const base::TenantId& tenant, core::EventFilter filter,
             std::optional<std::uint64_t> since, std::shared_ptr<const Credential> credential,
             EventStream::ClientInfo who);
  std::shared_ptr<const Credential> credential_for(const Principal& who);
  // Revocation: the timer, then credential_generation() on a worker, then (when it moved)
  // standing() for each credential not yet checked at that generation, then the closes.
  void arm_revocation_tick();
  void look_for_revocations();
  void check_credentials(std::optional<std::uint64_t> generation);
  void close_revoked(std::uint64_t generation, const std::vector<std::shared_ptr<const Credential>>& asked,
                     const std::vector<std::optional<PrincipalResolver::Standing>>& holds);
  // Runs `job` on options.offload (inline without one); false when the pool refused it.
  bool blocking(std::function<void()> job);
  // The answer to an authenticated (or refused) handshake: 101 taking the socket over, or a problem.
  HttpUpgrade upgrade(const HttpRequest& req, const PrincipalResult& who);
  void enqueue(Client& c, Frame f);
  void mark_dirty(Client& c);
  void write_pass();
  void write(Client& c);
  void release_outbox(Client& c);
  void close(Client& c, std::uint16_t code, std::string_view reason, Frame frame = {});
  void finish(Client& c);
  void readable(Client& c);
  std::size_t consume(Client& c, const char* data, std::size_t size);
  bool protocol_close(Client& c, std::uint16_t code, std::string_view why);
  void arm_epoll();
  void on_epoll();
  void arm_tick();
  void schedule_reap();
  void reap();
  void epoll_set(Client& c, std::uint32_t events);
};

struct Client final : core::EventSubscriber {
  explicit Client(EventStream::Impl* s) : s(s) {}
  void on_message(const core::HubMessage& m) override { s->enqueue(*this, m.frame); }

  EventStream::Impl* s;
  std::optional<base::TenantId> tenant;  // set by adopt() before anything else sees the client
  std::string user, address;          // who (diagnostics)
  base::Timestamp since{};            // opened at (wall clock)
  std::uint64_t frames_in = 0, frames_out = 0;
  std::uint64_t sub = 0;              // hub subscription, 0 once unsubscribed
  std::vector<Frame> outbox;          // [head, end) still to send; `offset` bytes of outbox[head] sent
  std::unique_ptr<std::string> in;    // an incomplete client frame, else null
  ws::MessageRules rules;             // fragmentation, UTF-8 text, close codes (RFC 6455)
  Clock::time_point last_out{};       // last frame queued; while closing: the deadline
  int fd = -1;
  std::uint32_t slot = 0, gen = 0, index = 0;
  std::uint32_t head = 0, offset = 0;
  bool dirty = false;        // in Impl::dirty
  bool blocked = false;      // socket full: waiting for EPOLLOUT
  bool closing = false;      // close frame queued, no more messages
  bool shut = false;         // close frame sent, write side shut down
  bool peer_closed = false;
  bool finished = false;     // socket closed, waiting for reap()
  std::shared_ptr<const Credential> credential;  // what the handshake authenticated with
  std::uint64_t checked = kNeverChecked;          // the credential generation it was last checked at
};

EventStream::Impl::~Impl() {
  for (auto* c : dead) delete c;
  for (auto* c : slots)
    if (c) {
      if (c->fd >= 0) ::close(c->fd);
      delete c;
    }
  // ep_watch closes `ep`.
}

void EventStream::Impl::epoll_set(Client& c, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = (std::uint64_t{c.gen} << 32) | c.slot;
  ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
}

void EventStream::Impl::adopt(int fd, std::string_view early, const base::TenantId& tenant,
                              core::EventFilter filter, std::optional<std::uint64_t> since,
                              std::shared_ptr<const Credential> credential, EventStream::ClientInfo who) {
  if (stopped || destroyed) {
    ::close(fd);
    return;
  }
  // Small frames must not wait for the peer's delayed ACK (Nagle), as in every WebSocket server.
  // (Fails harmlessly on the local socket pair of a TLS connection.)
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (options.send_buffer_bytes > 0) {
    int sz = static_cast<int>(std::min<std::size_t>(options.send_buffer_bytes, 64u << 20));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  }
  auto* c = new Client(this);
  c->fd = fd;
  c->tenant = tenant;
  c->credential = std::move(credential);
  c->user = std::move(who.user);
  c->address = std::move(who.address);
  c->since = who.since;
  if (free_slots.empty()) {
    c->slot = static_cast<std::uint32_t>(slots.size());
    slots.push_back(c);
  } else {
    c->slot = free_slots.back();
    free_slots.pop_back();
    slots[c->slot] = c;
  }
  c->gen = next_gen++;
  if (next_gen == 0) next_gen = 1;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = (std::uint64_t{c->gen} << 32) | c->slot;
  if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
    spdlog::warn("event stream: epoll_ctl: {}", std::strerror(errno));
    slots[c->slot] = nullptr;
    free_slots.push_back(c->slot);
    ::close(fd);
    delete c;
    return;
  }
  c->index = static_cast<std::uint32_t>(clients.size());
  clients.push_back(c);
  ++stats.accepted;
  c->last_out = now;
  auto attach = hub.subscribe(tenant, std::move(filter), since, c);
  c->sub = attach.id;
  for (auto& f : attach.initial) enqueue(*c, std::move(f));
  if (!early.empty() && !c->finished) {
    const std::size_t used = consume(*c, early.data(), early.size());
    if (used != std::string_view::npos && used < early.size())
      c->in = std::make_unique<std::string>(early.substr(used));
  }
}

void EventStream::Impl::enqueue(Client& c, Frame f) {
  if (c.closing) return;
  if (c.outbox.size() - c.head >= options.max_outbox) {
    ++stats.closed_slow;
    close(c, 1008, "client too slow");
    return;
  }
  if (c.outbox.capacity() == 0 && !spare.empty()) {
    c.outbox = std::move(spare.back());
    spare.pop_back();
  }
  if (c.head > 1024 && c.head * 2 > c.outbox.size()) {  // keep a blocked outbox compact
    c.outbox.erase(c.outbox.begin(), c.outbox.begin() + c.head);
    c.head = 0;
  }
  c.outbox.push_back(std::move(f));
  c.last_out = now;
  mark_dirty(c);
}

void EventStream::Impl::mark_dirty(Client& c) {
  if (c.dirty || c.blocked || c.finished) return;
  c.dirty = true;
  dirty.push_back(&c);
  if (!pass_posted) {
    pass_posted = true;
    asio::post(io, [self = shared_from_this()] { self->write_pass(); });
  }
}

// Sends to up to clients_per_turn clients, oldest first, then yields (see EventStreamOptions).
void EventStream::Impl::write_pass() {
  pass_posted = false;
  if (destroyed) return;
  for (std::size_t n = 0; n < options.clients_per_turn && !dirty.empty(); ++n) {
    Client* c = dirty.front();
    dirty.pop_front();
    c->dirty = false;
    if (!c->finished) write(*c);
  }
  if (!dirty.empty() && !pass_posted) {
    pass_posted = true;
    asio::post(io, [self = shared_from_this()] { self->write_pass(); });
  }
  if (!dead.empty()) schedule_reap();
}

// Sends the outbox with gathered non-blocking sendmsg() calls until it is empty or the socket is
// full (then EPOLLOUT resumes it). No completion handler, no copy: the iovecs point at the shared
// frames.
void EventStream::Impl::write(Client& c) {
  if (c.blocked || c.finished) return;
  while (c.head < c.outbox.size()) {
    const std::size_t n = std::min<std::size_t>(c.outbox.size() - c.head, options.max_batch);
    iov.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& f = *c.outbox[c.head + i];
      iov[i].iov_base = const_cast<char*>(f.data());
      iov[i].iov_len = f.size();
    }
    iov[0].iov_base = static_cast<char*>(iov[0].iov_base) + c.offset;
    iov[0].iov_len -= c.offset;
    msghdr m{};
    m.msg_iov = iov.data();
    m.msg_iovlen = n;
    const ssize_t r = ::sendmsg(c.fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    ++stats.writes;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c.blocked = true;
        epoll_set(c, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
        return;
      }
      return finish(c);  // reset, broken pipe
    }
    // Advance over what the kernel took; sent frames are released at once.
    std::size_t sent = static_cast<std::size_t>(r);
    while (sent > 0) {
      const std::size_t rest = c.outbox[c.head]->size() - c.offset;
      if (sent >= rest) {
        sent -= rest;
        c.offset = 0;
        c.outbox[c.head++].reset();
        ++stats.frames_out;
        ++c.frames_out;
      } else {
        c.offset += static_cast<std::uint32_t>(sent);
        sent = 0;
      }
    }
  }
  release_outbox(c);  // an idle client holds no buffers
  if (c.closing && !c.shut) {  // the close frame is out: FIN, then wait for the peer's close or EOF
    c.shut = true;
    ::shutdown(c.fd, SHUT_WR);
    if (c.peer_closed) finish(c);
  }
}

void EventStream::Impl::release_outbox(Client& c) {
  c.outbox.clear();
  c.head = 0;
  c.offset = 0;
  if (c.outbox.capacity() > 0 && c.outbox.capacity() <= kSpareCapacity && spare.size() < kSpareOutboxes)
    spare.push_back(std::move(c.outbox));
  c.outbox = std::vector<Frame>();
}

void EventStream::Impl::close(Client& c, std::uint16_t code, std::string_view reason, Frame frame) {
  if (c.closing || c.finished) return;
  c.closing = true;
  c.last_out = Clock::now() + options.close_grace;  // the deadline from now on
  if (c.sub != 0) {
    hub.unsubscribe(*c.tenant, c.sub);
    c.sub = 0;
  }
  // Queued frames are dropped (the client is behind anyway), except one partly sent.
  c.outbox.resize(c.head + (c.offset > 0 ? 1 : 0));
  c.outbox.push_back(frame ? std::move(frame) : std::make_shared<const std::string>(ws::close_frame(code, reason)));
  mark_dirty(c);
}

// Closes the socket and forgets the client (deleted by reap() once no queue points to it).
void EventStream::Impl::finish(Client& c) {
  if (c.finished) return;
  c.finished = true;
  c.closing = true;
  if (c.sub != 0) {
    hub.unsubscribe(*c.tenant, c.sub);
    c.sub = 0;
  }
  ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  slots[c.slot] = nullptr;
  free_slots.push_back(c.slot);
  clients[c.index] = clients.back();
  clients[c.index]->index = c.index;
  clients.pop_back();
  c.outbox = {};
  c.in.reset();
  c.credential.reset();
  dead.push_back(&c);
  schedule_reap();
}

void EventStream::Impl::schedule_reap() {
  if (reap_posted || destroyed) return;
  reap_posted = true;
  asio::post(io, [self = shared_from_this()] { self->reap(); });
}

void EventStream::Impl::reap() {
  reap_posted = false;
  if (destroyed) return;
  std::size_t keep = 0;
  for (auto* c : dead) {
    if (c->dirty) dead[keep++] = c;  // still queued in `dirty`: the writer skips it first
    else delete c;
  }
  dead.resize(keep);
  if (dead.empty() && dead.capacity() > 1024) dead.shrink_to_fit();
  if (free_slots.size() == slots.size() && slots.size() > 1024) {  // all gone: give memory back
    slots = {};
    free_slots = {};
  }
}

void EventStream::Impl::arm_epoll() {
  ep_watch.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& ec) {
                        if (!ec) self->on_epoll();
                      });
}

// Client socket events. The inner epoll set is level-triggered; Asio watches it edge-triggered,
// so it is drained (re-posted while it reports events) before waiting again.
void EventStream::Impl::on_epoll() {
  if (destroyed) return;
  epoll_event evs[256];
  const int n = ::epoll_wait(ep, evs, 256, 0);
  for (int i = 0; i < n; ++i) {
    const auto slot = static_cast<std::uint32_t>(evs[i].data.u64 & 0xffffffffu);
    const auto gen = static_cast<std::uint32_t>(evs[i].data.u64 >> 32);
    Client* c = slot < slots.size() ? slots[slot] : nullptr;
    if (!c || c->gen != gen || c->finished) continue;
    if ((evs[i].events & EPOLLOUT) && c->blocked) {
      c->blocked = false;
      epoll_set(*c, EPOLLIN | EPOLLRDHUP);
      if (c->head < c->outbox.size()) mark_dirty(*c);
    }
    if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable(*c);
  }
  if (n > 0) {
    asio::post(io, [self = shared_from_this()] { self->on_epoll(); });
  } else {
    arm_epoll();
  }
  if (!dead.empty()) schedule_reap();
}

void EventStream::Impl::readable(Client& c) {
  const ssize_t n = ::recv(c.fd, read_buf.get(), kReadBuf, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    c.peer_closed = true;
    return finish(c);
  }
  if (n == 0) {  // EOF
    c.peer_closed = true;
    return finish(c);
  }
  const auto size = static_cast<std::size_t>(n);
  if (!c.in) {  // the common case: parse straight from the shared buffer
    const std::size_t used = consume(c, read_buf.get(), size);
    if (used != std::string_view::npos && used < size && !c.finished)
      c.in = std::make_unique<std::string>(read_buf.get() + used, size - used);
    return;
  }
  c.in->append(read_buf.get(), size);
  const std::size_t used = consume(c, c.in->data(), c.in->size());
  if (!c.in) return;
  if (used == std::string_view::npos || used == c.in->size()) {
    c.in.reset();
  } else {
    c.in->erase(0, used);
  }
}

// Parses complete client frames; returns the bytes used, npos when the connection is closing.
std::size_t EventStream::Impl::consume(Client& c, const char* data, std::size_t size) {
  std::size_t pos = 0;
  for (;;) {
    const ws::ClientFrame f = ws::parse_client_frame(data + pos, size - pos, options.max_frame_bytes);
    if (f.kind == ws::ClientFrame::Kind::need_more) break;
    if (f.kind == ws::ClientFrame::Kind::error) return protocol_close(c, f.close_code, f.why), std::string_view::npos;
    pos += f.size;
    ++stats.frames_in;
    ++c.frames_in;
    if (f.opcode <= 0x2 || f.opcode == 0x8) {  // a continuation without a message: 1002; bad UTF-8: 1007
      const std::string payload = c.rules.wants_payload(f.opcode) ? f.unmasked() : std::string();
      if (auto v = c.rules.check(f.opcode, f.fin, payload); v.close_code != 0)
        return protocol_close(c, v.close_code, v.why), std::string_view::npos;
    }
    switch (f.opcode) {
      case 0x0: case 0x1: case 0x2: break;  // the API defines no client messages; checked, then ignored
      case 0x8: {  // close: answer it (RFC 6455 5.5.1), then the TCP close follows
        c.peer_closed = true;
        const std::string payload = f.unmasked();
        std::uint16_t code = 1000;
        if (payload.size() >= 2)
          code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                            static_cast<unsigned char>(payload[1]));
        c.in.reset();
        if (c.closing) {
          if (c.shut) finish(c);  // our close frame is out already: done
        } else {
          close(c, code == 1005 ? 1000 : code, "");
        }
        return std::string_view::npos;
      }
      case 0x9:  // ping -> pong with the same payload
        enqueue(c, std::make_shared<const std::string>(ws::pong_frame(f.unmasked())));
        break;
      case 0xA: break;
      default: return protocol_close(c, 1002, "unknown opcode"), std::string_view::npos;
    }
  }
  return pos;
}

bool EventStream::Impl::protocol_close(Client& c, std::uint16_t code, std::string_view why) {
  c.in.reset();
  close(c, code, why);
  return false;
}

void EventStream::Impl::arm_tick() {
  const auto period = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(10), std::min(options.heartbeat, options.close_grace) / 4);
  tick.expires_after(period);
  tick.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->destroyed) return;
    auto& s = *self;
    s.now = Clock::now();
    std::vector<std::pair<base::TenantId, Frame>> beats;  // one heartbeat frame per tenant
    // Backwards: finish() moves the last client (already visited) into the finished one's place.
    for (std::size_t i = s.clients.size(); i-- > 0;) {
      Client& c = *s.clients[i];
      if (c.closing) {
        if (s.now >= c.last_out) s.finish(c);
        continue;
      }
      if (s.now - c.last_out < s.options.heartbeat) continue;
      auto it = std::find_if(beats.begin(), beats.end(), [&](auto& b) { return b.first == *c.tenant; });
      if (it == beats.end())
        it = beats.emplace(beats.end(), *c.tenant, std::make_shared<const std::string>(s.hub.heartbeat(*c.tenant)));
      ++s.stats.heartbeats;
      s.enqueue(c, it->second);
    }
    s.arm_tick();
  });
}

std::shared_ptr<const Credential> EventStream::Impl::credential_for(const Principal& who) {
  std::string key = who.tenant.str();
  for (const auto* part : {&who.user, &who.token_id, &who.session_id}) key += '\n' + *part;
  if (auto it = credentials.find(key); it != credentials.end())
    if (auto shared = it->second.lock())
      // The same credential, unless the user changed meanwhile (streams opened before keep theirs).
      if (shared->who.role == who.role && shared->who.devices == who.devices && shared->who.team == who.team)
        return shared;
  if (credentials.size() > 2 * clients.size() + 64)  // forget those no client holds any more
    std::erase_if(credentials, [](const auto& kv) { return kv.second.expired(); });
  auto c = std::make_shared<const Credential>(Credential{key, who});
  credentials.insert_or_assign(std::move(key), c);
  return c;
}

bool EventStream::Impl::blocking(std::function<void()> job) {
  if (!options.offload) {
    job();
    return true;
  }
  return options.offload.pool->try_submit(std::move(job));
}

void EventStream::Impl::arm_revocation_tick() {
  revocation_tick.expires_after(std::max(options.revocation_check, std::chrono::milliseconds(10)));
  revocation_tick.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->destroyed || self->stopped) return;
    self->look_for_revocations();
    self->arm_revocation_tick();
  });
}

void EventStream::Impl::look_for_revocations() {
  if (revocation_busy || clients.empty()) return;
  revocation_busy = true;
  auto self = shared_from_this();
  auto back = [self](std::function<void()> f) {
    if (self->options.offload) self->options.offload.to_io(std::move(f));
    else f();
  };
  // A full queue: the next tick tries again.
  if (!blocking([self, back] {
        auto g = self->auth.credential_generation();
        back([self, g] { self->check_credentials(g); });
      }))
    revocation_busy = false;
}

void EventStream::Impl::check_credentials(std::optional<std::uint64_t> generation) {
  if (destroyed) return;
  // Unreadable store: nothing can be told now; keep the streams and look again.
  if (!generation) {
    revocation_busy = false;
    return;
  }
  std::vector<std::shared_ptr<const Credential>> ask;
  std::unordered_set<const Credential*> seen;
  for (const auto* c : clients)
    if (!c->closing && c->checked != *generation && c->credential && seen.insert(c->credential.get()).second)
      ask.push_back(c->credential);
  if (ask.empty()) {
    revocation_busy = false;
    return;
  }
  auto self = shared_from_this();
  const std::uint64_t g = *generation;
  auto job = [self, g, ask]() mutable {
    std::vector<std::optional<PrincipalResolver::Standing>> holds;
    holds.reserve(ask.size());
    for (const auto& c : ask) holds.push_back(self->auth.standing(c->who));
    auto done = [self, g, ask = std::move(ask), holds = std::move(holds)] { self->close_revoked(g, ask, holds); };
    if (self->options.offload) self->options.offload.to_io(std::move(done));
    else done();
  };
  if (!blocking(std::move(job))) revocation_busy = false;
}

void EventStream::Impl::close_revoked(std::uint64_t generation,
                                      const std::vector<std::shared_ptr<const Credential>>& asked,
                                      const std::vector<std::optional<PrincipalResolver::Standing>>& holds) {
  revocation_busy = false;
  if (destroyed) return;
  stats.credential_checks += asked.size();
  std::unordered_map<const Credential*, std::optional<PrincipalResolver::Standing>> verdict;
  for (std::size_t i = 0; i < asked.size(); ++i) verdict.emplace(asked[i].get(), holds[i]);
  std::size_t closed = 0, changed = 0;
  for (std::size_t i = clients.size(); i-- > 0;) {
    Client& c = *clients[i];
    if (c.closing) continue;
    auto it = verdict.find(c.credential.get());
    // Not asked (a new credential since): the next look. Unknown (store error): asked again then.
    if (it == verdict.end() || !it->second) continue;
    switch (*it->second) {
      case PrincipalResolver::Standing::holds:
        c.checked = generation;
        break;
      case PrincipalResolver::Standing::revoked:
        ++stats.closed_revoked;
        ++closed;
        close(c, 1008, "credentials revoked");
        break;
      case PrincipalResolver::Standing::changed:
        // Its filter (scope, extensions, team) was made from what the user was: the client
        // reconnects without `since` and gets a snapshot of what it may see now.
        ++stats.closed_user_changed;
        ++changed;
        close(c, kCloseUserChanged, "user changed: reconnect");
        break;
    }
  }
  if (closed > 0) spdlog::info("event stream: closed {} stream(s) whose token, session or user was revoked", closed);
  if (changed > 0)
    spdlog::info("event stream: closed {} stream(s) whose user's role, extensions or team changed; they reconnect", changed);
}

EventStream::EventStream(asio::io_context& io, core::EventHub& hub, PrincipalResolver& auth,
                         EventStreamOptions options)
    : impl_(std::make_shared<Impl>(io, hub, auth, std::move(options))) {
  impl_->arm_tick();
  impl_->arm_epoll();
  impl_->arm_revocation_tick();
}

EventStream::~EventStream() {
  stop();
  auto& s = *impl_;
  for (std::size_t i = s.clients.size(); i-- > 0;) s.finish(*s.clients[i]);
  s.destroyed = true;  // queued handlers of this stream do nothing from now on
  s.dirty.clear();
  for (auto* c : s.dead) delete c;
  s.dead.clear();
  s.tick.cancel();
  s.revocation_tick.cancel();
  boost::system::error_code ignored;
  s.ep_watch.close(ignored);
}

void EventStream::install(HttpServer& http, std::string path) {
  // Authentication may need a worker (uncached token: identity.db + argon2); the connection waits
  // for it without holding the io thread.
  http.upgrade_route(std::move(path), AsyncUpgradeHandler([weak = std::weak_ptr<Impl>(impl_)](
                                                              HttpRequest req, Reply<HttpUpgrade> reply) {
    auto impl = weak.lock();
    if (!impl || impl->destroyed)
      return reply(HttpUpgrade{HttpResponse::problem(503, "Service Unavailable", "shutting down"), {}});
    if (auto bad = ws::check_handshake(req)) return reply(HttpUpgrade{std::move(*bad), {}});
    auto shared = std::make_shared<const HttpRequest>(std::move(req));
    impl->auth.resolve_async(*shared, true, [weak, shared, reply](PrincipalResult who) {
      auto impl = weak.lock();
      if (!impl || impl->destroyed)
        return reply(HttpUpgrade{HttpResponse::problem(503, "Service Unavailable", "shutting down"), {}});
      reply(impl->upgrade(*shared, who));
    });
  }));
}

HttpUpgrade EventStream::handle(const HttpRequest& req) {
  if (auto bad = ws::check_handshake(req)) return HttpUpgrade{std::move(*bad), {}};
  return impl_->upgrade(req, impl_->auth.resolve(req, true));
}

HttpUpgrade EventStream::Impl::upgrade(const HttpRequest& req, const PrincipalResult& who) {
  if (!who) return HttpUpgrade{ws::auth_problem(who.error()), {}};
  auto sub = ws::subscription_for(req, *who, options.tenant_users);
  if (!sub) return HttpUpgrade{std::move(sub.error()), {}};
  if (stopped) return HttpUpgrade{HttpResponse::problem(503, "Service Unavailable", "shutting down"), {}};
  if (clients.size() >= options.max_clients)
    return HttpUpgrade{HttpResponse::problem(503, "Service Unavailable", "too many event stream clients"), {}};
  HttpUpgrade up;
  up.response = ws::switching_protocols(*sub);
  EventStream::ClientInfo info{.tenant = sub->tenant, .user = who->user, .address = req.remote};
  up.adopt = [impl = shared_from_this(), sub = std::move(*sub), cred = credential_for(*who), info = std::move(info)](
                 int fd, std::string_view early) mutable {
    info.since = base::SystemClock().now();
    impl->adopt(fd, early, sub.tenant, std::move(sub.filter), sub.since, std::move(cred), std::move(info));
  };
  return up;
}

void EventStream::stop() {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.revocation_tick.cancel();
  // The close frames go out while the io loop still runs; close_grace (the tick) or ~EventStream
  // cuts what is left.
  auto frame = std::make_shared<const std::string>(ws::close_frame(1001, "server shutting down"));
  for (std::size_t i = s.clients.size(); i-- > 0;) s.close(*s.clients[i], 1001, "", frame);
}

EventStream::Stats EventStream::stats() const {
  Stats st = impl_->stats;
  st.clients = impl_->clients.size();
  for (const auto* c : impl_->clients) {
    st.queued += c->outbox.size() - c->head;
    if (c->outbox.capacity() > 0 || c->in) ++st.holding_buffers;
  }
  return st;
}

std::vector<EventStream::ClientInfo> EventStream::clients(const std::optional<base::TenantId>& tenant) const {
  std::vector<ClientInfo> out;
  for (const auto* c : impl_->clients) {
    if (c->closing || (tenant && *c->tenant != *tenant)) continue;
    out.push_back(ClientInfo{.tenant = *c->tenant, .user = c->user, .address = c->address, .since = c->since,
                             .messages_in = c->frames_in, .messages_out = c->frames_out});
  }
  // `clients` is unordered (finish() moves the last into the gap): oldest first for readers.
  std::stable_sort(out.begin(), out.end(), [](const ClientInfo& a, const ClientInfo& b) { return a.since < b.since; });
  return out;
}

}  // namespace callbridge::api
