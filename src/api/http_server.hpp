// HttpServer: the HTTP/1.1 listener of the public API (Boost.Beast, kept inside http_server.cpp,
// the only translation unit that includes Beast). Reads requests with header/body size limits and
// a per-request timeout, dispatches them by method + path to handlers, answers unknown paths with
// RFC 9457 problem+json. The connections run on the io_context's thread. Plain handlers (route())
// are called there and must not block; async handlers (route() with a Respond) may hand the work
// to another thread (base::WorkerPool) and answer from there: the answer is written on the io
// thread. start()/stop() are called on the io thread too (or before/after it runs).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::api {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/api/v1/journal?party=100"
  std::string path;    // "/api/v1/journal"
  std::string query;   // "party=100" (undecoded)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string remote;  // peer address ("127.0.0.1"), "" when unknown (tests)
  bool secure = false;  // arrived over TLS (cookies set in the answer get `Secure`)

  // "" when absent. `name` in lower case.
  std::string_view header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse text(int status, std::string body);
  static HttpResponse json(int status, std::string body);
  // application/problem+json (RFC 9457) with type about:blank.
  static HttpResponse problem(int status, std::string_view title, std::string_view detail);
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// The answer to one request, given once from any thread. Copyable (the copies share one slot): the
// first call wins, later calls are ignored. If every copy is destroyed unanswered (a job dropped by
// a stopped pool, a forgotten branch) the request gets `fallback`, so a connection never hangs.
template <class T>
class Reply {
 public:
  using Sink = std::function<void(T)>;
  Reply(Sink sink, T fallback) : state_(std::make_shared<State>(std::move(sink), std::move(fallback))) {}
  void operator()(T value) const { state_->deliver(std::move(value)); }
  bool answered() const { return state_->done.load(); }

 private:
  struct State {
    State(Sink s, T f) : sink(std::move(s)), fallback(std::move(f)) {}
    ~State() {
      if (!done.exchange(true)) sink(std::move(fallback));
    }
    void deliver(T v) {
      if (done.exchange(true)) return;
      Sink s = std::move(sink);
      s(std::move(v));
    }
    Sink sink;
    T fallback;
    std::atomic<bool> done{false};
  };
  std::shared_ptr<State> state_;
};

using Respond = Reply<HttpResponse>;
// May return before answering; `respond` may be called later from any thread. The request is the
// handler's own copy.
using AsyncHttpHandler = std::function<void(HttpRequest req, Respond respond)>;

// Taking a connection over (WebSocket, RFC 6455 section 4.2): the handler answers 101 plus the
// headers that switch protocols; any other status is sent as a normal response.
struct HttpUpgrade {
  HttpResponse response;
  // Called on the io thread once the 101 is written: the connection's socket (native handle, now
  // owned by the callee) and bytes the client sent after the request (normally none).
  std::function<void(int fd, std::string_view early_bytes)> adopt;
};
using UpgradeHandler = std::function<HttpUpgrade(const HttpRequest&)>;
// Same, answered later (authentication on a worker thread); adopt() still runs on the io thread.
using AsyncUpgradeHandler = std::function<void(HttpRequest req, Reply<HttpUpgrade> respond)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 = any free port; see HttpServer::port()
  std::size_t max_header_bytes = 16 * 1024;    // 431 beyond
  std::size_t max_body_bytes = 1024 * 1024;    // 413 beyond
  std::chrono::milliseconds read_timeout{30'000};   // per request, including keep-alive idle
  std::chrono::milliseconds write_timeout{30'000};
  // A new connection must deliver its first request line and headers within this (after the TLS
  // handshake), so idle sockets cannot hold connection slots for read_timeout.
  std::chrono::milliseconds header_timeout{5'000};
  std::size_t max_connections = 512;  // further connections are closed at once
  // Open connections from one client address (IPv4-mapped IPv6 counts as IPv4); further ones are
  // closed at once while other addresses are still served.
  std::size_t max_connections_per_address = 64;
  // HTTPS when both are set (PEM files, loaded by start(); errors name the file); every answer
  // then carries Strict-Transport-Security (RFC 6797, max-age one year). Upgraded
  // connections (WebSocket) stay TLS: adopt() then gets one end of a local socket pair whose other
  // end the server relays through the TLS stream.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::milliseconds tls_handshake_timeout{10'000};
};

class HttpServer {
 public:
  struct Stats {
    std::uint64_t requests = 0;
    std::uint64_t connections = 0;           // accepted in total
    std::uint64_t rejected_connections = 0;  // over max_connections
    std::uint64_t rejected_per_address = 0;  // over max_connections_per_address
    std::uint64_t header_timeouts = 0;       // closed: no complete first request in header_timeout
    std::size_t open_connections = 0;
  };

  HttpServer(boost::asio::io_context& io, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `path` is exact ("/healthz") or a prefix ending in "/*" ("/api/v1/journal/*"); exact routes
  // win, then the longest prefix. Register before start(); each method and path once (a second
  // registration aborts: two parts claiming one resource).
  void route(std::string method, std::string path, HttpHandler handler);
  void route(std::string method, std::string path, AsyncHttpHandler handler);
  // GET `path` (exact) is handed to `handler`, which may take the connection over. Before start().
  void upgrade_route(std::string path, UpgradeHandler handler);
  void upgrade_route(std::string path, AsyncUpgradeHandler handler);
  // Every registered route as (method, path) in the form given to route() ("/api/v1/journal/*"),
  // sorted; upgrade routes as GET. For checks of the route table against the API's description.
  std::vector<std::pair<std::string, std::string>> routes() const;

  // Binds, listens and starts accepting on the io_context. Errors name the address.
  base::Status start();
  // The bound port (the real one when options.port was 0). 0 before start().
  std::uint16_t port() const;
  std::string local_address() const;  // "127.0.0.1:43125"

  // Stops accepting and closes every open connection (in-flight requests are dropped).
  void stop();

  Stats stats() const;

  // The handler chosen for a request, or a 404/405 problem; exposed for tests. Waits for an async
  // handler's answer: only for handlers that answer without the io thread running (inline or from
  // a worker), else it blocks forever.
  HttpResponse dispatch(const HttpRequest& req) const;

  struct Impl;  // defined in http_server.cpp (shared with the connection coroutines)

 private:
  std::shared_ptr<Impl> impl_;
};

// One request read from `bytes` exactly as a connection reads it: the same parser (Beast), header
// and body limits of `options`, header handling and 400/413/431 answers. For tests and the fuzz
// target (fuzz/http_request); connections do not go through it.
struct ParsedRequest {
  enum class Status { request, problem, need_more };
  Status status = Status::need_more;
  HttpRequest request;   // status == request
  HttpResponse problem;  // status == problem: what the server answers before closing
  std::size_t consumed = 0;  // bytes of `bytes` the request took (status == request)
};
ParsedRequest parse_request(std::string_view bytes, const HttpServerOptions& options);

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space). Malformed escapes are kept verbatim.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace callbridge::api
