// A minimal blocking HTTP/1.1 client over loopback for integration tests that send many requests:
// one keep-alive connection, any method, headers and body; answers are read by Content-Length
// (what api::HttpServer always sends). Reconnects when the server closed the connection. Every
// read waits at most 10 s (SO_RCVTIMEO), never sleeps. Header-only; one thread per client.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace callbridge::testing {

struct HttpAnswer {
  int status = 0;  // negative: no answer (connect/send/read failed)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

class HttpClient {
 public:
  static constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

  explicit HttpClient(std::uint16_t port) : port_(port) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `headers`: extra request lines without CRLF ("Authorization: Bearer x").
  HttpAnswer request(const std::string& method, const std::string& target, const std::vector<std::string>& headers = {},
                     const std::string& body = {}) {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    for (int attempt = 0; attempt < 2; ++attempt) {  // a kept-alive connection the server closed: once more
      if (fd_ < 0 && !connect()) return {-1, {}, "connect failed"};
      const bool reused = reused_;
      reused_ = true;
      if (!send_all(req)) {
        close();
        if (reused) continue;
        return {-2, {}, "send failed"};
      }
      HttpAnswer a = read_answer(method == "HEAD");
      if (a.status > 0) return a;
      close();
      if (!reused) return a;
    }
    return {-3, {}, "no answer"};
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

 private:
  bool connect() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return false;
    }
    reused_ = false;
    return true;
  }
  bool send_all(std::string_view s) {
    while (!s.empty()) {
      auto n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  bool fill() {
    char tmp[65536];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  HttpAnswer read_answer(bool head_only) {
    HttpAnswer a;
    while (buf_.find("\r\n\r\n") == std::string::npos)
      if (buf_.size() > 64 * 1024 || !fill()) return {-4, {}, "no response head"};
    const auto end = buf_.find("\r\n\r\n");
    const std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return {-5, {}, head};
    a.status = std::stoi(head.substr(9, 3));
    std::size_t length = 0;
    bool close_after = false;
    for (std::size_t p = head.find("\r\n"); p != std::string::npos;) {
      const std::size_t q = head.find("\r\n", p + 2);
      std::string line = head.substr(p + 2, q == std::string::npos ? std::string::npos : q - p - 2);
      p = q;
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string k = line.substr(0, colon), v = line.substr(colon + 1);
      for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      if (k == "content-length") length = std::stoul(v);
      if (k == "connection" && v == "close") close_after = true;
      a.headers.emplace_back(std::move(k), std::move(v));
    }
    if (head_only) length = 0;
    if (length > kMaxBody) return {-6, {}, "body too large"};
    while (buf_.size() < length)
      if (!fill()) return {-7, {}, "short body"};
    a.body = buf_.substr(0, length);
    buf_.erase(0, length);
    if (close_after) close();
    return a;
  }

  std::uint16_t port_;
  int fd_ = -1;
  bool reused_ = false;
  std::string buf_;
};

}  // namespace callbridge::testing
