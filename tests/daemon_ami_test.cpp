// End to end: the real callbridged binary (port 0, temp data dir) against a loopback AMI peer that
// serves an Asterisk 22 fixture capture; the journal is read back with the real `callbridge journal`
// and judged by journal_compare. Also: an unreachable PBX (healthz 200, readyz 503 naming the link),
// SIGKILL after a commit keeps the entry, and malformed input (truncated message, 10 MB line, binary
// garbage, unknown channel/events) does not take the daemon down.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "support/http_get.hpp"
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "journal_compare.hpp"
#include "support/child_process.hpp"

namespace {

namespace fs = std::filesystem;
using callbridge::testing::ChildProcess;
using namespace std::chrono_literals;

const std::string kDir = CALLBRIDGE_FIXTURES_DIR;  // tests/fixtures/asterisk-22

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cbami-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A loopback AMI peer on 127.0.0.1:0. Connection N (1-based) gets scripts[min(N, size)-1]: the
// banner, then (after reading the Login action) the script's bytes; `close_after` ends the
// connection, else it stays open (reading and discarding actions) until the peer is destroyed.
class CapturePeer {
 public:
  struct Script {
    std::string after_login;
    bool close_after = false;
  };

  explicit CapturePeer(std::vector<Script> scripts) : scripts_(std::move(scripts)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 8) != 0) std::abort();
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~CapturePeer() {
    stop_ = true;
    thread_.join();
    for (int c : open_) close(c);
    close(fd_);
  }
  int port() const { return port_; }
  int logins() const { return logins_; }

 private:
  static bool send_all(int fd, std::string_view b) {
    while (!b.empty()) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, 5000) <= 0) return false;
      auto n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      b.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Reads until a blank line ends the Login action (bounded); false on close/timeout.
  static bool read_login(int fd) {
    std::string got;
    while (got.find("\r\n\r\n") == std::string::npos && got.size() < 65536) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) return false;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got.find("Action: Login") != std::string::npos;
  }
  void loop() {
    int n = 0;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : open_) fds.push_back({c, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      for (std::size_t i = 1; i < fds.size(); ++i) {  // discard actions (resync, Ping)
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        if (::recv(fds[i].fd, buf, sizeof buf, 0) <= 0) {
          close(fds[i].fd);
          open_.erase(std::find(open_.begin(), open_.end(), fds[i].fd));
        }
      }
      if (!(fds[0].revents & POLLIN)) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      const Script& s = scripts_[std::min<std::size_t>(static_cast<std::size_t>(n++), scripts_.size() - 1)];
      bool ok = send_all(c, "Asterisk Call Manager/11.0.0\r\n") && read_login(c);
      if (ok) {
        ++logins_;
        ok = send_all(c, s.after_login);
      }
      if (!ok || s.close_after) {
        close(c);
      } else {
        open_.push_back(c);
      }
    }
  }

  std::vector<Script> scripts_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> logins_{0};
  std::vector<int> open_;
};

// The capture minus its banner line: what the peer sends after the Login.
std::string capture_after_banner(const std::string& scenario) {
  std::string bytes = slurp(kDir + "/" + scenario + "/ami.log");
  return bytes.substr(bytes.find("\r\n") + 2);
}

using callbridge::testing::http_get;

void write_file(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

std::string config_for(int ami_port) {
  return "[server]\nlisten = \"127.0.0.1:0\"\n\n[[pbx]]\nname = \"lab\"\nhost = \"127.0.0.1\"\nport = " +
         std::to_string(ami_port) +
         "\nuser = \"cti\"\nsecret = \"cti-secret\"\nauth = \"plain\"\nkeepalive_s = 0\n"
         "connect_timeout_s = 5\nreconnect_min_ms = 20\nreconnect_max_ms = 200\n";
}

// An admin token in the data dir (docs/api.md: /api/v1/diagnostics is for admins), made with
// `callbridge token create` before the daemon starts.
std::string admin_token(const std::string& data_dir) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, {"token", "create", "--data-dir", data_dir, "--tenant", "default", "--user",
                                       "admin", "--role", "admin"});
  // A build without API authentication has no `token` subcommand: then no token is needed (and
  // a missing one shows up as a 401 in the diagnostics assertions).
  p.wait_exit();
  std::smatch m;
  std::string out = p.output();
  if (!std::regex_search(out, m, std::regex("cbt_[A-Za-z0-9_]+"))) return {};
  return m[0].str();
}

const std::regex kListening(R"(HTTP API listening on 127\.0\.0\.1:(\d+))");

// `callbridge journal --data-dir D --format json`.
std::pair<int, std::string> journal_json(const std::string& data_dir) {
  ChildProcess p(CALLBRIDGE_CLI_PATH, {"journal", "--data-dir", data_dir, "--format", "json"});
  int rc = p.wait_exit();
  return {rc, p.output()};
}

// Polls the journal (pacing on the daemon's output, no sleeps) until it has `n` lines.
std::string wait_for_entries(ChildProcess& d, const std::string& data_dir, std::size_t n,
                             std::chrono::seconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  while (std::chrono::steady_clock::now() < deadline) {
    auto [rc, text] = journal_json(data_dir);
    out = text;
    if (rc == 0 && static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) >= n) return text;
    d.pump(100);
  }
  return out;
}

TEST(DaemonAmi, JournalsAFixtureCallAndKeepsItAcrossSigkill) {
  CapturePeer peer({{capture_after_banner("inbound_answered")}});
  TempDir dir;
  const std::string token = admin_token(dir / "data");
  write_file(dir / "cb.toml", config_for(peer.port()));
  ChildProcess d(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);
  ASSERT_FALSE(d.wait_for(std::regex(R"(AMI link to 127\.0\.0\.1:\d+ up)")).empty()) << d.output();

  std::string journal = wait_for_entries(d, dir / "data", 1);
  std::string expected = slurp(kDir + "/inbound_answered/expected-journal.jsonl");
  auto c = callbridge::testing::compare_journals(expected, journal);
  EXPECT_TRUE(c.ok) << c.text() << "journal:\n" << journal << "\ndaemon:\n" << d.output();
  EXPECT_NE(journal.find("\"id\": 1"), std::string::npos) << journal;

  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200", 0), 0u) << ready;
  auto diag = http_get(port, "/api/v1/diagnostics", token);
  EXPECT_NE(diag.find("\"lab\""), std::string::npos) << diag;
  EXPECT_NE(diag.find("journal_entries"), std::string::npos) << diag;

  // Committed means durable: SIGKILL (no shutdown, no flush) keeps the entry.
  d.signal(SIGKILL);
  EXPECT_EQ(d.wait_exit(), -SIGKILL);
  auto [rc, after] = journal_json(dir / "data");
  ASSERT_EQ(rc, 0) << after;
  EXPECT_EQ(after, journal);
}

TEST(DaemonAmi, OpenCallSurvivesAGracefulRestartAndIsJournaledOnceByTheNextRun) {
  // The capture up to the answer: the call is still up when the daemon is stopped. The stop
  // keeps it open (journal.db open_state; ending it would journal the call twice across a
  // restart); the next run finds it gone (an empty resync) and journals it once, its end
  // estimated, its start and answer real.
  std::string bytes = capture_after_banner("inbound_answered");
  auto cut = bytes.find("Event: Hangup\r\n");
  ASSERT_NE(cut, std::string::npos);
  std::string login = bytes.substr(0, bytes.find("\r\n\r\n") + 4);
  std::string empty_resync =
      login +
      "Response: Success\r\nActionID: resync-CoreShowChannels\r\nEventList: start\r\n\r\n"
      "Event: CoreShowChannelsComplete\r\nActionID: resync-CoreShowChannels\r\n"
      "EventList: Complete\r\nListItems: 0\r\n\r\n";
  CapturePeer peer({{bytes.substr(0, cut)}, {empty_resync}});
  TempDir dir;
  const std::string token = admin_token(dir / "data");
  write_file(dir / "cb.toml", config_for(peer.port()));
  ChildProcess d(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);
  // Wait until the tracker holds the live channels (diagnostics counter), then stop.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string diag;
  while (std::chrono::steady_clock::now() < deadline) {
    diag = http_get(port, "/api/v1/diagnostics", token);
    if (std::regex_search(diag, std::regex("\"live_channels\":\\s*[1-9]"))) break;
    d.pump(50);
  }
  ASSERT_TRUE(std::regex_search(diag, std::regex("\"live_channels\":\\s*[1-9]"))) << diag;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
  {
    auto [rc, journal] = journal_json(dir / "data");
    ASSERT_EQ(rc, 0) << journal;
    EXPECT_EQ(std::count(journal.begin(), journal.end(), '\n'), 0) << journal << d.output();
  }
  ChildProcess d2(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", dir / "data"});
  std::string journal = wait_for_entries(d2, dir / "data", 1, 30s);
  EXPECT_EQ(std::count(journal.begin(), journal.end(), '\n'), 1) << journal << d2.output();
  EXPECT_NE(journal.find("\"party\": \"100\""), std::string::npos) << journal;
  EXPECT_NE(journal.find("\"disposition\": \"answered\""), std::string::npos) << journal;
  EXPECT_NE(journal.find("\"started_at\": \"2026-11-22T21:25:53.711Z\""), std::string::npos) << journal;
  EXPECT_NE(journal.find("\"answered_at\": \"2026-11-22T21:25:55.719Z\""), std::string::npos) << journal;
  EXPECT_NE(journal.find("\"estimated\": [\"ended_at\"]"), std::string::npos) << journal;
}

TEST(DaemonAmi, UnreachablePbxStillServesHealthAndReportsTheLink) {
  // A port nobody listens on: bind, note the port, close.
  int port_free;
  {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port_free = ntohs(a.sin_port);
    close(fd);
  }
  TempDir dir;
  const std::string token = admin_token(dir / "data");
  write_file(dir / "cb.toml", config_for(port_free));
  ChildProcess d(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);
  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 503", 0), 0u) << ready;
  EXPECT_NE(ready.find("lab"), std::string::npos) << ready;
  // Retries with backoff are visible in diagnostics.
  auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string diag;
  while (std::chrono::steady_clock::now() < deadline) {
    diag = http_get(port, "/api/v1/diagnostics", token);
    if (std::regex_search(diag, std::regex("\"reconnects\":\\s*[3-9]"))) break;
    d.pump(50);
  }
  EXPECT_TRUE(std::regex_search(diag, std::regex("\"reconnects\":\\s*[3-9]"))) << diag;
  EXPECT_NE(diag.find("127.0.0.1:" + std::to_string(port_free)), std::string::npos) << diag;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

TEST(DaemonAmi, MalformedInputDoesNotTakeTheDaemonDown) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 256);
  garbage += "\r\n\r\n";
  std::string unknown =
      "Event: Hangup\r\nChannel: PJSIP/999-00000abc\r\nUniqueid: nobody.1\r\nLinkedid: nobody.1\r\n"
      "Cause: 16\r\n\r\n"
      "Event: SomethingNew\r\nWeird: yes\r\n\r\n"
      "Event: BridgeEnter\r\nBridgeUniqueid: x\r\nUniqueid: nobody.2\r\n\r\n";
  std::string call = capture_after_banner("inbound_answered");
  // The login response is the first block of the capture; the rest follows the malformed parts.
  auto login_end = call.find("\r\n\r\n") + 4;
  std::string login = call.substr(0, login_end);
  CapturePeer peer({
      {login + "Event: Newchannel\r\nChannel: PJSIP/1", true},       // truncated, then closed
      {login + std::string(10 * 1024 * 1024, 'A'), true},            // a 10 MB line
      {login + garbage, true},                                        // binary garbage
      {login + unknown + call.substr(login_end)},                    // then a real call; stays open
  });
  TempDir dir;
  const std::string token = admin_token(dir / "data");
  write_file(dir / "cb.toml", config_for(peer.port()));
  ChildProcess d(CALLBRIDGED_PATH, {"--config", dir / "cb.toml", "--data-dir", dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);

  std::string journal = wait_for_entries(d, dir / "data", 1, 30s);
  EXPECT_GE(peer.logins(), 4) << d.output();
  std::string expected = slurp(kDir + "/inbound_answered/expected-journal.jsonl");
  auto c = callbridge::testing::compare_journals(expected, journal);
  EXPECT_TRUE(c.ok) << c.text() << "journal:\n" << journal << "\ndaemon:\n" << d.output();
  EXPECT_TRUE(d.running());
  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200", 0), 0u) << health;
  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200", 0), 0u) << ready;
  auto diag = http_get(port, "/api/v1/diagnostics", token);
  EXPECT_TRUE(std::regex_search(diag, std::regex("\"tracker_unknown_channel\":\\s*[1-9]"))) << diag;
  EXPECT_TRUE(std::regex_search(diag, std::regex("\"reconnects\":\\s*[3-9]"))) << diag;
  // Each broken session is logged (one line for the reason), nothing per byte.
  // Read up to that line: the checks above poll the journal and HTTP, not the daemon's output, so
  // output() may not hold it yet (failed 2 of 12 runs on a loaded machine).
  EXPECT_FALSE(d.wait_for(std::regex("AMI message exceeds")).empty()) << d.output();
  // Logged, but not once per byte: the 10 MB line is one error, no line of the log is huge.
  std::istringstream lines(d.output());
  std::size_t n = 0;
  for (std::string line; std::getline(lines, line); ++n) EXPECT_LT(line.size(), 2000u) << line.substr(0, 200);
  EXPECT_LT(n, 60u) << d.output();
  if (std::getenv("CB_SHOW_DAEMON")) std::printf("%s\n", d.output().c_str());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
}

}  // namespace
