// HttpServer over real loopback sockets (port 0): routing, problem+json, limits, timeouts, stop;
// the health routes through dispatch().
#include "api/http_server.hpp"
#include "api/health_routes.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

namespace callbridge::api {
namespace {

// A client socket bound to `from` (any 127.0.0.0/8 address is local on Linux), connected.
int connect_from(const char* from, std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in me{};
  me.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &me.sin_addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&me), sizeof me), 0) << from;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

int connect_to(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (limits); the test checks the answer
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until the peer closes (or 5 s pass, which fails the test by returning what came).
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) {
      ADD_FAILURE() << "no EOF within 5 s; got: " << out;
      break;
    }
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    server_ = std::make_unique<HttpServer>(io_, o);
    server_->route("GET", "/healthz", [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
    server_->route("POST", "/echo", [](const HttpRequest& r) {
      return HttpResponse::text(200, std::string(r.header("x-tag")) + ":" + r.body);
    });
    server_->route("GET", "/api/v1/things/*", [](const HttpRequest& r) {
      return HttpResponse::json(200, "{\"path\":\"" + r.path + "\",\"query\":\"" + r.query + "\"}");
    });
    server_->route("GET", "/boom", [](const HttpRequest&) -> HttpResponse {
      throw std::runtime_error("boom");
    });
    // Answered later from another thread (as REST handlers do from a worker pool).
    server_->route("GET", "/later", AsyncHttpHandler([this](HttpRequest r, Respond respond) {
      helpers_.emplace_back([r = std::move(r), respond] { respond(HttpResponse::text(200, "later:" + r.query)); });
    }));
    // Never answered: the Reply answers 500 when its last copy goes.
    server_->route("GET", "/dropped", AsyncHttpHandler([](HttpRequest, Respond) {}));
    auto st = server_->start();
    ASSERT_TRUE(st) << st.error().to_string();
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (thread_.joinable()) {
      boost::asio::post(io_, [this] { server_->stop(); });
      io_.stop();
      thread_.join();
    }
    for (auto& t : helpers_) t.join();  // after the io thread: it started them
  }
  std::vector<std::thread> helpers_;  // io thread only until TearDown
  // The server's counters belong to the io thread (HttpServer::stats()): read them there. Read
  // from the test thread, the connection's coroutine could still be updating them after the
  // client saw the response (found by TSan, scripts/sanitize.sh tsan).
  HttpServer::Stats stats_on_io() {
    std::promise<HttpServer::Stats> stats;
    boost::asio::post(io_, [&] { stats.set_value(server_->stats()); });
    return stats.get_future().get();
  }
  std::string request(std::string_view raw) {
    int fd = connect_to(server_->port());
    send_all(fd, raw);
    auto out = read_all(fd);
    ::close(fd);
    return out;
  }
  std::string get(std::string_view path) {
    return request("GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }

  boost::asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, ServesARoute) {
  start();
  auto r = get("/healthz");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\nok")) << r;
  EXPECT_EQ(r.find("Strict-Transport-Security"), std::string::npos) << r;  // plain HTTP: no HSTS
}

TEST_F(HttpServerTest, UnknownPathIsProblemJson404) {
  start();
  auto r = get("/nope");
  EXPECT_EQ(r.rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: application/problem+json"), std::string::npos) << r;
  EXPECT_NE(r.find("{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404,\"detail\":\"no resource at /nope\"}"),
            std::string::npos)
      << r;
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  start();
  auto r = request("DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405 ", 0), 0u) << r;
  EXPECT_NE(r.find("Allow: GET"), std::string::npos) << r;
}

TEST_F(HttpServerTest, PrefixRouteAndQuery) {
  start();
  auto r = get("/api/v1/things/42?x=1");
  EXPECT_NE(r.find("{\"path\":\"/api/v1/things/42\",\"query\":\"x=1\"}"), std::string::npos) << r;
  EXPECT_EQ(get("/api/v1/thingsX").rfind("HTTP/1.1 404", 0), 0u);
}

// Two parts registering one resource would silently shadow each other; the second one aborts at
// start-up instead. routes() lists the table as registered.
TEST(HttpServerRoutes, ARouteRegisteredTwiceAbortsAndRoutesListTheTable) {
  boost::asio::io_context io;
  HttpServer s(io, HttpServerOptions{});
  auto ok = [](const HttpRequest&) { return HttpResponse::json(200, "{}"); };
  s.route("GET", "/a", ok);
  s.route("POST", "/a", ok);
  s.route("GET", "/a/*", ok);
  EXPECT_EQ(s.routes(), (std::vector<std::pair<std::string, std::string>>{{"GET", "/a"}, {"GET", "/a/*"}, {"POST", "/a"}}));
  EXPECT_DEATH(s.route("GET", "/a", ok), "route GET /a registered twice");
  EXPECT_DEATH(s.route("GET", "/a/*", ok), "route GET /a/\\* registered twice");
}

TEST_F(HttpServerTest, BodyAndHeadersReachTheHandler) {
  start();
  auto r = request("POST /echo HTTP/1.1\r\nHost: x\r\nX-Tag: t1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_TRUE(r.ends_with("\r\n\r\nt1:hello")) << r;
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  start();
  EXPECT_EQ(get("/boom").rfind("HTTP/1.1 500 ", 0), 0u);
}

TEST_F(HttpServerTest, AsyncRoutesAnswerFromAnotherThreadOrWith500WhenDropped) {
  start();
  auto out = request("GET /later?x=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find("later:x=1"), std::string::npos) << out;
  out = request("GET /dropped HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("500 Internal Server Error"), std::string::npos) << out;
  // HEAD falls back to an async GET too, without the body.
  out = request("HEAD /later HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("200 OK"), std::string::npos) << out;
  EXPECT_EQ(out.find("later:"), std::string::npos) << out;
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto r = request(
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.find("HTTP/1.1 200"), 0u);
  EXPECT_NE(r.find("HTTP/1.1 200", 10), std::string::npos) << r;
  EXPECT_EQ(stats_on_io().requests, 2u);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  HttpServerOptions o;
  o.max_body_bytes = 16;
  start(o);
  auto r = request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'a'));
  EXPECT_EQ(r.rfind("HTTP/1.1 413 ", 0), 0u) << r;
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  HttpServerOptions o;
  o.max_header_bytes = 256;
  start(o);
  auto r = request("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 431 ", 0), 0u) << r;
}

// Regression (issue 12): "Transfer-Encoding: xchunked" was read as "no body" (a proxy may read it
// otherwise: request smuggling).
TEST_F(HttpServerTest, UnknownTransferEncodingIs501) {
  start();
  auto r = request("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 501 ", 0), 0u) << r;
  EXPECT_EQ(r.find(":hello"), std::string::npos) << r;
  r = request("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_TRUE(r.ends_with(":hello")) << r;
}

TEST_F(HttpServerTest, GarbageIs400) {
  start();
  auto r = request("HELLO\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400 ", 0), 0u) << r;
}

TEST_F(HttpServerTest, SilentClientIsDisconnectedAfterHeaderTimeout) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::milliseconds(100);
  start(o);
  int fd = connect_to(server_->port());
  send_all(fd, "GET /heal");  // never finishes the request
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read_all(fd), "");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  ::close(fd);
}

// Regression (issue 12, "one client locks everyone out"): idle connections from one address that
// never send used to fill the global cap for read_timeout (30 s) and every other client got resets.
TEST_F(HttpServerTest, IdleConnectionsFromOneAddressDoNotLockOthersOut) {
  HttpServerOptions o;
  o.max_connections = 8;
  o.max_connections_per_address = 4;
  o.header_timeout = std::chrono::milliseconds(1500);
  start(o);
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) idle.push_back(connect_from("127.0.0.1", server_->port()));
  // Another address is served while 127.0.0.1 sits at its cap (accepted after the 8 above: the
  // listen backlog is FIFO).
  int other = connect_from("127.0.0.2", server_->port());
  send_all(other, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  auto r = read_all(other);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  ::close(other);
  // Beyond its cap, 127.0.0.1's connections were closed at once (counted below).
  for (int i = 4; i < 8; ++i) EXPECT_EQ(read_all(idle[i]), "") << i;
  // The idle ones are closed once the first-request deadline passes (read_all waits for EOF).
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(read_all(idle[i]), "") << i;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  for (int fd : idle) ::close(fd);
  auto s = stats_on_io();
  EXPECT_EQ(s.rejected_per_address, 4u);
  EXPECT_EQ(s.header_timeouts, 4u);
  EXPECT_EQ(s.rejected_connections, 0u);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  start();
  int fd = connect_to(server_->port());
  send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // keep-alive: stays open
  // Wait for the answer so the session is known to exist, then stop.
  char buf[512];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
  std::promise<void> stopped;
  boost::asio::post(io_, [&] {
    server_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  EXPECT_EQ(read_all(fd), "");
  ::close(fd);
}

TEST(HttpServer, PortInUseIsAClearError) {
  boost::asio::io_context io;
  HttpServer a(io, {.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(a.start());
  HttpServer b(io, {.host = "127.0.0.1", .port = a.port()});
  auto st = b.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("listen 127.0.0.1:" + std::to_string(a.port())), std::string::npos)
      << st.error().message();
}

TEST(HttpServer, DispatchWithoutNetwork) {
  boost::asio::io_context io;
  HttpServer s(io, {});
  s.route("GET", "/a/*", [](const HttpRequest&) { return HttpResponse::text(200, "short"); });
  s.route("GET", "/a/b/*", [](const HttpRequest&) { return HttpResponse::text(200, "long"); });
  HttpRequest r;
  r.method = "GET";
  r.path = "/a/b/c";
  EXPECT_EQ(s.dispatch(r).body, "long");
  r.path = "/a/x";
  EXPECT_EQ(s.dispatch(r).body, "short");
  r.method = "HEAD";
  EXPECT_EQ(s.dispatch(r).status, 200);
  EXPECT_EQ(s.dispatch(r).body, "");
}

// fuzz/http_request: HEAD on an unknown path (or with no GET route) answered 404/405 with a
// problem+json body; on a keep-alive connection the client reads those bytes as the next response.
TEST(HttpServer, HeadIsAnsweredWithoutContentEvenWhenNotRouted) {
  boost::asio::io_context io;
  HttpServer s(io, HttpServerOptions{});
  s.route("POST", "/api/v1/contacts", [](const HttpRequest&) { return HttpResponse::text(200, "x"); });
  HttpRequest r;
  r.method = "HEAD";
  r.target = r.path = "/nowhere";
  auto a = s.dispatch(r);
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "");
  r.target = r.path = "/api/v1/contacts";
  a = s.dispatch(r);
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.body, "");
  r.method = "GET";
  EXPECT_NE(s.dispatch(r).body, "");  // GET still explains
}

// parse_request(): the connection's parser and limits without a socket (fuzz/http_request).
TEST(HttpServer, ParseRequestLikeAConnection) {
  HttpServerOptions o;
  o.max_header_bytes = 256;
  o.max_body_bytes = 8;
  auto r = parse_request("POST /api/v1/x?a=1 HTTP/1.1\r\nHost: h\r\nX-Y: z\r\nContent-Length: 3\r\n\r\nabcGET", o);
  ASSERT_EQ(r.status, ParsedRequest::Status::request);
  EXPECT_EQ(r.request.method, "POST");
  EXPECT_EQ(r.request.path, "/api/v1/x");
  EXPECT_EQ(r.request.query, "a=1");
  EXPECT_EQ(r.request.header("x-y"), "z");
  EXPECT_EQ(r.request.body, "abc");
  EXPECT_EQ(r.consumed, r.request.target.size() + 57);  // the next request ("GET") is not taken
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nHost:", o).status, ParsedRequest::Status::need_more);
  auto bad = parse_request("HELLO\r\n\r\n", o);
  ASSERT_EQ(bad.status, ParsedRequest::Status::problem);
  EXPECT_EQ(bad.problem.status, 400);
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\n", o).problem.status, 413);
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", o).problem.status, 431);
}

// Regression (issue 12): the Allow header listed a method once per matching route.
TEST(HttpServer, AllowListsEachMethodOnce) {
  boost::asio::io_context io;
  HttpServer s(io, {});
  s.route("GET", "/a/*", [](const HttpRequest&) { return HttpResponse::text(200, "prefix"); });
  s.route("GET", "/a/b/*", [](const HttpRequest&) { return HttpResponse::text(200, "longer prefix"); });
  s.route("GET", "/a/b/c", [](const HttpRequest&) { return HttpResponse::text(200, "exact"); });
  s.route("POST", "/a/b/c", [](const HttpRequest&) { return HttpResponse::text(200, "exact"); });
  HttpRequest r;
  r.method = "DELETE";
  r.path = "/a/b/c";
  auto res = s.dispatch(r);
  EXPECT_EQ(res.status, 405);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "GET, POST"}));
}

TEST(HttpServer, ParseQueryDecodes) {
  auto q = parse_query("a=1&b=x%20y+z&&c&d=%zz");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"b", "x y z"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"d", "%zz"}));
}

}  // namespace
}  // namespace callbridge::api

namespace callbridge::api {
namespace {

TEST(HealthRoutes, ReadyzReportsReasonsAndDiagnosticsIsJson) {
  boost::asio::io_context io;
  HttpServer s(io, {});
  std::vector<std::string> reasons = {"pbx main: connecting", "shutting down"};
  add_health_routes(s, {[&] { return reasons; }, [] { return std::string("{\"x\":1}"); }});
  HttpRequest r;
  r.method = "GET";
  r.path = "/healthz";
  EXPECT_EQ(s.dispatch(r).status, 200);
  EXPECT_EQ(s.dispatch(r).body, "ok");
  r.path = "/readyz";
  auto res = s.dispatch(r);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.content_type, "application/problem+json");
  EXPECT_NE(res.body.find("\"detail\":\"pbx main: connecting; shutting down\""), std::string::npos) << res.body;
  reasons.clear();
  res = s.dispatch(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "ready");
  r.path = "/api/v1/diagnostics";
  res = s.dispatch(r);
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.body, "{\"x\":1}");
}

}  // namespace
}  // namespace callbridge::api
