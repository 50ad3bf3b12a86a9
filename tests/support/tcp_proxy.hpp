// A loopback TCP proxy for one test: accepts on a free port and forwards each connection to
// `upstream_port`, counting the bytes the clients sent (to_upstream()) so a test can show that a
// client wrote nothing in a time window (cluster: a node that lost its lease must not act on the
// PBX); refuse() makes the upstream look down for new connections. One thread, poll() with a
// 50 ms tick; stopped and joined when destroyed. Test helper; header-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace callbridge::testing {

class TcpProxy {
 public:
  explicit TcpProxy(int upstream_port) : upstream_(upstream_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 8) != 0) return;
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& [c, u] : pairs_) {
      close(c);
      close(u);
    }
    close(listen_fd_);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  // While refusing, a new connection is accepted and closed at once (an upstream that is down);
  // connections already made stay.
  void refuse(bool on) { refusing_ = on; }
  std::uint64_t to_upstream() const { return to_upstream_.load(); }
  std::uint64_t connections() const { return connections_.load(); }

 private:
  static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }
  // Copies what `from` has to `to`; false when either side is done.
  static bool pump(int from, int to, std::atomic<std::uint64_t>* count) {
    char buf[16384];
    auto n = read(from, buf, sizeof buf);
    if (n <= 0) return false;
    if (count) *count += static_cast<std::uint64_t>(n);
    for (ssize_t off = 0; off < n;) {
      auto w = write(to, buf + off, static_cast<std::size_t>(n - off));
      if (w <= 0) return false;
      off += w;
    }
    return true;
  }
  void run() {
    while (!stop_) {
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& [c, u] : pairs_) {
        fds.push_back({c, POLLIN, 0});
        fds.push_back({u, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = accept(listen_fd_, nullptr, nullptr);
        if (c >= 0 && refusing_) {
          close(c);
        } else if (c >= 0) {
          int u = connect_to(upstream_);
          if (u < 0) {
            close(c);
          } else {
            pairs_.emplace_back(c, u);
            ++connections_;
          }
        }
      }
      std::vector<std::pair<int, int>> keep;
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        auto [c, u] = pairs_[i];
        // fds was built before an accept above: pairs beyond it wait for the next round.
        bool ok = true;
        if (1 + 2 * i + 1 < fds.size()) {
          const auto& pc = fds[1 + 2 * i];
          const auto& pu = fds[2 + 2 * i];
          if (pc.revents & (POLLIN | POLLHUP | POLLERR)) ok = pump(c, u, &to_upstream_);
          if (ok && (pu.revents & (POLLIN | POLLHUP | POLLERR))) ok = pump(u, c, nullptr);
        }
        if (ok) {
          keep.emplace_back(c, u);
        } else {
          close(c);
          close(u);
        }
      }
      pairs_ = std::move(keep);
    }
  }

  int upstream_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> refusing_{false};
  std::atomic<std::uint64_t> to_upstream_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::vector<std::pair<int, int>> pairs_;  // proxy thread only (and the destructor after join)
  std::thread thread_;
};

}  // namespace callbridge::testing
