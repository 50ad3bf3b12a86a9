// WebSocket fan-out benchmark: callbridge's event stream (core::EventHub + api::EventStream on the
// real HttpServer) against the Node `ws` peer (bench/peers/ws_fanout_peer.js), same run, same load.
//   ws_fanout serve                 the callbridge server, driven over stdin/stdout (protocol below)
//   ws_fanout run [--clients ...]   spawns each server, connects N raw WebSocket clients (epoll, one
//                                   thread, a separate process from the server), measures idle
//                                   memory per client and deliveries/s of a broadcast of MSGS
//                                   messages of BYTES to every client (every client must receive
//                                   every message: frame count and payload bytes are checked).
// Server line protocol: -> "port N"; <- "bcast MSGS BYTES BATCH" -> "done"; <- "mem" ->
// "mem RSS_KB HEAP_BYTES CLIENTS"; <- "stats" -> "stats FRAMES WRITES" (callbridge only);
// <- "exit". BATCH messages are published per event-loop turn.
#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.hpp"
#include "api/ws_event_stream.hpp"
#include "core/event_hub.hpp"

extern char** environ;

namespace {

using namespace callbridge;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// ---------------- server side ----------------
class AllowAll final : public api::PrincipalResolver {
 public:
  std::expected<api::Principal, api::AuthFailure> resolve(const api::HttpRequest&, bool) override {
    return api::Principal{"default", "bench", api::Role::supervisor, {}, "", "", ""};
  }
};

long rss_kb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// JSON of exactly `bytes` bytes (when bytes is big enough), as the Node peer builds it.
std::string tail_for(std::uint64_t seq, std::size_t bytes) {
  const std::string head = "{\"type\":\"call\",\"seq\":" + std::to_string(seq) + ",\"pad\":\"";
  const std::size_t pad = bytes > head.size() + 2 ? bytes - head.size() - 2 : 0;
  return ",\"pad\":\"" + std::string(pad, 'x') + "\"}";
}

int serve(long clients_per_turn, long max_outbox, long send_buffer) {
  asio::io_context io;
  core::EventHub hub(core::EventHubOptions{.retention = 4096, .encode = api::EventStream::frame_text});
  AllowAll auth;
  api::HttpServerOptions ho;
  ho.host = "127.0.0.1";
  ho.port = 0;
  ho.max_connections = 100'000;
  api::HttpServer http(io, ho);
  api::EventStreamOptions so;
  so.max_outbox = 1 << 16;  // the bench never wants a client dropped ...
  if (max_outbox > 0) so.max_outbox = static_cast<std::size_t>(max_outbox);  // ... the stall campaign does
  if (send_buffer >= 0) so.send_buffer_bytes = static_cast<std::size_t>(send_buffer);
  if (clients_per_turn > 0) so.clients_per_turn = static_cast<std::size_t>(clients_per_turn);
  so.heartbeat = std::chrono::hours(1);  // no heartbeat frame may be counted as a delivery
  api::EventStream stream(io, hub, auth, so);
  stream.install(http);
  if (auto st = http.start(); !st) {
    std::cerr << st.error().message() << "\n";
    return 1;
  }
  std::printf("port %u\n", http.port());
  std::fflush(stdout);
  auto work = asio::make_work_guard(io);
  std::thread input([&] {
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string cmd;
      in >> cmd;
      if (cmd == "bcast") {
        std::uint64_t msgs = 0, bytes = 0, batch = 1;
        in >> msgs >> bytes >> batch;
        asio::post(io, [&, msgs, bytes, batch] {
          auto sent = std::make_shared<std::uint64_t>(0);
          auto round = std::make_shared<std::function<void()>>();
          *round = [&, msgs, bytes, batch, sent, round] {
            for (std::uint64_t b = 0; b < batch && *sent < msgs; ++b) {
              ++*sent;
              const auto seq = hub.last_seq("default") + 1;
              hub.publish_raw("default", core::HubMessage::Kind::call, {}, "call", tail_for(seq, bytes));
            }
            if (*sent < msgs) {
              asio::post(io, *round);
            } else {
              std::printf("done\n");
              std::fflush(stdout);
              *round = nullptr;  // breaks the self-reference
            }
          };
          (*round)();
        });
      } else if (cmd == "tbcast") {
        // Paced broadcast for the stall campaign: RATE messages/s, each carrying its publish time
        // ("t": CLOCK_MONOTONIC ns, the same clock the driver reads) for delivery latencies.
        std::uint64_t msgs = 0, bytes = 0, rate = 100;
        in >> msgs >> bytes >> rate;
        asio::post(io, [&, msgs, bytes, rate] {
          auto timer = std::make_shared<asio::steady_timer>(io);
          auto sent = std::make_shared<std::uint64_t>(0);
          auto start = Clock::now();
          auto step = std::make_shared<std::function<void()>>();
          *step = [&, msgs, bytes, rate, timer, sent, start, step] {
            ++*sent;
            const auto seq = hub.last_seq("default") + 1;
            const auto t = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
            std::string tail = ",\"t\":" + std::to_string(t) + tail_for(seq, bytes);
            hub.publish_raw("default", core::HubMessage::Kind::call, {}, "call", tail);
            if (*sent >= msgs) {
              std::printf("done\n");
              std::fflush(stdout);
              *step = nullptr;
              return;
            }
            timer->expires_at(start + std::chrono::nanoseconds(static_cast<long long>(1e9 * static_cast<double>(*sent) / rate)));
            timer->async_wait([step](boost::system::error_code) { if (*step) (*step)(); });
          };
          (*step)();
        });
      } else if (cmd == "stats2") {
        asio::post(io, [&] {
          auto st = stream.stats();
          std::printf("stats2 %zu %llu %zu\n", st.clients, static_cast<unsigned long long>(st.closed_slow), st.queued);
          std::fflush(stdout);
        });
      } else if (cmd == "mem") {
        asio::post(io, [&] {
          // Heap in use: small chunks (uordblks) + mmapped big blocks (hblkhd, e.g. the client table).
          auto mi = mallinfo2();
          std::printf("mem %ld %zu %zu\n", rss_kb(), mi.uordblks + mi.hblkhd, stream.stats().clients);
          std::fflush(stdout);
        });
      } else if (cmd == "stats") {
        asio::post(io, [&] {
          auto st = stream.stats();
          std::printf("stats %llu %llu\n", static_cast<unsigned long long>(st.frames_out),
                      static_cast<unsigned long long>(st.writes));
          std::fflush(stdout);
        });
      } else if (cmd == "exit") {
        break;
      }
    }
    asio::post(io, [&] {
      stream.stop();
      http.stop();
      work.reset();
      io.stop();
    });
  });
  io.run();
  input.join();
  std::_Exit(0);  // 10k sockets: the OS closes them faster than destructors
}

// ---------------- driver side ----------------
struct Server {
  pid_t pid = -1;
  FILE* in = nullptr;   // commands
  FILE* out = nullptr;  // answers
  int port = 0;

  bool start(std::vector<std::string> argv) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from[1], 1);
    posix_spawn_file_actions_addclose(&fa, to[1]);
    posix_spawn_file_actions_addclose(&fa, from[0]);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) return false;
    close(to[0]);
    close(from[1]);
    in = fdopen(to[1], "w");
    out = fdopen(from[0], "r");
    auto l = line();
    return std::sscanf(l.c_str(), "port %d", &port) == 1;
  }
  std::string line() {
    char buf[256];
    if (!std::fgets(buf, sizeof buf, out)) return {};
    return buf;
  }
  void send(const std::string& cmd) {
    std::fputs((cmd + "\n").c_str(), in);
    std::fflush(in);
  }
  void stop() {
    if (pid < 0) return;
    send("exit");
    int st;
    waitpid(pid, &st, 0);
    fclose(in);
    fclose(out);
    pid = -1;
  }
};

struct Conn {
  int fd = -1;
  bool upgraded = false;
  std::string head;  // handshake response until \r\n\r\n
  unsigned char hdr[10];
  unsigned hlen = 0;
  std::uint64_t left = 0;  // payload bytes of the current frame still to come
  std::uint64_t frames = 0;
  unsigned opcode = 0;     // of the current frame
  char lead[48];           // its first payload bytes ("t" for latencies, the close code)
  unsigned lead_n = 0;
  int close_code = -1;     // a close frame's code once seen
  bool stalled = false;    // the stall campaign stopped reading it
  bool eof = false;        // the server closed or reset the connection
};

class Load {
 public:
  ~Load() { disconnect(); }
  // small_rcvbuf: the first that many sockets get a 4 KiB receive buffer (the stall campaign's
  // stalled clients: their backlog lands in the server's outbox soon, not in kernel buffers).
  bool connect(int port, int n, int small_rcvbuf = 0) {
    ep_ = epoll_create1(0);
    conns_.resize(n);
    const std::string req = "GET /api/v1/events?scope=tenant HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\n\r\n";
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd >= 0 && i < small_rcvbuf) {
        int sz = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
      }
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        std::perror("connect");
        return false;
      }
      if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return false;
      fcntl(fd, F_SETFL, O_NONBLOCK);
      conns_[i].fd = fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<std::uint32_t>(i);
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      if (i % 256 == 255) poll_for(0);  // keep the accept backlog short
    }
    return true;
  }
  // Runs until every connection is upgraded and has at least `frames` frames.
  bool wait_all(std::uint64_t frames, double timeout_s) {
    auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (Clock::now() < end) {
      if (upgraded_ == conns_.size() && min_frames() >= frames) return true;
      poll_for(50);
    }
    return false;
  }
  std::uint64_t total_frames() const { return total_; }
  std::uint64_t total_payload() const { return payload_; }
  std::uint64_t min_frames() const {
    std::uint64_t m = UINT64_MAX;
    for (const auto& c : conns_) m = std::min(m, c.frames);
    return conns_.empty() ? 0 : m;
  }
  // Waits until total frames reach `target`; returns seconds at the last frame or -1.
  double until_total(std::uint64_t target, Clock::time_point t0, double timeout_s) {
    auto end = t0 + std::chrono::duration<double>(timeout_s);
    while (total_ < target && Clock::now() < end) poll_for(50);
    if (total_ < target) return -1;
    return std::chrono::duration<double>(last_frame_ - t0).count();
  }
  void disconnect() {
    for (auto& c : conns_)
      if (c.fd >= 0) close(c.fd);
    conns_.clear();
    if (ep_ >= 0) close(ep_);
    ep_ = -1;
    upgraded_ = 0;
    total_ = 0;
    payload_ = 0;
  }

 private:
  void poll_for(int ms) {
    epoll_event evs[512];
    int n = epoll_wait(ep_, evs, 512, ms);
    for (int i = 0; i < n; ++i) readable(conns_[evs[i].data.u32]);
  }
  void readable(Conn& c) {
    for (;;) {
      ssize_t n = read(c.fd, buf_, sizeof buf_);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        if (!c.eof) epoll_ctl(ep_, EPOLL_CTL_DEL, c.fd, nullptr);
        c.eof = true;
        return;
      }
      if (n <= 0) return;
      std::size_t p = 0;
      if (!c.upgraded) {
        c.head.append(buf_, static_cast<std::size_t>(n));
        auto e = c.head.find("\r\n\r\n");
        if (e == std::string::npos) continue;
        if (c.head.compare(9, 3, "101") != 0) {
          std::fprintf(stderr, "handshake failed: %s\n", c.head.c_str());
          std::exit(1);
        }
        c.upgraded = true;
        ++upgraded_;
        const std::size_t extra = c.head.size() - (e + 4);
        p = static_cast<std::size_t>(n) - extra;
        c.head.clear();
        c.head.shrink_to_fit();
      }
      bool got = false;
      while (p < static_cast<std::size_t>(n)) {
        if (c.left > 0) {
          const std::size_t take = std::min<std::uint64_t>(c.left, n - p);
          for (std::size_t k = 0; k < take && c.lead_n < sizeof c.lead; ++k) c.lead[c.lead_n++] = buf_[p + k];
          c.left -= take;
          p += take;
          if (c.left == 0) ++c.frames, ++total_, got = true, frame_done(c);
          continue;
        }
        c.hdr[c.hlen++] = static_cast<unsigned char>(buf_[p++]);
        if (c.hlen < 2) continue;
        const unsigned l7 = c.hdr[1] & 0x7f;
        const unsigned need = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
        if (c.hlen < need) continue;
        std::uint64_t len = l7;
        if (l7 == 126) len = (c.hdr[2] << 8) | c.hdr[3];
        if (l7 == 127) {
          len = 0;
          for (int i = 2; i < 10; ++i) len = (len << 8) | c.hdr[i];
        }
        c.opcode = c.hdr[0] & 0x0f;
        c.lead_n = 0;
        c.hlen = 0;
        c.left = len;
        payload_ += len;
        if (len == 0) ++c.frames, ++total_, got = true, frame_done(c);
      }
      if (got) last_frame_ = Clock::now();
    }
  }
  void frame_done(Conn& c) {
    if (c.opcode == 0x8) {
      c.close_code = c.lead_n >= 2 ? (static_cast<unsigned char>(c.lead[0]) << 8) | static_cast<unsigned char>(c.lead[1]) : 0;
      return;
    }
    if (!sample_latency_ || (&c - conns_.data()) % 10 != 0) return;
    // {"type":"call","seq":N,"t":NS,...: the publish time, CLOCK_MONOTONIC like steady_clock here.
    std::string_view v(c.lead, c.lead_n);
    auto k = v.find("\"t\":");
    if (k == std::string_view::npos) return;
    long long t = 0;
    for (std::size_t i = k + 4; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) t = t * 10 + (v[i] - '0');
    const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    if (t > 0) latencies_us_.push_back(static_cast<std::uint32_t>(std::max<long long>(0, now - t) / 1000));
  }

 public:
  bool sample_latency_ = false;
  std::vector<std::uint32_t> latencies_us_;
  // Stops reading the first n connections (their socket buffers and the server's outbox fill up).
  void stall(int n) {
    for (int i = 0; i < n && i < static_cast<int>(conns_.size()); ++i) {
      conns_[i].stalled = true;
      epoll_ctl(ep_, EPOLL_CTL_DEL, conns_[i].fd, nullptr);
    }
  }
  // Reads the stalled connections again: what the server left for them (the close frame).
  void unstall_and_drain(double timeout_s) {
    for (auto& c : conns_)
      if (c.stalled) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<std::uint32_t>(&c - conns_.data());
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
      }
    auto end = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (Clock::now() < end) {
      poll_for(50);
      bool all = true;
      for (auto& c : conns_) all = all && (!c.stalled || c.close_code >= 0 || c.eof);
      if (all) break;
    }
  }
  int stalled_with_close(int code) const {
    int n = 0;
    for (auto& c : conns_) n += c.stalled && c.close_code == code;
    return n;
  }
  int stalled_cut() const {
    int n = 0;
    for (auto& c : conns_) n += c.stalled && c.close_code < 0 && c.eof;
    return n;
  }
  void poll(int ms) { poll_for(ms); }

 private:
  int ep_ = -1;
  std::vector<Conn> conns_;
  std::size_t upgraded_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t payload_ = 0;  // payload bytes of every frame header seen
  Clock::time_point last_frame_{};
  char buf_[1 << 16];
};

struct Result {
  std::string server;
  int clients = 0;
  long msgs = 0;
  double deliveries_per_s = 0;
  double server_cpu_ns_per_delivery = 0;  // user + system CPU of the server process
  double driver_cpu_ns_per_delivery = 0;  // the client process (same for both servers)
  double frames_per_write = 0;            // callbridge only (0 = unknown)
  double idle_rss_b_per_client = 0;
  double idle_heap_b_per_client = 0;
};

// utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15, clock ticks).
double proc_cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = all.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(all.substr(rp + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool run_one(const std::string& name, std::vector<std::string> argv, int clients, long msgs,
             int bytes, int batch, std::uint64_t initial_frames, Result& r) {
  Server s;
  if (!s.start(std::move(argv))) {
    std::fprintf(stderr, "%s: could not start\n", name.c_str());
    return false;
  }
  const bool ours = name.starts_with("callbridge");
  // Node reports KB of V8 heap, callbridge bytes of malloc heap.
  auto mem = [&](double& rss_b, double& heap_b) {
    s.send("mem");
    auto l = s.line();
    long rss = 0, heap = 0, n = 0;
    if (std::sscanf(l.c_str(), "mem %ld %ld %ld", &rss, &heap, &n) != 3) return false;
    rss_b = rss * 1024.0;
    heap_b = ours ? static_cast<double>(heap) : heap * 1024.0;
    return true;
  };
  double rss0 = 0, heap0 = 0, rss1 = 0, heap1 = 0;
  mem(rss0, heap0);
  Load load;
  if (!load.connect(s.port, clients) || !load.wait_all(initial_frames, 120)) {
    std::fprintf(stderr, "%s: clients did not connect\n", name.c_str());
    s.stop();
    return false;
  }
  mem(rss1, heap1);
  unsigned long long frames0 = 0, writes0 = 0, frames1 = 0, writes1 = 0;
  if (ours) {
    s.send("stats");
    std::sscanf(s.line().c_str(), "stats %llu %llu", &frames0, &writes0);
  }
  const std::uint64_t before = load.total_frames();
  const std::uint64_t payload_before = load.total_payload();
  const double cpu0 = proc_cpu_s(s.pid), dcpu0 = self_cpu_s();
  auto t0 = Clock::now();
  s.send("bcast " + std::to_string(msgs) + " " + std::to_string(bytes) + " " + std::to_string(batch));
  const std::uint64_t deliveries = static_cast<std::uint64_t>(clients) * msgs;
  double secs = load.until_total(before + deliveries, t0, 300);
  const double cpu1 = proc_cpu_s(s.pid), dcpu1 = self_cpu_s();
  s.line();  // "done"
  if (ours) {
    s.send("stats");
    std::sscanf(s.line().c_str(), "stats %llu %llu", &frames1, &writes1);
  }
  s.stop();
  if (secs <= 0) {
    std::fprintf(stderr, "%s: broadcast did not complete\n", name.c_str());
    return false;
  }
  const std::uint64_t payload = load.total_payload() - payload_before;
  if (load.total_frames() - before != deliveries || payload != deliveries * static_cast<std::uint64_t>(bytes)) {
    std::fprintf(stderr, "%s: got %llu frames / %llu payload bytes, expected %llu / %llu\n", name.c_str(),
                 static_cast<unsigned long long>(load.total_frames() - before),
                 static_cast<unsigned long long>(payload), static_cast<unsigned long long>(deliveries),
                 static_cast<unsigned long long>(deliveries * bytes));
    return false;
  }
  r = {name,
       clients,
       msgs,
       static_cast<double>(deliveries) / secs,
       (cpu1 - cpu0) * 1e9 / static_cast<double>(deliveries),
       (dcpu1 - dcpu0) * 1e9 / static_cast<double>(deliveries),
       writes1 > writes0 ? static_cast<double>(frames1 - frames0) / static_cast<double>(writes1 - writes0) : 0,
       (rss1 - rss0) / clients,
       (heap1 - heap0) / clients};
  return true;
}

long vm_kb(pid_t pid, const char* key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  return 0;
}

struct Pct {
  double p50 = 0, p99 = 0, max = 0;
  std::size_t n = 0;
};
Pct percentiles(std::vector<std::uint32_t> v) {
  Pct r;
  r.n = v.size();
  if (v.empty()) return r;
  std::sort(v.begin(), v.end());
  r.p50 = v[v.size() / 2] / 1000.0;
  r.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)] / 1000.0;
  r.max = v.back() / 1000.0;
  return r;
}

// `ws_fanout stall`: the slow-client fault campaign (docs/reliability.md). N clients on the real
// EventStream with the product's outbox limit; a paced broadcast with every client reading
// (baseline), then the same broadcast while `stalled` % of them stop reading. Judged: the stalled
// ones are closed (1008 "client too slow" when they read again, or cut after the close grace),
// the readers get every message, their delivery latency (publish -> read, sampled on every 10th
// client) beside the baseline's, the server's RSS. Exit 1 when a stalled client was not closed or
// a reader missed a message.
int run_stall(int argc, char** argv) {
  CLI::App app{"ws_fanout stall: slow WebSocket clients"};
  int clients = 1000, bytes = 200, rate = 400;
  long msgs = 8000, max_outbox = 4096, send_buffer = -1;
  double pct = 10;
  app.add_option("--clients", clients, "clients");
  app.add_option("--stalled-pct", pct, "share of clients that stop reading");
  app.add_option("--msgs", msgs, "messages per phase (must exceed the outbox limit)");
  app.add_option("--bytes", bytes, "JSON bytes per message");
  app.add_option("--rate", rate, "messages per second");
  app.add_option("--max-outbox", max_outbox, "EventStreamOptions::max_outbox (product default 4096)");
  app.add_option("--send-buffer", send_buffer,
                 "EventStreamOptions::send_buffer_bytes (-1 = product default, 0 = kernel autotuning)");
  CLI11_PARSE(app, argc, argv);
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGPIPE, SIG_IGN);
  Server s;
  if (!s.start({"/proc/self/exe", "serve", "0", std::to_string(max_outbox), std::to_string(send_buffer)})) return 1;
  // Kernel memory of all TCP sockets (pages, /proc/net/sockstat): where an unread backlog sits.
  auto tcp_mem_mb = [] {
    std::ifstream f("/proc/net/sockstat");
    std::string line;
    while (std::getline(f, line))
      if (line.rfind("TCP:", 0) == 0) {
        auto k = line.find(" mem ");
        if (k != std::string::npos) return std::atol(line.c_str() + k + 5) * sysconf(_SC_PAGESIZE) / 1048576.0;
      }
    return 0.0;
  };
  double tcp_mem_peak = 0;
  Load load;
  const int stalled = static_cast<int>(clients * pct / 100);
  if (!load.connect(s.port, clients, stalled) || !load.wait_all(1, 120)) {
    std::fprintf(stderr, "stall: clients did not connect\n");
    return 1;
  }
  long peak_rss = 0;
  auto phase = [&](int readers, const char* name) -> std::pair<Pct, bool> {
    load.latencies_us_.clear();
    load.sample_latency_ = true;
    const std::uint64_t before = load.total_frames();
    s.send("tbcast " + std::to_string(msgs) + " " + std::to_string(bytes) + " " + std::to_string(rate));
    const std::uint64_t want = before + static_cast<std::uint64_t>(readers) * msgs;
    auto end = Clock::now() + std::chrono::seconds(30 + 2 * msgs / std::max(1, rate));
    while (load.total_frames() < want && Clock::now() < end) {
      load.poll(20);
      peak_rss = std::max(peak_rss, vm_kb(s.pid, "VmRSS:"));
      tcp_mem_peak = std::max(tcp_mem_peak, tcp_mem_mb());
    }
    s.line();  // "done"
    load.sample_latency_ = false;
    bool ok = load.total_frames() >= want;
    if (!ok)
      std::fprintf(stderr, "stall: %s: readers got %llu of %llu frames\n", name,
                   static_cast<unsigned long long>(load.total_frames() - before),
                   static_cast<unsigned long long>(want - before));
    return {percentiles(load.latencies_us_), ok};
  };
  const long rss0 = vm_kb(s.pid, "VmRSS:");
  auto [base, ok1] = phase(clients, "baseline");
  const long rss_base = peak_rss;
  peak_rss = 0;
  load.stall(stalled);
  auto [with, ok2] = phase(clients - stalled, "stalled");
  unsigned long long closed_slow = 0;
  std::size_t left = 0, queued = 0;
  auto end = Clock::now() + std::chrono::seconds(20);
  do {
    s.send("stats2");
    std::sscanf(s.line().c_str(), "stats2 %zu %llu %zu", &left, &closed_slow, &queued);
    load.poll(50);
  } while (closed_slow < static_cast<unsigned long long>(stalled) && Clock::now() < end);
  std::fprintf(stderr, "stall: server clients %zu, closed_slow %llu, frames queued %zu\n", left, closed_slow, queued);
  load.unstall_and_drain(30);  // ends as soon as every stalled client saw its close (10 s was short under load: 76 of 100 once)
  const int got_1008 = load.stalled_with_close(1008), cut = load.stalled_cut();
  s.stop();
  std::printf("| clients | stalled | msgs/phase | rate/s | p50/p99/max ms, all reading | p50/p99/max ms, %d stalled | "
              "closed slow | saw 1008 | cut | server RSS MB: idle / peak all reading / peak with stalled | "
              "peak kernel TCP memory MB (machine) |\n", stalled);
  std::printf("|---:|---:|---:|---:|---|---|---:|---:|---:|---|---:|\n");
  std::printf("| %d | %d | %ld | %d | %.1f / %.1f / %.1f | %.1f / %.1f / %.1f | %llu | %d | %d | %.0f / %.0f / %.0f | %.0f |\n",
              clients, stalled, msgs, rate, base.p50, base.p99, base.max, with.p50, with.p99, with.max, closed_slow,
              got_1008, cut, rss0 / 1024.0, rss_base / 1024.0, peak_rss / 1024.0, tcp_mem_peak);
  const bool closed_all = closed_slow >= static_cast<unsigned long long>(stalled) && got_1008 + cut >= stalled;
  return ok1 && ok2 && closed_all ? 0 : 1;
}

std::string fmt_double(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "serve")
    return serve(argc >= 3 ? std::atol(argv[2]) : 0, argc >= 4 ? std::atol(argv[3]) : 0,
                 argc >= 5 ? std::atol(argv[4]) : -1);
  if (argc >= 2 && std::string(argv[1]) == "stall") return run_stall(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "run") --argc, argv[1] = argv[0], ++argv;  // `run` is the default
  CLI::App app{"WebSocket fan-out: callbridge EventStream vs Node ws, same run"};
  std::vector<int> clients{1000, 10000};
  std::vector<long> msgs{2000, 200};
  int bytes = 300, batch = 1, reps = 1;
  std::string peer = std::string(CALLBRIDGE_BENCH_DIR) + "/peers/ws_fanout_peer.js";
  bool smoke = false, no_peer = false;
  long clients_per_turn = 0;
  app.add_option("--clients", clients, "client counts")->delimiter(',');
  app.add_option("--msgs", msgs, "messages per client count")->delimiter(',');
  app.add_option("--bytes", bytes, "JSON bytes per message");
  app.add_option("--batch", batch, "messages published per event-loop turn (both servers)");
  app.add_option("--reps", reps, "repetitions (median is printed)");
  app.add_option("--peer", peer, "ws_fanout_peer.js");
  app.add_flag("--no-peer", no_peer, "skip the Node peer");
  app.add_option("--clients-per-turn", clients_per_turn,
                 "callbridge EventStreamOptions::clients_per_turn (0 = default 64; >= clients = write "
                 "every client in one turn, i.e. no coalescing when one message is published per turn)");
  app.add_flag("--smoke", smoke, "tiny run (50 clients, 20 messages): checks the harness, not speed");
  CLI11_PARSE(app, argc, argv);
  if (smoke) clients = {50}, msgs = {20}, no_peer = true, reps = 1;
  if (!no_peer && access((std::filesystem::path(peer).parent_path() / "node_modules/ws").c_str(), R_OK) != 0) {
    std::fprintf(stderr, "ws_fanout: %s has no node_modules/ws (run `npm ci` there); skipping the Node peer\n",
                 std::filesystem::path(peer).parent_path().c_str());
    no_peer = true;
  }
  if (msgs.size() < clients.size()) msgs.resize(clients.size(), msgs.empty() ? 100 : msgs.back());
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGPIPE, SIG_IGN);

  std::printf("| server | clients | msgs | deliveries/s (wall, median of %d) | server CPU ns/delivery | "
              "driver CPU ns/delivery | frames/sendmsg | idle heap B/client | idle RSS B/client |\n", reps);
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  int failures = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    std::vector<std::pair<std::string, std::vector<std::string>>> servers = {
        {clients_per_turn > 0 ? "callbridge (clients_per_turn " + std::to_string(clients_per_turn) + ")"
                              : std::string("callbridge"),
         {"/proc/self/exe", "serve", std::to_string(clients_per_turn)}}};
    if (!no_peer) servers.push_back({"node ws 8.23", {"node", peer}});
    std::vector<Result> medians;
    for (auto& [name, argv_s] : servers) {
      std::vector<Result> rs;
      for (int k = 0; k < reps; ++k) {
        Result r;
        // callbridge sends each client its snapshot first; Node sends nothing before the broadcast.
        if (run_one(name, argv_s, clients[i], msgs[i], bytes, batch, name.starts_with("callbridge") ? 1 : 0, r))
          rs.push_back(r);
        else
          ++failures;
      }
      if (rs.empty()) continue;
      std::sort(rs.begin(), rs.end(), [](auto& a, auto& b) { return a.deliveries_per_s < b.deliveries_per_s; });
      const auto& m = rs[rs.size() / 2];
      medians.push_back(m);
      std::string fpw = m.frames_per_write > 0 ? fmt_double(m.frames_per_write) : "-";
      std::printf("| %s | %d | %ld | %.0f | %.0f | %.0f | %s | %.0f | %.0f |\n", name.c_str(), m.clients, m.msgs,
                  m.deliveries_per_s, m.server_cpu_ns_per_delivery, m.driver_cpu_ns_per_delivery, fpw.c_str(),
                  m.idle_heap_b_per_client, m.idle_rss_b_per_client);
      std::fflush(stdout);
    }
    if (medians.size() == 2)
      std::printf("| ratio callbridge/ws | %d | | %.2fx | %.2fx less CPU | | | | |\n", clients[i],
                  medians[0].deliveries_per_s / medians[1].deliveries_per_s,
                  medians[1].server_cpu_ns_per_delivery / std::max(1.0, medians[0].server_cpu_ns_per_delivery));
  }
  return failures == 0 ? 0 : 1;
}
