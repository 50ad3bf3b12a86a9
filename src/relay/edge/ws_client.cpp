// The edge's only Boost.Beast translation unit (compile cost; docs/architecture.md).
#include "relay/edge/ws_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <openssl/ssl.h>

#include <deque>
#include <optional>

namespace callbridge::relay::edge {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
}  // namespace

base::Result<WssUrl> parse_wss_url(std::string_view url, std::string_view default_path) {
  constexpr std::string_view kScheme = "wss://";
  if (!url.starts_with(kScheme)) return base::fail(base::Error::invalid_argument("a relay URL starts with wss://"));
  url.remove_prefix(kScheme.size());
  WssUrl out;
  const auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? std::string(default_path) : std::string(url.substr(slash));
  if (out.target.starts_with("?")) out.target = std::string(default_path) + out.target;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return base::fail(base::Error::invalid_argument("bad IPv6 host in relay URL"));
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (authority.starts_with(":")) out.port = std::string(authority.substr(1));
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(authority.substr(colon + 1));
  }
  if (out.host.empty()) return base::fail(base::Error::invalid_argument("the relay URL has no host"));
  if (out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos || out.port.size() > 5)
    return base::fail(base::Error::invalid_argument("the relay URL's port is not a number"));
  return out;
}

struct WsClient::Impl : std::enable_shared_from_this<WsClient::Impl> {
  Impl(asio::io_context& io_, WsClientOptions o, Handlers h)
      : io(io_), options(std::move(o)), handlers(std::move(h)), tls(asio::ssl::context::tls_client), wake(io_),
        read_gate(io_) {}

  asio::io_context& io;
  WsClientOptions options;
  Handlers handlers;
  asio::ssl::context tls;
  std::optional<Ws> ws;
  asio::steady_timer wake;
  asio::steady_timer read_gate;
  bool reading = true;
  std::deque<std::pair<std::string, bool>> queue;
  std::size_t queued = 0;
  bool open = false;
  bool close_requested = false;
  bool reported = false;
  std::string why;

  void finish(const std::string& reason, int status = 0, const std::string& body = {}) {
    if (reported) return;
    reported = true;
    open = false;
    wake.cancel();
    read_gate.cancel();
    if (ws) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(*ws).socket().close(ignored);
    }
    if (handlers.closed) {
      auto h = handlers.closed;  // may destroy us through the owner
      h(reason, status, body);
    }
  }

  asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    tcp::resolver resolver(io);
    auto [rec, results] = co_await resolver.async_resolve(options.url.host, options.url.port, kUseTuple);
    if (reported) co_return;
    if (rec) co_return finish("cannot resolve " + options.url.host + ": " + rec.message());
    auto& lowest = beast::get_lowest_layer(*ws);
    lowest.expires_after(options.handshake_timeout);
    auto [cec, ep] = co_await lowest.async_connect(results, kUseTuple);
    if (reported) co_return;
    if (cec) co_return finish("cannot connect to " + options.url.host + ":" + options.url.port + ": " + cec.message());
    // Frames are small writes that should leave at once, not wait for the previous one's ACK.
    boost::system::error_code nodelay_ignored;
    lowest.socket().set_option(tcp::no_delay(true), nodelay_ignored);
    SSL_set_tlsext_host_name(ws->next_layer().native_handle(), options.url.host.c_str());
    ws->next_layer().set_verify_callback(asio::ssl::host_name_verification(options.url.host));
    auto [hec] = co_await ws->next_layer().async_handshake(asio::ssl::stream_base::client, kUseTuple);
    if (reported) co_return;
    if (hec) co_return finish("TLS handshake with " + options.url.host + " failed: " + hec.message());
    lowest.expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = options.handshake_timeout;
    t.idle_timeout = options.idle_timeout;
    t.keep_alive_pings = true;
    ws->set_option(t);
    ws->read_message_max(options.max_message_bytes);
    ws->auto_fragment(false);
    websocket::response_type res;
    const std::string host = options.url.host + ":" + options.url.port;
    auto [wec] = co_await ws->async_handshake(res, host, options.url.target, kUseTuple);
    if (reported) co_return;
    if (wec) {
      const int status = static_cast<int>(res.result_int());
      co_return finish("WebSocket handshake refused: " + wec.message(), status == 101 ? 0 : status, res.body());
    }
    open = true;
    asio::co_spawn(io, writer(self), asio::detached);
    if (handlers.opened) handlers.opened();
    beast::flat_buffer buffer;
    while (!reported) {
      while (!reading && !reported) {
        read_gate.expires_at(asio::steady_timer::time_point::max());
        co_await read_gate.async_wait(kUseTuple);
      }
      if (reported) co_return;
      buffer.clear();
      auto [ec, n] = co_await ws->async_read(buffer, kUseTuple);
      if (reported) co_return;
      if (ec) {
        std::string reason = ec == websocket::error::closed ? "closed by the relay" : ec.message();
        if (ws->reason().code != websocket::close_code::none) {
          reason += " (close code " + std::to_string(ws->reason().code) + ")";
        }
        co_return finish(reason);
      }
      const std::string_view msg(static_cast<const char*>(buffer.data().data()), buffer.size());
      if (handlers.message) handlers.message(msg, ws->got_text());
    }
  }

  asio::awaitable<void> writer(std::shared_ptr<Impl> self) {
    while (!reported) {
      while (!queue.empty() && !reported) {
        auto [data, text] = std::move(queue.front());
        queue.pop_front();
        ws->text(text);
        auto [ec, n] = co_await ws->async_write(asio::buffer(data), kUseTuple);
        queued -= data.size();
        if (reported) co_return;
        if (ec) co_return finish("write failed: " + ec.message());
      }
      if (close_requested) {
        co_await ws->async_close(websocket::close_code::normal, kUseTuple);
        co_return;  // the read loop ends with `closed`
      }
      wake.expires_at(asio::steady_timer::time_point::max());
      co_await wake.async_wait(kUseTuple);
    }
  }
};

WsClient::WsClient(asio::io_context& io, WsClientOptions options, Handlers handlers)
    : io_(io), options_(std::move(options)), handlers_(std::move(handlers)) {}

WsClient::~WsClient() {
  if (impl_) {
    impl_->handlers = {};
    impl_->finish("gone");
  }
}

void WsClient::connect() {
  if (impl_) {
    impl_->handlers = {};
    impl_->finish("replaced");
  }
  impl_ = std::make_shared<Impl>(io_, options_, handlers_);
  Impl& i = *impl_;
  boost::system::error_code ec;
  i.tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  i.tls.set_verify_mode(asio::ssl::verify_peer);
  if (i.options.ca_file.empty()) {
    i.tls.set_default_verify_paths(ec);
  } else {
    i.tls.load_verify_file(i.options.ca_file, ec);
  }
  i.ws.emplace(i.io, i.tls);
  if (ec) {
    // Reported asynchronously like every other failure.
    asio::post(i.io, [self = impl_, why = "CA file " + i.options.ca_file + ": " + ec.message()] { self->finish(why); });
    return;
  }
  asio::co_spawn(i.io, impl_->run(impl_), asio::detached);
}

bool WsClient::send(std::string data, bool text) {
  if (!impl_) return false;
  Impl& i = *impl_;
  if (!i.open || i.reported || i.close_requested) return false;
  if (i.queued + data.size() > i.options.max_queue_bytes) {
    asio::post(i.io, [self = impl_] { self->finish("the relay does not read fast enough (send queue full)"); });
    i.open = false;
    return false;
  }
  i.queued += data.size();
  i.queue.emplace_back(std::move(data), text);
  i.wake.cancel();
  return true;
}

void WsClient::close() {
  if (!impl_) return;
  Impl& i = *impl_;
  if (i.reported || i.close_requested) return;
  if (!i.open) return abort();
  i.close_requested = true;
  i.wake.cancel();
}

void WsClient::abort() {
  if (!impl_ || impl_->reported) return;
  boost::system::error_code ignored;
  if (impl_->ws) beast::get_lowest_layer(*impl_->ws).socket().close(ignored);
  impl_->open = false;
  asio::post(io_, [self = impl_] { self->finish("closed by this side"); });
}

void WsClient::set_reading(bool on) {
  if (!impl_) return;
  impl_->reading = on;
  impl_->read_gate.cancel();
}

bool WsClient::is_open() const { return impl_ && impl_->open && !impl_->reported; }
std::size_t WsClient::queued_bytes() const { return impl_ ? impl_->queued : 0; }

}  // namespace callbridge::relay::edge
