// The one translation unit that includes Boost.Beast (compile cost; see STACK.md).
#include "api/http_server.hpp"
#include "base/json_text.hpp"
#include "base/percent_encoding.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <array>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <future>
#include <map>
#include <unordered_map>
#include <optional>
#include <set>

namespace callbridge::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using base::Error;
using base::fail;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

using base::append_json_string;

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::problem(int status, std::string_view title, std::string_view detail) {
  std::string b = "{\"type\":\"about:blank\",\"title\":";
  append_json_string(b, title);
  b += ",\"status\":" + std::to_string(status);
  if (!detail.empty()) {
    b += ",\"detail\":";
    append_json_string(b, detail);
  }
  b += "}";
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body = std::move(b);
  return r;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    out.emplace_back(base::percent_decode(part.substr(0, eq), base::PlusIs::space),
                     eq == std::string_view::npos ? std::string() : base::percent_decode(part.substr(eq + 1), base::PlusIs::space));
  }
  return out;
}

struct HttpServer::Impl {
  struct Route {
    HttpHandler sync;        // one of the two is set
    AsyncHttpHandler async;
  };
  struct Upgrade {
    UpgradeHandler sync;
    AsyncUpgradeHandler async;
  };

  asio::io_context& io;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  bool stopped = false;
  std::uint16_t port = 0;
  std::string address;
  // method -> path -> handler; prefixes are stored without the trailing '*'.
  std::map<std::string, std::map<std::string, Route>> exact, prefix;
  std::map<std::string, Upgrade> upgrades;  // GET path -> handler
  std::set<beast::tcp_stream*> open;  // HTTP connections (counted by the caps); io thread only
  // TLS connections handed to an upgrade handler and relayed: like an adopted plain socket they no
  // longer count as HTTP connections (the handler bounds its own), but stop() closes them.
  std::set<beast::tcp_stream*> relays;  // io thread only
  std::unordered_map<std::string, std::size_t> per_address;  // open connections by address; io thread
  std::unique_ptr<asio::ssl::context> tls;  // set by start() when options name a certificate
  Stats stats;

  Impl(asio::io_context& io_, HttpServerOptions o) : io(io_), options(std::move(o)), acceptor(io_) {}

  const Route* find(const std::string& method, const std::string& path) const {
    if (auto m = exact.find(method); m != exact.end())
      if (auto h = m->second.find(path); h != m->second.end()) return &h->second;
    const Route* best = nullptr;
    std::size_t best_len = 0;
    if (auto m = prefix.find(method); m != prefix.end())
      for (const auto& [p, h] : m->second)
        if (path.compare(0, p.size(), p) == 0 && p.size() >= best_len) best = &h, best_len = p.size();
    return best;
  }

  bool path_known(const std::string& path, std::string& allow) const {
    // Each method once, although an exact and a prefix route (or two prefixes) may match.
    std::set<std::string> methods;
    for (const auto* table : {&exact, &prefix})
      for (const auto& [method, routes] : *table)
        for (const auto& [p, h] : routes)
          if (table == &exact ? p == path : path.compare(0, p.size(), p) == 0) methods.insert(method);
    for (const auto& m : methods) allow += (allow.empty() ? "" : ", ") + m;
    return !allow.empty();
  }

  static HttpResponse handler_failed() {
    return HttpResponse::problem(500, "Internal Server Error", "the handler failed; see the server log");
  }

  // The route for a request (HEAD falls back to GET, `head` set), or null.
  const Route* route_for(const HttpRequest& req, bool& head) const {
    head = false;
    if (const auto* r = find(req.method, req.path)) return r;
    if (req.method == "HEAD") {
      if (const auto* r = find("GET", req.path)) {
        head = true;
        return r;
      }
    }
    return nullptr;
  }

  HttpResponse not_routed(const HttpRequest& req) const {
    std::string allow;
    HttpResponse r;
    if (path_known(req.path, allow)) {
      r = HttpResponse::problem(405, "Method Not Allowed", req.method + " is not allowed on " + req.path);
      r.headers.emplace_back("Allow", allow);
    } else {
      r = HttpResponse::problem(404, "Not Found", "no resource at " + req.path);
    }
    // No content in an answer to HEAD (RFC 9110 9.3.2): a client would read it as the start of
    // the next response on the connection (fuzz/http_request).
    if (req.method == "HEAD") r.body.clear();
    return r;
  }

  HttpResponse call_sync(const Route& route, const HttpRequest& req) const {
    try {
      return route.sync(req);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: handler failed: {}", req.method, req.path, e.what());
      return handler_failed();
    }
  }

  void call_async(const Route& route, HttpRequest req, Respond respond) const {
    const std::string what = req.method + " " + req.path;
    try {
      route.async(std::move(req), respond);
    } catch (const std::exception& e) {
      spdlog::error("http: {}: handler failed: {}", what, e.what());
      respond(handler_failed());
    }
  }

  // Synchronous dispatch (tests): an async handler's answer is waited for on this thread.
  HttpResponse dispatch(const HttpRequest& req) const {
    bool head = false;
    const Route* route = route_for(req, head);
    if (!route) return not_routed(req);
    HttpResponse r;
    if (route->sync) {
      r = call_sync(*route, req);
    } else {
      auto done = std::make_shared<std::promise<HttpResponse>>();
      auto answer = done->get_future();
      call_async(*route, req, Respond([done](HttpResponse v) { done->set_value(std::move(v)); }, handler_failed()));
      r = answer.get();
    }
    if (head) r.body.clear();
    return r;
  }
};

HttpServer::HttpServer(asio::io_context& io, HttpServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

HttpServer::~HttpServer() { stop(); }

namespace {
// A second handler for the same method and path would silently replace the first (two
// capabilities claiming one resource): a programming error, caught at start-up.
template <class Routes, class Entry>
void add_route(Routes& exact, Routes& prefix, const std::string& method, std::string path, Entry entry) {
  const std::string given = path;
  const bool is_prefix = path.size() >= 2 && path.ends_with("/*");
  if (is_prefix) path.pop_back();
  bool fresh = (is_prefix ? prefix : exact)[method].emplace(std::move(path), std::move(entry)).second;
  CB_CHECK(fresh, "route " + method + " " + given + " registered twice");
}
}  // namespace

void HttpServer::route(std::string method, std::string path, HttpHandler handler) {
  add_route(impl_->exact, impl_->prefix, method, std::move(path), Impl::Route{std::move(handler), {}});
}

void HttpServer::route(std::string method, std::string path, AsyncHttpHandler handler) {
  add_route(impl_->exact, impl_->prefix, method, std::move(path), Impl::Route{{}, std::move(handler)});
}

void HttpServer::upgrade_route(std::string path, UpgradeHandler handler) {
  impl_->upgrades[std::move(path)] = Impl::Upgrade{std::move(handler), {}};
}

void HttpServer::upgrade_route(std::string path, AsyncUpgradeHandler handler) {
  impl_->upgrades[std::move(path)] = Impl::Upgrade{{}, std::move(handler)};
}

std::vector<std::pair<std::string, std::string>> HttpServer::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [method, routes] : impl_->exact)
    for (const auto& [p, h] : routes) out.emplace_back(method, p);
  for (const auto& [method, routes] : impl_->prefix)
    for (const auto& [p, h] : routes) out.emplace_back(method, p + "*");
  for (const auto& [p, h] : impl_->upgrades) out.emplace_back("GET", p);
  std::sort(out.begin(), out.end());
  return out;
}

HttpResponse HttpServer::dispatch(const HttpRequest& req) const { return impl_->dispatch(req); }

namespace {

http::response<http::string_body> to_beast(HttpResponse r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "callbridge");
  res.set(http::field::content_type, r.content_type);
  res.set(http::field::cache_control, "no-store");
  for (auto& [k, v] : r.headers) res.set(k, v);
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// Suspends the connection's coroutine until `start`'s Reply is answered (from any thread); the
// coroutine resumes on the io thread. An unanswered Reply answers `fallback` when dropped.
template <class T, class Start>
asio::awaitable<T> await_reply(asio::io_context& io, T fallback, Start start) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(T)>(
      [&io, &fallback, &start](auto handler) {
        using Handler = decltype(handler);
        auto slot = std::make_shared<std::optional<Handler>>(std::move(handler));
        Reply<T> reply(
            [&io, slot](T v) {
              asio::post(io, [slot, v = std::move(v)]() mutable {
                if (!*slot) return;
                Handler h = std::move(**slot);
                slot->reset();
                std::move(h)(std::move(v));
              });
            },
            std::move(fallback));
        start(std::move(reply));
      },
      asio::use_awaitable);
}

// The problem the server answers for a read error (431, 413, 400), or nullopt when the connection
// just ends (end of stream, partial message, timeout, reset). Shared by session() and parse_request().
// A request whose body framing we would read differently from a proxy in front of us (request
// smuggling): Beast accepts a Transfer-Encoding without a final "chunked" (e.g. "xchunked") as
// "no body". RFC 9112 6.1: 501 for a transfer coding the server does not understand.
template <class Parser>
std::optional<HttpResponse> framing_problem(const Parser& parser) {
  const auto& h = parser.get();
  if (h.find(http::field::transfer_encoding) == h.end() || parser.chunked()) return std::nullopt;
  return HttpResponse::problem(501, "Not Implemented", "Transfer-Encoding: only chunked is supported");
}

std::optional<HttpResponse> read_problem(const boost::system::error_code& ec, const HttpServerOptions& o) {
  if (ec == http::error::header_limit)
    return HttpResponse::problem(431, "Request Header Fields Too Large",
                                 "headers exceed " + std::to_string(o.max_header_bytes) + " bytes");
  if (ec == http::error::body_limit)
    return HttpResponse::problem(413, "Content Too Large",
                                 "body exceeds " + std::to_string(o.max_body_bytes) + " bytes");
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message)
    return HttpResponse::problem(400, "Bad Request", ec.message());
  return std::nullopt;
}

void limit(http::request_parser<http::string_body>& parser, const HttpServerOptions& o) {
  parser.header_limit(static_cast<std::uint32_t>(o.max_header_bytes));
  parser.body_limit(o.max_body_bytes);
}

// A parsed request as handlers see it (target split into path and query, header names lower-case).
HttpRequest to_request(http::request<http::string_body>& req) {
  HttpRequest r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  auto qm = r.target.find('?');
  r.path = r.target.substr(0, qm);
  if (qm != std::string::npos) r.query = r.target.substr(qm + 1);
  for (const auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.body = std::move(req.body());
  return r;
}

// The answer to `r`: a plain handler is called here, an async one is awaited.
asio::awaitable<HttpResponse> answer_request(std::shared_ptr<HttpServer::Impl> impl, HttpRequest r) {
  bool head = false;
  const auto* route = impl->route_for(r, head);
  if (!route) co_return impl->not_routed(r);
  HttpResponse res;
  if (route->sync) {
    res = impl->call_sync(*route, r);
  } else {
    // Named arguments, no temporaries in the co_await expression: g++ 12 destroys such temporaries
    // twice (coroutine bug; a double free in api_test showed it).
    HttpResponse fallback = HttpServer::Impl::handler_failed();
    auto start = [&](Respond reply) { impl->call_async(*route, std::move(r), std::move(reply)); };
    res = co_await await_reply<HttpResponse>(impl->io, std::move(fallback), std::move(start));
  }
  if (head) res.body.clear();
  co_return res;
}

class AddressSlot;
template <class Stream>
asio::awaitable<void> session(std::shared_ptr<HttpServer::Impl> impl, Stream& stream, AddressSlot& slot);

beast::tcp_stream& lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& lowest(beast::ssl_stream<beast::tcp_stream>& s) { return s.next_layer(); }

// One connection's place in HttpServer::Impl::per_address, from accept to close (io thread).
class AddressSlot {
 public:
  AddressSlot(std::shared_ptr<HttpServer::Impl> impl, std::string address)
      : impl_(std::move(impl)), address_(std::move(address)) {
    ++impl_->per_address[address_];
  }
  AddressSlot(AddressSlot&& o) noexcept : impl_(std::move(o.impl_)), address_(std::move(o.address_)) {}
  AddressSlot(const AddressSlot&) = delete;
  AddressSlot& operator=(const AddressSlot&) = delete;
  AddressSlot& operator=(AddressSlot&&) = delete;
  ~AddressSlot() { release(); }
  // Gives the place back now (a connection handed to an upgrade handler); idempotent.
  void release() {
    if (!impl_) return;
    auto it = impl_->per_address.find(address_);
    if (it != impl_->per_address.end() && --it->second == 0) impl_->per_address.erase(it);
    impl_.reset();
  }

 private:
  std::shared_ptr<HttpServer::Impl> impl_;
  std::string address_;
};

// A connection's entry in one of HttpServer::Impl's sets (open, relays) that stop() closes, from
// the session's start to its end; io thread.
class Listed {
 public:
  Listed(std::set<beast::tcp_stream*>& in, beast::tcp_stream* s) : in_(&in), s_(s) { in_->insert(s_); }
  Listed(const Listed&) = delete;
  Listed& operator=(const Listed&) = delete;
  ~Listed() { in_->erase(s_); }
  void move_to(std::set<beast::tcp_stream*>& other) {
    in_->erase(s_);
    in_ = &other;
    in_->insert(s_);
  }

 private:
  std::set<beast::tcp_stream*>* in_;
  beast::tcp_stream* s_;
};

// The key connections are counted under: the peer's address, IPv4-mapped IPv6 as plain IPv4.
std::string address_key(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

asio::awaitable<void> plain_session(std::shared_ptr<HttpServer::Impl> impl, tcp::socket socket, AddressSlot slot) {
  beast::tcp_stream stream(std::move(socket));
  co_await session(impl, stream, slot);
}

asio::awaitable<void> tls_session(std::shared_ptr<HttpServer::Impl> impl, tcp::socket socket, AddressSlot slot) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *impl->tls);
  impl->open.insert(&stream.next_layer());
  stream.next_layer().expires_after(impl->options.tls_handshake_timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUseTuple);
  impl->open.erase(&stream.next_layer());
  if (ec) {
    // A plain-HTTP client, a scanner, a timeout: not worth more than a debug line.
    spdlog::debug("http: TLS handshake failed: {}", ec.message());
    boost::system::error_code ignored;
    stream.next_layer().socket().close(ignored);
    co_return;
  }
  co_await session(impl, stream, slot);
}

// Copies bytes from `from` to `to` until either side fails or ends, then closes both sockets so
// the opposite pump ends too.
template <class From, class To>
asio::awaitable<void> pump(From& from, To& to, tcp::socket& net, asio::local::stream_protocol::socket& local) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), kUseTuple);
    if (rec || n == 0) break;
    auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf.data(), n), kUseTuple);
    if (wec) break;
  }
  boost::system::error_code ignored;
  net.close(ignored);
  local.close(ignored);
}

asio::awaitable<void> accept_loop(std::shared_ptr<HttpServer::Impl> impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(kUseTuple);
    if (impl->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: log and keep accepting (the limit below normally prevents it).
      spdlog::warn("http: accept failed: {}", ec.message());
      continue;
    }
    ++impl->stats.connections;
    if (impl->open.size() >= impl->options.max_connections) {
      ++impl->stats.rejected_connections;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // One address must not fill the global cap and lock every other client out.
    std::string address = address_key(socket);
    if (auto it = impl->per_address.find(address);
        it != impl->per_address.end() && it->second >= impl->options.max_connections_per_address) {
      ++impl->stats.rejected_per_address;
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    AddressSlot slot(impl, std::move(address));
    if (impl->tls)
      asio::co_spawn(impl->io, tls_session(impl, std::move(socket), std::move(slot)), asio::detached);
    else
      asio::co_spawn(impl->io, plain_session(impl, std::move(socket), std::move(slot)), asio::detached);
  }
}

template <class Stream>
asio::awaitable<void> session(std::shared_ptr<HttpServer::Impl> impl, Stream& stream, AddressSlot& slot) {
  constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  beast::tcp_stream& net = lowest(stream);
  Listed listed(impl->open, &net);

  beast::flat_buffer buffer;
  const auto& o = impl->options;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    limit(parser, o);
    // The first request's line and headers have the short header_timeout (an idle socket gives its
    // slot back quickly); the body, and later requests on a kept-alive connection, read_timeout.
    net.expires_after(first ? o.header_timeout : o.read_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kUseTuple);
    if (!ec) {
      if (auto bad = framing_problem(parser)) {
        net.expires_after(o.write_timeout);
        auto res = to_beast(std::move(*bad), 11, false);
        co_await http::async_write(stream, res, kUseTuple);
        break;
      }
    }
    if (!ec && !parser.is_done()) {
      net.expires_after(o.read_timeout);
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, kUseTuple);
    }
    if (ec) {
      if (first && ec == beast::error::timeout && !parser.is_header_done()) ++impl->stats.header_timeouts;
      std::optional<HttpResponse> answer = read_problem(ec, o);
      if (answer) {
        net.expires_after(o.write_timeout);
        auto res = to_beast(std::move(*answer), 11, false);
        co_await http::async_write(stream, res, kUseTuple);
      }
      break;  // end_of_stream, timeout, reset, or an answered protocol error
    }
    ++impl->stats.requests;
    auto& req = parser.get();
    HttpRequest r = to_request(req);
    {
      boost::system::error_code rec;
      auto ep = net.socket().remote_endpoint(rec);
      if (!rec) r.remote = ep.address().to_string();
    }
    r.secure = kTls;
    const bool keep_alive = req.keep_alive() && !impl->stopped;
    HttpResponse answer;
    if (auto u = impl->upgrades.find(r.path); u != impl->upgrades.end() && r.method == "GET") {
      HttpUpgrade up;
      if (u->second.sync) {
        up = u->second.sync(r);
      } else {
        const auto& handler = u->second.async;
        HttpUpgrade fallback{HttpServer::Impl::handler_failed(), {}};  // named: see answer_request()
        auto start = [&](Reply<HttpUpgrade> reply) { handler(std::move(r), std::move(reply)); };
        up = co_await await_reply<HttpUpgrade>(impl->io, std::move(fallback), std::move(start));
        if (impl->stopped) break;
      }
      if (up.response.status == 101 && up.adopt) {
        http::response<http::empty_body> sw{http::status::switching_protocols, req.version()};
        for (auto& [k, v] : up.response.headers) sw.set(k, v);
        net.expires_after(o.write_timeout);
        auto [uec, un] = co_await http::async_write(stream, sw, kUseTuple);
        if (uec) break;
        std::string early(static_cast<const char*>(buffer.data().data()), buffer.size());
        net.expires_never();
        if constexpr (!kTls) {
          boost::system::error_code rec;
          const int fd = net.release_socket().release(rec);
          if (rec) co_return;
          up.adopt(fd, early);
          co_return;  // the connection belongs to the upgrade handler now
        } else {
          // The handler gets one end of a local socket pair; this coroutine relays the other end
          // through the TLS stream until either side closes (stop() closes `net`, ending both).
          asio::local::stream_protocol::socket mine(impl->io), theirs(impl->io);
          boost::system::error_code pec;
          asio::local::connect_pair(mine, theirs, pec);
          if (pec) {
            spdlog::warn("http: TLS upgrade: socketpair failed: {}", pec.message());
            break;
          }
          const int fd = theirs.release(pec);
          if (pec) break;
          up.adopt(fd, early);
          // From here on the connection is the upgrade handler's, as an adopted plain socket is:
          // it leaves the HTTP connection caps (a terminal server's or a reverse proxy's users
          // share one address; a TLS WebSocket must not hold one of its 64 places for hours).
          listed.move_to(impl->relays);
          slot.release();
          using namespace asio::experimental::awaitable_operators;
          co_await (pump(stream, mine, net.socket(), mine) && pump(mine, stream, net.socket(), mine));
          co_return;
        }
      }
      answer = std::move(up.response);
    } else {
      answer = co_await answer_request(impl, std::move(r));
    }
    // Browsers that once reached us over HTTPS never fall back to plain HTTP (RFC 6797).
    if constexpr (kTls) answer.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
    auto res = to_beast(std::move(answer), req.version(), keep_alive);
    net.expires_after(o.write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kUseTuple);
    if (wec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  net.socket().shutdown(tcp::socket::shutdown_send, ignored);
  net.close();
}

}  // namespace

base::Status HttpServer::start() {
  auto& i = *impl_;
  boost::system::error_code ec;
  tcp::resolver resolver(i.io);
  auto results = resolver.resolve(i.options.host, std::to_string(i.options.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  const std::string where = i.options.host + ":" + std::to_string(i.options.port);
  if (ec || results.empty())
    return fail(Error::invalid_argument("listen " + where + ": cannot resolve: " + ec.message()));
  if (!i.options.tls_cert_file.empty() || !i.options.tls_key_file.empty()) {
    if (i.options.tls_cert_file.empty() || i.options.tls_key_file.empty())
      return fail(Error::invalid_argument("listen " + where + ": TLS needs both a certificate and a key file"));
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain_file(i.options.tls_cert_file, ec);
    if (ec)
      return fail(Error::invalid_argument("TLS certificate " + i.options.tls_cert_file + ": " + ec.message()));
    ctx->use_private_key_file(i.options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return fail(Error::invalid_argument("TLS key " + i.options.tls_key_file + ": " + ec.message()));
    i.tls = std::move(ctx);
  }
  const tcp::endpoint ep = results.begin()->endpoint();
  i.acceptor.open(ep.protocol(), ec);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    i.acceptor.close(ignored);
    return fail(Error::io("listen " + where + ": " + ec.message()));
  }
  auto local = i.acceptor.local_endpoint(ec);
  i.port = local.port();
  i.address = local.address().is_v6() ? "[" + local.address().to_string() + "]:" + std::to_string(i.port)
                                      : local.address().to_string() + ":" + std::to_string(i.port);
  i.stopped = false;
  asio::co_spawn(i.io, accept_loop(impl_), asio::detached);
  return {};
}

std::uint16_t HttpServer::port() const { return impl_->port; }
std::string HttpServer::local_address() const { return impl_->address; }

void HttpServer::stop() {
  auto& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  for (auto* s : i.open) s->socket().close(ignored);
  for (auto* s : i.relays) s->socket().close(ignored);
}

HttpServer::Stats HttpServer::stats() const {
  Stats s = impl_->stats;
  s.open_connections = impl_->open.size();
  return s;
}

ParsedRequest parse_request(std::string_view bytes, const HttpServerOptions& options) {
  ParsedRequest out;
  http::request_parser<http::string_body> parser;
  limit(parser, options);
  parser.eager(true);
  std::size_t used = 0;
  while (!parser.is_done()) {
    boost::system::error_code ec;
    const std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more || (!ec && n == 0)) return out;  // the bytes end inside it
    if (ec) {
      auto problem = read_problem(ec, options);
      if (!problem) return out;
      out.status = ParsedRequest::Status::problem;
      out.problem = std::move(*problem);
      return out;
    }
  }
  if (auto bad = framing_problem(parser)) {
    out.status = ParsedRequest::Status::problem;
    out.problem = std::move(*bad);
    return out;
  }
  out.status = ParsedRequest::Status::request;
  out.request = to_request(parser.get());
  out.consumed = used;
  return out;
}

}  // namespace callbridge::api
