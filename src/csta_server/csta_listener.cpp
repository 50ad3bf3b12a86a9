#include "csta_server/csta_listener.hpp"

#include <array>
#include <deque>
#include <list>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "csta_server/csta_session.hpp"

namespace callbridge::csta_server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

// One connection; Stream is tcp::socket or ssl::stream<tcp::socket>.
class ConnBase {
 public:
  virtual ~ConnBase() = default;
  virtual void start() = 0;
  virtual void shutdown() = 0;
};

}  // namespace

struct CstaListener::Impl : std::enable_shared_from_this<CstaListener::Impl> {
  Impl(asio::io_context& io, CstaServer& server, CstaListenerOptions o)
      : io(io), server(server), options(std::move(o)), acceptor(io), ssl(asio::ssl::context::tls_server) {}

  asio::io_context& io;
  CstaServer& server;
  CstaListenerOptions options;
  tcp::acceptor acceptor;
  asio::ssl::context ssl;
  bool use_tls = false;
  bool stopped = false;
  std::list<std::shared_ptr<ConnBase>> conns;

  void accept();
  void forget(ConnBase* c) {
    conns.remove_if([c](const auto& p) { return p.get() == c; });
  }
};

namespace {

template <typename Stream>
class Conn final : public ConnBase, public std::enable_shared_from_this<Conn<Stream>> {
 public:
  Conn(std::weak_ptr<CstaListener::Impl> owner, CstaServer& server, Stream stream, std::string remote,
       const CstaListenerOptions& o)
      : owner_(std::move(owner)),
        server_(server),
        stream_(std::move(stream)),
        remote_(std::move(remote)),
        options_(o),
        quiet_(lowest().get_executor()),
        start_timer_(lowest().get_executor()) {}

  void start() override {
    auto self = this->shared_from_this();
    std::weak_ptr<Conn> weak = self;
    session_ = server_.open(CstaServer::Transport{.send = [weak](std::shared_ptr<const std::string> b) {
                                                    if (auto c = weak.lock()) c->queue(std::move(b));
                                                  },
                                                  .close = [weak] {
                                                    if (auto c = weak.lock()) c->close_after_flush();
                                                  }},
                            remote_);
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      begin();
    } else {
      stream_.async_handshake(asio::ssl::stream_base::server, [self](const error_code& ec) {
        if (ec) {
          spdlog::info("csta: TLS handshake with {} failed: {}", self->remote_, ec.message());
          return self->finish();
        }
        self->begin();
      });
    }
  }

  void shutdown() override { finish(); }

 private:
  tcp::socket& lowest() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) return stream_;
    else return stream_.next_layer();
  }

  void begin() {
    auto self = this->shared_from_this();
    quiet_.expires_after(options_.quiet);
    quiet_.async_wait([self](const error_code& ec) {
      if (auto s = self->session_; !ec && s) s->on_quiet();
    });
    start_timer_.expires_after(options_.session_start_timeout);
    start_timer_.async_wait([self](const error_code& ec) {
      if (auto s = self->session_; !ec && s) s->on_start_timeout();
    });
    read();
  }

  void read() {
    auto self = this->shared_from_this();
    stream_.async_read_some(asio::buffer(buf_), [self](const error_code& ec, std::size_t n) {
      if (ec) return self->finish();
      if (auto s = self->session_) s->on_bytes(std::string_view(self->buf_.data(), n));
      if (self->closing_ || self->done_) return;
      self->read();
    });
  }

  void queue(std::shared_ptr<const std::string> bytes) {
    if (done_ || closing_ || !bytes) return;
    queued_bytes_ += bytes->size();
    if (queued_bytes_ > options_.max_outbox_bytes) {
      // A client that does not read its events is dropped, not buffered without limit.
      spdlog::warn("csta: {} does not read (over {} bytes queued): disconnected", remote_, options_.max_outbox_bytes);
      return finish();
    }
    outbox_.push_back(std::move(bytes));
    if (!writing_) write();
  }

  void write() {
    if (outbox_.empty()) {
      writing_ = false;
      if (closing_) finish();
      return;
    }
    writing_ = true;
    auto self = this->shared_from_this();
    asio::async_write(stream_, asio::buffer(*outbox_.front()), [self](const error_code& ec, std::size_t) {
      if (ec) return self->finish();
      self->queued_bytes_ -= self->outbox_.front()->size();
      self->outbox_.pop_front();
      self->write();
    });
  }

  void close_after_flush() {
    closing_ = true;
    if (!writing_) finish();
  }

  void finish() {
    if (done_) return;
    done_ = true;
    quiet_.cancel();
    start_timer_.cancel();
    error_code ec;
    lowest().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close(ec);
    if (session_) {
      // Later, on the loop: the session may be on the stack below us (it asked to close, or
      // sending an event overflowed its queue).
      auto s = std::move(session_);
      CstaServer& server = server_;
      asio::post(lowest().get_executor(), [s, &server] { server.closed(s); });
    }
    if (auto o = owner_.lock()) o->forget(this);
  }

  std::weak_ptr<CstaListener::Impl> owner_;
  CstaServer& server_;
  Stream stream_;
  std::string remote_;
  CstaListenerOptions options_;
  asio::steady_timer quiet_;
  asio::steady_timer start_timer_;
  std::shared_ptr<CstaSession> session_;
  std::array<char, 16 * 1024> buf_{};
  std::deque<std::shared_ptr<const std::string>> outbox_;  // frames, maybe shared with other connections
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool done_ = false;
};

}  // namespace

void CstaListener::Impl::accept() {
  auto self = shared_from_this();
  acceptor.async_accept([self](const error_code& ec, tcp::socket sock) {
    if (self->stopped) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      spdlog::warn("csta: accept failed: {}", ec.message());
      return self->accept();
    }
    error_code rec;
    auto ep = sock.remote_endpoint(rec);
    std::string remote = rec ? std::string("?") : ep.address().to_string();
    if (self->conns.size() >= self->options.max_clients) {
      spdlog::warn("csta: {} refused: {} clients connected ([csta] max_clients)", remote, self->conns.size());
      sock.close(rec);
      return self->accept();
    }
    sock.set_option(tcp::no_delay(true), rec);
    std::shared_ptr<ConnBase> c;
    if (self->use_tls) {
      c = std::make_shared<Conn<asio::ssl::stream<tcp::socket>>>(
          self, self->server, asio::ssl::stream<tcp::socket>(std::move(sock), self->ssl), remote, self->options);
    } else {
      c = std::make_shared<Conn<tcp::socket>>(self, self->server, std::move(sock), remote, self->options);
    }
    self->conns.push_back(c);
    c->start();
    self->accept();
  });
}

CstaListener::CstaListener(asio::io_context& io, CstaServer& server, CstaListenerOptions options)
    : impl_(std::make_shared<Impl>(io, server, std::move(options))) {}

CstaListener::~CstaListener() { stop(); }

base::Status CstaListener::start() {
  auto& o = impl_->options;
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty()) {
    error_code ec;
    impl_->ssl.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1);
    impl_->ssl.use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec) return base::fail(base::Error::invalid_argument("[csta.tls] cert_file " + o.tls_cert_file + ": " + ec.message()));
    impl_->ssl.use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return base::fail(base::Error::invalid_argument("[csta.tls] key_file " + o.tls_key_file + ": " + ec.message()));
    impl_->use_tls = true;
  }
  error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) return base::fail(base::Error::invalid_argument("[csta] listen: bad host " + o.host + ": " + ec.message()));
  tcp::endpoint ep(addr, o.port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return base::fail(base::Error::io("[csta] listen " + o.host + ":" + std::to_string(o.port) + ": " + ec.message()));
  impl_->accept();
  return {};
}

void CstaListener::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  error_code ec;
  impl_->acceptor.close(ec);
  auto conns = impl_->conns;  // each removes itself
  for (auto& c : conns) c->shutdown();
  impl_->conns.clear();
}

std::uint16_t CstaListener::port() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

bool CstaListener::tls() const { return impl_->use_tls; }
std::size_t CstaListener::connections() const { return impl_->conns.size(); }

}  // namespace callbridge::csta_server
