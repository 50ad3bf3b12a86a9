// A child process (a built binary) with stdout+stderr captured through one pipe, for integration
// tests of callbridged and the callbridge CLI. Waiting is poll() on the output pipe with a
// deadline (no sleeps). Test helper; single-threaded; header-only.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace callbridge::testing {

class ChildProcess {
 public:
  // `with_stdin`: the child's stdin is a pipe the test writes with write_stdin() (else inherited).
  ChildProcess(std::string bin, std::vector<std::string> args, bool with_stdin = false) {
    int fds[2];
    int in[2] = {-1, -1};
    if (pipe(fds) != 0) std::abort();
    if (with_stdin && pipe(in) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      if (with_stdin) {
        dup2(in[0], 0);
        close(in[0]);
        close(in[1]);
      }
      std::vector<char*> argv;
      argv.push_back(bin.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    if (with_stdin) {
      close(in[0]);
      in_fd_ = in[1];
    }
  }
  ~ChildProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_fd_);
    if (in_fd_ >= 0) close(in_fd_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads output until `re` matches a complete line after `from_line`; returns the match (empty on
  // EOF or timeout).
  std::smatch wait_for(const std::regex& re, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      split_lines();
      for (; checked_ < lines_.size(); ++checked_) {
        std::smatch m;
        if (std::regex_search(lines_[checked_], m, re)) {
          ++checked_;
          return m;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      if (!read_some(static_cast<int>(left.count())) && eof_) return {};
    }
  }

  // Waits up to `ms` for output (the test's pacing primitive between polls of other state).
  void pump(int ms) { read_some(ms); }

  // Waits for exit (at most `timeout`); returns the exit code, or -signal, or -1000 on timeout.
  int wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    for (;;) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) break;
      if (std::chrono::steady_clock::now() > deadline) return -1000;
      if (!read_some(100) && eof_) {
        if (waitpid(pid_, &status, 0) != pid_) return -1000;
        break;
      }
    }
    exited_ = true;
    while (read_some(0)) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  bool running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      return false;
    }
    return true;
  }
  void signal(int sig) { kill(pid_, sig); }
  // Writes to the child's stdin (constructed with_stdin); false when it could not.
  bool write_stdin(std::string_view data) {
    while (in_fd_ >= 0 && !data.empty()) {
      const auto n = ::write(in_fd_, data.data(), data.size());
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return in_fd_ >= 0;
  }
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  void split_lines() {
    for (auto nl = output_.find('\n', scanned_); nl != std::string::npos; nl = output_.find('\n', scanned_)) {
      lines_.push_back(output_.substr(scanned_, nl - scanned_));
      scanned_ = nl + 1;
    }
  }
  bool read_some(int timeout_ms) {
    if (eof_) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[65536];
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
  int in_fd_ = -1;
  bool exited_ = false;
  bool eof_ = false;
  std::string output_;
  std::size_t scanned_ = 0;
  std::size_t checked_ = 0;
  std::vector<std::string> lines_;
};

}  // namespace callbridge::testing
