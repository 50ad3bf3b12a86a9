// bench/e2e_latency: end-to-end latency of the real callbridged, from the AMI peer writing the bytes
// of an event to each WebSocket client receiving the frame that event caused.
//
// One bench process, three parts on their own threads, the daemon in a second process:
//  - traffic: the simulator (sim/ SimEngine + TrafficGenerator, `--seats` phones, `--cps`
//    calls/s, short calls) generates the AMI stream up front; message i gets `Timestamp:` =
//    kEpochBase + i ms, a marker the daemon passes through: call events carry it as "at", journal
//    entries as "ended_at" (milliseconds, so every AMI message has its own value);
//  - AMI peer (thread): a loopback AMI server (AmiServerSession: banner, MD5 login, actions answered
//    as the simulator answers them) that callbridged connects to; it writes each message when its
//    simulated time is due and records the steady-clock time just before the send() of its batch;
//  - WebSocket clients (thread, epoll): `--clients` connections to GET /api/v1/events, spread over
//    `--users` users (scope own, each user owning seats/users phones), or all on one supervisor
//    token with --scope tenant; every text frame with a marker gives one latency sample
//    (receive time - write time of the marked AMI message).
// callbridged is the real binary (config file, data dir in /tmp, tokens made with `callbridge token
// create`), so the figures include AMI parsing, the call tracker, the call model, the event hub,
// the WebSocket writes and the journal, all on loopback on the same (shared) machine.
// Prints a markdown table. --smoke: tiny run with checks (every client connected and stayed,
// markers found and valid), figures meaningless.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "directory/child_process.hpp"
#include "sim/ami_server_session.hpp"
#include "sim/sim_engine.hpp"
#include "sim/traffic.hpp"

namespace {

namespace fs = std::filesystem;
namespace sim = callbridge::sim;
using Clock = std::chrono::steady_clock;
using callbridge::testing::ChildProcess;

constexpr std::int64_t kEpochBase = 1'900'000'000;  // seconds; marker i = kEpochBase s + i ms

std::int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "e2e_latency: %s\n", m.c_str());
  std::exit(1);
}

// ---------------- traffic ----------------

struct Traffic {
  std::string bytes;                  // all messages, wire format
  std::vector<std::uint32_t> offset;  // message i = bytes[offset[i], offset[i+1])
  std::vector<std::int64_t> due_us;   // simulated time of message i since the start
  // Per conversation (Linkedid = the journal's call_id), its last message: a party's entry is
  // written when the conversation ends (docs/journal.md), which for a party that left early (a
  // transfer, a ring group's other members) is later than its own ended_at.
  std::unordered_map<std::string, std::uint32_t> last_of_call;
  std::uint64_t calls = 0, blocked = 0;
};

Traffic make_traffic(int seats, double cps, double seconds, std::uint64_t seed) {
  sim::TrafficProfile p;
  p.seats = seats;
  p.cps = cps;
  p.answer_ratio = 0.75, p.miss_ratio = 0.15, p.busy_ratio = 0.10;
  p.inbound = 0.5, p.outbound = 0.3, p.internal = 0.1, p.queue = 0.1;
  p.hold_ratio = 0.05, p.transfer_ratio = 0.03, p.attended_ratio = 0.0;
  // Short calls, so `seats` phones can carry `cps` calls per second.
  p.ring_min_s = 0.2, p.ring_max_s = 0.6;
  p.talk_mean_s = 0.5, p.talk_min_s = 0.2, p.talk_max_s = 1.5;
  p.seed = seed;
  p.max_calls = static_cast<std::uint64_t>(cps * seconds);
  if (auto st = p.validate(); !st) die("traffic profile: " + st.error().message());

  const auto start = callbridge::base::Timestamp(std::chrono::seconds(kEpochBase));
  Traffic t;
  // Each message is serialized as it is emitted (with its marker), never kept as fields.
  sim::SimEngine engine(sim::lab_with_seats(seats), start, nullptr);
  engine.set_sink([&](const sim::SimMessage& m) {
    const auto ms = static_cast<std::int64_t>(t.due_us.size());
    t.due_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(engine.now() - start).count());
    char ts[40];
    std::snprintf(ts, sizeof ts, "%lld.%03lld000", static_cast<long long>(kEpochBase + ms / 1000),
                  static_cast<long long>(ms % 1000));
    sim::Fields f = m.fields();
    bool found = false;
    for (auto& [k, v] : f)
      if (k == "Timestamp") v = ts, found = true;
    if (!found) f.emplace_back("Timestamp", ts);
    for (const auto& [k, v] : f)
      if (k == "Linkedid" && !v.empty()) t.last_of_call[v] = static_cast<std::uint32_t>(ms);
    t.offset.push_back(static_cast<std::uint32_t>(t.bytes.size()));
    sim::SimMessage(std::move(f)).append_wire(t.bytes);
  });
  sim::TrafficGenerator gen(p);
  gen.start(engine);
  engine.run_all(100'000'000);
  t.calls = gen.started();
  t.blocked = gen.blocked();
  t.offset.push_back(static_cast<std::uint32_t>(t.bytes.size()));
  if (t.bytes.size() > UINT32_MAX / 2) die("stream too large; lower --seconds or --cps");
  return t;
}

// ---------------- AMI peer ----------------

struct AmiPeer {
  const Traffic& traffic;
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> logged_in{false};
  std::atomic<bool> go{false};
  std::atomic<bool> done{false};
  std::atomic<bool> failed{false};
  std::unique_ptr<std::atomic<std::int64_t>[]> written_ns;  // per message: before its send()
  std::atomic<std::int64_t> started_ns{0}, finished_ns{0};
  std::int64_t max_behind_us = 0;  // how far the writes fell behind the schedule
  std::string error;

  explicit AmiPeer(const Traffic& t) : traffic(t), written_ns(new std::atomic<std::int64_t>[t.due_us.size()]) {
    for (std::size_t i = 0; i < t.due_us.size(); ++i) written_ns[i].store(0, std::memory_order_relaxed);
    listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd, 4) != 0)
      die("AMI peer: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~AmiPeer() { ::close(listen_fd); }

  void fail(std::string m) {
    error = std::move(m);
    failed = true;
  }

  bool send_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  void run(int seats) {
    int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) return fail("accept failed");
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sim::SimEngine engine(sim::lab_with_seats(seats),
                          std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                          nullptr);
    sim::AmiServerConfig cfg;  // user "cti", secret "cti-secret"
    sim::AmiServerSession session(engine, cfg, "127.0.0.1", "127.0.0.1", 1);
    char buf[65536];
    auto service = [&](int timeout_ms) -> bool {  // actions from callbridged (login, lists, Ping)
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) > 0) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
          fail("callbridged closed the AMI connection");
          return false;
        }
        if (auto st = session.on_bytes(std::string_view(buf, static_cast<std::size_t>(n))); !st) {
          fail("AMI peer: " + st.error().message());
          return false;
        }
      }
      if (session.has_output()) {
        auto out = session.take_output();
        if (!send_all(fd, out.data(), out.size())) {
          fail("AMI peer: send failed");
          return false;
        }
      }
      if (session.logged_in()) logged_in = true;
      return true;
    };
    auto out = session.take_output();  // banner
    send_all(fd, out.data(), out.size());
    while (!go.load()) {
      if (!service(20)) return;
      if (done.load()) break;
    }
    const auto n = traffic.due_us.size();
    std::size_t next = 0;
    started_ns = now_ns();
    std::int64_t last_send = 0;
    while (next < n && !done.load()) {
      // At most one write per 100 us (what is due meanwhile goes in one batch): the peer must not
      // eat the CPU the daemon needs. Each message's time is taken at its batch's send().
      if (const std::int64_t since = now_ns() - last_send; since < 100'000) {
        timespec ts{0, static_cast<long>(100'000 - since)};
        ::nanosleep(&ts, nullptr);
      }
      const std::int64_t t = now_ns();
      const std::int64_t elapsed_us = (t - started_ns) / 1000;
      std::size_t end = next;
      while (end < n && traffic.due_us[end] <= elapsed_us && traffic.offset[end + 1] - traffic.offset[next] < 256 * 1024)
        ++end;
      if (end == next) {
        // Nothing due: answer actions meanwhile, then wait for the next message's time.
        const std::int64_t wait_us = traffic.due_us[next] - elapsed_us;
        if (!service(0)) return;
        if (wait_us > 50) {
          timespec ts{0, static_cast<long>(std::min<std::int64_t>(wait_us, 2000) * 1000)};
          ::nanosleep(&ts, nullptr);
        }
        continue;
      }
      max_behind_us = std::max(max_behind_us, elapsed_us - traffic.due_us[next]);
      const std::int64_t before = now_ns();
      last_send = before;
      for (std::size_t i = next; i < end; ++i) written_ns[i].store(before, std::memory_order_release);
      if (!send_all(fd, traffic.bytes.data() + traffic.offset[next], traffic.offset[end] - traffic.offset[next]))
        return fail("AMI peer: send failed (callbridged gone?)");
      next = end;
      if (!service(0)) return;
    }
    finished_ns = now_ns();
    sent = next;
    // Keep the link up (and answer Pings) until the clients are done.
    while (!done.load())
      if (!service(20)) break;
    ::close(fd);
  }
  std::size_t sent = 0;
};

// ---------------- WebSocket clients ----------------

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "2030-03-17T17:46:40.123Z" -> milliseconds since the epoch; -1 if malformed.
std::int64_t parse_rfc3339_ms(std::string_view s) {
  if (s.size() < 24 || s[4] != '-' || s[10] != 'T' || s[19] != '.' || s[23] != 'Z') return -1;
  auto num = [&](std::size_t pos, std::size_t len) {
    std::int64_t v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::int64_t(-1);
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2), ms = num(20, 3);
  if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || se < 0 || ms < 0) return -1;
  return ((days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 24 + h) * 60 + mi) * 60'000 +
         se * 1000 + ms;
}

struct Client {
  int fd = -1;
  int user = 0;
  bool upgraded = false;
  bool closed = false;
  std::string in;  // unparsed bytes
  std::string frag;
};

struct Samples {
  std::vector<std::uint32_t> us;  // latencies in microseconds, call and journal frames
  std::vector<std::uint32_t> call_us, journal_us;
  // Journal frames again, timed from the last AMI message of their conversation (the moment the
  // entry can be written): the pipeline's own latency.
  std::vector<std::uint32_t> journal_conv_us;
  std::uint64_t journal_conv_unmatched = 0;
  std::uint64_t frames = 0, call_frames = 0, journal_frames = 0, line_frames = 0, other_frames = 0;
  std::uint64_t unmatched = 0, bad_marker = 0, unmarked = 0;
  std::uint64_t bytes = 0;
};

class Clients {
 public:
  Clients(const AmiPeer& peer, std::uint16_t port, std::vector<std::string> tokens, std::string scope, int n)
      : peer_(peer), port_(port), tokens_(std::move(tokens)), scope_(std::move(scope)), n_(n) {
    ep_ = epoll_create1(0);
  }
  ~Clients() {
    for (auto& c : clients_)
      if (c.fd >= 0) ::close(c.fd);
    ::close(ep_);
  }

  // Connects everyone and waits for each upgrade + snapshot. Returns false on failure.
  bool connect_all(std::chrono::seconds timeout) {
    clients_.resize(static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) {
      auto& c = clients_[static_cast<std::size_t>(i)];
      c.user = i % static_cast<int>(tokens_.size());
      c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
      // Each client from its own loopback address (127.2.0.1 and up), as browsers on many hosts:
      // callbridged allows 64 connections per address until they are upgraded.
      sockaddr_in me{};
      me.sin_family = AF_INET;
      me.sin_addr.s_addr = htonl(((127u << 24) | (2u << 16)) + 1u + static_cast<std::uint32_t>(i));
      if (::bind(c.fd, reinterpret_cast<sockaddr*>(&me), sizeof me) != 0) {
        error_ = "bind: " + std::string(std::strerror(errno));
        return false;
      }
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(port_);
      if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        error_ = "connect: " + std::string(std::strerror(errno));
        return false;
      }
      int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::string req = "GET /api/v1/events?scope=" + scope_ +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        "Authorization: Bearer " + tokens_[static_cast<std::size_t>(c.user)] + "\r\n\r\n";
      if (::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        error_ = "sending the upgrade failed";
        return false;
      }
      ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
    }
    const auto deadline = Clock::now() + timeout;
    while (snapshots_ < n_) {
      if (Clock::now() > deadline) {
        error_ = std::to_string(snapshots_) + " of " + std::to_string(n_) + " clients got their snapshot in time";
        return false;
      }
      poll_once(100, /*measure=*/false);
      if (!error_.empty()) return false;
      if (closed_ > 0) {
        error_ = std::to_string(closed_) + " clients were closed before their upgrade and snapshot";
        return false;
      }
    }
    return true;
  }

  // Reads until `stop` returns true.
  template <typename Stop>
  void run(Stop&& stop) {
    while (!stop()) poll_once(20, true);
  }

  Samples& samples() { return s_; }
  int closed() const { return closed_; }
  const std::string& error() const { return error_; }
  std::int64_t last_frame_ns() const { return last_frame_ns_; }

 private:
  void poll_once(int timeout_ms, bool measure) {
    epoll_event evs[256];
    int k = ::epoll_wait(ep_, evs, 256, timeout_ms);
    for (int e = 0; e < k; ++e) {
      auto& c = clients_[evs[e].data.u32];
      char buf[65536];
      for (;;) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          const std::int64_t t = now_ns();
          s_.bytes += static_cast<std::uint64_t>(r);
          c.in.append(buf, static_cast<std::size_t>(r));
          parse(c, t, measure);
          if (r < static_cast<ssize_t>(sizeof buf)) break;
          continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (r < 0 && errno == EINTR) continue;
        if (!c.closed) {
          c.closed = true;
          ++closed_;
          ::epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        }
        break;
      }
    }
  }

  void parse(Client& c, std::int64_t t, bool measure) {
    if (!c.upgraded) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      if (c.in.compare(0, 12, "HTTP/1.1 101") != 0) {
        error_ = "upgrade refused: " + c.in.substr(0, c.in.find("\r\n"));
        return;
      }
      c.upgraded = true;
      c.in.erase(0, end + 4);
    }
    std::size_t pos = 0;
    for (;;) {
      if (c.in.size() - pos < 2) break;
      const auto* p = reinterpret_cast<const unsigned char*>(c.in.data() + pos);
      const bool fin = p[0] & 0x80;
      const int op = p[0] & 0x0f;
      std::uint64_t len = p[1] & 0x7f;
      std::size_t hdr = 2;
      if (len == 126) {
        if (c.in.size() - pos < 4) break;
        len = (std::uint64_t(p[2]) << 8) | p[3];
        hdr = 4;
      } else if (len == 127) {
        if (c.in.size() - pos < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
        hdr = 10;
      }
      if (c.in.size() - pos < hdr + len) break;
      std::string_view payload(c.in.data() + pos + hdr, len);
      pos += hdr + len;
      if (op == 0x8) {  // close
        if (!c.closed) {
          c.closed = true;
          ++closed_;
          close_reason_ = std::string(payload.size() > 2 ? payload.substr(2) : payload);
        }
        continue;
      }
      if (op == 0x9 || op == 0xA) continue;  // ping/pong: the server sends none (heartbeats are JSON)
      if (op == 0x1 || op == 0x2) c.frag.assign(payload);
      else if (op == 0x0) c.frag.append(payload);
      if (!fin) continue;
      on_message(c.frag, t, measure);
    }
    c.in.erase(0, pos);
  }

  void on_message(std::string_view m, std::int64_t t, bool measure) {
    last_frame_ns_ = t;
    if (!measure) {
      if (m.find("\"type\":\"snapshot\"") != std::string_view::npos) ++snapshots_;
      return;
    }
    ++s_.frames;
    std::string_view marker;
    if (m.find("\"type\":\"call\"") != std::string_view::npos) {
      ++s_.call_frames;
      auto at = m.rfind(",\"at\":\"");  // the event's own field comes after the call object
      if (at != std::string_view::npos) marker = m.substr(at + 7, 24);
    } else if (m.find("\"type\":\"journal\"") != std::string_view::npos) {
      ++s_.journal_frames;
      auto at = m.find("\"ended_at\":");
      if (at != std::string_view::npos) {
        at += 11;
        while (at < m.size() && (m[at] == ' ' || m[at] == '"')) ++at;
        marker = m.substr(at, 24);
      }
    } else if (m.find("\"type\":\"line\"") != std::string_view::npos) {
      ++s_.line_frames;
      return;
    } else {
      ++s_.other_frames;
      return;
    }
    if (marker.empty()) {  // "remote_info" call updates: caused by a directory lookup, no AMI event
      ++s_.unmarked;
      return;
    }
    const std::int64_t ms = parse_rfc3339_ms(marker) - kEpochBase * 1000;
    if (ms < 0 || static_cast<std::size_t>(ms) >= peer_.traffic.due_us.size()) {
      if (s_.bad_marker++ == 0) std::fprintf(stderr, "e2e_latency: first frame with a bad marker: %.*s\n",
                                             static_cast<int>(std::min<std::size_t>(m.size(), 600)), m.data());
      return;
    }
    const std::int64_t w = peer_.written_ns[static_cast<std::size_t>(ms)].load(std::memory_order_acquire);
    if (w == 0 || w > t) {
      ++s_.unmatched;
      return;
    }
    const auto us = static_cast<std::uint32_t>(std::min<std::int64_t>((t - w) / 1000, UINT32_MAX));
    s_.us.push_back(us);
    (m[9] == 'c' ? s_.call_us : s_.journal_us).push_back(us);  // {"type":"call" / "journal"
    if (m[9] == 'j') time_from_conversation_end(m, t);
  }

  void time_from_conversation_end(std::string_view m, std::int64_t t) {
    auto at = m.find("\"call_id\":");
    if (at == std::string_view::npos) return;
    at = m.find('"', at + 10);
    const auto end = at == std::string_view::npos ? at : m.find('"', at + 1);
    if (end == std::string_view::npos) return;
    auto it = peer_.traffic.last_of_call.find(std::string(m.substr(at + 1, end - at - 1)));
    if (it == peer_.traffic.last_of_call.end()) return;
    const std::int64_t w = peer_.written_ns[it->second].load(std::memory_order_acquire);
    if (w == 0 || w > t) {  // the conversation's last message came after its entry (trailing events)
      ++s_.journal_conv_unmatched;
      return;
    }
    s_.journal_conv_us.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>((t - w) / 1000, UINT32_MAX)));
  }

  const AmiPeer& peer_;
  std::uint16_t port_;
  std::vector<std::string> tokens_;
  std::string scope_;
  int n_;
  int ep_ = -1;
  std::vector<Client> clients_;
  int snapshots_ = 0;
  int closed_ = 0;
  std::string close_reason_;
  std::string error_;
  Samples s_;
  std::int64_t last_frame_ns_ = 0;

 public:
  const std::string& close_reason() const { return close_reason_; }
};

// ---------------- daemon ----------------

std::string run_capture(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  cmd += "2>/dev/null";
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {};
  std::string out;
  char b[4096];
  while (std::size_t n = std::fread(b, 1, sizeof b, f)) out.append(b, n);
  if (::pclose(f) != 0) return {};
  return out;
}

// f(0) .. f(n - 1) on min(n, cores) threads.
template <class F>
void for_each_parallel(std::size_t n, F f) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  const std::size_t k = std::min<std::size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
  for (std::size_t t = 0; t < k; ++t)
    threads.emplace_back([&] {
      for (std::size_t i; (i = next++) < n;) f(i);
    });
  for (auto& t : threads) t.join();
}

std::string last_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::string cur;
  for (std::size_t i = rp + 2; i < s.size(); ++i) {
    if (s[i] == ' ') fields.push_back(cur), cur.clear();
    else cur += s[i];
  }
  if (fields.size() < 13) return 0;
  return static_cast<double>(std::stoll(fields[11]) + std::stoll(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// GET /api/v1/me with `token`: true on 200.
bool verify_token(std::uint16_t port, const std::string& token) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return false;
  }
  const std::string req = "GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer " +
                          token + "\r\n\r\n";
  std::string in;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
    char buf[4096];
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 30'000) <= 0) break;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return in.compare(0, 12, "HTTP/1.1 200") == 0;
}

double pct(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"e2e_latency - AMI bytes in to WebSocket frame out through the real callbridged"};
  double cps = 1000, seconds = 20;
  int clients = 1000, users = 100, seats = 800;
  std::string scope = "own";
  std::string daemon = CALLBRIDGED_PATH, cli = CALLBRIDGE_CLI_PATH;
  std::uint64_t seed = 1;
  bool smoke = false;
  app.add_option("--cps", cps, "calls per second offered")->capture_default_str();
  app.add_option("--seconds", seconds, "how long calls keep arriving")->capture_default_str();
  app.add_option("--clients", clients, "WebSocket clients")->capture_default_str();
  app.add_option("--users", users, "users (tokens) the clients are spread over; each owns seats/users phones")
      ->capture_default_str();
  app.add_option("--seats", seats, "simulated phones (extensions 100..)")->capture_default_str()->check(
      CLI::Range(2, 899));
  app.add_option("--scope", scope, "own (each user's phones) or tenant (one supervisor token, every event)")
      ->check(CLI::IsMember({"own", "tenant"}))
      ->capture_default_str();
  app.add_option("--seed", seed)->capture_default_str();
  app.add_option("--daemon", daemon, "callbridged binary")->capture_default_str();
  app.add_option("--cli", cli, "callbridge binary (token create)")->capture_default_str();
  app.add_flag("--smoke", smoke, "tiny run with checks, figures meaningless");
  CLI11_PARSE(app, argc, argv);
  if (smoke) cps = 40, seconds = 2, clients = 20, users = 4, seats = 40;
  if (scope == "tenant") users = 1;
  users = std::max(1, std::min(users, seats));
  // A user has at most 64 extensions (`callbridge token`): scope own spreads the seats over users.
  if (scope == "own" && users > 0 && (seats + users - 1) / users > 64)
    die("--users " + std::to_string(users) + ": each user would own " + std::to_string((seats + users - 1) / users) +
        " phones, at most 64 are allowed; use --users " + std::to_string((seats + 63) / 64) + " or more");

  // 1. traffic
  auto t0 = Clock::now();
  Traffic traffic = make_traffic(seats, cps, seconds, seed);
  std::fprintf(stderr, "e2e_latency: %zu AMI messages (%.1f MB), %llu calls (%llu blocked: no free seat), generated in %.1f s\n",
               traffic.due_us.size(), static_cast<double>(traffic.bytes.size()) / 1e6,
               static_cast<unsigned long long>(traffic.calls), static_cast<unsigned long long>(traffic.blocked),
               std::chrono::duration<double>(Clock::now() - t0).count());
  if (traffic.due_us.empty()) die("the simulator produced no messages");

  // 2. data dir, tokens, config
  callbridge::testing::TempDir dir;
  std::vector<std::string> tokens;
  t0 = Clock::now();
  const auto lab = sim::lab_with_seats(seats);
  // Each `token create` hashes its secret with argon2 (~0.1 s of CPU, seconds on a loaded
  // machine): one per core at a time instead of one after the other.
  tokens.resize(static_cast<std::size_t>(users));
  auto create = [&](std::size_t u) {
    std::vector<std::string> cmd = {cli, "token", "create", "--data-dir", dir.path(), "--tenant", "default",
                                    "--user", "bench" + std::to_string(u)};
    if (scope == "tenant") {
      cmd.insert(cmd.end(), {"--role", "supervisor"});
    } else {
      for (std::size_t k = u; k < lab.phones.size(); k += static_cast<std::size_t>(users))
        cmd.insert(cmd.end(), {"--extension", lab.phones[k].ext});
    }
    tokens[u] = last_line(run_capture(cmd));
  };
  create(0);  // alone: it creates identity.db and its schema
  for_each_parallel(tokens.size() - 1, [&](std::size_t u) { create(u + 1); });
  for (const auto& tok : tokens)
    if (tok.empty()) die("`callbridge token create` failed (" + cli + ")");
  std::fprintf(stderr, "e2e_latency: %d token(s) created in %.1f s\n", users,
               std::chrono::duration<double>(Clock::now() - t0).count());

  AmiPeer peer(traffic);
  {
    std::ofstream cfg(dir.path() + "/callbridged.toml");
    cfg << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << dir.path() << "\"\nlog_level = \"info\"\n\n"
        << "[[pbx]]\nname = \"bench\"\nhost = \"127.0.0.1\"\nport = " << peer.port
        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"md5\"\n\n"
        << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\nbase_number = \"555\"\n"
        << "extension_length = 3\nregion = \"DE\"\n";
  }
  std::thread ami([&] { peer.run(seats); });

  // 3. daemon
  auto child = ChildProcess::spawn({daemon, "--config", dir.path() + "/callbridged.toml"});
  if (!child) die("starting callbridged: " + child.error().message());
  auto line = (*child)->wait_for_line(
      [](const std::string& l) { return l.find("HTTP API listening on ") != std::string::npos; },
      std::chrono::seconds(60));
  if (!line) die("callbridged did not start: " + line.error().message());
  (*child)->drain_in_background();
  auto at = line->find("HTTP API listening on 127.0.0.1:");
  if (at == std::string::npos) die("unexpected start line: " + *line);
  const auto http_port = static_cast<std::uint16_t>(std::stoi(line->substr(at + 32)));
  for (int i = 0; i < 600 && !peer.logged_in.load() && !peer.failed.load(); ++i) ::usleep(10'000);
  if (!peer.logged_in.load()) {
    peer.done = true;
    ::shutdown(peer.listen_fd, SHUT_RDWR);
    ami.join();
    die("callbridged did not log in to the AMI peer: " + peer.error);
  }

  // 4. clients. Each token is verified (argon2, on callbridged's auth workers) once before, as a
  // running server's tokens are: 1000 upgrades at once would otherwise all wait for their check,
  // and more than max_connections (512) waiting connections are refused. As many at a time as
  // callbridged has argon2 workers (2).
  t0 = Clock::now();
  std::atomic<int> refused{0};
  for_each_parallel(tokens.size(), [&](std::size_t u) {
    if (!verify_token(http_port, tokens[u])) ++refused;
  });
  if (refused > 0) die("GET /api/v1/me with a bench token failed (" + std::to_string(refused.load()) + " tokens)");
  std::fprintf(stderr, "e2e_latency: %zu token(s) verified in %.1f s\n", tokens.size(),
               std::chrono::duration<double>(Clock::now() - t0).count());
  Clients ws(peer, http_port, tokens, scope, clients);
  t0 = Clock::now();
  if (!ws.connect_all(std::chrono::seconds(smoke ? 60 : 300))) {
    peer.done = true;
    ami.join();
    die("WebSocket clients: " + ws.error());
  }
  std::fprintf(stderr, "e2e_latency: %d clients connected (scope %s) in %.1f s\n", clients, scope.c_str(),
               std::chrono::duration<double>(Clock::now() - t0).count());

  // 5. measure
  const double daemon_cpu0 = cpu_seconds((*child)->pid());
  peer.go = true;
  const auto run_start = Clock::now();
  const auto hard_stop = run_start + std::chrono::duration<double>(seconds + 30);
  ws.run([&] {
    if (Clock::now() > hard_stop || peer.failed.load()) return true;
    if (peer.finished_ns == 0) return false;
    // All written: stop once the frames have stopped coming for 500 ms.
    return now_ns() - std::max(ws.last_frame_ns(), peer.finished_ns.load()) > 500'000'000;
  });
  const double daemon_cpu = cpu_seconds((*child)->pid()) - daemon_cpu0;
  peer.done = true;
  ami.join();
  const bool daemon_alive = ::kill((*child)->pid(), 0) == 0;
  (*child)->stop();

  auto& s = ws.samples();
  const double wall = peer.finished_ns > peer.started_ns ? (peer.finished_ns - peer.started_ns) / 1e9 : 0;
  const double offered = traffic.due_us.empty() ? 0 : traffic.due_us.back() / 1e6;
  std::vector<std::uint32_t> v = s.us;
  const double p50 = pct(v, 0.50), p90 = pct(v, 0.90), p99 = pct(v, 0.99), p999 = pct(v, 0.999);
  const double mx = v.empty() ? 0 : *std::max_element(v.begin(), v.end()) / 1000.0;

  std::printf("| measure | value |\n|---|---:|\n");
  std::printf("| calls offered (simulator, %.0f/s, %d phones) | %llu in %.1f s (%llu blocked) |\n", cps, seats,
              static_cast<unsigned long long>(traffic.calls), offered, static_cast<unsigned long long>(traffic.blocked));
  std::printf("| AMI messages written | %zu of %zu in %.2f s (%.0f/s, %.1f MB/s) |\n", peer.sent, traffic.due_us.size(),
              wall, wall > 0 ? peer.sent / wall : 0,
              wall > 0 ? traffic.offset[peer.sent] / wall / 1e6 : 0);
  std::printf("| AMI writes behind schedule (max) | %.1f ms |\n", peer.max_behind_us / 1000.0);
  std::printf("| WebSocket clients (scope %s, %d users) | %d connected, %d closed during the run%s |\n", scope.c_str(),
              users, clients, ws.closed(), ws.close_reason().empty() ? "" : (" (" + ws.close_reason() + ")").c_str());
  std::printf("| frames received | %llu (call %llu, journal %llu, line %llu, other %llu); %.0f/s |\n",
              static_cast<unsigned long long>(s.frames), static_cast<unsigned long long>(s.call_frames),
              static_cast<unsigned long long>(s.journal_frames), static_cast<unsigned long long>(s.line_frames),
              static_cast<unsigned long long>(s.other_frames), wall > 0 ? s.frames / wall : 0);
  std::printf("| latency samples (call frames with an event time + journal frames) | %zu (%llu call updates without one) |\n",
              s.us.size(), static_cast<unsigned long long>(s.unmarked));
  std::printf("| latency p50 / p90 / p99 / p99.9 / max | %.2f / %.2f / %.2f / %.2f / %.1f ms |\n", p50, p90, p99, p999,
              mx);
  for (auto* part : {&s.call_us, &s.journal_us}) {
    std::vector<std::uint32_t> w = *part;
    const double q50 = pct(w, 0.50), q99 = pct(w, 0.99), q999 = pct(w, 0.999);
    std::printf("| %s frames only: p50 / p99 / p99.9 (samples) | %.2f / %.2f / %.2f ms (%zu) |\n",
                part == &s.call_us ? "call" : "journal", q50, q99, q999, w.size());
  }
  {
    std::vector<std::uint32_t> w = s.journal_conv_us;
    std::printf("| journal frames from their conversation's last AMI message: p50 / p99 / p99.9 (samples) | %.2f / "
                "%.2f / %.2f ms (%zu; %llu entries came before a later message of their conversation) |\n",
                pct(w, 0.50), pct(w, 0.99), pct(w, 0.999), w.size(),
                static_cast<unsigned long long>(s.journal_conv_unmatched));
  }
  std::printf("| callbridged CPU during the run | %.2f s (%.0f%% of one core) |\n", daemon_cpu,
              wall > 0 ? 100 * daemon_cpu / wall : 0);

  int status = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::fprintf(stderr, "e2e_latency: FAILED: %s\n", what);
      status = 1;
    }
  };
  check(!peer.failed.load(), ("AMI peer: " + peer.error).c_str());
  check(daemon_alive, "callbridged exited during the run");
  check(peer.sent == traffic.due_us.size(), "not every AMI message was written");
  check(s.bad_marker == 0, "frames with a marker that is no AMI message");
  check(!s.us.empty(), "no latency samples");
  if (smoke) {
    check(ws.closed() == 0, "clients were closed during the run");
    check(s.call_frames > 0 && s.journal_frames > 0, "no call or no journal frames");
  }
  if (s.unmatched) std::fprintf(stderr, "e2e_latency: %llu frames marked with a message not yet written\n",
                                static_cast<unsigned long long>(s.unmatched));
  return status;
}
