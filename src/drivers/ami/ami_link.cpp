#include "drivers/ami/ami_link.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace callbridge::drivers::ami {

namespace asio = boost::asio;

std::string_view to_string(AmiLinkState s) {
  switch (s) {
    case AmiLinkState::disconnected: return "disconnected";
    case AmiLinkState::connecting: return "connecting";
    case AmiLinkState::logging_in: return "logging_in";
    case AmiLinkState::up: return "up";
  }
  return "?";
}

// Between the protocol and the user's sink: turns a successful login into link state "up".
class AmiLink::LinkSink final : public AmiSink {
 public:
  LinkSink(AmiLink& link, AmiSink& out) : link_(link), out_(out) {}
  void on_session_start(base::Timestamp at) override {
    link_.connected_since_ = at;
    const auto& banner = link_.protocol_->banner();
    if (link_.flaps_ == 0) {
      spdlog::info("AMI link to {} up ({}, user '{}')", link_.peer(), banner ? *banner : "no banner",
                   link_.options_.protocol.username);
      link_.last_logged_failure_.clear();  // the next failure is news again
    } else {
      // Flapping (up, dropped at once, up...): one line per distinct reason, not per cycle.
      spdlog::debug("AMI link to {} up again ({} quick drops so far)", link_.peer(), link_.flaps_);
    }
    link_.set_state(AmiLinkState::up);
    out_.on_session_start(at);
  }
  void on_message(const AmiMessage& m, base::Timestamp at) override { out_.on_message(m, at); }
  void on_session_end(base::Timestamp at, const base::Error& why) override { out_.on_session_end(at, why); }

 private:
  AmiLink& link_;
  AmiSink& out_;
};

base::Result<std::unique_ptr<AmiLink>> AmiLink::create(asio::any_io_executor ex, AmiLinkOptions options,
                                                       AmiSink& sink, const base::Clock* clock) {
  static const base::SystemClock kSystemClock;
  auto bad = [](std::string m) { return base::fail(base::Error::invalid_argument("AMI link: " + std::move(m))); };
  const auto& p = options.protocol;
  if (options.session.host.empty()) return bad("host is empty");
  if (options.session.port == 0) return bad("port is 0");
  for (const std::string* s : std::initializer_list<const std::string*>{&p.username, &p.secret, &p.events, &options.session.host}) {
    if (s->find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return bad("host/username/secret/events contain CR, LF or NUL");
  }
  if (p.username.empty()) return bad("username is empty");
  if (options.session.tick_interval.count() <= 0) return bad("tick_interval must be > 0");
  std::unique_ptr<AmiLink> link(new AmiLink(std::move(ex), std::move(options), sink, clock ? *clock : kSystemClock));
  if (link->options_.record_dir) {
    auto rec = AmiRecorder::open(*link->options_.record_dir, link->options_.record_prefix);
    if (!rec) return base::fail(rec.error());
    link->recorder_ = std::move(*rec);
  }
  return link;
}

AmiLink::AmiLink(asio::any_io_executor ex, AmiLinkOptions options, AmiSink& sink, const base::Clock& clock)
    : ex_(ex),
      options_(std::move(options)),
      clock_(clock),
      link_sink_(std::make_unique<LinkSink>(*this, sink)),
      protocol_(std::make_unique<AmiProtocol>(options_.protocol, *link_sink_)),
      backoff_(options_.backoff, options_.backoff_seed != 0 ? options_.backoff_seed : std::random_device{}()),
      backoff_timer_(ex) {}

AmiLink::~AmiLink() = default;

void AmiLink::start() {
  CB_CHECK(!started_, "AmiLink::start() called twice");
  if (stopping_) return;  // stop() came first
  started_ = true;
  asio::co_spawn(ex_, run(), asio::detached);
}

void AmiLink::stop(std::function<void()> on_stopped) {
  asio::dispatch(ex_, [this, on_stopped = std::move(on_stopped)]() mutable {
    if (stopped_ || !started_) {
      stopping_ = stopped_ = true;
      if (on_stopped) asio::post(ex_, std::move(on_stopped));
      return;
    }
    if (on_stopped) on_stopped_.push_back(std::move(on_stopped));
    if (stopping_) return;
    stopping_ = true;
    backoff_timer_.cancel();
    if (session_) session_->stop();
  });
}

void AmiLink::set_state(AmiLinkState s) {
  if (s == state_) return;
  state_ = s;
  spdlog::debug("AMI link to {}:{} -> {}", options_.session.host, options_.session.port, to_string(s));
  if (state_listener_) state_listener_(s, stats());
}

AmiLinkStats AmiLink::stats() const {
  AmiLinkStats s;
  s.state = state_;
  const auto& c = protocol_->counters();
  s.messages_received = c.messages_received;
  s.events_received = c.events_received;
  s.actions_sent = c.actions_sent;
  s.bytes_received = c.bytes_received;
  s.logins = c.sessions_started;
  s.connect_attempts = connect_attempts_;
  s.reconnects = connect_attempts_ > 0 ? connect_attempts_ - 1 : 0;
  s.last_error = last_error_;
  s.connected_since = state_ == AmiLinkState::up ? connected_since_ : std::nullopt;
  s.last_backoff = last_backoff_;
  s.banner = protocol_->banner();
  return s;
}

std::vector<std::filesystem::path> AmiLink::recorded_files() const {
  return recorder_ ? recorder_->files() : std::vector<std::filesystem::path>{};
}

void AmiLink::log_session_end(const base::Error& why, bool was_stable) {
  const std::string peer = this->peer();
  if (stopping_) {
    spdlog::info("AMI link to {} stopped", peer);
    return;
  }
  if (was_stable) {
    spdlog::warn("AMI link to {} lost: {}; reconnecting", peer, why.to_string());
    return;
  }
  // Not reachable / login failing / dropped right after login: say it once, then only when the
  // reason changes, plus a reminder at 8, 16, 32, ... consecutive failures — never one line per
  // retry.
  ++consecutive_failures_;
  std::string text = why.to_string();
  if (text != last_logged_failure_) {
    spdlog::warn("AMI link to {}: {} (retrying with backoff)", peer, text);
    last_logged_failure_ = text;
  } else if (consecutive_failures_ >= 8 && (consecutive_failures_ & (consecutive_failures_ - 1)) == 0) {
    spdlog::warn("AMI link to {}: still failing after {} attempts: {}", peer, consecutive_failures_, text);
  } else {
    spdlog::debug("AMI link to {}: attempt {} failed: {}", peer, consecutive_failures_, text);
  }
}

asio::awaitable<void> AmiLink::run() {
  try {
    while (!stopping_) {
      ++connect_attempts_;
      session_ = std::make_unique<AmiSession>(ex_, options_.session, *protocol_, clock_, recorder_.get());
      base::Error why = co_await session_->async_run([this](AmiSessionPhase ph) {
        set_state(ph == AmiSessionPhase::connecting ? AmiLinkState::connecting : AmiLinkState::logging_in);
      });
      session_.reset();
      const bool was_up = state_ == AmiLinkState::up;
      // A session that stayed up long enough proves the peer healthy: start the backoff over.
      const bool stable = was_up && connected_since_ && clock_.now() - *connected_since_ >= options_.stable_after;
      if (stable) {
        backoff_.reset();
        consecutive_failures_ = 0;
        flaps_ = 0;
        last_logged_failure_.clear();
      } else if (was_up) {
        ++flaps_;
      }
      connected_since_.reset();
      last_error_ = why;
      log_session_end(why, stable);
      set_state(AmiLinkState::disconnected);
      if (stopping_) break;
      if (stable) {
        // A healthy session broke (a network cut, a firewall's reset): call events are being
        // lost right now, so the first attempt goes at once; if it fails, the backoff starts.
        last_backoff_ = std::chrono::milliseconds(0);
        continue;
      }
      last_backoff_ = backoff_.next();
      if (last_backoff_.count() > 0) {
        backoff_timer_.expires_after(last_backoff_);
        co_await backoff_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
  } catch (const std::exception& e) {
    spdlog::critical("AMI link loop failed: {}", e.what());
    last_error_ = base::Error::internal(std::string("AMI link loop failed: ") + e.what());
  }
  session_.reset();
  set_state(AmiLinkState::disconnected);
  stopped_ = true;
  for (auto& f : std::exchange(on_stopped_, {})) f();
}

base::Result<std::string> AmiLink::submit(AmiAction action, ActionCallback done,
                                          std::optional<std::chrono::milliseconds> timeout) {
  if (!session_ || state_ != AmiLinkState::up) {
    return base::fail(base::Error::unavailable("AMI link is " + std::string(to_string(state_))));
  }
  return session_->submit(std::move(action), std::move(done), timeout);
}

asio::awaitable<base::Result<AmiResponse>> AmiLink::async_action(AmiAction action,
                                                                 std::optional<std::chrono::milliseconds> timeout) {
  if (!session_ || state_ != AmiLinkState::up) {
    co_return base::fail(base::Error::unavailable("AMI link is " + std::string(to_string(state_))));
  }
  co_return co_await session_->async_action(std::move(action), timeout);
}

}  // namespace callbridge::drivers::ami
