// Server: the relay node's one TLS port (docs/relay.md "Protocol"): HTTP/1.1 for /healthz, /readyz,
// /metrics and the web client's static files, WebSocket for /v1/edge (challenge, login against the
// registry) and /v1/client; every message handed to the Router. Each connection has a bounded
// outgoing queue: a peer that does not read is closed and counted, never buffered without limit.
// Runs on one io_context thread together with the Router; start()/stop() from that thread (or
// before it runs). The only Boost.Beast translation unit of the node (server.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "relay/node/metrics.hpp"
#include "relay/node/registry.hpp"
#include "relay/node/router.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::relay::node {

struct StaticReply {
  int status = 404;
  std::string content_type = "text/plain";
  std::string body;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8443;  // 0 = any free port (port() says which)
  std::string tls_cert_file;  // PEM chain; required
  std::string tls_key_file;
  std::size_t max_connections = 20000;
  std::chrono::seconds handshake_timeout{10};  // TLS + HTTP request + (edges) the hello
  std::size_t client_queue_bytes = 1024 * 1024;   // unsent bytes towards one client
  std::size_t edge_queue_bytes = 16 * 1024 * 1024;  // unsent bytes towards one edge
  // GET /v1/diagnostics/EDGE answers requests carrying this bearer token ("" = off, 404).
  std::string diagnostics_token;
  // GET of any other path: the web client's files (relay/app wires api::serve_static).
  std::function<StaticReply(std::string_view path)> static_files;
};

class Server {
 public:
  // `ready`: what /readyz reports besides listening (the cluster bus is connected).
  Server(boost::asio::io_context& io, ServerOptions options, Router& router, Registry& registry, Metrics& metrics,
         std::function<bool()> ready = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the certificate, binds, starts accepting. Errors name the file or address.
  base::Status start();
  // Stops accepting and closes every connection.
  void stop();
  std::uint16_t port() const;
  std::size_t connections() const;

  // The Prometheus text of /metrics (exposed for tests).
  std::string metrics_text() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace callbridge::relay::node
