// The daemon's AMI link to one Asterisk: keeps an AmiSession connected — reconnecting with
// exponential backoff + jitter, logging state changes once (not once per retry) — delivers
// every message to the AmiSink, sends actions, records sessions (`--record DIR`), and exposes its
// state and counters for diagnostics. All members must be used on the executor's thread (the model
// thread); stop() may be called from any thread.
//
//   auto link = AmiLink::create(io.get_executor(), options, tracker_sink);   // Result<unique_ptr>
//   (*link)->start();
//   ... co_await (*link)->async_action(AmiAction("Originate").set("Channel", "PJSIP/100")...);
//   (*link)->stop([] { /* all done */ });   // clean shutdown: Logoff, close, stop retrying
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "base/error.hpp"
#include "base/time.hpp"
#include "drivers/ami/ami_protocol.hpp"
#include "drivers/ami/ami_record.hpp"
#include "drivers/ami/ami_session.hpp"
#include "drivers/ami/ami_sink.hpp"
#include "net/backoff.hpp"

namespace callbridge::drivers::ami {

enum class AmiLinkState { disconnected, connecting, logging_in, up };
std::string_view to_string(AmiLinkState s);

struct AmiLinkOptions {
  AmiSessionOptions session;    // host, port, connect/write timeouts, tick interval
  AmiProtocolConfig protocol;   // username, secret, auth, login/ping/action timeouts, resync list
  net::BackoffPolicy backoff;   // BackoffPolicy::none() in tests
  // The backoff starts over only after a session stayed up this long, so a PBX that accepts the
  // login and then drops us at once is retried with growing delays, not every `initial` ms.
  std::chrono::milliseconds stable_after{10'000};
  std::uint64_t backoff_seed = 0;  // 0: random
  std::optional<std::filesystem::path> record_dir;  // `--record DIR`
  std::string record_prefix = "ami";  // file names "<prefix>-<time>-<seq>.amirec" (use the link name)
};

struct AmiLinkStats {
  AmiLinkState state = AmiLinkState::disconnected;
  std::uint64_t messages_received = 0;
  std::uint64_t events_received = 0;
  std::uint64_t actions_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t connect_attempts = 0;
  std::uint64_t reconnects = 0;  // attempts after the first
  std::uint64_t logins = 0;      // sessions that came up
  std::optional<base::Error> last_error;
  std::optional<base::Timestamp> connected_since;  // login time of the current session
  std::chrono::milliseconds last_backoff{0};
  std::optional<std::string> banner;  // of the current/last session
};

class AmiLink {
 public:
  // Errc::invalid_argument for bad options (empty host, port 0, CR/LF in credentials), Errc::io
  // when the record directory cannot be created. `clock` (default: the system clock) stamps
  // received data; it must outlive the link.
  static base::Result<std::unique_ptr<AmiLink>> create(boost::asio::any_io_executor ex, AmiLinkOptions options,
                                                       AmiSink& sink, const base::Clock* clock = nullptr);
  ~AmiLink();
  AmiLink(const AmiLink&) = delete;
  AmiLink& operator=(const AmiLink&) = delete;

  // Starts the connect/reconnect loop on the executor. Once.
  void start();
  // Clean shutdown: Logoff when up, ends the session (the sink sees on_session_end if it was up),
  // fails pending actions, stops retrying. `on_stopped` runs on the executor once the loop has
  // finished (stopped() is then true); destroy the link only after that (or after the io_context
  // is gone). Any thread.
  void stop(std::function<void()> on_stopped = {});
  bool stopped() const { return stopped_; }

  // Sends an action on the current session: Errc::unavailable when the link is not up.
  boost::asio::awaitable<base::Result<AmiResponse>> async_action(
      AmiAction action, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Callback form (done runs later on the executor). Returns the ActionID.
  base::Result<std::string> submit(AmiAction action, ActionCallback done,
                                   std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  AmiLinkState state() const { return state_; }
  AmiLinkStats stats() const;
  const AmiLinkOptions& options() const { return options_; }
  std::string peer() const { return options_.session.host + ":" + std::to_string(options_.session.port); }
  // Called on every state change (after it happened).
  void set_state_listener(std::function<void(AmiLinkState, const AmiLinkStats&)> f) {
    state_listener_ = std::move(f);
  }
  // Files written by --record, in order.
  std::vector<std::filesystem::path> recorded_files() const;

 private:
  class LinkSink;
  AmiLink(boost::asio::any_io_executor ex, AmiLinkOptions options, AmiSink& sink, const base::Clock& clock);
  boost::asio::awaitable<void> run();
  void set_state(AmiLinkState s);
  void log_session_end(const base::Error& why, bool was_stable);

  boost::asio::any_io_executor ex_;
  AmiLinkOptions options_;
  const base::Clock& clock_;
  std::unique_ptr<LinkSink> link_sink_;
  std::unique_ptr<AmiProtocol> protocol_;
  std::unique_ptr<AmiRecorder> recorder_;
  std::unique_ptr<AmiSession> session_;
  net::Backoff backoff_;
  boost::asio::steady_timer backoff_timer_;
  AmiLinkState state_ = AmiLinkState::disconnected;
  std::function<void(AmiLinkState, const AmiLinkStats&)> state_listener_;
  std::vector<std::function<void()>> on_stopped_;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::uint64_t connect_attempts_ = 0;
  std::uint64_t consecutive_failures_ = 0;
  std::uint64_t flaps_ = 0;  // sessions in a row that dropped before stable_after
  std::string last_logged_failure_;
  std::optional<base::Error> last_error_;
  std::optional<base::Timestamp> connected_since_;
  std::chrono::milliseconds last_backoff_{0};
};

}  // namespace callbridge::drivers::ami
