// Integration: the real callbridged binary, started on port 0 with a temp data dir.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cbdaemon-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const char* name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// A child process with stdout and stderr captured through one pipe.
class Daemon {
 public:
  explicit Daemon(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      std::string bin = CALLBRIDGED_PATH;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
  }
  ~Daemon() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_fd_);
  }

  // Reads output until `re` matches a line; returns the match (empty on EOF / 10 s timeout).
  std::smatch wait_for(const std::regex& re) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::size_t scanned = 0;
    for (;;) {
      for (auto nl = output_.find('\n', scanned); nl != std::string::npos;
           nl = output_.find('\n', scanned)) {
        lines_.push_back(output_.substr(scanned, nl - scanned));
        scanned = nl + 1;
        std::smatch m;
        if (std::regex_search(lines_.back(), m, re)) return m;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return {};
    }
  }

  // Waits for exit (10 s at most while output is still open); returns the exit code, or -signal.
  int wait_exit() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    for (;;) {
      if (eof_) {  // the child closed its output: it is exiting
        if (waitpid(pid_, &status, 0) != pid_) return -1000;
        break;
      }
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "callbridged did not exit; output:\n" << output_;
        return -1000;
      }
      read_some(100);
    }
    exited_ = true;
    while (read_some(0)) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  void signal(int sig) { kill(pid_, sig); }
  const std::string& output() const { return output_; }

 private:
  bool read_some(int timeout_ms) {
    if (eof_) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    auto n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool exited_ = false;
  bool eof_ = false;
  std::string output_;
  std::vector<std::string> lines_;
};

std::string http_get(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "connect failed";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    auto n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

const std::regex kListening(R"(HTTP API listening on 127\.0\.0\.1:(\d+))");

TEST(Daemon, StartsOnPortZeroServesHealthAndStopsCleanlyOnSigterm) {
  TempDir dir;
  // The printed default configuration is itself a valid config file.
  Daemon print({"--print-default-config"});
  ASSERT_EQ(print.wait_exit(), 0);
  write_file(dir / "callbridge.toml", print.output());

  Daemon d({"--config", dir / "callbridge.toml", "--listen", "127.0.0.1:0", "--data-dir",
            dir / "data"});
  auto m = d.wait_for(kListening);
  ASSERT_FALSE(m.empty()) << d.output();
  int port = std::stoi(m[1]);
  ASSERT_GT(port, 0);

  auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << health;
  EXPECT_TRUE(health.ends_with("\r\n\r\nok")) << health;
  auto ready = http_get(port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ready;
  auto diag = http_get(port, "/api/v1/diagnostics");
  EXPECT_NE(diag.find("\"pbx\":[]"), std::string::npos) << diag;
  EXPECT_NE(d.output().find("no PBX configured"), std::string::npos) << d.output();

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(), 0) << d.output();
  EXPECT_NE(d.output().find("shutting down (SIGTERM)"), std::string::npos) << d.output();
  EXPECT_TRUE(fs::exists(dir / "data/journal.db"));
}

TEST(Daemon, BadConfigValueIsRejectedNamingTheKey) {
  TempDir dir;
  write_file(dir / "bad.toml", "[journal]\nretention_days = \"ten\"\n");
  Daemon d({"--config", dir / "bad.toml", "--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("config error: journal.retention_days: expected a non-negative integer, got \"ten\""),
            std::string::npos)
      << d.output();
  EXPECT_FALSE(fs::exists(dir / "data")) << "nothing is created before the config is valid";
}

TEST(Daemon, UnknownConfigKeyIsRejectedNamingTheKey) {
  TempDir dir;
  write_file(dir / "bad.toml", "[server]\nlisten = \"127.0.0.1:0\"\nlog_levle = \"debug\"\n");
  Daemon d({"--config", dir / "bad.toml", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("config error: server.log_levle: unknown key (did you mean \"log_level\"?)"),
            std::string::npos)
      << d.output();
}

TEST(Daemon, BadFlagIsAConfigError) {
  Daemon d({"--listen", "nowhere"});
  EXPECT_EQ(d.wait_exit(), 2);
  EXPECT_NE(d.output().find("--listen: expected HOST:PORT"), std::string::npos) << d.output();
}

TEST(Daemon, CorruptJournalFailsStartWithAClearMessage) {
  TempDir dir;
  fs::create_directories(dir / "data");
  write_file(dir / "data/journal.db", std::string(8192, 'x'));
  Daemon d({"--listen", "127.0.0.1:0", "--data-dir", dir / "data"});
  EXPECT_EQ(d.wait_exit(), 1);
  EXPECT_NE(d.output().find("not a database"), std::string::npos) << d.output();
}

}  // namespace
