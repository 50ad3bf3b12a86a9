// The only Asio translation unit of the simulator (compile cost).
#include "sim/sim_server.hpp"

#include <array>
#include <boost/asio.hpp>
#include <deque>
#include <vector>


namespace callbridge::sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
std::string endpoint_str(const tcp::endpoint& e) { return e.address().to_string() + "/" + std::to_string(e.port()); }
}  // namespace

struct SimServer::Impl {
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(tcp::socket s, std::unique_ptr<AmiServerSession> sess) : socket(std::move(s)), session(std::move(sess)) {}
    tcp::socket socket;
    std::unique_ptr<AmiServerSession> session;
    std::array<char, 16 * 1024> buf{};
    std::string writing;
    bool write_busy = false;
    bool closed = false;
  };

  SimServerOptions options;
  SimEngine& engine;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::steady_timer timer{io};
  std::vector<std::shared_ptr<Conn>> conns;
  std::vector<SimMessage> pending;
  std::function<void(SimEngine&)> first_login, idle;
  bool had_login = false;
  std::uint64_t conn_seq = 0;
  // Pacing: sim time = sim_base + (steady now - real_base) * speed.
  std::chrono::steady_clock::time_point real_base;
  base::Timestamp sim_base;

  Impl(SimServerOptions o, SimEngine& e) : options(std::move(o)), engine(e) {
    engine.set_sink([this](const SimMessage& m) { pending.push_back(m); });
  }

  base::Timestamp sim_now() const {
    auto real = std::chrono::steady_clock::now() - real_base;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(real).count();
    return sim_base + std::chrono::microseconds(static_cast<long long>(static_cast<double>(us) * options.speed));
  }

  void flush_events() {
    if (pending.empty()) return;
    std::vector<SimMessage> batch;
    batch.swap(pending);
    auto live = conns;  // kick() may drop (erase) a connection
    for (auto& c : live) {
      for (const auto& m : batch) c->session->on_event(m);
    }
    for (auto& c : live) kick(c);
  }

  void tick() {
    if (options.speed > 0) {
      engine.run_until(std::max(sim_now(), engine.now()));
    } else {
      for (int i = 0; i < 2000 && !engine.idle(); ++i) {
        engine.run_until(*engine.next_due());
      }
    }
    flush_events();
    if (engine.idle() && idle) idle(engine);
    flush_events();
    arm();
  }

  void arm() {
    timer.cancel();
    if (engine.idle()) return;  // re-armed after the next action
    std::chrono::steady_clock::duration wait{0};
    if (options.speed > 0) {
      auto ahead = *engine.next_due() - sim_now();
      if (ahead.count() > 0) {
        wait = std::chrono::microseconds(static_cast<long long>(static_cast<double>(ahead.count()) / options.speed));
      }
    }
    timer.expires_after(wait);
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) tick();
    });
  }

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec != asio::error::operation_aborted) accept();
        return;
      }
      if (conns.size() >= options.max_clients) {
        boost::system::error_code ignore;
        s.close(ignore);
      } else {
        boost::system::error_code e1, e2;
        auto local = s.local_endpoint(e1), remote = s.remote_endpoint(e2);
        auto sess = std::make_unique<AmiServerSession>(engine, options.ami, endpoint_str(local), endpoint_str(remote),
                                                       0x5EED0000 + ++conn_seq);
        auto c = std::make_shared<Conn>(std::move(s), std::move(sess));
        conns.push_back(c);
        read(c);
        kick(c);
      }
      accept();
    });
  }

  void read(const std::shared_ptr<Conn>& c) {
    c->socket.async_read_some(asio::buffer(c->buf), [this, c](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        drop(c);
        return;
      }
      // An action happens now: between ticks the engine's clock stands at the last step it ran
      // (seconds ago when the next step is far off), so first bring it to the present, as Asterisk
      // stamps what an action causes with the time it runs (a hold and its retrieve a second
      // later are a second apart in their events, and the journal's hold time with them).
      if (options.speed > 0) engine.run_until(std::max(sim_now(), engine.now()));
      bool was_logged_in = c->session->logged_in();
      auto st = c->session->on_bytes(std::string_view(c->buf.data(), n));
      if (!st) {
        drop(c);
        return;
      }
      if (!was_logged_in && c->session->logged_in() && !had_login) {
        had_login = true;
        kick(c);  // the login response goes out before the first scenario events
        if (first_login) first_login(engine);
      }
      flush_events();
      kick(c);
      arm();
      if (!c->session->closing()) read(c);
    });
  }

  void kick(const std::shared_ptr<Conn>& c) {
    if (c->closed || c->write_busy) return;
    if (!c->session->has_output()) {
      if (c->session->closing()) drop(c);
      return;
    }
    c->writing = c->session->take_output();
    c->write_busy = true;
    asio::async_write(c->socket, asio::buffer(c->writing), [this, c](boost::system::error_code ec, std::size_t) {
      c->write_busy = false;
      if (ec) {
        drop(c);
        return;
      }
      kick(c);
    });
  }

  void drop(const std::shared_ptr<Conn>& c) {
    if (c->closed) return;
    c->closed = true;
    boost::system::error_code ignore;
    c->socket.shutdown(tcp::socket::shutdown_both, ignore);
    c->socket.close(ignore);
    std::erase(conns, c);
  }
};

SimServer::SimServer(SimServerOptions options, SimEngine& engine)
    : impl_(std::make_unique<Impl>(std::move(options), engine)) {}

SimServer::~SimServer() = default;

base::Result<std::uint16_t> SimServer::listen() {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return base::fail(base::Error::invalid_argument("bad listen host '" + impl_->options.host + "': " + ec.message()));
  tcp::endpoint ep(addr, impl_->options.port);
  auto& a = impl_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return base::fail(base::Error::io("socket: " + ec.message()));
  a.set_option(asio::socket_base::reuse_address(true), ec);
  if (a.bind(ep, ec); ec) {
    return base::fail(base::Error::io("bind " + impl_->options.host + ":" + std::to_string(impl_->options.port) + ": " + ec.message()));
  }
  if (a.listen(asio::socket_base::max_listen_connections, ec); ec) return base::fail(base::Error::io("listen: " + ec.message()));
  return a.local_endpoint().port();
}

void SimServer::run() {
  impl_->real_base = std::chrono::steady_clock::now();
  impl_->sim_base = impl_->engine.now();
  // Clients take the AMI Timestamp as the time of a call (callbridged's journal does): paced
  // faster than real time, the simulated clock would run ahead of theirs, so what the PBX shows
  // is the wall clock, advancing 1/speed per simulated second (durations shrink accordingly).
  if (impl_->options.speed > 0)
    impl_->engine.set_display_scale(
        std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()),
        impl_->options.speed);
  impl_->accept();
  impl_->arm();
  impl_->flush_events();
  impl_->io.run();
}

void SimServer::stop() {
  asio::post(impl_->io, [this] {
    boost::system::error_code ignore;
    impl_->acceptor.close(ignore);
    impl_->timer.cancel();
    auto conns = impl_->conns;
    for (auto& c : conns) impl_->drop(c);
    impl_->io.stop();
  });
}

void SimServer::post(std::function<void(SimEngine&)> fn) {
  asio::post(impl_->io, [this, fn = std::move(fn)] {
    // An idle engine's clock stood still: bring it to the present first, so that what `fn` starts
    // (a scenario) is paced from now, not run in one burst up to the present.
    if (impl_->options.speed > 0 && impl_->engine.idle())
      impl_->engine.run_until(std::max(impl_->sim_now(), impl_->engine.now()));
    fn(impl_->engine);
    impl_->flush_events();
    impl_->arm();
  });
}

void SimServer::on_first_login(std::function<void(SimEngine&)> fn) { impl_->first_login = std::move(fn); }
void SimServer::on_idle(std::function<void(SimEngine&)> fn) { impl_->idle = std::move(fn); }

}  // namespace callbridge::sim
