// A minimal blocking WebSocket client for integration tests of GET /api/v1/events: the upgrade
// (bearer token), then unmasked server text frames as JSON objects. Every read waits at most
// 10 s (SO_RCVTIMEO), so a hung server fails the test instead of hanging it. Header-only; one
// thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace callbridge::testing {

class WsTextClient {
 public:
  static constexpr std::size_t kMaxBuffer = 16 * 1024 * 1024;

  ~WsTextClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Returns the HTTP status of the handshake (101 on success), negative on socket errors.
  // `headers`: more request lines ("Cookie: cb_session=...\r\n", "Origin: ...\r\n").
  int connect(std::uint16_t port, const std::string& query, const std::string& token,
              const std::string& headers = {}) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
    std::string req = "GET /api/v1/events" + query +
                      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += headers + "\r\n";
    for (std::string_view s = req; !s.empty();) {
      auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return -2;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (!fill()) return -3;
    auto end = buf_.find("\r\n\r\n");
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    head_ = head;
    return head.size() > 12 ? std::stoi(head.substr(9, 3)) : -4;
  }

  // Ends the connection from another thread: a blocked next() returns nullopt at once.
  void shutdown() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }

  // The server's close frame, once next() returned nullopt because of one (0: none seen).
  int close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  // The handshake answer's status line and headers; after a refusal, body() reads its
  // Content-Length bytes (the problem).
  const std::string& head() const { return head_; }
  std::string body() {
    std::string lower = head_;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto p = lower.find("content-length: ");
    if (p == std::string::npos) return {};
    const std::size_t n = std::stoul(lower.substr(p + 16));
    while (buf_.size() < n && fill()) {
    }
    return std::exchange(buf_, {});
  }

  // The next text message as a JSON object (heartbeats skipped); nullopt on close/timeout.
  std::optional<boost::json::object> next() {
    for (;;) {
      auto payload = read_text();
      if (!payload) return std::nullopt;
      auto v = boost::json::parse(*payload);
      if (!v.is_object()) return std::nullopt;
      if (v.as_object()["type"] == "heartbeat") continue;
      return std::move(v.as_object());
    }
  }

  // Sends a masked ping (RFC 6455 5.5.2; `payload` at most 125 bytes) and waits for the pong;
  // its payload, nullopt on close/timeout. Text messages that arrive first are skipped.
  std::optional<std::string> ping(std::string_view payload) {
    std::string f{static_cast<char>(0x89), static_cast<char>(0x80 | (payload.size() & 0x7f))};
    const char mask[4] = {0x1b, 0x2c, 0x3d, 0x4e};
    f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    for (std::string_view s = f; !s.empty();) {
      auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return std::nullopt;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return read_frame(0xA);
  }

 private:
  std::optional<std::string> read_text() { return read_frame(0x1); }
  // The payload of the next frame with `opcode` (others skipped); nullopt on close/timeout.
  std::optional<std::string> read_frame(int wanted) {
    for (;;) {
      if (buf_.size() >= 2) {
        auto* p = reinterpret_cast<const unsigned char*>(buf_.data());
        std::size_t len = p[1] & 0x7f, hdr = 2;
        bool complete_header = true;
        if (len == 126) {
          complete_header = buf_.size() >= 4;
          if (complete_header) len = (std::size_t{p[2]} << 8) | p[3], hdr = 4;
        } else if (len == 127) {
          complete_header = buf_.size() >= 10;
          if (complete_header) {
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
            hdr = 10;
          }
        }
        if (complete_header && len > kMaxBuffer) return std::nullopt;
        if (complete_header && buf_.size() >= hdr + len) {
          const int opcode = p[0] & 0x0f;
          std::string payload = buf_.substr(hdr, len);
          buf_.erase(0, hdr + len);
          if (opcode == wanted) return payload;
          if (opcode == 8) {  // close: keep its code and reason
            if (payload.size() >= 2) {
              close_code_ = (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
              close_reason_ = payload.substr(2);
            } else {
              close_code_ = 1005;
            }
            return std::nullopt;
          }
          continue;  // other frames: not for us
        }
      }
      if (buf_.size() > kMaxBuffer || !fill()) return std::nullopt;
    }
  }
  bool fill() {
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
  std::string head_;
  int close_code_ = 0;
  std::string close_reason_;
};

}  // namespace callbridge::testing
