#include "drivers/csta/csta_link.hpp"

#include <array>
#include <deque>
#include <map>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "net/asio_error.hpp"
#include "net/tcp_connect.hpp"
#include "protocols/csta/codec.hpp"

namespace callbridge::drivers::csta {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string_view to_string(CstaLinkState s) {
  switch (s) {
    case CstaLinkState::disconnected: return "disconnected";
    case CstaLinkState::connecting: return "connecting";
    case CstaLinkState::logging_in: return "logging_in";
    case CstaLinkState::up: return "up";
  }
  return "disconnected";
}

std::string describe(const wire::ErrorCode& e) { return std::string(to_string(e.category)) + "/" + e.value; }

struct CstaLink::Impl {
  Impl(CstaLink& o, asio::any_io_executor e, CstaLinkSink& s, const base::Clock& c)
      : owner(o), ex(std::move(e)), sink(s), clock(c), backoff(o.options_.backoff, o.options_.backoff_seed ? o.options_.backoff_seed : std::random_device{}()),
        backoff_timer(ex), keepalive_timer(ex), login_timer(ex), stop_timer(ex), ssl(asio::ssl::context::tls_client) {}

  struct Pending {
    Reply reply;
    std::unique_ptr<asio::steady_timer> timer;
  };

  CstaLink& owner;
  asio::any_io_executor ex;
  CstaLinkSink& sink;
  const base::Clock& clock;
  net::Backoff backoff;
  asio::steady_timer backoff_timer, keepalive_timer, login_timer, stop_timer;
  asio::ssl::context ssl;
  std::optional<tcp::socket> sock;
  std::optional<asio::ssl::stream<tcp::socket>> tls;
  wire::FrameReader reader;
  std::deque<std::string> out;
  bool writing = false;
  std::uint64_t generation = 0;  // of the current connection; stale callbacks compare it
  std::map<int, Pending> pending;
  int next_invoke = 1;
  bool started = false, stopping = false, stopped = false;
  std::vector<std::function<void()>> on_stopped;
  CstaLinkStats stats;
  std::optional<base::Timestamp> up_since;
  std::optional<base::Error> session_error;  // why the current connection ends
  std::string session_id;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  const CstaLinkOptions& opt() const { return owner.options_; }

  void set_state(CstaLinkState s) {
    owner.state_ = s;
    stats.state = s;
  }

  bool connected() const { return sock.has_value() || tls.has_value(); }

  // Cluster mode: the lease of this link is no longer this node's (CstaLinkOptions::fence).
  bool fenced() const { return opt().fence && !opt().fence->valid(); }
  base::Error fenced_error() const {
    return base::Error::unavailable("CSTA link to " + owner.peer() +
                                    " ended: this node no longer owns the link (lease lost)");
  }

  // Closes the current connection (the read loop then ends it).
  void close(base::Error why) {
    if (!session_error) session_error = std::move(why);
    boost::system::error_code ec;
    if (tls) tls->lowest_layer().close(ec);
    if (sock) sock->close(ec);
  }

  void send(const wire::Message& m, int invoke_id) {
    if (fenced()) {  // nothing goes out without the lease (a write in progress keeps its buffer)
      close(fenced_error());
      return;
    }
    std::string xml = wire::encode(m, opt().edition);
    std::string frame;
    if (auto st = wire::append_frame(frame, opt().framing, invoke_id, xml); !st) {
      spdlog::warn("csta link {}: cannot send {}: {}", owner.peer(), wire::root_name(m), st.error().to_string());
      return;
    }
    ++stats.messages_out;
    out.push_back(std::move(frame));
    flush();
  }

  void flush() {
    if (writing || out.empty() || !connected()) return;
    if (fenced()) {  // not writing: nothing refers to the queue
      out.clear();
      close(fenced_error());
      return;
    }
    writing = true;
    auto done = [this, alive = std::weak_ptr<bool>(alive), gen = generation](boost::system::error_code ec, std::size_t) {
      if (alive.expired()) return;
      writing = false;
      if (gen != generation) return;
      out.pop_front();
      if (ec) {
        close(net::to_error(ec, "CSTA write to " + owner.peer()));
        return;
      }
      flush();
    };
    if (tls) asio::async_write(*tls, asio::buffer(out.front()), std::move(done));
    else asio::async_write(*sock, asio::buffer(out.front()), std::move(done));
  }

  int take_invoke_id() {
    for (int i = 0; i < 9000; ++i) {
      int id = next_invoke;
      next_invoke = next_invoke >= 8999 ? 1 : next_invoke + 1;
      if (!pending.count(id)) return id;
    }
    return -1;
  }

  void request(const wire::Message& m, Reply reply, bool login = false) {
    if (fenced()) {
      if (connected()) close(fenced_error());
      reply(base::fail(fenced_error()));
      return;
    }
    if (!connected() || (!login && owner.state_ != CstaLinkState::up)) {
      reply(base::fail(base::Error::unavailable("CSTA link to " + owner.peer() + " is not up")));
      return;
    }
    int id = take_invoke_id();
    if (id < 0) {
      reply(base::fail(base::Error::unavailable("CSTA link: too many requests outstanding")));
      return;
    }
    auto timer = std::make_unique<asio::steady_timer>(ex, opt().request_timeout);
    timer->async_wait([this, id, alive = std::weak_ptr<bool>(alive), name = std::string(wire::root_name(m))](
                          boost::system::error_code ec) {
      if (ec || alive.expired()) return;
      auto it = pending.find(id);
      if (it == pending.end()) return;
      Reply r = std::move(it->second.reply);
      pending.erase(it);
      r(base::fail(base::Error::timeout("CSTA " + name + ": no answer from " + owner.peer())));
    });
    pending.emplace(id, Pending{std::move(reply), std::move(timer)});
    send(m, id);
  }

  void fail_pending(const base::Error& why) {
    auto p = std::exchange(pending, {});
    for (auto& [id, e] : p) {
      e.timer->cancel();
      e.reply(base::fail(base::Error::unavailable(why.message())));
    }
  }

  void went_up() {
    login_timer.cancel();
    set_state(CstaLinkState::up);
    up_since = clock.now();
    ++stats.sessions;
    spdlog::info("csta link {}: session started ({})", owner.peer(),
                 opt().start == SessionStart::ecma354 ? "ECMA-354" : "OpenScape style");
    arm_keepalive();
    sink.on_up(clock.now());
  }

  void arm_keepalive() {
    if (opt().keepalive.count() <= 0) return;
    keepalive_timer.expires_after(opt().keepalive);
    keepalive_timer.async_wait([this, alive = std::weak_ptr<bool>(alive), gen = generation](boost::system::error_code ec) {
      if (ec || alive.expired() || gen != generation || owner.state_ != CstaLinkState::up) return;
      wire::Message m = wire::RequestSystemStatus{};
      if (opt().start == SessionStart::ecma354)
        m = wire::ResetApplicationSessionTimer{.session_id = session_id,
                                               .requested_session_duration = opt().keepalive.count() > 0
                                                                      ? std::optional<int>(session_duration_s())
                                                                      : std::nullopt};
      request(m, [this, alive = std::weak_ptr<bool>(alive), gen](base::Result<wire::Message> r) {
        if (alive.expired() || gen != generation) return;
        if (!r && r.error().code() == base::Errc::timeout) close(r.error());
        else arm_keepalive();
      });
    });
  }

  int session_duration_s() const {
    // The keepalive comes twice per session duration.
    auto s = std::chrono::duration_cast<std::chrono::seconds>(opt().keepalive).count() * 2;
    return static_cast<int>(std::clamp<std::int64_t>(s, 10, 3600));
  }

  void start_session() {
    set_state(CstaLinkState::logging_in);
    login_timer.expires_after(opt().connect_timeout);
    login_timer.async_wait([this, alive = std::weak_ptr<bool>(alive), gen = generation](boost::system::error_code ec) {
      if (ec || alive.expired() || gen != generation || owner.state_ == CstaLinkState::up) return;
      close(base::Error::timeout("CSTA session start at " + owner.peer() + " timed out"));
    });
    if (opt().start == SessionStart::osv) return;  // the switch speaks first (SystemStatus)
    wire::StartApplicationSession s{.application_id = opt().application_id,
                                    .user_id = opt().user,
                                    .password = opt().password,
                                    .protocol_versions = {std::string(wire::namespace_uri(opt().edition))},
                                    .requested_session_duration = opt().keepalive.count() > 0
                                                                      ? std::optional<int>(session_duration_s())
                                                                      : std::nullopt};
    request(s, [this, gen = generation](base::Result<wire::Message> r) {
      if (gen != generation) return;
      if (!r) return close(r.error());
      if (auto* pos = std::get_if<wire::StartApplicationSessionPosResponse>(&*r)) {
        session_id = pos->session_id;
        went_up();
      } else if (auto* neg = std::get_if<wire::StartApplicationSessionNegResponse>(&*r)) {
        close(base::Error::protocol("CSTA session refused by " + owner.peer() + ": " + neg->error));
      } else {
        close(base::Error::protocol("CSTA session start: unexpected answer " + std::string(wire::root_name(*r))));
      }
    }, true);
  }

  void osv_register() {
    request(wire::SystemRegister{.user_id = opt().user, .password = opt().password},
            [this, gen = generation](base::Result<wire::Message> r) {
              if (gen != generation) return;
              if (!r) {
                if (r.error().code() == base::Errc::conflict)
                  return close(base::Error::protocol("CSTA SystemRegister refused by " + owner.peer() + ": " +
                                                         r.error().message()));
                return close(r.error());
              }
              if (std::holds_alternative<wire::SystemRegisterResponse>(*r)) went_up();
              else close(base::Error::protocol("CSTA SystemRegister: unexpected answer " + std::string(wire::root_name(*r))));
            },
            true);
  }

  void on_frame(const wire::Frame& f) {
    ++stats.messages_in;
    auto d = wire::decode(f.xml);
    if (!d) {
      ++stats.undecodable_in;
      spdlog::warn("csta link {}: undecodable message skipped: {}", owner.peer(), d.error().message);
      if (f.invoke_id && *f.invoke_id != wire::kUnsolicitedInvokeId) {
        auto it = pending.find(*f.invoke_id);
        if (it != pending.end()) {
          Reply r = std::move(it->second.reply);
          it->second.timer->cancel();
          pending.erase(it);
          r(base::fail(d.error().to_error()));
        }
      }
      return;
    }
    if (d->edition != wire::Edition::none) stats.peer_edition = d->edition;
    const wire::Message& m = d->message;
    const auto cls = wire::message_class(m);
    const int invoke = f.invoke_id.value_or(-1);
    // The switch's own requests.
    if (std::holds_alternative<wire::SystemStatus>(m)) {
      send(wire::SystemStatusResponse{}, invoke < 0 ? 0 : invoke);
      if (opt().start == SessionStart::osv && owner.state_ == CstaLinkState::logging_in) osv_register();
      return;
    }
    if (auto* sfd = std::get_if<wire::SwitchingFunctionDevices>(&m)) {
      send(wire::SwitchingFunctionDevicesResponse{}, invoke < 0 ? 0 : invoke);
      sink.on_switching_devices(*sfd);
      return;
    }
    if (cls == wire::MessageClass::event) {
      ++stats.events_in;
      if (owner.state_ == CstaLinkState::up) sink.on_event(m, clock.now());
      return;
    }
    if (cls == wire::MessageClass::request) {  // anything else the switch asks: not offered
      send(wire::CstaErrorCode{{wire::ErrorCategory::operation, std::string(wire::error_value::kServiceNotSupported)}},
           invoke < 0 ? 0 : invoke);
      return;
    }
    // A response or an error: to the pending request with its invoke id; headerless links carry
    // none, so there the oldest pending request gets it (the switch answers in order).
    auto it = invoke >= 0 ? pending.find(invoke) : pending.begin();
    if (invoke < 0 && opt().framing == wire::Framing::headerless) {
      // Oldest by send order: invoke ids grow, wrapping at 9000; good enough for in-order answers.
      it = pending.begin();
    }
    if (it == pending.end()) {
      spdlog::debug("csta link {}: answer {} to no pending request", owner.peer(), wire::root_name(m));
      return;
    }
    Reply r = std::move(it->second.reply);
    it->second.timer->cancel();
    pending.erase(it);
    if (auto* err = std::get_if<wire::CstaErrorCode>(&m)) {
      ++stats.errors_in;
      r(base::fail(base::Error::conflict(describe(err->error))));
      return;
    }
    r(m);
  }

  asio::awaitable<base::Error> run_connection() {
    ++stats.connect_attempts;
    if (fenced()) co_return fenced_error();  // another node may own the link: not even a connect
    set_state(CstaLinkState::connecting);
    stop_timer.expires_at(asio::steady_timer::time_point::max());
    auto c = co_await (net::async_tcp_connect(opt().host, opt().port, opt().connect_timeout) ||
                       stop_timer.async_wait(kTuple));
    if (c.index() == 1) co_return base::Error::unavailable("CSTA link stopped");
    auto& s = std::get<0>(c);
    if (!s) co_return s.error();
    if (fenced()) co_return fenced_error();  // the lease ran out while connecting
    ++generation;
    session_error.reset();
    reader = wire::FrameReader(wire::FrameLimits{.max_frame_bytes = opt().max_frame_bytes}, wire::Framing::detect);
    if (opt().tls) {
      tls.emplace(std::move(*s), ssl);
      if (opt().tls_verify) tls->set_verify_callback(asio::ssl::host_name_verification(opt().host));
      SSL_set_tlsext_host_name(tls->native_handle(), opt().host.c_str());
      login_timer.expires_after(opt().connect_timeout);
      login_timer.async_wait([this, alive = std::weak_ptr<bool>(alive)](boost::system::error_code ec) {
        if (!ec && !alive.expired() && owner.state_ == CstaLinkState::connecting)
          close(base::Error::timeout("CSTA TLS handshake with " + owner.peer() + " timed out"));
      });
      auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kTuple);
      if (ec) {
        tls.reset();
        co_return net::to_error(ec, "CSTA TLS handshake with " + owner.peer());
      }
    } else {
      sock.emplace(std::move(*s));
    }
    start_session();
    std::array<char, 16384> buf;
    while (true) {
      auto [ec, n] = tls ? co_await tls->async_read_some(asio::buffer(buf), kTuple)
                         : co_await sock->async_read_some(asio::buffer(buf), kTuple);
      if (ec) {
        if (!session_error) session_error = net::to_error(ec, "CSTA read from " + owner.peer());
        break;
      }
      if (fenced()) {  // read after the lease's deadline: dropped unseen, the session ends
        session_error = fenced_error();
        break;
      }
      stats.bytes_in += n;
      reader.feed(std::string_view(buf.data(), n));
      wire::Frame f;
      bool broken = false;
      while (true) {
        auto r = reader.next(f);
        if (!r) {
          close(r.error());
          broken = true;
          break;
        }
        if (!*r) break;
        on_frame(f);
        if (!connected() || session_error) break;
      }
      if (broken || session_error) break;
    }
    base::Error why = session_error.value_or(base::Error::unavailable("CSTA link to " + owner.peer() + " closed"));
    boost::system::error_code ec;
    if (tls) tls->lowest_layer().close(ec);
    if (sock) sock->close(ec);
    tls.reset();
    sock.reset();
    ++generation;
    out.clear();
    writing = false;
    login_timer.cancel();
    keepalive_timer.cancel();
    fail_pending(why);
    co_return why;
  }

  asio::awaitable<void> run() {
    try {
      while (!stopping) {
        base::Error why = co_await run_connection();
        const bool was_up = owner.state_ == CstaLinkState::up;
        const bool stable = was_up && up_since && clock.now() - *up_since >= opt().stable_after;
        up_since.reset();
        stats.last_error = why;
        set_state(CstaLinkState::disconnected);
        if (was_up) {
          spdlog::warn("csta link {}: session ended: {}", owner.peer(), why.to_string());
          sink.on_down(clock.now(), why);
        } else if (!stopping) {
          spdlog::warn("csta link {}: {}", owner.peer(), why.to_string());
        }
        if (stopping) break;
        ++stats.reconnects;
        if (stable) {
          backoff.reset();
          stats.last_backoff = std::chrono::milliseconds(0);
          continue;
        }
        stats.last_backoff = backoff.next();
        if (stats.last_backoff.count() > 0) {
          backoff_timer.expires_after(stats.last_backoff);
          co_await backoff_timer.async_wait(kTuple);
        }
      }
    } catch (const std::exception& e) {
      spdlog::critical("csta link {}: loop failed: {}", owner.peer(), e.what());
      stats.last_error = base::Error::internal(std::string("CSTA link loop failed: ") + e.what());
    }
    set_state(CstaLinkState::disconnected);
    stopped = true;
    for (auto& f : std::exchange(on_stopped, {})) f();
  }
};

CstaLink::CstaLink(asio::any_io_executor ex, CstaLinkOptions options, CstaLinkSink& sink, const base::Clock& clock)
    : options_(std::move(options)) {
  impl_ = std::make_unique<Impl>(*this, std::move(ex), sink, clock);
}

CstaLink::~CstaLink() = default;

base::Result<std::unique_ptr<CstaLink>> CstaLink::create(asio::any_io_executor ex, CstaLinkOptions options,
                                                         CstaLinkSink& sink, const base::Clock* clock) {
  if (options.host.empty()) return base::fail(base::Error::invalid_argument("CSTA link: host is empty"));
  if (options.port == 0) return base::fail(base::Error::invalid_argument("CSTA link: port 0"));
  if (options.user.empty() || options.password.empty())
    return base::fail(base::Error::invalid_argument("CSTA link: user and secret are required"));
  if (options.edition == wire::Edition::none) options.edition = wire::Edition::ed4;
  static const base::SystemClock system_clock;
  std::unique_ptr<CstaLink> l(new CstaLink(std::move(ex), std::move(options), sink, clock ? *clock : system_clock));
  auto& ssl = l->impl_->ssl;
  boost::system::error_code ec;
  if (l->options_.tls) {
    if (l->options_.tls_verify) {
      ssl.set_verify_mode(asio::ssl::verify_peer);
      if (!l->options_.tls_ca_file.empty()) ssl.load_verify_file(l->options_.tls_ca_file, ec);
      else ssl.set_default_verify_paths(ec);
      if (ec)
        return base::fail(base::Error::invalid_argument("CSTA link: CA file " + l->options_.tls_ca_file + ": " +
                                                        ec.message()));
    } else {
      ssl.set_verify_mode(asio::ssl::verify_none);
    }
  }
  return l;
}

void CstaLink::start() {
  if (impl_->started) return;
  impl_->started = true;
  asio::co_spawn(impl_->ex, impl_->run(), asio::detached);
}

void CstaLink::stop(std::function<void()> done) {
  Impl& i = *impl_;
  if (done) i.on_stopped.push_back(std::move(done));
  if (!i.started || i.stopped) {
    i.stopped = true;
    for (auto& f : std::exchange(i.on_stopped, {})) f();
    return;
  }
  if (i.stopping) return;
  i.stopping = true;
  i.backoff_timer.cancel();
  i.stop_timer.cancel();
  if (state_ == CstaLinkState::up && options_.start == SessionStart::ecma354 && !i.fenced()) {
    // Say goodbye, then close when the switch answered (or at once when it does not in time).
    i.request(wire::StopApplicationSession{.session_id = i.session_id},
              [&i](base::Result<wire::Message>) { i.close(base::Error::unavailable("CSTA link stopped")); });
    i.login_timer.expires_after(std::chrono::milliseconds(1000));
    i.login_timer.async_wait([&i, alive = std::weak_ptr<bool>(i.alive)](boost::system::error_code ec) {
      if (!ec && !alive.expired()) i.close(base::Error::unavailable("CSTA link stopped"));
    });
  } else {
    i.close(base::Error::unavailable("CSTA link stopped"));
  }
}

void CstaLink::request(const wire::Message& m, Reply reply) { impl_->request(m, std::move(reply)); }

CstaLinkStats CstaLink::stats() const { return impl_->stats; }

}  // namespace callbridge::drivers::csta
