// HttpServer over TLS: a self-signed certificate made with the openssl CLI in a temp dir, an
// OpenSSL client for /healthz and for an upgraded (relayed) connection, a plain-HTTP client that
// must fail cleanly, and start() errors that name the bad file.
#include "api/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace callbridge::api {
namespace {

namespace fs = std::filesystem;

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};  // a hung server fails the test instead of blocking it
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cb_tls_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " +
                            key_ + " -out " + cert_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl CLI failed: " << cmd;
  }
  void TearDown() override {
    if (thread_.joinable()) {
      boost::asio::post(io_, [this] { server_->stop(); });
      io_.stop();
      thread_.join();
    }
    for (int fd : held_) ::close(fd);
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void start(HttpServerOptions o) {
    o.port = 0;
    server_ = std::make_unique<HttpServer>(io_, o);
    server_->route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
    server_->upgrade_route("/up", [](const HttpRequest&) {
      HttpUpgrade u;
      u.response.status = 101;
      u.response.headers.emplace_back("Upgrade", "test");
      u.response.headers.emplace_back("Connection", "Upgrade");
      // Echo one read back with a prefix, then close: proves the relay works both ways.
      u.adopt = [](int fd, std::string_view early) {
        std::thread([fd, e = std::string(early)] {
          char buf[256];
          std::string got = e;
          if (got.empty()) {
            auto n = ::read(fd, buf, sizeof buf);
            if (n > 0) got.assign(buf, static_cast<std::size_t>(n));
          }
          std::string out = "echo:" + got;
          (void)!::write(fd, out.data(), out.size());
          ::close(fd);
        }).detach();
      };
      return u;
    });
    // Keeps the connection open until the test ends (a long-lived event stream).
    server_->upgrade_route("/hold", [this](const HttpRequest&) {
      HttpUpgrade u;
      u.response.status = 101;
      u.response.headers.emplace_back("Upgrade", "test");
      u.response.headers.emplace_back("Connection", "Upgrade");
      u.adopt = [this](int fd, std::string_view) { held_.push_back(fd); };  // io thread
      return u;
    });
    auto st = server_->start();
    ASSERT_TRUE(st) << st.error().to_string();
    thread_ = std::thread([this] { io_.run(); });
  }
  HttpServerOptions tls_options() const {
    HttpServerOptions o;
    o.tls_cert_file = cert_;
    o.tls_key_file = key_;
    return o;
  }

  fs::path dir_;
  std::string cert_, key_;
  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::vector<int> held_;  // adopted by /hold; written on the io thread, read after it stopped
};

struct TlsClient {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = nullptr;
  int fd = -1;
  ~TlsClient() {
    if (ssl) SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
  bool connect(std::uint16_t port, const std::string& ca_file) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) return false;
    fd = connect_to(port);
    if (fd < 0) return false;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    return SSL_connect(ssl) == 1;
  }
  void send(std::string_view s) { SSL_write(ssl, s.data(), static_cast<int>(s.size())); }
  // Reads until the peer closes (or `until` appears).
  std::string read(std::string_view until = {}) {
    std::string out;
    char buf[4096];
    for (;;) {
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
};

TEST_F(HttpServerTlsTest, HealthzOverTls) {
  start(tls_options());
  TlsClient c;
  ASSERT_TRUE(c.connect(server_->port(), cert_)) << ERR_error_string(ERR_get_error(), nullptr);
  c.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  auto res = c.read();
  EXPECT_TRUE(res.starts_with("HTTP/1.1 200")) << res;
  EXPECT_TRUE(res.ends_with("\r\n\r\nok")) << res;
  // Regression (issue 12): no HSTS under TLS.
  EXPECT_NE(res.find("\r\nStrict-Transport-Security: max-age=31536000\r\n"), std::string::npos) << res;
}

TEST_F(HttpServerTlsTest, PlainHttpClientFailsCleanlyAndServerKeepsServing) {
  start(tls_options());
  int fd = connect_to(server_->port());
  ASSERT_GE(fd, 0);
  std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string got;
  char buf[1024];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos) << got;  // closed (maybe a TLS alert), never served
  TlsClient c;  // the server is still up
  ASSERT_TRUE(c.connect(server_->port(), cert_));
  c.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.read().starts_with("HTTP/1.1 200"));
}

TEST_F(HttpServerTlsTest, UpgradedConnectionIsRelayedThroughTls) {
  start(tls_options());
  TlsClient c;
  ASSERT_TRUE(c.connect(server_->port(), cert_));
  c.send("GET /up HTTP/1.1\r\nHost: localhost\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n");
  auto head = c.read("\r\n\r\n");
  ASSERT_TRUE(head.starts_with("HTTP/1.1 101")) << head;
  c.send("ping");
  auto rest = c.read();
  EXPECT_EQ(rest, "echo:ping");
}

// Regression: a TLS WebSocket stays in the server (it relays the bytes) and used to keep its
// place in the connection caps for its whole life, so a terminal server's 65th user (or a
// reverse proxy's) could not connect. Once upgraded it counts no more, as a plain one.
TEST_F(HttpServerTlsTest, UpgradedConnectionsLeaveTheConnectionCaps) {
  auto o = tls_options();
  o.max_connections = 2;
  o.max_connections_per_address = 2;
  start(o);
  std::vector<std::unique_ptr<TlsClient>> streams;
  for (int i = 0; i < 4; ++i) {
    auto c = std::make_unique<TlsClient>();
    ASSERT_TRUE(c->connect(server_->port(), cert_)) << "stream " << i << ": connection refused";
    c->send("GET /hold HTTP/1.1\r\nHost: localhost\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n");
    auto head = c->read("\r\n\r\n");
    ASSERT_TRUE(head.starts_with("HTTP/1.1 101")) << "stream " << i << ": " << head;
    streams.push_back(std::move(c));
  }
  TlsClient c;  // plain requests are still served beside the four streams
  ASSERT_TRUE(c.connect(server_->port(), cert_));
  c.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.read().starts_with("HTTP/1.1 200"));
}

TEST_F(HttpServerTlsTest, StartNamesAMissingCertificateOrKey) {
  auto o = tls_options();
  o.tls_cert_file = (dir_ / "nope.pem").string();
  HttpServer s1(io_, o);
  auto st = s1.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("nope.pem"), std::string::npos) << st.error().to_string();
  o = tls_options();
  o.tls_key_file = (dir_ / "nokey.pem").string();
  HttpServer s2(io_, o);
  st = s2.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().to_string().find("nokey.pem"), std::string::npos) << st.error().to_string();
}

}  // namespace
}  // namespace callbridge::api
