// CstaListener: the CSTA server's TCP (optionally TLS) listener on the App's io_context, plain
// Asio (no Beast): accepts up to max_clients connections, runs one CstaSession per connection
// (bytes in, bounded queue of bytes out: a client that does not read is disconnected, never
// buffered without limit), gives an OpenScape-style client its SystemStatus after a quiet moment
// and closes connections whose session did not start in time. All Asio of the CSTA server lives
// in csta_listener.cpp. Io thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "base/error.hpp"
#include "csta_server/csta_server.hpp"

namespace callbridge::csta_server {

struct CstaListenerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (port() says which)
  std::string tls_cert_file;  // both set: TLS (PEM chain, unencrypted key)
  std::string tls_key_file;
  std::size_t max_clients = 256;
  std::chrono::milliseconds session_start_timeout{10'000};
  std::chrono::milliseconds quiet{300};  // then SystemStatus to a client that said nothing
  std::size_t max_outbox_bytes = 4 << 20;
};

class CstaListener {
 public:
  CstaListener(boost::asio::io_context& io, CstaServer& server, CstaListenerOptions options);
  ~CstaListener();
  CstaListener(const CstaListener&) = delete;
  CstaListener& operator=(const CstaListener&) = delete;

  // Binds, listens, starts accepting. Errors name the address (in use, bad host) or the TLS file.
  base::Status start();
  // Stops accepting and closes every connection.
  void stop();
  std::uint16_t port() const;
  bool tls() const;
  std::size_t connections() const;

  struct Impl;  // csta_listener.cpp (its connections hold it weakly)

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace callbridge::csta_server
