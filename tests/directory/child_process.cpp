#include "directory/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace callbridge::testing {

using base::Error;
using base::fail;
using Steady = std::chrono::steady_clock;

base::Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail(Error::io("pipe: " + std::string(std::strerror(errno))));
  pid_t pid = fork();
  if (pid < 0) return fail(Error::io("fork failed"));
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  auto c = std::unique_ptr<ChildProcess>(new ChildProcess());
  c->pid_ = pid;
  c->fd_ = fds[0];
  return c;
}

ChildProcess::~ChildProcess() { stop(); }

base::Result<std::string> ChildProcess::wait_for_line(const std::function<bool(const std::string&)>& match,
                                                      std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  for (;;) {
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n')) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (match(line)) return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) return fail(Error::timeout("child did not get ready; output:\n" + output_));
    pollfd p{fd_, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t r = read(fd_, buf, sizeof buf);
    if (r <= 0) return fail(Error::unavailable("child exited before getting ready; output:\n" + output_));
    output_.append(buf, static_cast<std::size_t>(r));
    pending_.append(buf, static_cast<std::size_t>(r));
  }
}

void ChildProcess::drain_in_background() {
  int fd = fd_;
  drain_ = std::thread([fd] {
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
  });
}

int ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  while (pid_ > 0) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = st;
      pid_ = -1;
      break;
    }
    if (Steady::now() > deadline) break;
    poll(nullptr, 0, 2);  // the child is exiting (its output is closed already)
  }
  return stop();
}

int ChildProcess::stop() {
  if (pid_ > 0) {
    int st = 0;
    // Already exited (e.g. run_command after EOF)? Then SIGTERM hits a zombie, which is harmless.
    kill(pid_, SIGTERM);
    auto deadline = Steady::now() + std::chrono::seconds(5);
    while (waitpid(pid_, &st, WNOHANG) == 0) {
      if (Steady::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        break;
      }
      poll(nullptr, 0, 5);  // teardown only: give the child a moment to exit
    }
    status_ = st;
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  return status_;
}

base::Status run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  auto c = ChildProcess::spawn(argv);
  if (!c) return fail(c.error());
  auto eof = (*c)->wait_for_line([](const std::string&) { return false; }, timeout);
  int st = (*c)->wait_exit(std::chrono::seconds(10));
  if (eof.error().code() == base::Errc::timeout) return fail(eof.error());
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return fail(Error::io(argv[0] + " failed (status " + std::to_string(st) + "): " + (*c)->output()));
  return {};
}

base::Status wait_for_tcp(int port, std::chrono::milliseconds timeout) {
  auto deadline = Steady::now() + timeout;
  for (;;) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    int rc = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    close(s);
    if (rc == 0) return {};
    if (Steady::now() > deadline)
      return fail(Error::timeout("nothing listens on 127.0.0.1:" + std::to_string(port)));
    poll(nullptr, 0, 2);  // start-up only: the server is between "starting" and listen()
  }
}

int free_tcp_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}


}  // namespace callbridge::testing
