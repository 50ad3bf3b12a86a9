// bench/ami_socket: AMI ingest over a loopback TCP socket, callbridge vs the Node `asterisk-manager`
// client (npm, bench/peers/ami_ingest_peer.js) on the same bytes in the same run: a server thread
// writes the synthetic stream (bench/synth_ami.hpp, banner included) to each client and closes;
// each client parses until EOF and counts events. callbridge's case is a blocking recv() loop into
// FrameReader (64 KiB reads), as AmiSession reads. Events/s of wall time from connect to EOF.
// --smoke: small stream, checks both clients count the same events; never fails on speed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "bench/synth_ami.hpp"
#include "protocols/ami/frame_reader.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// Listens on 127.0.0.1:0; serve_one() accepts one client, writes `bytes`, closes.
class Server {
 public:
  Server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0) std::exit(1);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Server() { ::close(fd_); }
  int port() const { return port_; }
  std::thread serve_one(const std::string& bytes) {
    return std::thread([this, &bytes] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::size_t off = 0;
      while (off < bytes.size()) {
        auto n = ::send(c, bytes.data() + off, std::min<std::size_t>(bytes.size() - off, 1 << 20), MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      char sink[4096];
      while (::recv(c, sink, sizeof sink, 0) > 0) {  // until the client closes (login action etc.)
      }
      ::close(c);
    });
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

struct Count {
  std::uint64_t events = 0;
  double seconds = 0;
};

Count callbridge_client(int port) {
  Count r;
  auto t0 = Clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::exit(1);
  callbridge::protocols::ami::FrameReader reader;
  callbridge::protocols::ami::AmiMessage m;
  std::string buf(64 * 1024, '\0');
  for (;;) {
    auto n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    reader.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    for (;;) {
      auto got = reader.next(m);
      if (!got) {
        std::fprintf(stderr, "ami_socket: %s\n", got.error().to_string().c_str());
        std::exit(1);
      }
      if (!*got) break;
      if (!m.event().empty()) ++r.events;
    }
  }
  ::close(fd);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

// Runs `node peer PORT`; it prints "events N seconds S" when the server closes.
bool node_client(const std::string& peer, int port, Count& out) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string port_s = std::to_string(port);
  std::string node = "node";
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
  ::waitpid(pid, &status, 0);
  unsigned long long ev = 0;
  double s = 0;
  if (std::sscanf(text.c_str(), "events %llu seconds %lf", &ev, &s) != 2) {
    std::fprintf(stderr, "ami_socket: node peer said: %s\n", text.c_str());
    return false;
  }
  out.events = ev;
  out.seconds = s;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ami_socket - AMI ingest over loopback TCP: callbridge FrameReader vs Node asterisk-manager"};
  callbridge::bench::SynthAmiOptions opt;
  opt.fixtures_dir = CALLBRIDGE_FIXTURES_DIR;
  opt.target_events = 200'000;
  std::string peer = std::string(CALLBRIDGE_BENCH_DIR) + "/peers/ami_ingest_peer.js";
  bool smoke = false, no_peer = false;
  app.add_option("--events", opt.target_events, "synthetic stream size in AMI events")->capture_default_str();
  app.add_option("--peer", peer, "the Node peer script");
  app.add_flag("--no-peer", no_peer, "skip the Node peer");
  app.add_flag("--smoke", smoke, "small stream; checks the harness and that both clients agree");
  CLI11_PARSE(app, argc, argv);
  if (smoke) opt.target_events = 3'000, opt.concurrent_calls = 20;
  auto stream = callbridge::bench::generate_synth_ami(opt);
  if (!stream) {
    std::fprintf(stderr, "generator: %s\n", stream.error().to_string().c_str());
    return 1;
  }
  const std::string& bytes = stream->bytes;
  Server server;

  auto th = server.serve_one(bytes);
  Count cb = callbridge_client(server.port());
  th.join();

  std::printf("stream: %llu events, %.1f MB, over 127.0.0.1 TCP\n\n",
              static_cast<unsigned long long>(cb.events), static_cast<double>(bytes.size()) / 1e6);
  std::printf("| client | events | seconds | events/s | MB/s | vs callbridge |\n|---|---:|---:|---:|---:|---:|\n");
  auto row = [&](const char* name, const Count& c) {
    std::printf("| %s | %llu | %.3f | %.0f | %.0f | %.0f%% |\n", name, static_cast<unsigned long long>(c.events),
                c.seconds, static_cast<double>(c.events) / c.seconds, static_cast<double>(bytes.size()) / 1e6 / c.seconds,
                100.0 * cb.seconds / c.seconds);
  };
  row("callbridge FrameReader (recv 64 KiB)", cb);
  int status = cb.events == 0 ? 1 : 0;
  if (!no_peer) {
    if (!std::filesystem::exists(std::filesystem::path(peer).parent_path() / "node_modules/asterisk-manager")) {
      std::printf("\nNode peer skipped: run `npm ci` in %s first.\n",
                  std::filesystem::path(peer).parent_path().c_str());
      return smoke ? status : 1;
    }
    auto th2 = server.serve_one(bytes);
    Count nd;
    bool ok = node_client(peer, server.port(), nd);
    th2.join();
    if (!ok) return 1;
    row("node asterisk-manager 0.2.0", nd);
    if (nd.events != cb.events) {
      std::fprintf(stderr, "ami_socket: node counted %llu events, callbridge %llu\n",
                   static_cast<unsigned long long>(nd.events), static_cast<unsigned long long>(cb.events));
      status = 1;
    }
  }
  return status;
}
