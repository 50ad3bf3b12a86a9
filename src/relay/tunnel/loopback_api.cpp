#include "relay/tunnel/loopback_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <openssl/x509_vfy.h>

namespace callbridge::relay::tunnel {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ws = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string authority(const LoopbackOptions& o) {
  const bool v6 = o.host.find(':') != std::string::npos;
  return (v6 ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
}

template <typename Stream>
asio::awaitable<base::Result<ApiResponse>> exchange(Stream& stream, const LoopbackOptions& o, ApiRequest r) {
  bhttp::verb verb = bhttp::string_to_verb(r.method);
  bhttp::request<bhttp::string_body> req(verb, r.target, 11);
  req.set(bhttp::field::host, authority(o));
  req.set(bhttp::field::origin, std::string(o.tls_cert_file.empty() ? "http://" : "https://") + authority(o));
  req.set(bhttp::field::user_agent, "callbridge-relay-tunnel");
  for (const auto& [k, v] : r.headers) req.set(k, v);
  if (!r.body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put || verb == bhttp::verb::patch) {
    req.body() = std::move(r.body);
    req.prepare_payload();
  }
  req.keep_alive(false);
  auto [wec, wn] = co_await bhttp::async_write(stream, req, kUseTuple);
  if (wec) co_return base::fail(base::Error::unavailable("callbridged API: " + wec.message()));
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(o.max_body_bytes);
  auto [rec, rn] = co_await bhttp::async_read(stream, buf, parser, kUseTuple);
  if (rec) co_return base::fail(base::Error::unavailable("callbridged API answer: " + rec.message()));
  auto res = parser.release();
  ApiResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  co_return out;
}

asio::awaitable<base::Result<ApiResponse>> do_request(LoopbackOptions o, ApiRequest r, std::shared_ptr<void> tls) {
  auto ex = co_await asio::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(o.timeout);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(o.host, ec);
  if (ec) co_return base::fail(base::Error::invalid_argument("tunnel: API address " + o.host));
  auto [cec] = co_await stream.async_connect(tcp::endpoint(addr, o.port), kUseTuple);
  if (cec) co_return base::fail(base::Error::unavailable("callbridged API at " + authority(o) + ": " + cec.message()));
  if (!tls) {
    auto out = co_await exchange(stream, o, std::move(r));
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  beast::ssl_stream<beast::tcp_stream> s(std::move(stream), *static_cast<ssl::context*>(tls.get()));
  auto [hec] = co_await s.async_handshake(ssl::stream_base::client, kUseTuple);
  if (hec) co_return base::fail(base::Error::unavailable("callbridged API at " + authority(o) + ": TLS: " + hec.message()));
  co_return co_await exchange(s, o, std::move(r));
}

// One event stream: the WebSocket and what ends it.
template <typename NextLayer>
struct WsState {
  using Next = NextLayer;
  template <typename... A>
  explicit WsState(A&&... a) : socket(std::forward<A>(a)...) {}
  ws::stream<NextLayer> socket;
  bool closed = false;  // close() was called: no more callbacks
  std::function<void()> on_open;
  std::function<void(std::string)> on_message;
  std::function<void(int, std::string)> on_close;
};

template <typename Next>
class WsStream final : public LocalApi::Stream {
 public:
  explicit WsStream(std::shared_ptr<WsState<Next>> s) : s_(std::move(s)) {}
  ~WsStream() override { close(); }
  void close() override {
    if (s_->closed) return;
    s_->closed = true;
    beast::error_code ec;
    beast::get_lowest_layer(s_->socket).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(s_->socket).close();
  }

 private:
  std::shared_ptr<WsState<Next>> s_;
};

template <typename Next>
asio::awaitable<void> run_ws(std::shared_ptr<WsState<Next>> s, LoopbackOptions o, std::string target, Headers headers,
                             std::shared_ptr<bool> alive) {
  constexpr bool kTls = !std::is_same_v<Next, beast::tcp_stream>;
  auto finish = [&](int code, std::string reason) {
    if (!s->closed && *alive) {
      s->closed = true;
      if (s->on_close) s->on_close(code, std::move(reason));
    }
  };
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(o.host, ec);
  if (ec) co_return finish(1006, "bad API address");
  auto& lowest = beast::get_lowest_layer(s->socket);
  lowest.expires_after(o.timeout);
  auto [cec] = co_await lowest.async_connect(tcp::endpoint(addr, o.port), kUseTuple);
  if (cec) co_return finish(1006, "callbridged API: " + cec.message());
  if constexpr (kTls) {
    auto [tec] = co_await s->socket.next_layer().async_handshake(ssl::stream_base::client, kUseTuple);
    if (tec) co_return finish(1006, "callbridged API: TLS: " + tec.message());
  }
  const std::string auth = authority(o);
  s->socket.set_option(ws::stream_base::decorator([auth, headers](ws::request_type& req) {
    req.set(bhttp::field::origin, std::string(kTls ? "https://" : "http://") + auth);
    req.set(bhttp::field::user_agent, "callbridge-relay-tunnel");
    for (const auto& [k, v] : headers) req.set(k, v);
  }));
  s->socket.read_message_max(o.max_ws_message_bytes);
  ws::response_type res;
  auto [hec] = co_await s->socket.async_handshake(res, auth, target, kUseTuple);
  if (hec) {
    const int status = static_cast<int>(res.result_int());
    co_return finish(status == 401 || status == 403 ? 1008 : 1006,
                     status ? "the API answered " + std::to_string(status) : hec.message());
  }
  lowest.expires_never();
  s->socket.set_option(ws::stream_base::timeout::suggested(beast::role_type::client));
  if (s->closed || !*alive) co_return;
  if (s->on_open) s->on_open();
  beast::flat_buffer buf;
  for (;;) {
    auto [rec, n] = co_await s->socket.async_read(buf, kUseTuple);
    if (s->closed || !*alive) co_return;
    if (rec) {
      // The API's close frame, also when answering it failed (the API closed the socket first).
      if (rec == ws::error::closed || s->socket.reason().code != ws::close_code::none)
        co_return finish(s->socket.reason().code, std::string(s->socket.reason().reason.c_str()));
      co_return finish(1006, rec.message());
    }
    if (s->socket.got_text() && s->on_message) s->on_message(beast::buffers_to_string(buf.data()));
    buf.consume(buf.size());
  }
}

}  // namespace

std::string loopback_host(std::string_view h) {
  if (h.empty() || h == "0.0.0.0" || h == "*") return "127.0.0.1";
  if (h == "::" || h == "[::]") return "::1";
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') return std::string(h.substr(1, h.size() - 2));
  return std::string(h);
}

LoopbackApi::LoopbackApi(asio::io_context& io, LoopbackOptions options) : io_(io), options_(std::move(options)) {
  CB_CHECK(options_.tls_cert_file.empty(), "LoopbackApi: TLS needs create()");
}

base::Result<std::unique_ptr<LoopbackApi>> LoopbackApi::create(asio::io_context& io, LoopbackOptions options) {
  std::shared_ptr<void> tls;
  if (!options.tls_cert_file.empty()) {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (!ec) ctx->load_verify_file(options.tls_cert_file, ec);
    if (ec)
      return base::fail(base::Error::invalid_argument("tunnel: the API's certificate " + options.tls_cert_file + ": " +
                                                      ec.message()));
    // The daemon's own certificates are the trust anchors, also a leaf of a longer chain.
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx->native_handle()), X509_V_FLAG_PARTIAL_CHAIN);
    tls = ctx;
  }
  std::string cert = std::move(options.tls_cert_file);
  std::unique_ptr<LoopbackApi> api(new LoopbackApi(io, std::move(options)));
  api->options_.tls_cert_file = std::move(cert);
  api->tls_ = std::move(tls);
  return api;
}

LoopbackApi::~LoopbackApi() { *alive_ = false; }

void LoopbackApi::request(ApiRequest req, std::function<void(base::Result<ApiResponse>)> done) {
  asio::co_spawn(io_, do_request(options_, std::move(req), tls_),
                 [alive = alive_, done = std::move(done)](std::exception_ptr e, base::Result<ApiResponse> r) {
                   if (!*alive) return;
                   if (e) return done(base::fail(base::Error::internal("tunnel request failed")));
                   done(std::move(r));
                 });
}

std::unique_ptr<LocalApi::Stream> LoopbackApi::subscribe(std::string target, Headers headers,
                                                          std::function<void()> on_open,
                                                          std::function<void(std::string)> on_message,
                                                          std::function<void(int, std::string)> on_close) {
  auto start = [&](auto s) -> std::unique_ptr<LocalApi::Stream> {
    s->on_open = std::move(on_open);
    s->on_message = std::move(on_message);
    s->on_close = std::move(on_close);
    asio::co_spawn(io_, run_ws(s, options_, std::move(target), std::move(headers), alive_), asio::detached);
    using Next = typename std::remove_cvref_t<decltype(*s)>::Next;
    return std::make_unique<WsStream<Next>>(s);
  };
  if (tls_)
    return start(std::make_shared<WsState<beast::ssl_stream<beast::tcp_stream>>>(
        io_.get_executor(), *static_cast<ssl::context*>(tls_.get())));
  return start(std::make_shared<WsState<beast::tcp_stream>>(io_.get_executor()));
}

}  // namespace callbridge::relay::tunnel
