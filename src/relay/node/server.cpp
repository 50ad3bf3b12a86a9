// The relay node's only Boost.Beast translation unit (compile cost; docs/architecture.md).
#include "relay/node/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <fmt/format.h>

#include <charconv>
#include <deque>
#include <set>

#include "base/json_text.hpp"
#include "relay/auth/edge_auth.hpp"
#include "relay/wire/control.hpp"
#include "base/percent_encoding.hpp"

namespace callbridge::relay::node {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kCloseGrace = std::chrono::seconds(5);
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Ws = websocket::stream<Stream>;
using Request = http::request<http::empty_body>;
using Response = http::response<http::string_body>;

std::string problem(int status, std::string_view type, std::string_view title, std::string_view detail) {
  std::string b = "{\"type\":";
  base::append_json_string(b, "/problems/" + std::string(type));
  b += ",\"title\":";
  base::append_json_string(b, title);
  b += ",\"status\":" + std::to_string(status) + ",\"detail\":";
  base::append_json_string(b, detail);
  b += "}";
  return b;
}

std::string_view query_value(std::string_view query, std::string_view key, bool& present) {
  present = false;
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == key) {
      present = true;
      return eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    }
  }
  return {};
}

constexpr std::string_view kDiagnosticsPrefix = "/v1/diagnostics/";

// Constant time in the secret's length: no early exit on the first differing byte.
bool same_secret(std::string_view given, std::string_view secret) {
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    diff |= static_cast<unsigned char>(secret[i] ^ (i < given.size() ? given[i] : 0));
  }
  return diff == 0;
}

std::string login_message(LoginRefusal r, std::string_view edge) {
  switch (r) {
    case LoginRefusal::unknown_edge:
      return "no edge \"" + std::string(edge) + "\" is registered at this relay (callbridge-relay edge add " +
             std::string(edge) + ")";
    case LoginRefusal::bad_signature: return "the challenge's signature does not verify with the presented key";
    case LoginRefusal::join_required: return "this edge has not joined yet: configure the join token from `edge add`";
    case LoginRefusal::bad_join: return "the join token is not this edge's";
    case LoginRefusal::join_used: return "the join token was used by another key already (callbridge-relay edge reset)";
    case LoginRefusal::bad_key: return "this key is not the one registered for the edge";
    case LoginRefusal::malformed: return "pk and sig must be base64url of an Ed25519 key and signature";
  }
  return "refused";
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_, ServerOptions o, Router& r, Registry& reg, Metrics& m, std::function<bool()> rd)
      : io(io_), options(std::move(o)), router(r), registry(reg), metrics(m), ready(std::move(rd)), acceptor(io_),
        tls(asio::ssl::context::tls_server) {}

  asio::io_context& io;
  ServerOptions options;
  Router& router;
  Registry& registry;
  Metrics& metrics;
  std::function<bool()> ready;
  tcp::acceptor acceptor;
  asio::ssl::context tls;
  bool stopped = true;
  std::uint16_t port = 0;
  std::set<beast::tcp_stream*> open;  // every connection, for stop() and the cap
  std::size_t edges = 0;              // WebSocket sessions by kind (gauges)
  std::size_t clients = 0;

  static std::string metrics_text(const Impl& i);
};

namespace {

// One connection: TLS, HTTP requests, then (maybe) one WebSocket session as an edge or a client.
class Session : public Peer, public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::Impl> impl, tcp::socket socket)
      : impl_(std::move(impl)), ws_(Stream(beast::tcp_stream(std::move(socket)), impl_->tls)), wake_(impl_->io),
        grace_(impl_->io) {
    impl_->open.insert(&lowest());
  }
  ~Session() override { impl_->open.erase(&lowest()); }

  asio::awaitable<void> run();

  void send_text(std::string text) override { enqueue(std::make_shared<const std::string>(std::move(text)), true); }
  void send_binary(FrameBytes frame) override { enqueue(std::move(frame), false); }
  void close(CloseCode code, std::string error_code, std::string message) override {
    if (dead_ || close_requested_) return;
    if (!error_code.empty()) {
      auto text = std::make_shared<const std::string>(
          wire::render_control(wire::ErrorMessage{std::move(error_code), std::move(message)}));
      queued_bytes_ += text->size();
      queue_.push_back({std::move(text), true});
    }
    close_requested_ = true;
    close_code_ = code;
    wake_.cancel();
    // A peer that never answers the close handshake loses its socket after a grace period.
    grace_.expires_after(kCloseGrace);
    grace_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (auto self = weak.lock(); self && !ec) self->abort();
    });
  }

 private:
  beast::tcp_stream& lowest() { return ws_.next_layer().next_layer(); }

  void abort() {
    if (dead_) return;
    dead_ = true;
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
    wake_.cancel();
  }

  void enqueue(FrameBytes data, bool text) {
    if (dead_ || close_requested_) return;
    const std::size_t limit = is_edge_ ? impl_->options.edge_queue_bytes : impl_->options.client_queue_bytes;
    if (queued_bytes_ + data->size() > limit) {
      // It does not read fast enough: drop it (it may reconnect and resume) rather than buffer more.
      ++impl_->metrics.drops[is_edge_ ? "slow-edge" : "slow-client"];
      abort();
      return;
    }
    queued_bytes_ += data->size();
    queue_.push_back({std::move(data), text});
    wake_.cancel();
  }

  asio::awaitable<void> writer(std::shared_ptr<Session> self) {
    for (;;) {
      while (!queue_.empty() && !dead_) {
        Out out = queue_.front();
        ws_.text(out.text);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(*out.data), kUseTuple);
        if (ec) {
          abort();
          co_return;
        }
        queued_bytes_ -= out.data->size();
        queue_.pop_front();
      }
      if (dead_) co_return;
      if (close_requested_) {
        auto [ec] = co_await ws_.async_close(websocket::close_reason(static_cast<std::uint16_t>(close_code_)), kUseTuple);
        if (ec) abort();
        co_return;
      }
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(kUseTuple);
    }
  }

  asio::awaitable<bool> respond(Response res, bool keep_alive) {
    res.set(http::field::server, "callbridge-relay");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(ws_.next_layer(), res, kUseTuple);
    co_return !ec && keep_alive;
  }

  Response reply(int status, std::string content_type, std::string body) {
    Response res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    return res;
  }

  Response refuse(int status, std::string_view type, std::string_view title, std::string_view detail) {
    return reply(status, "application/problem+json", problem(status, type, title, detail));
  }

  // GET /v1/diagnostics/EDGE (docs/relay.md "Privacy mode"): the operator's bearer token, then what
  // the edge chose to show (nothing while it keeps privacy strict).
  Response diagnostics(const Request& req, std::string_view edge) {
    const std::string& token = impl_->options.diagnostics_token;
    if (token.empty())
      return refuse(404, "diagnostics-off", "Diagnostics off",
                    "this relay has no [diagnostics] token_file; per-edge diagnostics are off");
    const auto auth = req[http::field::authorization];
    const std::string_view given(auth.data(), auth.size());
    if (!given.starts_with("Bearer ") || !same_secret(given.substr(7), token)) {
      Response r = refuse(401, "unauthorized", "Unauthorized", "send the relay's diagnostics token as a bearer token");
      r.set(http::field::www_authenticate, "Bearer");
      return r;
    }
    if (!wire::valid_edge_id(edge))
      return refuse(400, "bad-edge", "Bad edge id", "edge must be an edge name ([a-z0-9][a-z0-9-]{0,62})");
    auto d = impl_->router.edge_diagnostics(std::string(edge), Clock::now());
    using A = Router::EdgeDiagnostics::Answer;
    if (d.answer == A::not_here)
      return refuse(404, "edge-not-here", "Edge not here",
                    "the edge is not connected to this node (" + impl_->router.options().node + ")");
    if (d.answer == A::strict)
      return refuse(403, "privacy-strict", "Privacy strict",
                    "this edge keeps its privacy strict; only its admin can relax it ([relay] privacy = \"relaxed\" "
                    "in its callbridged configuration)");
    Response r = reply(200, "application/json", std::move(d.json));
    r.set(http::field::cache_control, "no-store");
    return r;
  }

  asio::awaitable<void> websocket_session(Request req, bool edge, std::string edge_id, wire::ClientId client,
                                          std::optional<std::uint64_t> since);
  asio::awaitable<void> read_loop(Router::ClientConn* conn);

  struct Out {
    FrameBytes data;
    bool text;
  };

  std::shared_ptr<Server::Impl> impl_;
  Ws ws_;
  asio::steady_timer wake_;
  asio::steady_timer grace_;
  std::deque<Out> queue_;
  std::size_t queued_bytes_ = 0;
  bool dead_ = false;
  bool close_requested_ = false;
  CloseCode close_code_ = CloseCode::normal;
  bool is_edge_ = false;
  std::string edge_id_;
  bool logged_in_ = false;
};

asio::awaitable<void> Session::run() {
  auto self = shared_from_this();
  lowest().expires_after(impl_->options.handshake_timeout);
  auto [hec] = co_await ws_.next_layer().async_handshake(asio::ssl::stream_base::server, kUseTuple);
  if (hec) {
    spdlog::debug("relay: TLS handshake failed: {}", hec.message());
    co_return;
  }
  beast::flat_buffer buffer;
  for (;;) {
    lowest().expires_after(impl_->options.handshake_timeout);
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(0);
    auto [ec, n] = co_await http::async_read(ws_.next_layer(), buffer, parser, kUseTuple);
    if (ec) co_return;
    Request req = parser.release();
    const std::string_view target(req.target().data(), req.target().size());
    const auto qpos = target.find('?');
    const std::string_view path = target.substr(0, qpos);
    const std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
    const bool keep = req.keep_alive();
    const bool is_ws = websocket::is_upgrade(req);

    if (path == "/v1/edge" || path == "/v1/client") {
      if (!is_ws) {
        if (!co_await respond(refuse(426, "upgrade-required", "WebSocket required",
                                     "this path speaks WebSocket (docs/relay.md)"),
                              false))
          co_return;
        continue;
      }
      buffer = {};  // the upgrade request's bytes; nothing follows it before the 101
      if (path == "/v1/edge") {
        co_await websocket_session(std::move(req), true, {}, {}, std::nullopt);
        co_return;
      }
      bool present = false;
      const std::string edge = base::percent_decode(query_value(query, "edge", present), base::PlusIs::space);
      const std::string client_hex = base::percent_decode(query_value(query, "client", present), base::PlusIs::space);
      const std::string since_text = base::percent_decode(query_value(query, "since", present), base::PlusIs::space);
      auto client = wire::parse_client_id_hex(client_hex);
      std::optional<std::uint64_t> since;
      if (present) {
        std::uint64_t v = 0;
        auto [p, err] = std::from_chars(since_text.data(), since_text.data() + since_text.size(), v);
        if (err != std::errc() || p != since_text.data() + since_text.size() || since_text.empty()) {
          ++impl_->metrics.client_refusals["bad-since"];
          co_await respond(refuse(400, "bad-since", "Bad since", "since must be a decimal sequence number"), false);
          co_return;
        }
        since = v;
      }
      if (!wire::valid_edge_id(edge)) {
        ++impl_->metrics.client_refusals["bad-edge"];
        co_await respond(refuse(400, "bad-edge", "Bad edge id", "edge must be an edge name ([a-z0-9][a-z0-9-]{0,62})"),
                         false);
        co_return;
      }
      if (!client) {
        ++impl_->metrics.client_refusals["bad-client"];
        co_await respond(refuse(400, "bad-client", "Bad client id", "client must be 32 hex digits"), false);
        co_return;
      }
      if (auto st = impl_->registry.reload_if_changed(); !st) spdlog::warn("relay: {}", st.error().message());
      if (impl_->registry.find(edge) == nullptr) {
        ++impl_->metrics.client_refusals["unknown-edge"];
        co_await respond(refuse(404, "unknown-edge", "Unknown edge", "no such edge at this relay"), false);
        co_return;
      }
      co_await websocket_session(std::move(req), false, edge, *client, since);
      co_return;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      if (!co_await respond(refuse(405, "method-not-allowed", "Method not allowed", "the relay answers GET only"), false))
        co_return;
      continue;
    }
    Response res;
    if (path == "/healthz") {
      res = reply(200, "text/plain", "ok\n");
    } else if (path == "/readyz") {
      const bool ok = !impl_->stopped && (!impl_->ready || impl_->ready());
      res = reply(ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready: the cluster bus is not connected\n");
    } else if (path == "/metrics") {
      res = reply(200, "text/plain; version=0.0.4", Server::Impl::metrics_text(*impl_));
    } else if (path.starts_with(kDiagnosticsPrefix)) {
      res = diagnostics(req, path.substr(kDiagnosticsPrefix.size()));
    } else if (impl_->options.static_files) {
      StaticReply s = impl_->options.static_files(path);
      res = reply(s.status, s.content_type, std::move(s.body));
    } else {
      res = refuse(404, "not-found", "Not found", "no such path");
    }
    if (req.method() == http::verb::head) res.body().clear();
    if (!co_await respond(std::move(res), keep)) co_return;
  }
}

asio::awaitable<void> Session::websocket_session(Request req, bool edge, std::string edge_id,
                                                 wire::ClientId client, std::optional<std::uint64_t> since) {
  auto self = shared_from_this();
  is_edge_ = edge;
  lowest().expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = impl_->options.handshake_timeout;
  t.idle_timeout = std::chrono::seconds(30);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  // Up to twice the limit a message is read and refused by the router with an error message and a
  // counter; beyond that the WebSocket layer fails the connection (1009) before buffering it.
  ws_.read_message_max(2 * impl_->router.options().max_frame_bytes);
  ws_.auto_fragment(false);
  auto [ec] = co_await ws_.async_accept(req, kUseTuple);
  if (ec) co_return;
  req = Request{};  // its fields are not needed for the rest of the session
  asio::co_spawn(impl_->io, writer(self), asio::detached);

  Router::ClientConn* conn = nullptr;
  if (edge) {
    ++impl_->edges;
    const std::string nonce = auth::random_bytes(auth::kNonceBytes);
    send_text(wire::render_control(wire::Challenge{auth::b64url(nonce), impl_->router.options().node}));
    asio::steady_timer deadline(impl_->io);
    deadline.expires_after(impl_->options.handshake_timeout);
    deadline.async_wait([weak = weak_from_this()](boost::system::error_code e) {
      if (auto s = weak.lock(); s && !e && !s->logged_in_) s->abort();
    });
    beast::flat_buffer b;
    auto [rec, n] = co_await ws_.async_read(b, kUseTuple);
    deadline.cancel();
    if (!rec) {
      const std::string_view text(static_cast<const char*>(b.data().data()), b.size());
      auto control = ws_.got_text() ? wire::parse_control(text) : base::Result<wire::Control>(base::fail(base::Error::protocol("binary before hello")));
      const auto* hello = control ? std::get_if<wire::Hello>(&*control) : nullptr;
      if (hello == nullptr) {
        ++impl_->metrics.edge_logins["malformed"];
        close(CloseCode::policy, "malformed",
              control ? "the first message of an edge is its hello" : control.error().message());
      } else {
        if (auto st = impl_->registry.reload_if_changed(); !st) spdlog::warn("relay: {}", st.error().message());
        if (auto refusal = impl_->registry.login(*hello, nonce)) {
          ++impl_->metrics.edge_logins[std::string(to_code(*refusal))];
          spdlog::info("relay: edge \"{}\" refused: {}", hello->edge, to_code(*refusal));
          close(CloseCode::policy, std::string(to_code(*refusal)), login_message(*refusal, hello->edge));
        } else {
          ++impl_->metrics.edge_logins["ok"];
          logged_in_ = true;
          edge_id_ = hello->edge;
          const bool relaxed = hello->privacy == wire::kPrivacyRelaxed;
          spdlog::info("relay: edge \"{}\" logged in{}", edge_id_, relaxed ? " (privacy relaxed by the edge)" : "");
          impl_->router.edge_up(edge_id_, this, Clock::now(), relaxed);
        }
      }
    }
  } else {
    ++impl_->clients;
    conn = impl_->router.client_open(edge_id, client, since, this, Clock::now());
    edge_id_ = edge_id;
  }
  co_await read_loop(conn);
  if (edge) {
    --impl_->edges;
    if (logged_in_) {
      spdlog::info("relay: edge \"{}\" disconnected", edge_id_);
      impl_->router.edge_closed(edge_id_, this, Clock::now());
    }
  } else {
    --impl_->clients;
    if (conn != nullptr) impl_->router.client_closed(conn, Clock::now());
  }
  abort();
  grace_.cancel();
}

asio::awaitable<void> Session::read_loop(Router::ClientConn* conn) {
  beast::flat_buffer b;
  while (!dead_) {
    b.clear();
    auto [ec, n] = co_await ws_.async_read(b, kUseTuple);
    if (ec) {
      if (ec == websocket::error::message_too_big) ++impl_->metrics.rejected["oversized"];
      break;
    }
    if (close_requested_) continue;  // draining until the peer answers our close
    const std::string_view msg(static_cast<const char*>(b.data().data()), b.size());
    const auto now = Clock::now();
    if (is_edge_) {
      if (!logged_in_) continue;
      if (ws_.got_text()) {
        impl_->router.edge_text(edge_id_, this, msg);
      } else {
        impl_->router.edge_binary(edge_id_, this, msg, now);
      }
    } else if (conn != nullptr) {
      if (ws_.got_text()) {
        impl_->router.client_text(conn, msg);
      } else {
        impl_->router.client_binary(conn, msg, now);
      }
    }
  }
}

asio::awaitable<void> accept_loop(std::shared_ptr<Server::Impl> impl) {
  for (;;) {
    auto [ec, socket] = co_await impl->acceptor.async_accept(kUseTuple);
    if (impl->stopped || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // Out of file descriptors (EMFILE) lasts until a connection closes: wait instead of spinning
      // on accept and logging a line per turn (relay_bench at the fd limit: 2.3M lines).
      spdlog::warn("relay: accept failed: {} (retrying in 100 ms)", ec.message());
      asio::steady_timer pause(impl->io);
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      if (impl->stopped) co_return;
      continue;
    }
    if (impl->open.size() >= impl->options.max_connections) {
      ++impl->metrics.drops["connection-limit"];
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    // Every message is one small write that should leave at once (latency, docs/relay.md
    // "Performance"); with Nagle a frame waits for the ACK of the previous one.
    boost::system::error_code nodelay_ignored;
    socket.set_option(tcp::no_delay(true), nodelay_ignored);
    auto session = std::make_shared<Session>(impl, std::move(socket));
    asio::co_spawn(impl->io, [session]() -> asio::awaitable<void> { co_await session->run(); }, asio::detached);
  }
}

}  // namespace

std::string Server::Impl::metrics_text(const Impl& i) {
  const Metrics& m = i.metrics;
  const Router& r = i.router;
  std::string out;
  auto gauge = [&](std::string_view name, std::string_view help, std::uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, v);
  };
  auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, v);
  };
  auto labelled = [&](std::string_view name, std::string_view help, std::string_view label,
                      const std::map<std::string, std::uint64_t>& values) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n", name, help);
    for (const auto& [k, v] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, k, v);
  };
  gauge("relay_edges_connected", "Edges logged in on this node.", r.edges_connected());
  gauge("relay_clients_connected", "Client connections on this node.", r.clients_connected());
  gauge("relay_connections", "Open TCP connections.", i.open.size());
  gauge("relay_windows", "Edges with a frame window on this node.", r.windows());
  gauge("relay_window_frames", "Frames held in windows.", r.window_frames());
  gauge("relay_window_bytes", "Bytes held in windows.", r.window_bytes());
  counter("relay_frames_to_clients_total", "Edge-to-client frames accepted.", m.frames_to_clients);
  counter("relay_bytes_to_clients_total", "Edge-to-client bytes accepted.", m.bytes_to_clients);
  counter("relay_frames_to_edges_total", "Client-to-edge frames accepted.", m.frames_to_edges);
  counter("relay_bytes_to_edges_total", "Client-to-edge bytes accepted.", m.bytes_to_edges);
  counter("relay_frames_delivered_total", "Frames written towards local clients.", m.frames_delivered);
  counter("relay_duplicate_frames_total", "Edge-to-client frames seen before (outbox replays).", m.duplicates);
  counter("relay_client_connections_total", "Client connections accepted.", m.client_connections);
  counter("relay_call_summaries_total", "Call summaries accepted from edges that relaxed their privacy.",
          m.call_summaries);
  counter("relay_bus_published_total", "Messages published to the cluster bus.", m.bus_published);
  counter("relay_bus_received_total", "Messages received from the cluster bus.", m.bus_received);
  labelled("relay_frames_rejected_total", "Messages refused, by reason.", "reason", m.rejected);
  labelled("relay_drops_total", "Connections or frames dropped, by reason.", "reason", m.drops);
  labelled("relay_edge_logins_total", "Edge logins, by result.", "result", m.edge_logins);
  labelled("relay_client_refusals_total", "Client connections refused before the upgrade, by reason.", "reason",
           m.client_refusals);
  return out;
}

Server::Server(asio::io_context& io, ServerOptions options, Router& router, Registry& registry, Metrics& metrics,
               std::function<bool()> ready)
    : impl_(std::make_shared<Impl>(io, std::move(options), router, registry, metrics, std::move(ready))) {}

Server::~Server() { stop(); }

base::Status Server::start() {
  Impl& i = *impl_;
  boost::system::error_code ec;
  if (i.options.tls_cert_file.empty() || i.options.tls_key_file.empty()) {
    return base::fail(base::Error::invalid_argument("the relay needs a TLS certificate and key (tls_cert_file, tls_key_file)"));
  }
  i.tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  // OpenSSL frees a connection's record buffers (~34 KB) while it is idle (memory per client).
  SSL_CTX_set_mode(i.tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  i.tls.use_certificate_chain_file(i.options.tls_cert_file, ec);
  if (ec) return base::fail(base::Error::invalid_argument("TLS certificate " + i.options.tls_cert_file + ": " + ec.message()));
  i.tls.use_private_key_file(i.options.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return base::fail(base::Error::invalid_argument("TLS key " + i.options.tls_key_file + ": " + ec.message()));
  const std::string where = i.options.host + ":" + std::to_string(i.options.port);
  auto address = asio::ip::make_address(i.options.host, ec);
  if (ec) return base::fail(base::Error::invalid_argument("listen " + where + ": not an IP address"));
  const tcp::endpoint ep(address, i.options.port);
  i.acceptor.open(ep.protocol(), ec);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    i.acceptor.close(ignored);
    return base::fail(base::Error::io("listen " + where + ": " + ec.message()));
  }
  i.port = i.acceptor.local_endpoint(ec).port();
  i.stopped = false;
  asio::co_spawn(i.io, accept_loop(impl_), asio::detached);
  return {};
}

void Server::stop() {
  Impl& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  for (auto* s : i.open) s->socket().close(ignored);
}

std::uint16_t Server::port() const { return impl_->port; }
std::size_t Server::connections() const { return impl_->open.size(); }
std::string Server::metrics_text() const { return Impl::metrics_text(*impl_); }

}  // namespace callbridge::relay::node
