// RelayClient: the edge's connection out to its relay (docs/relay.md "The edge"), the EdgeLink the
// end-to-end layer uses. Dials wss://RELAY/v1/edge, answers the challenge with its Ed25519 key (and
// the one-time join token until joined), reconnects with backoff (net::Backoff), and keeps a bounded
// outbox of recent frames that it sends again after every login, so the windows of a new route are
// whole (the relay drops what it has seen). A call's frames leave the outbox when its call_end
// frame is sent, as in the relay's window; a call that ended while the edge was away keeps them
// until they were replayed at the next login.
// Runs on one io_context thread (callbridged's): every call from it, every handler on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/error.hpp"
#include "net/backoff.hpp"
#include "relay/auth/edge_auth.hpp"
#include "relay/edge/edge_link.hpp"
#include "relay/edge/ws_client.hpp"
#include "relay/wire/control.hpp"

namespace boost::asio {
class io_context;
}

namespace callbridge::relay::edge {

struct RelayClientOptions {
  std::string url;  // wss://host[:port][/v1/edge]
  // Other nodes of the same relay (without a load balancer in front): after a failed attempt the
  // next URL is tried, round robin.
  std::vector<std::string> fallback_urls;
  std::string edge_id;
  auth::KeyPair keys;
  std::string join_token;  // sent with every hello while configured (harmless once joined)
  std::string ca_file;
  // Privacy mode (docs/relay.md "Privacy mode"): false = strict, the relay gets ciphertext only and
  // send_call_summary() sends nothing; true = relaxed, chosen by the edge's admin ([relay] privacy):
  // the hello says so and call summaries go to the relay in plaintext for its diagnostics.
  bool privacy_relaxed = false;
  std::size_t outbox_frames = 4096;
  std::size_t outbox_bytes = 4 * 1024 * 1024;
  std::size_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  net::BackoffPolicy backoff{};
  std::chrono::milliseconds login_timeout{10'000};  // connect to welcome
  // Cluster mode: asked before every connection attempt; false (this node's lease of the edge ran
  // out, e.g. after a SIGSTOP) skips the attempt until the next one. Empty: always.
  std::function<bool()> may_connect;
};

struct RelayClientStatus {
  bool up = false;
  std::string node;        // the relay node of the current login
  std::string last_error;  // why the last connection ended or was refused
  std::uint64_t logins = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t frames_rejected = 0;  // from the relay, not client->edge or malformed
  std::uint64_t outbox_evicted = 0;
  std::size_t outbox_frames = 0;
  std::size_t outbox_bytes = 0;
};

class RelayClient final : public EdgeLink {
 public:
  // Errc::invalid_argument for a bad URL or edge id.
  static base::Result<std::unique_ptr<RelayClient>> create(boost::asio::io_context& io, RelayClientOptions options);
  ~RelayClient() override;

  void start();
  void stop();

  void set_handlers(Handlers handlers) override { handlers_ = std::move(handlers); }
  wire::FrameHeader next_header(const wire::ClientId& client, std::uint16_t flags, std::uint64_t call_tag,
                                std::uint32_t payload_len) override;
  void send(const wire::FrameHeader& header, std::string payload) override;
  void drop_client(const wire::ClientId& client, std::string reason) override;
  bool up() const override { return status_.up; }

  // Privacy relaxed only: one call's summary to the relay (a text control message, not kept in the
  // outbox: after every login on_login() is called so the sender can send its live calls again).
  // Nothing is sent while down or in strict mode.
  void send_call_summary(const wire::CallSummary& summary);
  // Called after each successful login (after the outbox replay).
  void set_on_login(std::function<void()> f) { on_login_ = std::move(f); }
  bool privacy_relaxed() const { return options_.privacy_relaxed; }

  const RelayClientStatus& status() const { return status_; }

 private:
  RelayClient(boost::asio::io_context& io, RelayClientOptions options, std::vector<WssUrl> urls);
  void connect();
  void on_message(std::string_view message, bool text);
  void on_closed(const std::string& why, int http_status, const std::string& body);
  void schedule_reconnect();
  void replay_outbox();

  struct Outgoing {
    std::uint64_t call_tag;
    bool call_end;
    std::shared_ptr<const std::string> bytes;
  };

  boost::asio::io_context& io_;
  RelayClientOptions options_;
  Handlers handlers_;
  std::function<void()> on_login_;
  WsClient ws_;
  std::vector<WssUrl> urls_;
  std::size_t url_index_ = 0;
  net::Backoff backoff_;
  struct Timers;
  std::unique_ptr<Timers> timers_;
  bool running_ = false;
  bool challenged_ = false;
  std::deque<Outgoing> outbox_;
  std::unordered_map<std::string, std::uint64_t> seqs_;  // client id bytes -> last seq
  RelayClientStatus status_;
};

}  // namespace callbridge::relay::edge
