#include "drivers/ami/ami_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <variant>
#include <vector>

#include "net/asio_error.hpp"
#include "net/tcp_connect.hpp"

namespace callbridge::drivers::ami {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<bool> cancelled() {
  auto cs = co_await asio::this_coro::cancellation_state;
  co_return cs.cancelled() != asio::cancellation_type::none;
}
}  // namespace

struct AmiSession::Impl {
  Impl(asio::any_io_executor ex_, AmiSessionOptions o, AmiProtocol& p, const base::Clock& c, AmiRecorder* r)
      : ex(ex_), opts(std::move(o)), protocol(p), clock(c), recorder(r), socket(ex_), wake(ex_),
        stop_timer(ex_, asio::steady_timer::time_point::max()),
        peer(opts.host + ":" + std::to_string(opts.port)) {}

  asio::any_io_executor ex;
  AmiSessionOptions opts;
  AmiProtocol& protocol;
  const base::Clock& clock;
  AmiRecorder* recorder;
  tcp::socket socket;
  asio::steady_timer wake;        // cancelled to wake the writer
  asio::steady_timer stop_timer;  // cancelled by stop()
  std::string peer;
  bool stopping = false;
  bool recording = false;

  void wake_writer() { wake.cancel(); }

  base::Error stopped_error() const { return base::Error::unavailable("AMI session to " + peer + " stopped"); }
  // Cluster mode: the lease of this link is no longer this node's (AmiSessionOptions::fence).
  bool fenced() const { return opts.fence && !opts.fence->valid(); }
  base::Error fenced_error() const {
    return base::Error::unavailable("AMI session to " + peer + " ended: this node no longer owns the link (lease lost)");
  }

  asio::awaitable<base::Status> wait_stop(bool logoff) {
    if (!stopping) {
      stop_timer.expires_at(asio::steady_timer::time_point::max());
      co_await stop_timer.async_wait(kTuple);
      if (!stopping) co_return base::Status{};  // cancelled because another branch finished first
    }
    if (logoff && protocol.up() && !fenced()) {
      // Polite goodbye: Asterisk answers "Response: Goodbye" and closes. The timer is shared with
      // the callback, which may run from protocol.end() after this frame is gone.
      auto done = std::make_shared<asio::steady_timer>(ex, opts.logoff_timeout);
      auto id = protocol.submit(
          AmiAction("Logoff"), [done](base::Result<AmiResponse>) { done->cancel(); }, clock.now(),
          opts.logoff_timeout, false);
      wake_writer();
      if (id) co_await done->async_wait(kTuple);
    }
    co_return base::fail(stopped_error());
  }

  asio::awaitable<base::Status> reader() {
    std::vector<char> buf(std::max<std::size_t>(opts.read_buffer_bytes, 512));
    for (;;) {
      auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), kTuple);
      if (ec) co_return base::fail(net::to_error(ec, "AMI read from " + peer));
      if (fenced()) co_return base::fail(fenced_error());  // another node may own it: not a byte in
      const auto now = clock.now();
      std::string_view bytes(buf.data(), n);
      if (recording) {
        if (auto st = recorder->append(bytes, now); !st) {
          spdlog::error("AMI recording stopped: {}", st.error().to_string());
          recording = false;
        }
      }
      auto st = protocol.on_bytes(bytes, now);
      wake_writer();
      if (!st) co_return st;
    }
  }

  asio::awaitable<base::Status> writer() {
    for (;;) {
      if (co_await cancelled()) co_return base::Status{};
      std::string out = protocol.take_output();
      if (out.empty()) {
        wake.expires_at(asio::steady_timer::time_point::max());
        co_await wake.async_wait(kTuple);
        continue;
      }
      if (fenced()) co_return base::fail(fenced_error());  // nothing goes out without the lease
      asio::steady_timer deadline(ex, opts.write_timeout);
      auto r = co_await (asio::async_write(socket, asio::buffer(out), kTuple) || deadline.async_wait(kTuple));
      if (r.index() == 1) {
        co_return base::fail(base::Error::timeout("AMI write to " + peer + " stalled for " +
                                                  std::to_string(opts.write_timeout.count()) + " ms"));
      }
      auto [ec, n] = std::get<0>(r);
      if (ec) co_return base::fail(net::to_error(ec, "AMI write to " + peer));
    }
  }

  asio::awaitable<base::Status> ticker() {
    asio::steady_timer t(ex);
    for (;;) {
      t.expires_after(opts.tick_interval);
      auto [ec] = co_await t.async_wait(kTuple);
      if (ec) co_return base::Status{};  // cancelled: another branch finished
      auto st = protocol.tick(clock.now());
      wake_writer();
      if (!st) co_return st;
    }
  }
};

AmiSession::AmiSession(asio::any_io_executor ex, AmiSessionOptions options, AmiProtocol& protocol,
                       const base::Clock& clock, AmiRecorder* recorder)
    : impl_(std::make_unique<Impl>(std::move(ex), std::move(options), protocol, clock, recorder)) {}

AmiSession::~AmiSession() = default;

const std::string& AmiSession::peer() const { return impl_->peer; }

void AmiSession::stop() {
  impl_->stopping = true;
  impl_->stop_timer.cancel();
}

asio::awaitable<base::Error> AmiSession::async_run(std::function<void(AmiSessionPhase)> on_phase) {
  Impl& s = *impl_;
  if (s.fenced()) co_return s.fenced_error();
  if (on_phase) on_phase(AmiSessionPhase::connecting);
  auto connected = co_await (net::async_tcp_connect(s.opts.host, s.opts.port, s.opts.connect_timeout) ||
                             s.wait_stop(false));
  if (connected.index() == 1) {
    auto st = std::get<1>(connected);
    co_return st ? base::Error::unavailable("AMI session stopped") : st.error();
  }
  auto& sock = std::get<0>(connected);
  if (!sock) co_return sock.error();
  s.socket = std::move(*sock);

  auto now = s.clock.now();
  if (s.recorder != nullptr) {
    auto st = s.recorder->begin_session(now, s.peer);
    s.recording = st.has_value();
    if (!st) spdlog::error("AMI recording disabled for this session: {}", st.error().to_string());
  }
  s.protocol.begin(now);
  if (on_phase) on_phase(AmiSessionPhase::logging_in);

  auto r = co_await (s.reader() || s.writer() || s.ticker() || s.wait_stop(true));
  base::Error why = std::visit(
      [](const base::Status& st) {
        return st ? base::Error::internal("AMI session ended without a reason") : st.error();
      },
      r);
  if (s.stopping) why = s.stopped_error();  // e.g. Asterisk closing after our Logoff

  boost::system::error_code ignored;
  s.socket.shutdown(tcp::socket::shutdown_both, ignored);
  s.socket.close(ignored);
  s.protocol.end(s.clock.now(), why);
  if (s.recorder != nullptr) s.recorder->end_session();
  s.recording = false;
  co_return why;
}

base::Result<std::string> AmiSession::submit(AmiAction action, ActionCallback done,
                                             std::optional<std::chrono::milliseconds> timeout,
                                             bool collect_items) {
  // Completion always goes through the executor so callers never re-enter themselves.
  auto ex = impl_->ex;
  auto shared_done = std::make_shared<ActionCallback>(std::move(done));
  ActionCallback deferred = [ex, shared_done](base::Result<AmiResponse> r) {
    asio::post(ex, [shared_done, r = std::move(r)]() mutable {
      if (*shared_done) (*shared_done)(std::move(r));
    });
  };
  auto id = impl_->protocol.submit(std::move(action), std::move(deferred), impl_->clock.now(), timeout,
                                   collect_items);
  impl_->wake_writer();
  return id;
}

asio::awaitable<base::Result<AmiResponse>> AmiSession::async_action(
    AmiAction action, std::optional<std::chrono::milliseconds> timeout) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(base::Result<AmiResponse>)>(
      [this, timeout](auto handler, AmiAction a) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        auto ex = impl_->ex;
        auto complete = [h, ex](base::Result<AmiResponse> r) {
          asio::post(ex, [h, r = std::move(r)]() mutable { std::move (*h)(std::move(r)); });
        };
        auto id = impl_->protocol.submit(std::move(a), complete, impl_->clock.now(), timeout, true);
        impl_->wake_writer();
        if (!id) complete(base::fail(id.error()));
      },
      asio::use_awaitable, std::move(action));
}

}  // namespace callbridge::drivers::ami
