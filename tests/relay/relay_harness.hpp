// Test harness for the relay: a TLS certificate (openssl CLI), an io thread, an in-process relay
// node (Server + Router + Registry) and test clients (WsClient recording what arrives). Waiting is
// on condition variables with deadlines, never sleeps. Test helper; header-only.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relay/edge/ws_client.hpp"
#include "relay/wire/control.hpp"
#include "relay/wire/frame.hpp"
#include "support/temp_dir.hpp"

namespace callbridge::relay::testing {

using namespace std::chrono_literals;

// A self-signed certificate for 127.0.0.1 and localhost in `dir`: cert.pem, key.pem.
inline void make_certificate(const std::string& dir) {
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                          "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                          dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// An io_context on its own thread; run() executes a function there and waits for its result.
class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  boost::asio::io_context& io() { return io_; }
  template <typename F>
  auto run(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto fut = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return fut.get();
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Collects what handlers report from the io thread; the test thread waits on it.
class Inbox {
 public:
  struct Item {
    enum Kind { text, binary, opened, closed } kind;
    std::string data;
    int status = 0;
  };
  void push(Item item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_all();
  }
  // Waits until `pred` holds over everything received so far.
  bool wait(const std::function<bool(const std::vector<Item>&)>& pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(items_); });
  }
  std::vector<Item> items() {
    std::lock_guard lock(mu_);
    return items_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> items_;
};

inline std::size_t count_kind(const std::vector<Inbox::Item>& items, Inbox::Item::Kind k) {
  std::size_t n = 0;
  for (const auto& i : items) n += i.kind == k;
  return n;
}

inline std::vector<std::uint64_t> binary_seqs(const std::vector<Inbox::Item>& items) {
  std::vector<std::uint64_t> out;
  for (const auto& i : items) {
    if (i.kind == Inbox::Item::binary) out.push_back(wire::decode_header(wire::as_bytes(i.data))->seq);
  }
  return out;
}

// The first control message of type T received, if any.
template <typename T>
std::vector<T> controls(const std::vector<Inbox::Item>& items) {
  std::vector<T> out;
  for (const auto& i : items) {
    if (i.kind != Inbox::Item::text) continue;
    auto c = wire::parse_control(i.data);
    if (c && std::holds_alternative<T>(*c)) out.push_back(std::get<T>(*c));
  }
  return out;
}

// A WebSocket test client on the io thread.
class TestClient {
 public:
  TestClient(IoThread& io, const std::string& ca_file, std::uint16_t port, std::string target)
      : io_(io) {
    edge::WsClientOptions o;
    o.url = edge::WssUrl{"127.0.0.1", std::to_string(port), std::move(target)};
    o.ca_file = ca_file;
    o.max_message_bytes = 1 << 20;
    io_.run([&] {
      ws_.emplace(io_.io(), o,
                  edge::WsClient::Handlers{
                      .opened = [this] { inbox.push({Inbox::Item::opened, {}}); },
                      .message = [this](std::string_view m, bool text) {
                        inbox.push({text ? Inbox::Item::text : Inbox::Item::binary, std::string(m)});
                      },
                      .closed = [this](const std::string& why, int status, const std::string& body) {
                        inbox.push({Inbox::Item::closed, why + "|" + body, status});
                      },
                  });
      ws_->connect();
    });
  }
  ~TestClient() {
    io_.run([&] { ws_.reset(); });
  }
  bool send(std::string data, bool text = false) {
    return io_.run([&] { return ws_->send(std::move(data), text); });
  }
  void set_reading(bool on) {
    io_.run([&] { ws_->set_reading(on); });
  }
  void close() {
    io_.run([&] { ws_->close(); });
  }
  bool wait_open() {
    return inbox.wait([](const auto& items) {
      return count_kind(items, Inbox::Item::opened) > 0 || count_kind(items, Inbox::Item::closed) > 0;
    }) && count_kind(inbox.items(), Inbox::Item::opened) > 0;
  }
  bool wait_closed(std::chrono::milliseconds timeout = 10s) {
    return inbox.wait([](const auto& items) { return count_kind(items, Inbox::Item::closed) > 0; }, timeout);
  }
  std::string closed_why() {
    for (const auto& i : inbox.items()) {
      if (i.kind == Inbox::Item::closed) return i.data;
    }
    return {};
  }
  int closed_status() {
    for (const auto& i : inbox.items()) {
      if (i.kind == Inbox::Item::closed) return i.status;
    }
    return -1;
  }

  Inbox inbox;

 private:
  IoThread& io_;
  std::optional<edge::WsClient> ws_;
};

inline wire::ClientId client_id(std::uint8_t n) {
  wire::ClientId id{};
  id.fill(0xc0);
  id[15] = n;
  return id;
}

inline std::string client_frame(const wire::ClientId& id, std::uint64_t seq, std::string payload = "hello") {
  wire::FrameHeader h;
  h.kind = wire::Kind::client_to_edge;
  h.client = id;
  h.seq = seq;
  return wire::encode_frame(h, payload);
}

// The body, a newline and the status code. `header`: one extra request header ("Name: value").
inline std::string curl(std::uint16_t port, const std::string& path, const std::string& header = "") {
  std::string cmd = "curl -sk -m 10 -w '\\n%{http_code}' ";
  if (!header.empty()) cmd += "-H '" + header + "' ";
  cmd += "https://127.0.0.1:" + std::to_string(port) + path;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

}  // namespace callbridge::relay::testing
