// LoopbackApi: the tunnel's LocalApi over callbridged's own HTTP listener — a plain HTTP/1.1
// request per `req` and a WebSocket per `sub` to the address the daemon listens on (loopback when
// it listens on all addresses), with its own Host and Origin. Boost.Beast lives in this file's
// .cpp only. Runs on the io_context it is given (callbridged's io thread); not thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "relay/tunnel/local_api.hpp"

namespace callbridge::relay::tunnel {

struct LoopbackOptions {
  std::string host = "127.0.0.1";  // where callbridged's listener is reached
  std::uint16_t port = 0;
  std::chrono::milliseconds timeout{30'000};     // connect + request + answer
  std::size_t max_body_bytes = 2 * 1024 * 1024;  // an answer's body; more: an Error
  std::size_t max_ws_message_bytes = 4 * 1024 * 1024;
  // [server.tls]: the listener's certificate chain (PEM). The client then speaks TLS and trusts
  // exactly these certificates (any of them may anchor the chain; no host name check: it is the
  // daemon's own listener); "" = plain HTTP.
  std::string tls_cert_file;
};

class LoopbackApi final : public LocalApi {
 public:
  // Errc::invalid_argument when tls_cert_file does not load.
  static base::Result<std::unique_ptr<LoopbackApi>> create(boost::asio::io_context& io, LoopbackOptions options);
  // Plain HTTP only (options.tls_cert_file must be empty); for tests.
  LoopbackApi(boost::asio::io_context& io, LoopbackOptions options);
  ~LoopbackApi() override;

  void request(ApiRequest req, std::function<void(base::Result<ApiResponse>)> done) override;
  std::unique_ptr<Stream> subscribe(std::string target, Headers headers, std::function<void()> on_open,
                                    std::function<void(std::string)> on_message,
                                    std::function<void(int, std::string)> on_close) override;

 private:
  boost::asio::io_context& io_;
  LoopbackOptions options_;
  std::shared_ptr<void> tls_;  // boost::asio::ssl::context when options_.tls_cert_file is set
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "host:port" of a listener as the API's clients reach it: 0.0.0.0 / :: / "" become loopback.
std::string loopback_host(std::string_view listen_host);

}  // namespace callbridge::relay::tunnel
