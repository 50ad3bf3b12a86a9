// LoopbackApi against a real api::HttpServer on port 0: requests (method, target, headers both
// ways, Host/Origin of its own, body limit, an unreachable API) and an upgrade route that speaks
// the server side of a WebSocket with api/ws_frames (open, messages, close code; close() from the
// tunnel's side).
#include "relay/tunnel/loopback_api.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "api/http_server.hpp"
#include "api/ws_frames.hpp"

namespace callbridge::relay::tunnel {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string header_value(const Headers& hs, std::string_view name) {
  for (const auto& [k, v] : hs)
    if (k == name) return v;
  return {};
}

// Runs the io_context until `done` or 10 s.
template <typename Pred>
void run_until(asio::io_context& io, Pred done) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(std::chrono::milliseconds(20));
    io.restart();
  }
  ASSERT_TRUE(done());
}

TEST(LoopbackApi, RequestsReachTheDaemonsOwnApi) {
  asio::io_context io;
  api::HttpServerOptions so;
  so.port = 0;
  api::HttpServer server(io, so);
  api::HttpRequest seen;
  server.route("POST", "/api/v1/echo", [&](const api::HttpRequest& r) {
    seen = r;
    auto res = api::HttpResponse::json(201, R"({"ok":true})");
    res.headers.emplace_back("Set-Cookie", "cb_session=abc; Path=/; HttpOnly");
    return res;
  });
  server.route("GET", "/api/v1/big", [](const api::HttpRequest&) { return api::HttpResponse::text(200, std::string(5000, 'z')); });
  ASSERT_TRUE(server.start().has_value());

  LoopbackOptions lo;
  lo.port = server.port();
  lo.max_body_bytes = 4096;
  LoopbackApi api(io, lo);
  std::optional<base::Result<ApiResponse>> got;
  api.request(ApiRequest{"POST", "/api/v1/echo?x=1", {{"authorization", "Bearer t"}, {"content-type", "application/json"}}, R"({"a":1})"},
              [&](base::Result<ApiResponse> r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  ASSERT_TRUE(got->has_value()) << got->error().to_string();
  EXPECT_EQ((*got)->status, 201);
  EXPECT_EQ((*got)->body, R"({"ok":true})");
  EXPECT_EQ(header_value((*got)->headers, "set-cookie"), "cb_session=abc; Path=/; HttpOnly");
  EXPECT_EQ(seen.query, "x=1");
  EXPECT_EQ(seen.body, R"({"a":1})");
  EXPECT_EQ(seen.header("authorization"), "Bearer t");
  EXPECT_EQ(seen.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(seen.header("origin"), "http://127.0.0.1:" + std::to_string(server.port()));

  got.reset();
  api.request(ApiRequest{"GET", "/api/v1/big", {}, ""}, [&](base::Result<ApiResponse> r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  EXPECT_FALSE(got->has_value());  // over max_body_bytes

  server.stop();
  got.reset();
  api.request(ApiRequest{"GET", "/api/v1/big", {}, ""}, [&](base::Result<ApiResponse> r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  ASSERT_FALSE(got->has_value());
  EXPECT_EQ(got->error().code(), base::Errc::unavailable);
}

TEST(LoopbackApi, StreamsCarryTextMessagesAndTheirEnd) {
  asio::io_context io;
  api::HttpServerOptions so;
  so.port = 0;
  api::HttpServer server(io, so);
  std::string seen_target, seen_auth;
  // The server side: answer the handshake, send two messages, close with 4001.
  server.upgrade_route("/api/v1/events", [&](const api::HttpRequest& r) {
    seen_target = r.target;
    seen_auth = std::string(r.header("authorization"));
    api::HttpUpgrade u;
    u.response.status = 101;
    u.response.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                          {"Sec-WebSocket-Accept", api::ws::accept_key(r.header("sec-websocket-key"))}};
    u.adopt = [](int fd, std::string_view) {
      const std::string out = api::ws::text_frame(R"({"type":"snapshot","seq":1})") +
                              api::ws::text_frame(R"({"type":"line","seq":2})") + api::ws::close_frame(4001, "bye");
      EXPECT_EQ(::write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    };
    return u;
  });
  ASSERT_TRUE(server.start().has_value());

  LoopbackOptions lo;
  lo.port = server.port();
  LoopbackApi api(io, lo);
  bool opened = false;
  std::vector<std::string> messages;
  std::optional<int> closed_code;
  auto stream = api.subscribe("/api/v1/events?ticket=t1", {{"authorization", "Bearer t"}}, [&] { opened = true; },
                              [&](std::string m) { messages.push_back(std::move(m)); },
                              [&](int code, std::string) { closed_code = code; });
  run_until(io, [&] { return closed_code.has_value(); });
  EXPECT_TRUE(opened);
  EXPECT_EQ(seen_target, "/api/v1/events?ticket=t1");
  EXPECT_EQ(seen_auth, "Bearer t");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1], R"({"type":"line","seq":2})");
  EXPECT_EQ(*closed_code, 4001);

  // Nobody listening: the stream ends with 1006, and close() silences it.
  server.stop();
  std::optional<int> code2;
  auto s2 = api.subscribe("/api/v1/events", {}, [] {}, [](std::string) {}, [&](int c, std::string) { code2 = c; });
  run_until(io, [&] { return code2.has_value(); });
  EXPECT_EQ(*code2, 1006);
  bool called = false;
  auto s3 = api.subscribe("/api/v1/events", {}, [] {}, [](std::string) {}, [&](int, std::string) { called = true; });
  s3->close();
  io.run_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(called);
}

// [server.tls]: the client trusts exactly the listener's own certificate.
TEST(LoopbackApi, SpeaksTlsToATlsListenerPinnedToItsCertificate) {
  char tmpl[] = "/tmp/cb_loopback_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  auto make = [&](const std::string& name) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " +
                            (dir / (name + ".key")).string() + " -out " + (dir / (name + ".pem")).string() +
                            " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  };
  make("own");
  make("other");
  asio::io_context io;
  api::HttpServerOptions so;
  so.port = 0;
  so.tls_cert_file = (dir / "own.pem").string();
  so.tls_key_file = (dir / "own.key").string();
  api::HttpServer server(io, so);
  std::string origin;
  server.route("GET", "/api/v1/me", [&](const api::HttpRequest& r) {
    origin = std::string(r.header("origin"));
    return api::HttpResponse::json(200, R"({"user":"anna"})");
  });
  server.upgrade_route("/api/v1/events", [&](const api::HttpRequest& r) {
    api::HttpUpgrade u;
    u.response.status = 101;
    u.response.headers = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"},
                          {"Sec-WebSocket-Accept", api::ws::accept_key(r.header("sec-websocket-key"))}};
    u.adopt = [](int fd, std::string_view) {
      const std::string out = api::ws::text_frame(R"({"type":"snapshot","seq":1})") + api::ws::close_frame(1000, "");
      EXPECT_EQ(::write(fd, out.data(), out.size()), static_cast<ssize_t>(out.size()));
      ::shutdown(fd, SHUT_WR);
      ::close(fd);
    };
    return u;
  });
  ASSERT_TRUE(server.start().has_value());
  LoopbackOptions lo;
  lo.port = server.port();
  lo.tls_cert_file = (dir / "own.pem").string();
  auto api = LoopbackApi::create(io, lo);
  ASSERT_TRUE(api.has_value()) << api.error().to_string();
  std::optional<base::Result<ApiResponse>> got;
  (*api)->request(ApiRequest{"GET", "/api/v1/me", {}, ""}, [&](base::Result<ApiResponse> r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  ASSERT_TRUE(got->has_value()) << got->error().to_string();
  EXPECT_EQ((*got)->body, R"({"user":"anna"})");
  EXPECT_EQ(origin, "https://127.0.0.1:" + std::to_string(server.port()));
  std::vector<std::string> messages;
  std::optional<int> code;
  auto stream = (*api)->subscribe("/api/v1/events", {}, [] {}, [&](std::string m) { messages.push_back(std::move(m)); },
                                  [&](int c, std::string) { code = c; });
  run_until(io, [&] { return code.has_value(); });
  EXPECT_EQ(messages.size(), 1u);
  EXPECT_EQ(*code, 1000);

  // Another certificate is not trusted.
  lo.tls_cert_file = (dir / "other.pem").string();
  auto wrong = LoopbackApi::create(io, lo);
  ASSERT_TRUE(wrong.has_value());
  got.reset();
  (*wrong)->request(ApiRequest{"GET", "/api/v1/me", {}, ""}, [&](base::Result<ApiResponse> r) { got = std::move(r); });
  run_until(io, [&] { return got.has_value(); });
  ASSERT_FALSE(got->has_value());
  EXPECT_NE(got->error().message().find("TLS"), std::string::npos) << got->error().message();
  lo.tls_cert_file = (dir / "missing.pem").string();
  EXPECT_FALSE(LoopbackApi::create(io, lo).has_value());
  server.stop();
  std::filesystem::remove_all(dir);
}

TEST(LoopbackApi, LoopbackHostOfAListenAddress) {
  EXPECT_EQ(loopback_host("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(loopback_host("::"), "::1");
  EXPECT_EQ(loopback_host("[::1]"), "::1");
  EXPECT_EQ(loopback_host("10.0.0.5"), "10.0.0.5");
}

}  // namespace
}  // namespace callbridge::relay::tunnel
