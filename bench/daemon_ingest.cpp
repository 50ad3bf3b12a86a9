// bench/daemon_ingest: the daemon's real path. The real callbridged binary (config file, data dir in
// /tmp) logs in to a loopback AMI peer (this program: sim::AmiServerSession answers the login and
// the resync actions), which then streams the synthetic capture (bench/synth_ami.hpp, the mix of
// bench/ami_ingest) as fast as callbridged reads it. Everything the daemon does with an event is in
// the figure: AMI parsing, call tracking, the call model, remote info (libphonenumber), the event
// hub, the journal writer thread (SQLite journal entries + open-call state rows).
//
// Reported: events per CPU-second of the daemon process (utime + stime from /proc/PID/stat, all its
// threads, from the first byte streamed until it is idle again) and events/s of wall time; and, in
// the same run, the Node `asterisk-manager` client (bench/peers/ami_ingest_peer.js) *parsing* the
// same bytes from the same kind of loopback server (events per CPU-second of the node process from
// getrusage of the child, and wall events/s). The daemon is "done" when its CPU time has not moved
// for 300 ms after the last byte was written; the journal rows are counted afterwards.
// --smoke: a small stream; checks that the daemon logged in, took every byte, and journaled calls.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/synth_ami.hpp"
#include "directory/child_process.hpp"
#include "sim/ami_server_session.hpp"
#include "sim/sim_engine.hpp"
#include "sim/traffic.hpp"

extern char** environ;

namespace {

namespace sim = callbridge::sim;
using callbridge::testing::ChildProcess;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "daemon_ingest: %s\n", m.c_str());
  std::exit(1);
}

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return -1;
  std::vector<std::string> fields;
  std::string cur;
  for (std::size_t i = rp + 2; i < s.size(); ++i) {
    if (s[i] == ' ') fields.push_back(cur), cur.clear();
    else cur += s[i];
  }
  if (fields.size() < 13) return -1;
  return static_cast<double>(std::stoll(fields[11]) + std::stoll(fields[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

int listen_loopback(std::uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) die("bind/listen failed");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
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

// The AMI peer callbridged connects to: login and actions through sim::AmiServerSession; on `go`
// the capture's events are written in 256 KiB pieces as fast as the socket takes them, with the
// daemon's actions (Ping, lists) answered between pieces.
struct AmiPeer {
  std::string_view events;  // wire bytes, no banner
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::atomic<bool> logged_in{false}, go{false}, done{false}, failed{false};
  std::atomic<bool> all_written{false};
  Clock::time_point started, finished;
  std::string error;

  explicit AmiPeer(std::string_view ev) : events(ev) { listen_fd = listen_loopback(port); }
  ~AmiPeer() { ::close(listen_fd); }

  void fail(std::string m) {
    error = std::move(m);
    failed = true;
  }

  void run() {
    int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) return fail("accept failed");
    sim::SimEngine engine(sim::lab_with_seats(10),
                          std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
                          nullptr);
    sim::AmiServerConfig cfg;  // user "cti", secret "cti-secret"
    sim::AmiServerSession session(engine, cfg, "127.0.0.1", "127.0.0.1", 1);
    std::vector<char> buf(65536);
    auto service = [&](int timeout_ms) -> bool {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) > 0) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n <= 0) {
          fail("callbridged closed the AMI connection");
          return false;
        }
        if (auto st = session.on_bytes(std::string_view(buf.data(), static_cast<std::size_t>(n))); !st) {
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
    auto banner = session.take_output();
    send_all(fd, banner.data(), banner.size());
    while (!go.load() && !done.load())
      if (!service(20)) return;
    started = Clock::now();
    std::size_t off = 0;
    while (off < events.size() && !done.load()) {
      const std::size_t n = std::min<std::size_t>(events.size() - off, 256 * 1024);
      if (!send_all(fd, events.data() + off, n)) return fail("AMI peer: send failed (callbridged gone?)");
      off += n;
      if (!service(0)) return;
    }
    finished = Clock::now();
    all_written = true;
    while (!done.load())
      if (!service(20)) break;
    ::close(fd);
  }
};

// Serves `bytes` (banner included) to one client, then closes (as bench/ami_socket).
std::thread serve_one(int listen_fd, const std::string& bytes) {
  return std::thread([listen_fd, &bytes] {
    int c = ::accept(listen_fd, nullptr, nullptr);
    if (c < 0) return;
    send_all(c, bytes.data(), bytes.size());
    ::shutdown(c, SHUT_WR);
    char sink[4096];
    while (::recv(c, sink, sizeof sink, 0) > 0) {
    }
    ::close(c);
  });
}

struct NodeResult {
  std::uint64_t events = 0;
  double wall = 0, cpu = 0;
};

// `node peer PORT` prints "events N seconds S"; its CPU time comes from wait4()'s rusage.
bool node_client(const std::string& peer, int port, NodeResult& out) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string port_s = std::to_string(port), node = "node";
  std::vector<char*> argv = {node.data(), const_cast<char*>(peer.c_str()), port_s.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "node", &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return false;
  }
  std::string text;
  char b[512];
  for (;;) {
    auto n = ::read(fds[0], b, sizeof b);
    if (n <= 0) break;
    text.append(b, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  rusage ru{};
  ::wait4(pid, &status, 0, &ru);
  unsigned long long ev = 0;
  double s = 0;
  if (std::sscanf(text.c_str(), "events %llu seconds %lf", &ev, &s) != 2) {
    std::fprintf(stderr, "daemon_ingest: node peer said: %s\n", text.c_str());
    return false;
  }
  out.events = ev;
  out.wall = s;
  out.cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
            static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::int64_t count_rows(const std::string& db, const char* sql) {
  sqlite3* h = nullptr;
  std::int64_t n = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"daemon_ingest - the synthetic AMI capture through the real callbridged over loopback TCP, "
               "vs Node asterisk-manager parsing the same bytes"};
  callbridge::bench::SynthAmiOptions opt;
  opt.fixtures_dir = CALLBRIDGE_FIXTURES_DIR;
  opt.target_events = 207'000;  // ~100 MB, as issue 18 describes the capture
  std::string daemon = CALLBRIDGED_PATH;
  std::string peer = std::string(CALLBRIDGE_BENCH_DIR) + "/peers/ami_ingest_peer.js";
  std::string log_level = "info";
  bool smoke = false, no_peer = false;
  app.add_option("--events", opt.target_events, "synthetic stream size in AMI events")->capture_default_str();
  app.add_option("--daemon", daemon, "callbridged binary")->capture_default_str();
  app.add_option("--peer", peer, "the Node peer script");
  app.add_option("--log-level", log_level, "callbridged's server.log_level")->capture_default_str();
  app.add_flag("--no-peer", no_peer, "skip the Node peer");
  app.add_flag("--smoke", smoke, "small stream; checks the harness, never fails on speed");
  CLI11_PARSE(app, argc, argv);
  if (smoke) opt.target_events = 3'000, opt.concurrent_calls = 20;

  auto stream = callbridge::bench::generate_synth_ami(opt);
  if (!stream) die("generator: " + stream.error().to_string());
  const std::string& bytes = stream->bytes;
  // The daemon's peer sends its own banner and login response: skip the generated ones.
  const auto first_event = bytes.find("\r\n\r\n");
  if (first_event == std::string::npos) die("generated stream has no login response");
  const std::string_view events(bytes.data() + first_event + 4, bytes.size() - first_event - 4);
  std::uint64_t n_events = 0;  // messages with an Event: header, as both clients count them
  for (std::size_t at = 0; (at = events.find("Event: ", at)) != std::string_view::npos; at += 7)
    if (at == 0 || events[at - 1] == '\n') ++n_events;

  callbridge::testing::TempDir dir;
  AmiPeer ami(events);
  {
    std::ofstream cfg(dir.path() + "/callbridged.toml");
    cfg << "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" << dir.path() << "\"\nlog_level = \"" << log_level
        << "\"\n\n[[pbx]]\nname = \"bench\"\nhost = \"127.0.0.1\"\nport = " << ami.port
        << "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"md5\"\n\n"
        << "[tenant.default.dialing]\ncountry_code = \"49\"\narea_code = \"30\"\nbase_number = \"555\"\n"
        << "extension_length = 3\nregion = \"DE\"\n";
  }
  std::thread peer_thread([&] { ami.run(); });
  auto child = ChildProcess::spawn({daemon, "--config", dir.path() + "/callbridged.toml"});
  if (!child) die("starting callbridged: " + child.error().message());
  auto line = (*child)->wait_for_line(
      [](const std::string& l) { return l.find("HTTP API listening on ") != std::string::npos; },
      std::chrono::seconds(60));
  if (!line) die("callbridged did not start: " + line.error().message());
  (*child)->drain_in_background();
  const pid_t pid = (*child)->pid();
  auto stop_peer = [&] {
    ami.done = true;
    ::shutdown(ami.listen_fd, SHUT_RDWR);
    peer_thread.join();
  };
  for (int i = 0; i < 1000 && !ami.logged_in.load() && !ami.failed.load(); ++i) ::usleep(10'000);
  if (!ami.logged_in.load()) {
    stop_peer();
    die("callbridged did not log in to the AMI peer: " + ami.error);
  }
  // Let the login's resync settle: idle = CPU time unchanged over 200 ms.
  auto wait_idle = [&](int quiet_ms, Clock::time_point* last_busy) {
    double last = cpu_seconds(pid);
    auto since = Clock::now();
    if (last_busy) *last_busy = since;
    for (int i = 0; i < 60'000 && !ami.failed.load(); ++i) {
      ::usleep(10'000);
      const double c = cpu_seconds(pid);
      if (c < 0) die("callbridged exited");
      if (c != last || (last_busy && !ami.all_written.load())) {
        last = c;
        since = Clock::now();
        if (last_busy) *last_busy = since;
      } else if (Clock::now() - since >= std::chrono::milliseconds(quiet_ms)) {
        return;
      }
    }
  };
  wait_idle(200, nullptr);

  const double cpu0 = cpu_seconds(pid);
  ami.go = true;
  Clock::time_point last_busy;
  wait_idle(300, &last_busy);
  const double cpu = cpu_seconds(pid) - cpu0;
  if (ami.failed.load()) {
    stop_peer();
    die(ami.error);
  }
  const double wall = std::chrono::duration<double>(last_busy - ami.started).count();
  const double write_s = std::chrono::duration<double>(ami.finished - ami.started).count();
  stop_peer();
  (*child)->stop();
  const std::string db = dir.path() + "/journal.db";
  const auto entries = count_rows(db, "SELECT count(*) FROM journal");

  std::printf("stream: %llu events (%llu calls), %.1f MB, over 127.0.0.1 TCP; the daemon logs at '%s'\n\n",
              static_cast<unsigned long long>(n_events), static_cast<unsigned long long>(stream->calls),
              static_cast<double>(events.size()) / 1e6, log_level.c_str());
  std::printf("| client | events | wall s | events/s (wall) | CPU s | events per CPU-second |\n"
              "|---|---:|---:|---:|---:|---:|\n");
  const double cb_per_cpu = cpu > 0 ? static_cast<double>(n_events) / cpu : 0;
  std::printf("| callbridged (whole path; %lld journal entries) | %llu | %.3f | %.0f | %.3f | %.0f |\n",
              static_cast<long long>(entries), static_cast<unsigned long long>(n_events), wall,
              static_cast<double>(n_events) / wall, cpu, cb_per_cpu);
  int status = 0;
  if (entries <= 0) {
    std::fprintf(stderr, "daemon_ingest: no journal entries in %s\n", db.c_str());
    status = 1;
  }
  std::fprintf(stderr, "daemon_ingest: the peer wrote the stream in %.3f s\n", write_s);
  if (no_peer) return status;
  if (!std::filesystem::exists(std::filesystem::path(peer).parent_path() / "node_modules/asterisk-manager")) {
    std::printf("\nNode peer skipped: run `npm ci` in %s first.\n", std::filesystem::path(peer).parent_path().c_str());
    return smoke ? status : 1;
  }
  std::uint16_t port = 0;
  int lfd = listen_loopback(port);
  auto th = serve_one(lfd, bytes);
  NodeResult nd;
  const bool ok = node_client(peer, port, nd);
  th.join();
  ::close(lfd);
  if (!ok) return 1;
  const double nd_per_cpu = nd.cpu > 0 ? static_cast<double>(nd.events) / nd.cpu : 0;
  std::printf("| node asterisk-manager 0.2.0 (parse only) | %llu | %.3f | %.0f | %.3f | %.0f |\n",
              static_cast<unsigned long long>(nd.events), nd.wall, static_cast<double>(nd.events) / nd.wall, nd.cpu,
              nd_per_cpu);
  if (nd_per_cpu > 0)
    std::printf("\ncallbridged whole path / node parse, per CPU-second: %.1fx; per wall second: %.1fx\n",
                cb_per_cpu / nd_per_cpu, (static_cast<double>(n_events) / wall) / (static_cast<double>(nd.events) / nd.wall));
  if (nd.events != n_events) {
    std::fprintf(stderr, "daemon_ingest: node counted %llu events, the stream has %llu\n",
                 static_cast<unsigned long long>(nd.events), static_cast<unsigned long long>(n_events));
    status = 1;
  }
  return status;
}
