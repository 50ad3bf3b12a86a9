// WsClient: one outgoing TLS WebSocket connection (the edge's to its relay; tests' clients): TCP
// connect, TLS with certificate and host name verification, the WebSocket handshake, then messages
// both ways with a bounded send queue. No reconnecting (RelayClient does that). Runs on one
// io_context thread; calls from it, handlers on it; no handler runs after the WsClient is gone.
// The edge's only Boost.Beast translation unit (ws_client.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::relay::edge {

struct WssUrl {
  std::string host;
  std::string port = "443";
  std::string target = "/";  // path and query
};
// "wss://host[:port][/path][?query]"; `default_path` when the URL has none.
base::Result<WssUrl> parse_wss_url(std::string_view url, std::string_view default_path = "/");

struct WsClientOptions {
  WssUrl url;
  std::string ca_file;  // PEM CA certificates; "" = the system's
  std::size_t max_message_bytes = 68 * 1024;
  std::size_t max_queue_bytes = 16 * 1024 * 1024;  // unsent bytes; beyond: the connection is dropped
  std::chrono::milliseconds handshake_timeout{10'000};  // TCP + TLS + WebSocket handshake
  std::chrono::milliseconds idle_timeout{20'000};       // pings at half of it; silence closes
};

class WsClient {
 public:
  struct Handlers {
    std::function<void()> opened;
    std::function<void(std::string_view message, bool text)> message;
    // Once per connect(): why it ended (or never opened). `http_status` is the refusal's status when
    // the server answered the upgrade with something else (404, 400, ...), else 0; `body` its body.
    std::function<void(const std::string& why, int http_status, const std::string& body)> closed;
  };

  WsClient(boost::asio::io_context& io, WsClientOptions options, Handlers handlers);
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Starts a new connection (an earlier one is dropped without its `closed`).
  void connect();
  // The URL of the next connect().
  void set_url(WssUrl url) { options_.url = std::move(url); }
  // Queues one message. False (and the connection is dropped) when the queue would exceed its bound;
  // false when not open.
  bool send(std::string data, bool text);
  // Close handshake with code 1000; `closed` follows.
  void close();
  // Drops the connection at once; `closed` follows.
  void abort();
  // Stops (false) or resumes reading messages (a test's stand-in for a peer that does not read).
  void set_reading(bool on);
  bool is_open() const;
  std::size_t queued_bytes() const;

  struct Impl;

 private:
  boost::asio::io_context& io_;
  WsClientOptions options_;
  Handlers handlers_;
  std::shared_ptr<Impl> impl_;  // one per connect()
};

}  // namespace callbridge::relay::edge
