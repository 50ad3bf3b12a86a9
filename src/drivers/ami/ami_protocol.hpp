// The AMI client protocol without I/O ("sans-I/O"): banner, Login (plain Secret or MD5
// challenge), ActionID correlation, list actions (EventList: start ... EventList: Complete),
// keepalive Ping, login/ping/action timeouts, the resync actions after login, and delivery of
// every post-login message to an AmiSink. Bytes in via on_bytes(), bytes out via take_output(),
// time only through the `now` arguments. Owned by one AmiLink (TCP, via AmiSession) or one
// AmiReplay (recorded bytes), which run the SAME code. Not thread-safe: one thread (the model
// thread) calls everything; callbacks and the sink run synchronously inside these calls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_wire.hpp"
#include "drivers/ami/ami_sink.hpp"

namespace callbridge::drivers::ami {

// One action to send. `Action` and `ActionID` are not headers here: they are `name` and
// `action_id` (empty: the protocol assigns "cb-<n>").
struct AmiAction {
  std::string name;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string action_id;

  AmiAction() = default;
  explicit AmiAction(std::string action_name) : name(std::move(action_name)) {}
  AmiAction& set(std::string key, std::string value) {
    headers.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  // Errc::invalid_argument: empty name, CR/LF anywhere, ':' or blank in a key, a header named
  // Action/ActionID, or more than 64 KiB serialized.
  base::Status validate() const;
  // "Action: X\r\nActionID: id\r\nK: V\r\n\r\n" (call validate() first).
  std::string serialize(std::string_view id) const;
};

// The answer to one action. A `Response: Error` is still a response (success() == false); only a
// missing answer (timeout, session ended, queue full) is a base::Error.
struct AmiResponse {
  OwnedAmiMessage response;
  // List actions: the items (events carrying this ActionID) in stream order, without the final
  // "...Complete" event, which is in `complete`.
  std::vector<OwnedAmiMessage> items;
  std::optional<OwnedAmiMessage> complete;

  bool success() const;  // Response: Success / Follows / Goodbye
  std::string_view message() const { return response.view().get("Message"); }
};

using ActionCallback = std::function<void(base::Result<AmiResponse>)>;

enum class AmiAuth { plain, md5 };

// The actions sent (one at a time, each after the previous one completed) right after login,
// with ActionID "resync-<Name>", as tests/fixtures/asterisk-22/ami_reconnect/ami-reconnect.sent.
std::vector<std::string> default_resync_actions();

struct AmiProtocolConfig {
  std::string username;
  std::string secret;
  AmiAuth auth = AmiAuth::plain;
  std::string events = "on";  // the Login `Events:` header
  std::vector<std::string> resync_actions = default_resync_actions();
  FrameLimits limits;
  // Banner + (challenge) + login must finish within this time after begin().
  std::chrono::milliseconds login_timeout{10'000};
  // While up: a Ping every interval; no answer within ping_timeout ends the session.
  std::chrono::milliseconds ping_interval{20'000};
  std::chrono::milliseconds ping_timeout{10'000};
  // Default time an action may wait for its (complete) response.
  std::chrono::milliseconds action_timeout{15'000};
  std::size_t max_pending_actions = 256;
  std::size_t max_output_bytes = 1 << 20;  // queued, not yet written bytes (bounded send queue)
  std::size_t max_list_items = 100'000;    // per collected list action
};

enum class AmiProtocolState { idle, awaiting_banner, challenging, logging_in, up, closed };
std::string_view to_string(AmiProtocolState s);

// Asterisk's MD5 login key: lowercase hex md5(challenge + secret) (manager.c, action_login).
std::string ami_md5_key(std::string_view challenge, std::string_view secret);

class AmiProtocol {
 public:
  struct Counters {
    std::uint64_t bytes_received = 0;
    std::uint64_t messages_received = 0;  // after login, i.e. delivered to the sink
    std::uint64_t events_received = 0;
    std::uint64_t actions_sent = 0;       // queued for sending, internal ones included
    std::uint64_t sessions_started = 0;   // successful logins
  };

  AmiProtocol(AmiProtocolConfig config, AmiSink& sink);

  // A new connection: forget the old stream and wait for the banner. Ends a previous session
  // first if the caller did not.
  void begin(base::Timestamp now);
  // Bytes received. An error means the session is unusable (protocol violation, oversize input,
  // login refused): the caller closes the connection and calls end(now, error).
  base::Status on_bytes(std::string_view bytes, base::Timestamp now);
  // Drives time: login timeout, keepalive Ping, ping timeout, action timeouts. Error: as on_bytes.
  base::Status tick(base::Timestamp now);
  // The connection is gone: fails every pending action with Errc::unavailable and, if the session
  // had logged in, calls sink.on_session_end(now, why). Idempotent.
  void end(base::Timestamp now, const base::Error& why);

  // Queues an action; `done` runs exactly once (response, timeout, or session end). Only while
  // up; Errc::unavailable when not up or the send queue is full, Errc::conflict for a duplicate
  // pending ActionID, invalid_argument from validate() or for an ActionID with a reserved prefix
  // ("login", "resync-", "cb-": the protocol's own). Returns the ActionID used.
  // collect_items=false: list items are only delivered to the sink, not kept in the response.
  base::Result<std::string> submit(AmiAction action, ActionCallback done, base::Timestamp now,
                                   std::optional<std::chrono::milliseconds> timeout = std::nullopt,
                                   bool collect_items = true);

  // Bytes to write, in order; empties the queue.
  std::string take_output() { return std::exchange(output_, {}); }
  bool has_output() const { return !output_.empty(); }

  AmiProtocolState state() const { return state_; }
  bool up() const { return state_ == AmiProtocolState::up; }
  const std::optional<std::string>& banner() const { return reader_.banner(); }
  const Counters& counters() const { return counters_; }
  std::size_t pending_actions() const { return pending_.size(); }
  const AmiProtocolConfig& config() const { return config_; }

 private:
  enum class Kind { user, challenge, login, resync, ping };
  struct Pending {
    Kind kind;
    std::string name;
    base::Timestamp deadline;
    ActionCallback done;
    bool collect = true;
    bool list_open = false;  // got "EventList: start"; waiting for "EventList: Complete"
    AmiResponse response;
  };

  base::Status handle(const AmiMessage& m, base::Timestamp now);
  base::Status handle_login_phase(const AmiMessage& m, base::Timestamp now);
  void correlate(const AmiMessage& m);
  void finish(const std::string& id, base::Result<AmiResponse> r);
  void send_internal(Kind kind, const AmiAction& a, const std::string& id, base::Timestamp now,
                     ActionCallback done);
  void on_banner(base::Timestamp now);
  void start_resync(std::size_t index, base::Timestamp now);
  std::string next_id() { return "cb-" + std::to_string(++id_seq_); }

  AmiProtocolConfig config_;
  AmiSink& sink_;
  FrameReader reader_;
  AmiMessage msg_;
  AmiProtocolState state_ = AmiProtocolState::idle;
  std::string output_;
  std::unordered_map<std::string, Pending> pending_;
  std::uint64_t id_seq_ = 0;
  base::Timestamp began_at_{};
  base::Timestamp now_{};  // latest time seen, for work started from callbacks
  base::Timestamp last_ping_at_{};
  std::optional<std::string> ping_id_;
  std::uint64_t session_epoch_ = 0;  // guards resync callbacks from an older session
  Counters counters_;
};

}  // namespace callbridge::drivers::ami
