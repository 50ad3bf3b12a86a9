#include "relay/edge/relay_client.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <unordered_set>

#include "relay/wire/control.hpp"

namespace callbridge::relay::edge {
namespace asio = boost::asio;

struct RelayClient::Timers {
  explicit Timers(asio::io_context& io) : reconnect(io), login(io) {}
  asio::steady_timer reconnect;
  asio::steady_timer login;
};

namespace {
std::string key_of(const wire::ClientId& id) { return std::string(id.begin(), id.end()); }

// Where a client's seq numbering starts: microseconds since the epoch, so a restarted edge (which
// forgot its counters) continues above every seq it used before.
std::uint64_t seq_origin() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
}  // namespace

base::Result<std::unique_ptr<RelayClient>> RelayClient::create(asio::io_context& io, RelayClientOptions options) {
  std::vector<WssUrl> urls;
  for (const std::string& u : [&] {
         std::vector<std::string> all{options.url};
         all.insert(all.end(), options.fallback_urls.begin(), options.fallback_urls.end());
         return all;
       }()) {
    auto url = parse_wss_url(u, "/v1/edge");
    if (!url) return base::fail(base::Error::invalid_argument("[relay] url " + u + ": " + url.error().message()));
    urls.push_back(std::move(*url));
  }
  if (!wire::valid_edge_id(options.edge_id)) {
    return base::fail(base::Error::invalid_argument("[relay] edge_id: not an edge name"));
  }
  if (options.keys.secret_key.size() != auth::kSecretKeyBytes) {
    return base::fail(base::Error::invalid_argument("relay edge key missing"));
  }
  return std::unique_ptr<RelayClient>(new RelayClient(io, std::move(options), std::move(urls)));
}

RelayClient::RelayClient(asio::io_context& io, RelayClientOptions options, std::vector<WssUrl> urls)
    : io_(io),
      options_(std::move(options)),
      ws_(io,
          WsClientOptions{.url = urls.front(),
                          .ca_file = options_.ca_file,
                          .max_message_bytes = options_.max_frame_bytes + 1024,
                          .max_queue_bytes = options_.outbox_bytes + 4 * options_.max_frame_bytes},
          WsClient::Handlers{
              .opened = [this] {},
              .message = [this](std::string_view m, bool text) { on_message(m, text); },
              .closed = [this](const std::string& why, int status, const std::string& body) { on_closed(why, status, body); },
          }),
      urls_(std::move(urls)),
      backoff_(options_.backoff),
      timers_(std::make_unique<Timers>(io)) {}

RelayClient::~RelayClient() {
  handlers_ = {};  // no handler runs from the destructor
  stop();
}

void RelayClient::start() {
  if (running_) return;
  running_ = true;
  connect();
}

void RelayClient::stop() {
  if (!running_) return;
  running_ = false;
  timers_->reconnect.cancel();
  timers_->login.cancel();
  const bool was_up = status_.up;
  status_.up = false;
  ws_.close();
  if (was_up && handlers_.link) handlers_.link(false);
}

void RelayClient::connect() {
  if (options_.may_connect && !options_.may_connect()) {
    status_.last_error = "not connecting: this node does not hold the edge's lease";
    schedule_reconnect();
    return;
  }
  challenged_ = false;
  ws_.connect();
  timers_->login.expires_after(options_.login_timeout);
  timers_->login.async_wait([this](boost::system::error_code ec) {
    if (ec || status_.up || !running_) return;
    status_.last_error = "no welcome from the relay in time";
    ws_.abort();
  });
}

void RelayClient::on_message(std::string_view message, bool text) {
  if (!text) {
    if (!status_.up) return;
    auto frame = wire::parse_frame(wire::as_bytes(message), options_.max_frame_bytes);
    if (!frame || frame->header.kind != wire::Kind::client_to_edge) {
      ++status_.frames_rejected;
      spdlog::warn("relay: a frame from the relay refused: {}",
                   frame ? "not a client-to-edge frame" : frame.error().message());
      return;
    }
    ++status_.frames_received;
    if (handlers_.frame) {
      std::span<const std::uint8_t, wire::kHeaderSize> header(frame->header_bytes.data(), wire::kHeaderSize);
      handlers_.frame(frame->header, header,
                      std::string_view(reinterpret_cast<const char*>(frame->payload.data()), frame->payload.size()));
    }
    return;
  }
  auto control = wire::parse_control(message);
  if (!control) {
    spdlog::warn("relay: {}", control.error().message());
    return;
  }
  if (auto* c = std::get_if<wire::Challenge>(&*control)) {
    auto nonce = auth::from_b64url(c->nonce);
    if (!nonce || nonce->size() != auth::kNonceBytes || challenged_) {
      status_.last_error = "the relay sent a bad challenge";
      ws_.abort();
      return;
    }
    challenged_ = true;
    wire::Hello hello{options_.edge_id, auth::b64url(options_.keys.public_key),
                      auth::b64url(auth::sign(options_.keys, auth::challenge_message(*nonce, options_.edge_id))),
                      std::nullopt, std::nullopt};
    if (!options_.join_token.empty()) hello.join = options_.join_token;
    hello.privacy = std::string(options_.privacy_relaxed ? wire::kPrivacyRelaxed : wire::kPrivacyStrict);
    status_.node = c->node;
    ws_.send(wire::render_control(hello), true);
  } else if (auto* w = std::get_if<wire::Welcome>(&*control)) {
    if (status_.up || !challenged_) return;
    timers_->login.cancel();
    status_.up = true;
    status_.node = w->node;
    status_.last_error.clear();
    ++status_.logins;
    backoff_.reset();
    spdlog::info("relay: logged in at {}:{} (node {}) as edge \"{}\"", urls_[url_index_].host, urls_[url_index_].port,
                 w->node, options_.edge_id);
    replay_outbox();
    if (handlers_.link) handlers_.link(true);
    if (on_login_ && options_.privacy_relaxed && status_.up) on_login_();
  } else if (auto* e = std::get_if<wire::ErrorMessage>(&*control)) {
    status_.last_error = e->code + ": " + e->message;
    spdlog::error("relay: the relay refused this edge: {} ({})", e->message, e->code);
  } else if (auto* cs = std::get_if<wire::ClientState>(&*control)) {
    if (cs->connected) {
      if (handlers_.client_connected) handlers_.client_connected(cs->client);
    } else {
      // Its counter goes (bounded memory); if it comes back, the time-based origin is above it.
      seqs_.erase(key_of(cs->client));
      if (handlers_.client_gone) handlers_.client_gone(cs->client);
    }
  }
}

void RelayClient::on_closed(const std::string& why, int http_status, const std::string& body) {
  timers_->login.cancel();
  const bool was_up = status_.up;
  status_.up = false;
  if (status_.last_error.empty() || was_up) status_.last_error = why;
  const WssUrl& at = urls_[url_index_];
  if (was_up) {
    spdlog::warn("relay: connection to {}:{} lost: {}", at.host, at.port, why);
  } else {
    spdlog::debug("relay: connecting to {}:{} failed: {}", at.host, at.port, status_.last_error);
  }
  if (was_up && handlers_.link) handlers_.link(false);
  if (!was_up && urls_.size() > 1) {
    url_index_ = (url_index_ + 1) % urls_.size();
    ws_.set_url(urls_[url_index_]);
  }
  if (running_) schedule_reconnect();
}

void RelayClient::schedule_reconnect() {
  timers_->reconnect.expires_after(backoff_.next());
  timers_->reconnect.async_wait([this](boost::system::error_code ec) {
    if (!ec && running_) connect();
  });
}

void RelayClient::replay_outbox() {
  for (const auto& o : outbox_) {
    if (!ws_.send(*o.bytes, false)) return;
  }
  // The relay has them all now: the frames of calls that ended while this edge was away leave, as
  // they would have at their call_end (send()).
  std::unordered_set<std::uint64_t> ended;
  for (const auto& o : outbox_)
    if (o.call_end) ended.insert(o.call_tag);
  if (ended.empty()) return;
  std::erase_if(outbox_, [&](const Outgoing& o) {
    if (o.call_end || !ended.contains(o.call_tag)) return false;
    status_.outbox_bytes -= o.bytes->size();
    return true;
  });
  status_.outbox_frames = outbox_.size();
}

wire::FrameHeader RelayClient::next_header(const wire::ClientId& client, std::uint16_t flags, std::uint64_t call_tag,
                                           std::uint32_t payload_len) {
  auto& last = seqs_[key_of(client)];
  last = std::max(last + 1, last == 0 ? seq_origin() : last + 1);
  wire::FrameHeader h;
  h.kind = wire::Kind::edge_to_client;
  h.flags = flags;
  h.payload_len = payload_len;
  h.client = client;
  h.seq = last;
  h.call_tag = call_tag;
  return h;
}

void RelayClient::send(const wire::FrameHeader& header, std::string payload) {
  CB_CHECK(header.payload_len == payload.size(), "EdgeLink::send: payload_len does not match the payload");
  CB_CHECK(header.kind == wire::Kind::edge_to_client, "EdgeLink::send: an edge sends edge-to-client frames");
  auto bytes = std::make_shared<const std::string>(wire::encode_frame(header, payload));
  const bool call_end = header.call_end() && header.call_tag != 0;
  // The call's earlier frames leave only while connected: then every one of them reached the relay
  // (sent live, or replayed at this login) and its window keeps them as long as clients need them.
  // Frames queued while away were never sent: they wait for the replay, or the clients miss them.
  if (call_end && status_.up) {
    std::erase_if(outbox_, [&](const Outgoing& o) {
      if (o.call_tag != header.call_tag) return false;
      status_.outbox_bytes -= o.bytes->size();
      return true;
    });
  }
  outbox_.push_back({header.call_tag, call_end, bytes});
  status_.outbox_bytes += bytes->size();
  while (!outbox_.empty() && (outbox_.size() > options_.outbox_frames || status_.outbox_bytes > options_.outbox_bytes)) {
    status_.outbox_bytes -= outbox_.front().bytes->size();
    outbox_.pop_front();
    ++status_.outbox_evicted;
  }
  status_.outbox_frames = outbox_.size();
  ++status_.frames_sent;
  if (status_.up) ws_.send(*bytes, false);
}

void RelayClient::send_call_summary(const wire::CallSummary& summary) {
  if (!options_.privacy_relaxed || !status_.up) return;
  std::string text = wire::render_control(summary);
  if (text.size() > wire::kMaxControlBytes) return;  // the relay would refuse it (the sender truncates fields)
  ws_.send(std::move(text), true);
}

void RelayClient::drop_client(const wire::ClientId& client, std::string reason) {
  if (status_.up) ws_.send(wire::render_control(wire::DropClient{client, std::move(reason)}), true);
}

}  // namespace callbridge::relay::edge
