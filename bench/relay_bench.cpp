// bench/relay_bench: the cloud relay (issue 16, docs/relay.md, docs/performance.md "Cloud relay"),
// measured against the real `callbridge-relay` program over loopback TLS WebSocket, in one run:
//
//  1. latency the relay adds between edge and client: a paced stream of edge->client frames
//     (40-byte header + `--payload` bytes standing in for the end-to-end ciphertext; the relay
//     reads no payload) at each of `--rates` events/s, round robin over `--clients` clients, sent
//     (a) through the relay: the edge's real RelayClient (callbridged's code) logged in at a
//         `callbridge-relay` process, the clients connected to it (relay::edge::WsClient), and
//     (b) directly: the same frames written by the edge process itself to the same kind of client
//         over one TLS WebSocket (Boost.Beast + OpenSSL, the relay node's own stack, same
//         certificate, TCP_NODELAY like callbridged's event stream): what a client connected to
//         its edge without a relay would get.
//     The two paths alternate in blocks of half a second (after one warm-up block each), so load
//     from other processes on the machine falls on both alike. Latency = receive time - time
//     just before the edge encoded the frame, same steady clock (one process). "Added" = relay
//     percentile - direct percentile.
//  2. fan-out: frames/s one node delivers to `--fanout-clients` connected clients (one frame per
//     client per round, at most `--inflight` frames under way), through the relay vs direct;
//     CPU per frame of the relay process and of the edge's thread.
//  3. memory per idle edge (`--edges` RelayClients logged in, fresh relay process) and per idle
//     client (`--idle-clients` connections, fresh relay process): VmRSS and RssAnon of the relay
//     process (/proc/PID/status) after the connections minus before them (after a warm-up of a few
//     connections), divided by the count. Kernel memory (socket buffers, struct sock) is not in it.
//  4. clients per node: the same process keeps connecting idle clients up to `--capacity`
//     (several loopback source addresses, raised fd limit) or the first failure, then one fan-out
//     round to all of them.
// Idle clients are a lean epoll pool in this process (OpenSSL directly, SSL_MODE_RELEASE_BUFFERS,
// answering the relay's pings), so the bench's own memory stays small.
//   relay_bench [--relay PATH] [--rates 1000,10000] [--seconds 5] [--clients 10] [--payload 512]
//               [--fanout-clients 1000] [--rounds 20] [--edges 1000] [--idle-clients 10000]
//               [--capacity 30000] [--smoke]
// --smoke: tiny run with checks (nothing lost, every connection made, counts exact); figures
// meaningless.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "relay/auth/edge_auth.hpp"
#include "relay/edge/relay_client.hpp"
#include "relay/edge/ws_client.hpp"
#include "relay/node/registry.hpp"
#include "relay/wire/control.hpp"
#include "relay/wire/frame.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace callbridge;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using FrameBytes = std::shared_ptr<const std::string>;

bool g_failed = false;
void check(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "relay_bench: CHECK FAILED: %s\n", what.c_str());
    g_failed = true;
  }
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// user + system CPU seconds of a process (/proc/PID/stat fields 14, 15).
double process_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long ut = 0, st = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) ut = std::stoull(field);
    if (i == 15) st = std::stoull(field);
  }
  return static_cast<double>(ut + st) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Mem {
  long rss_kb = -1;
  long anon_kb = -1;
};
Mem process_mem(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  Mem m;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) m.rss_kb = std::stol(line.substr(6));
    if (line.starts_with("RssAnon:")) m.anon_kb = std::stol(line.substr(8));
  }
  return m;
}

// Raises this process's (and its children's) open-file limit as far as allowed.
rlim_t raise_fd_limit(rlim_t want) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_max < want) {
    rlimit up{want, want};
    if (setrlimit(RLIMIT_NOFILE, &up) == 0) return want;  // root (CAP_SYS_RESOURCE)
  }
  r.rlim_cur = std::min(r.rlim_max, std::max(r.rlim_cur, want));
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  return r.rlim_cur;
}

std::string fmt_us(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.0f", static_cast<double>(ns) / 1e3);
  return b;
}
std::string fmt_signed_us(std::int64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.0f", static_cast<double>(ns) / 1e3);
  return b;
}
std::string fmt_rate(double r) {
  char b[32];
  if (r >= 1e6) {
    std::snprintf(b, sizeof b, "%.2fM", r / 1e6);
  } else if (r >= 1e3) {
    std::snprintf(b, sizeof b, "%.1fk", r / 1e3);
  } else {
    std::snprintf(b, sizeof b, "%.0f", r);
  }
  return b;
}

std::int64_t percentile(std::vector<std::int64_t>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Counts events from any thread; the main thread waits for a count, with a deadline (no sleeps).
class Counter {
 public:
  void add(std::uint64_t n = 1) {
    {
      std::lock_guard lock(mu_);
      count_ += n;
    }
    cv_.notify_all();
  }
  bool wait_for(std::uint64_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  std::uint64_t value() {
    std::lock_guard lock(mu_);
    return count_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t count_ = 0;
};

// An io_context on its own thread; run() executes a function there and waits for its result.
class IoThread {
 public:
  IoThread() : guard_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }
  template <typename F>
  auto run(F&& f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::forward<F>(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// ------------------------------------------------------------------------------ the relay process

class RelayProcess {
 public:
  // Starts `callbridge-relay -c CONFIG serve` with stdout on a pipe (for the "listening on" line)
  // and stderr in LOG; returns false with the reason in `error`.
  bool start(const std::string& binary, const std::string& config, const std::string& log) {
    int fds[2];
    if (pipe(fds) != 0) return fail("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      const int lf = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (lf >= 0) dup2(lf, 2);
      ::close(fds[0]);
      ::close(fds[1]);
      execl(binary.c_str(), binary.c_str(), "-c", config.c_str(), "serve", static_cast<char*>(nullptr));
      _exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    std::string text;
    const auto deadline = Clock::now() + 15s;
    while (Clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      const int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (::poll(&p, 1, std::max(left, 1)) <= 0) break;
      char buf[512];
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      const auto at = text.find("listening on 127.0.0.1:");
      if (at != std::string::npos && text.find('\n', at) != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + 23)));
        return true;
      }
    }
    std::ifstream in(log);
    return fail("the relay did not start: " + text + std::string((std::istreambuf_iterator<char>(in)), {}));
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }
  ~RelayProcess() { stop(); }
  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  pid_t pid_ = -1;
  int out_ = -1;
  std::uint16_t port_ = 0;
  std::string error_;
};

// ------------------------------------------------------- the direct path: the edge serving clients

// One TLS WebSocket server in the edge's process, the same stack as the relay node (Beast over
// asio::ssl, same certificate and TLS options). Runs on one io thread; every call from it.
class DirectServer {
 public:
  DirectServer(asio::io_context& io, const std::string& cert, const std::string& key)
      : tls_(asio::ssl::context::tls_server), acceptor_(io) {
    tls_.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    tls_.use_certificate_chain_file(cert);
    tls_.use_private_key_file(key, asio::ssl::context::pem);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    accept();
  }
  ~DirectServer() { stop(); }
  void stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : conns_) c->close();
    conns_.clear();
  }
  std::uint16_t port() const { return port_; }
  std::size_t size() const { return conns_.size(); }
  void send(std::size_t conn, FrameBytes bytes) { conns_[conn % conns_.size()]->send(std::move(bytes)); }

 private:
  using Ws = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  struct Conn : std::enable_shared_from_this<Conn> {
    Conn(tcp::socket s, asio::ssl::context& tls) : ws(beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), tls)) {}
    Ws ws;
    beast::flat_buffer rb;
    std::deque<FrameBytes> queue;
    bool writing = false;
    bool dead = false;

    void start(std::function<void(std::shared_ptr<Conn>)> ready) {
      ws.next_layer().async_handshake(asio::ssl::stream_base::server,
                                      [self = shared_from_this(), ready](boost::system::error_code ec) {
                                        if (ec) return;
                                        self->ws.binary(true);
                                        self->ws.auto_fragment(false);
                                        self->ws.async_accept([self, ready](boost::system::error_code e) {
                                          if (e) return;
                                          ready(self);
                                          self->read();
                                        });
                                      });
    }
    void read() {
      ws.async_read(rb, [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) {
          self->dead = true;
          return;
        }
        self->rb.clear();
        self->read();
      });
    }
    void send(FrameBytes b) {
      if (dead) return;
      queue.push_back(std::move(b));
      if (!writing) write_next();
    }
    void write_next() {
      if (queue.empty() || dead) {
        writing = false;
        return;
      }
      writing = true;
      ws.async_write(asio::buffer(*queue.front()), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) {
          self->dead = true;
          self->writing = false;
          return;
        }
        self->queue.pop_front();
        self->write_next();
      });
    }
    void close() {
      dead = true;
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;  // closed
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);  // as callbridged's own event stream does
      auto c = std::make_shared<Conn>(std::move(s), tls_);
      c->start([this](std::shared_ptr<Conn> ready) { conns_.push_back(std::move(ready)); });
      accept();
    });
  }

  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::vector<std::shared_ptr<Conn>> conns_;
};

// ------------------------------------------------------------------------ the lean idle clients

// Many idle WebSocket clients at little memory: OpenSSL on the socket directly, one epoll thread
// reading (counting frames, answering pings). connect() is blocking and runs on the caller's thread
// until the upgrade (and the relay's welcome) arrived; then the connection belongs to the pool.
class LeanPool {
 public:
  explicit LeanPool(const std::string& ca_file) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    thread_ = std::thread([this] { loop(); });
  }
  ~LeanPool() {
    stop_ = true;
    thread_.join();
    for (auto& c : clients_) {
      SSL_free(c->ssl);
      ::close(c->fd);
    }
    SSL_CTX_free(ctx_);
    ::close(epfd_);
  }

  // "" when connected; else why not.
  std::string connect(const std::string& source, std::uint16_t port, const std::string& target, bool expect_message) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::string("socket: ") + std::strerror(errno);
    auto fail = [&](std::string why, SSL* ssl = nullptr) {
      if (ssl) SSL_free(ssl);
      ::close(fd);
      return why;
    };
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &src.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) return fail(std::string("bind: ") + std::strerror(errno));
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as browsers do
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0)
      return fail(std::string("connect: ") + std::strerror(errno));
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      char err[256];
      ERR_error_string_n(ERR_get_error(), err, sizeof err);
      return fail(std::string("TLS: ") + err, ssl);
    }
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                            "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                            "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    if (SSL_write(ssl, req.data(), static_cast<int>(req.size())) != static_cast<int>(req.size()))
      return fail("write of the upgrade failed", ssl);
    std::string in;
    std::size_t end = std::string::npos;
    char buf[4096];
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0 || in.size() > 16384) return fail("no upgrade answer", ssl);
      in.append(buf, static_cast<std::size_t>(n));
    }
    if (!in.starts_with("HTTP/1.1 101")) return fail("refused: " + in.substr(0, in.find("\r\n")) + " " + in.substr(end + 4), ssl);
    auto c = std::make_unique<Client>();
    c->rbuf = in.substr(end + 4);
    if (expect_message) {
      int opcode = 0;
      std::string_view payload;
      std::size_t used = 0;
      while ((used = parse(c->rbuf, 0, opcode, payload)) == 0) {
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) return fail("no first message", ssl);
        c->rbuf.append(buf, static_cast<std::size_t>(n));
      }
      if (opcode == 8) return fail("closed at once: " + std::string(payload.size() > 2 ? payload.substr(2) : ""), ssl);
      if (opcode == 1) ++texts_;
      c->rbuf.erase(0, used);
    }
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    c->fd = fd;
    c->ssl = ssl;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c.get();
    {
      std::lock_guard lock(mu_);
      clients_.push_back(std::move(c));
    }
    epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    return {};
  }

  std::size_t size() {
    std::lock_guard lock(mu_);
    return clients_.size();
  }
  Counter& binary() { return binary_; }
  std::uint64_t closed() const { return closed_.load(); }
  std::uint64_t texts() const { return texts_.load(); }

 private:
  struct Client {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string rbuf;
    bool dead = false;
  };

  // One server frame at `off` of `b`: bytes used (0 = incomplete), its opcode and payload.
  static std::size_t parse(const std::string& b, std::size_t off, int& opcode, std::string_view& payload) {
    if (b.size() - off < 2) return 0;
    const auto* p = reinterpret_cast<const std::uint8_t*>(b.data()) + off;
    opcode = p[0] & 0x0f;
    std::uint64_t len = p[1] & 0x7f;
    std::size_t h = 2;
    if (len == 126) {
      if (b.size() - off < 4) return 0;
      len = (std::uint64_t{p[2]} << 8) | p[3];
      h = 4;
    } else if (len == 127) {
      if (b.size() - off < 10) return 0;
      len = 0;
      for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
      h = 10;
    }
    if (p[1] & 0x80) h += 4;  // servers do not mask; tolerated
    if (b.size() - off < h + len) return 0;
    payload = std::string_view(b.data() + off + h, static_cast<std::size_t>(len));
    return h + static_cast<std::size_t>(len);
  }

  void kill(Client* c) {
    if (c->dead) return;
    c->dead = true;
    ++closed_;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
  }

  void readable(Client* c) {
    if (c->dead) return;
    char buf[16384];
    for (;;) {
      const int n = SSL_read(c->ssl, buf, sizeof buf);
      if (n > 0) {
        c->rbuf.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      const int e = SSL_get_error(c->ssl, n);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
      kill(c);
      break;
    }
    std::size_t off = 0;
    std::uint64_t frames = 0;
    int opcode = 0;
    std::string_view payload;
    while (std::size_t used = parse(c->rbuf, off, opcode, payload)) {
      off += used;
      if (opcode == 2) {
        ++frames;
      } else if (opcode == 1) {
        ++texts_;
      } else if (opcode == 9 && payload.size() <= 125 && !c->dead) {
        // Pong, masked with a zero key (the payload stays as it is).
        std::string pong{static_cast<char>(0x8a), static_cast<char>(0x80 | payload.size()), 0, 0, 0, 0};
        pong.append(payload);
        SSL_write(c->ssl, pong.data(), static_cast<int>(pong.size()));
      } else if (opcode == 8) {
        kill(c);
      }
    }
    c->rbuf.erase(0, off);
    if (c->rbuf.empty()) std::string().swap(c->rbuf);
    if (frames) binary_.add(frames);
  }

  void loop() {
    epoll_event events[256];
    while (!stop_) {
      const int n = epoll_wait(epfd_, events, 256, 100);
      for (int i = 0; i < n; ++i) readable(static_cast<Client*>(events[i].data.ptr));
    }
  }

  SSL_CTX* ctx_ = nullptr;
  int epfd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Client>> clients_;
  Counter binary_;
  std::atomic<std::uint64_t> closed_{0};
  std::atomic<std::uint64_t> texts_{0};
};

// ---------------------------------------------------------------------------------- the set-up

struct Options {
  std::string relay = CALLBRIDGE_RELAY_PATH;
  std::vector<int> rates{1000, 10000};
  double seconds = 5;
  int clients = 10;
  int payload = 512;
  int fanout_clients = 1000;
  int rounds = 20;
  int inflight = 2000;
  int edges = 1000;
  int idle_clients = 10000;
  int capacity = 30000;
  int sources = 8;
  bool smoke = false;
};

// Client ids look like the real ones (16 bytes of a BLAKE2b digest): the index is spread over all
// bytes (splitmix64), not left in the last four.
relay::wire::ClientId client_id(std::uint8_t kind, std::uint32_t n) {
  auto mix = [](std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  const std::uint64_t a = mix(std::uint64_t{kind} << 32 | n);
  const std::uint64_t b = mix(a);
  relay::wire::ClientId id{};
  for (int i = 0; i < 8; ++i) {
    id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(a >> (8 * i));
    id[static_cast<std::size_t>(i) + 8] = static_cast<std::uint8_t>(b >> (8 * i));
  }
  return id;
}

std::string source_address(int i, int sources) { return "127.0.0." + std::to_string(1 + i % sources); }

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)), dir_("relay-bench") {}

  bool setup() {
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                            "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                            dir_ / "key.pem" + " -out " + dir_ / "cert.pem" + " 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "relay_bench: openssl req failed (%s)\n", cmd.c_str());
      return false;
    }
    // The registry: the bench's edge (joins at its first login) and the idle edges, joined here
    // already (each join rewrites the registry file; that is not what is measured).
    auto reg = relay::node::Registry::load(dir_ / "edges.json");
    if (!reg) return false;
    token_ = *reg->add("bench");
    edge_keys_ = relay::auth::generate_key_pair();
    std::vector<std::string> tokens;
    for (int i = 0; i < o_.edges; ++i) {
      auto token = reg->add("idle-" + std::to_string(i));
      if (!token) return false;
      tokens.push_back(*token);
    }
    if (auto st = reg->save(); !st) return false;
    for (int i = 0; i < o_.edges; ++i) {
      idle_keys_.push_back(relay::auth::generate_key_pair());
      const std::string nonce = relay::auth::random_bytes(relay::auth::kNonceBytes);
      wire_hello_login(*reg, "idle-" + std::to_string(i), idle_keys_.back(), tokens[static_cast<std::size_t>(i)], nonce);
    }
    std::ofstream(dir_ / "relay.toml")
        << "name = \"bench\"\nlisten = \"127.0.0.1:0\"\nregistry = \"" << dir_ / "edges.json" << "\"\nweb_root = \""
        << dir_.path() << "\"\nlog_level = \"warn\"\n[tls]\ncert_file = \"" << dir_ / "cert.pem"
        << "\"\nkey_file = \"" << dir_ / "key.pem" << "\"\n[limits]\nmax_clients = " << o_.capacity + 1000
        << "\nmax_connections = " << o_.capacity + o_.edges + 2000 << "\n";
    return true;
  }

  static void wire_hello_login(relay::node::Registry& reg, const std::string& id, const relay::auth::KeyPair& keys,
                               const std::string& token, const std::string& nonce) {
    relay::wire::Hello hello{id, relay::auth::b64url(keys.public_key),
                             relay::auth::b64url(relay::auth::sign(keys, relay::auth::challenge_message(nonce, id))),
                             token};
    auto refusal = reg.login(hello, nonce);
    check(!refusal, "pre-join of " + id);
  }

  bool start_relay(RelayProcess& p) {
    if (!p.start(o_.relay, dir_ / "relay.toml", dir_ / "relay.log")) {
      std::fprintf(stderr, "relay_bench: %s\n", p.error().c_str());
      return false;
    }
    return true;
  }

  // The bench's edge on `io`, logged in at `port`.
  std::unique_ptr<relay::edge::RelayClient> edge(IoThread& io, std::uint16_t port, const std::string& id,
                                                 const relay::auth::KeyPair& keys, const std::string& token,
                                                 Counter& up) {
    return io.run([&]() -> std::unique_ptr<relay::edge::RelayClient> {
      relay::edge::RelayClientOptions ro;
      ro.url = "wss://127.0.0.1:" + std::to_string(port);
      ro.edge_id = id;
      ro.keys = keys;
      ro.join_token = token;
      ro.ca_file = dir_ / "cert.pem";
      ro.outbox_frames = 4096;
      auto link = relay::edge::RelayClient::create(io.io(), ro);
      if (!link) return nullptr;
      (*link)->set_handlers(relay::edge::EdgeLink::Handlers{
          .client_connected = {}, .client_gone = {}, .frame = {},
          .link = [&up](bool on) {
            if (on) up.add();
          }});
      (*link)->start();
      return std::move(*link);
    });
  }

  void latency_and_fanout();
  void idle_edges();
  void idle_clients();

 private:
  struct LatencyRow {
    int rate;
    std::size_t events[2]{};
    std::int64_t p50[2]{}, p99[2]{}, p999[2]{}, max[2]{};
    double relay_cpu_us = 0;  // relay process CPU per relayed frame
  };
  void print_latency(const std::vector<LatencyRow>& rows);
  struct FanoutRow {
    std::string path;
    std::size_t clients = 0;
    std::uint64_t frames = 0;
    double seconds = 0;
    double server_cpu = 0;  // relay process (relay path) or the edge's server thread (direct)
    double edge_cpu = 0;    // the edge's thread (relay path)
  };
  FanoutRow fanout(IoThread& edge_io, LeanPool& pool, std::size_t clients, int rounds,
                   const std::function<void(std::size_t client, std::uint32_t round)>& send, pid_t relay_pid,
                   const std::string& path);

  Options o_;
  callbridge::testing::TempDir dir_;
  std::string token_;
  relay::auth::KeyPair edge_keys_;
  std::vector<relay::auth::KeyPair> idle_keys_;
  std::vector<FanoutRow> fanout_rows_;
};

// ------------------------------------------------------------------------ 1 + 2: latency, fan-out

void Bench::latency_and_fanout() {
  RelayProcess relay;
  if (!start_relay(relay)) return check(false, "relay start");
  IoThread edge_io;    // the edge: RelayClient and the direct server
  IoThread client_io;  // the clients of both paths
  Counter up;
  auto link = edge(edge_io, relay.port(), "bench", edge_keys_, token_, up);
  if (!link || !up.wait_for(1, 15s)) return check(false, "the bench edge logs in");
  auto direct = edge_io.run([&] {
    return std::make_unique<DirectServer>(edge_io.io(), dir_ / "cert.pem", dir_ / "key.pem");
  });

  const int k = o_.clients;
  std::vector<relay::wire::ClientId> ids;
  for (int c = 0; c < k; ++c) ids.push_back(client_id(0xa0, static_cast<std::uint32_t>(c)));

  // Receive side (client_io thread only): per path, latency samples of the current rate.
  struct Rx {
    std::vector<std::int64_t> samples[2];
    std::uint64_t received[2]{};
    std::uint64_t bad = 0;
    std::size_t record_from = 0;     // events below this index are warm-up
    std::size_t block = 1;
    std::vector<std::atomic<std::int64_t>>* sent = nullptr;
  } rx;
  Counter got;      // frames received, both paths
  Counter opened;   // clients whose connection is up (relay: after the welcome)
  std::vector<std::unique_ptr<relay::edge::WsClient>> clients;
  auto make_client = [&](int path, const std::string& target, std::uint16_t port) {
    relay::edge::WsClientOptions wo;
    wo.url = relay::edge::WssUrl{"127.0.0.1", std::to_string(port), target};
    wo.ca_file = dir_ / "cert.pem";
    auto on_message = [&, path](std::string_view m, bool text) {
      if (text) {
        auto c = relay::wire::parse_control(m);
        if (c && std::holds_alternative<relay::wire::Welcome>(*c)) opened.add();
        return;
      }
      const std::int64_t t = now_ns();
      std::uint64_t idx = 0;
      if (m.size() < relay::wire::kHeaderSize + 9) {
        ++rx.bad;
        return;
      }
      std::memcpy(&idx, m.data() + relay::wire::kHeaderSize, 8);
      const int p = static_cast<std::uint8_t>(m[relay::wire::kHeaderSize + 8]);
      if (rx.sent == nullptr || idx >= rx.sent->size() || p != path) {
        ++rx.bad;
        return;
      }
      ++rx.received[path];
      if (idx >= rx.record_from) rx.samples[path].push_back(t - (*rx.sent)[idx].load(std::memory_order_acquire));
      got.add();
    };
    auto ws = std::make_unique<relay::edge::WsClient>(
        client_io.io(), wo,
        relay::edge::WsClient::Handlers{.opened = [&, path] {
                                          if (path == 1) opened.add();
                                        },
                                        .message = on_message,
                                        .closed = [](const std::string& why, int, const std::string&) {
                                          std::fprintf(stderr, "relay_bench: a client closed: %s\n", why.c_str());
                                        }});
    ws->connect();
    clients.push_back(std::move(ws));
  };
  client_io.run([&] {
    for (int c = 0; c < k; ++c) {
      make_client(0, "/v1/client?edge=bench&client=" + relay::wire::client_id_hex(ids[c]), relay.port());
      make_client(1, "/direct", direct->port());
    }
  });
  if (!opened.wait_for(2 * k, 20s) ||
      ![&] {
        for (int i = 0; i < 200; ++i) {
          if (edge_io.run([&] { return direct->size(); }) == static_cast<std::size_t>(k)) return true;
          std::this_thread::sleep_for(10ms);
        }
        return false;
      }()) {
    check(false, "every latency client connected (" + std::to_string(opened.value()) + " of " + std::to_string(2 * k) + ")");
    client_io.run([&] { clients.clear(); });
    return;
  }

  std::vector<LatencyRow> rows;
  const std::string pad = relay::auth::random_bytes(static_cast<std::size_t>(std::max(o_.payload, 16)));
  for (int rate : o_.rates) {
    const std::size_t block = std::max<std::size_t>(static_cast<std::size_t>(rate / 2), 20);  // half a second
    const std::size_t measured = std::max<std::size_t>(static_cast<std::size_t>(o_.seconds * rate), 2 * block);
    const std::size_t blocks = 2 + 2 * ((measured + block - 1) / block);
    const std::size_t total = blocks * block;
    std::vector<std::atomic<std::int64_t>> sent(total);
    client_io.run([&] {
      rx.samples[0].clear();
      rx.samples[1].clear();
      rx.received[0] = rx.received[1] = 0;
      rx.record_from = 2 * block;
      rx.sent = &sent;
    });
    const std::uint64_t got_before = got.value();
    std::uint64_t sent_count[2]{};
    std::vector<std::uint64_t> call(static_cast<std::size_t>(k) * 2, 1), in_call(static_cast<std::size_t>(k) * 2, 0),
        dseq(static_cast<std::size_t>(k), 0);
    const double relay_cpu0 = process_cpu_s(relay.pid());
    // The paced stream on the edge's thread: event i is due at t0 + i/rate; every due event is
    // sent when the timer fires (the timestamp is taken at the send, not the due time).
    std::promise<void> done;
    asio::steady_timer timer(edge_io.io());
    std::size_t next = 0;
    const auto t0 = Clock::now() + 20ms;
    const auto period = std::chrono::nanoseconds(1'000'000'000LL / rate);
    std::function<void()> step = [&] {
      const auto now = Clock::now();
      while (next < total && t0 + period * static_cast<std::int64_t>(next) <= now) {
        const std::size_t i = next++;
        const int path = static_cast<int>((i / block) % 2);
        const std::size_t c = i % static_cast<std::size_t>(k);
        std::string payload = pad.substr(0, static_cast<std::size_t>(o_.payload));
        const std::uint64_t idx = i;
        std::memcpy(payload.data(), &idx, 8);
        payload[8] = static_cast<char>(path);
        // Calls of 8 events per client; the 8th ends the call (the relay drops its frames).
        const std::size_t slot = c * 2 + static_cast<std::size_t>(path);
        const std::uint16_t flags = ++in_call[slot] % 8 == 0 ? relay::wire::kFlagCallEnd : 0;
        const std::uint64_t tag = call[slot];
        if (flags) ++call[slot];
        ++sent_count[path];
        if (path == 0) {
          auto h = link->next_header(ids[c], flags, tag, static_cast<std::uint32_t>(payload.size()));
          sent[i].store(now_ns(), std::memory_order_release);
          link->send(h, std::move(payload));
        } else {
          relay::wire::FrameHeader h;
          h.flags = flags;
          h.client = ids[c];
          h.seq = ++dseq[c];
          h.call_tag = tag;
          sent[i].store(now_ns(), std::memory_order_release);
          direct->send(c, std::make_shared<const std::string>(relay::wire::encode_frame(h, payload)));
        }
      }
      if (next < total) {
        timer.expires_at(t0 + period * static_cast<std::int64_t>(next));
        timer.async_wait([&](boost::system::error_code ec) {
          if (!ec) step();
        });
      } else {
        done.set_value();
      }
    };
    asio::post(edge_io.io(), step);
    done.get_future().wait();
    edge_io.run([] {});  // the edge's thread has left step()
    const bool all = got.wait_for(got_before + total, 20s);
    const double relay_cpu = process_cpu_s(relay.pid()) - relay_cpu0;
    check(all, "every frame of the " + std::to_string(rate) + "/s stream arrived (" +
                   std::to_string(got.value() - got_before) + " of " + std::to_string(total) + ")");
    LatencyRow row{rate};
    client_io.run([&] {
      for (int p = 0; p < 2; ++p) {
        row.events[p] = rx.samples[p].size();
        check(rx.received[p] == sent_count[p], "path " + std::to_string(p) + ": received == sent");
        row.p50[p] = percentile(rx.samples[p], 50);
        row.p99[p] = percentile(rx.samples[p], 99);
        row.p999[p] = percentile(rx.samples[p], 99.9);
        row.max[p] = rx.samples[p].empty() ? 0 : rx.samples[p].back();
      }
      rx.sent = nullptr;
    });
    row.relay_cpu_us = sent_count[0] ? relay_cpu / static_cast<double>(sent_count[0]) * 1e6 : 0;
    check(row.events[0] > 0 && row.events[1] > 0, "latency samples recorded");
    rows.push_back(row);
  }
  client_io.run([&] { check(rx.bad == 0, "no foreign or malformed frames at the clients"); });
  print_latency(rows);

  // Fan-out: lean clients, one frame per client per round, relay vs direct.
  const std::size_t f = static_cast<std::size_t>(o_.fanout_clients);
  {
    LeanPool pool(dir_ / "cert.pem");
    std::string err;
    for (std::size_t i = 0; i < f && err.empty(); ++i) {
      err = pool.connect(source_address(static_cast<int>(i), o_.sources), relay.port(),
                         "/v1/client?edge=bench&client=" + relay::wire::client_id_hex(client_id(0xf0, static_cast<std::uint32_t>(i))),
                         true);
    }
    check(err.empty(), "fan-out clients connect to the relay: " + err);
    const std::string payload = pad.substr(0, static_cast<std::size_t>(o_.payload));
    fanout_rows_.push_back(fanout(edge_io, pool, pool.size(), o_.rounds,
                                  [&](std::size_t c, std::uint32_t) {
                                    auto h = link->next_header(client_id(0xf0, static_cast<std::uint32_t>(c)), 0, 0,
                                                               static_cast<std::uint32_t>(payload.size()));
                                    link->send(h, payload);
                                  },
                                  relay.pid(), "through callbridge-relay"));
  }
  {
    LeanPool pool(dir_ / "cert.pem");
    std::string err;
    for (std::size_t i = 0; i < f && err.empty(); ++i) {
      err = pool.connect(source_address(static_cast<int>(i), o_.sources), direct->port(), "/direct", false);
    }
    check(err.empty(), "fan-out clients connect to the direct server: " + err);
    for (int i = 0; i < 200 && edge_io.run([&] { return direct->size(); }) < f + static_cast<std::size_t>(k); ++i)
      std::this_thread::sleep_for(10ms);
    const std::string payload = pad.substr(0, static_cast<std::size_t>(o_.payload));
    std::vector<std::uint64_t> seqs(f, 0);
    fanout_rows_.push_back(fanout(edge_io, pool, pool.size(), o_.rounds,
                                  [&](std::size_t c, std::uint32_t) {
                                    relay::wire::FrameHeader h;
                                    h.client = client_id(0xf0, static_cast<std::uint32_t>(c));
                                    h.seq = ++seqs[c];
                                    // The direct server's connections: the k latency clients first.
                                    direct->send(static_cast<std::size_t>(k) + c,
                                                 std::make_shared<const std::string>(relay::wire::encode_frame(h, payload)));
                                  },
                                  -1, "direct (one TLS WebSocket hop)"));
  }
  client_io.run([&] { clients.clear(); });
  edge_io.run([&] {
    link.reset();
    direct.reset();
  });
}

Bench::FanoutRow Bench::fanout(IoThread& edge_io, LeanPool& pool, std::size_t clients, int rounds,
                               const std::function<void(std::size_t, std::uint32_t)>& send, pid_t relay_pid,
                               const std::string& path) {
  FanoutRow row{path, clients};
  const std::uint64_t total = clients * static_cast<std::uint64_t>(rounds);
  const std::uint64_t base = pool.binary().value();
  const double relay0 = relay_pid > 0 ? process_cpu_s(relay_pid) : 0;
  const double edge0 = edge_io.run([] { return thread_cpu_s(); });
  const auto t0 = Clock::now();
  // At most `inflight` frames under way: the edge's thread sends while fewer are outstanding.
  std::promise<void> done;
  asio::steady_timer timer(edge_io.io());
  std::uint64_t sent = 0;
  std::function<void()> step = [&] {
    const std::uint64_t received = pool.binary().value() - base;
    while (sent < total && sent - received < static_cast<std::uint64_t>(o_.inflight)) {
      send(sent % clients, static_cast<std::uint32_t>(sent / clients));
      ++sent;
    }
    if (sent < total) {
      timer.expires_after(100us);
      timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) step();
      });
    } else {
      done.set_value();
    }
  };
  asio::post(edge_io.io(), step);
  done.get_future().wait();
  edge_io.run([] {});  // the edge's thread has left step()
  const bool all = pool.binary().wait_for(base + total, 60s);
  row.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  row.frames = pool.binary().value() - base;
  const double edge_cpu = edge_io.run([] { return thread_cpu_s(); }) - edge0;
  if (relay_pid > 0) {
    row.server_cpu = process_cpu_s(relay_pid) - relay0;
    row.edge_cpu = edge_cpu;
  } else {
    row.server_cpu = edge_cpu;
  }
  check(all && row.frames == total, path + ": fan-out delivered every frame (" + std::to_string(row.frames) + " of " +
                                        std::to_string(total) + ")");
  check(pool.closed() == 0, path + ": no fan-out client was closed");
  return row;
}

void Bench::print_latency(const std::vector<LatencyRow>& rows) {
  std::printf("### Latency edge -> client: through the relay vs a direct connection (same run)\n\n");
  std::printf("%d clients, %d-byte payloads (+40-byte header), paths alternating every half second; "
              "microseconds from the edge's send to the client's receive; relay CPU per relayed frame "
              "(callbridge-relay process, /proc/PID/stat)\n\n",
              o_.clients, o_.payload);
  std::printf("| events/s | path | samples | p50 | p99 | p99.9 | max | relay CPU us/frame |\n");
  std::printf("|---:|---|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    std::printf("| %d | direct (one TLS WebSocket hop) | %zu | %s | %s | %s | %s | |\n", r.rate, r.events[1],
                fmt_us(r.p50[1]).c_str(), fmt_us(r.p99[1]).c_str(), fmt_us(r.p999[1]).c_str(), fmt_us(r.max[1]).c_str());
    std::printf("| %d | through callbridge-relay | %zu | %s | %s | %s | %s | %.1f |\n", r.rate, r.events[0],
                fmt_us(r.p50[0]).c_str(), fmt_us(r.p99[0]).c_str(), fmt_us(r.p999[0]).c_str(), fmt_us(r.max[0]).c_str(),
                r.relay_cpu_us);
    std::printf("| %d | **added by the relay** | | **%s** | **%s** | %s | | |\n", r.rate,
                fmt_signed_us(r.p50[0] - r.p50[1]).c_str(), fmt_signed_us(r.p99[0] - r.p99[1]).c_str(),
                fmt_signed_us(r.p999[0] - r.p999[1]).c_str());
  }
  std::printf("\n");
  for (const auto& r : rows) {
    const std::int64_t added = r.p99[0] - r.p99[1];
    std::printf("goal at %d events/s, at most 1 ms added at p99: %s (%s us)\n", r.rate,
                added <= 1'000'000 ? "met" : "NOT met", fmt_signed_us(added).c_str());
  }
  std::printf("\n");
  std::fflush(stdout);
}

// --------------------------------------------------------------------------------- 3: idle edges

void Bench::idle_edges() {
  RelayProcess relay;
  if (!start_relay(relay)) return check(false, "relay start");
  IoThread io;
  Counter up;
  const std::size_t warm = std::min<std::size_t>(10, idle_keys_.size() / 10 + 1);
  std::vector<std::unique_ptr<relay::edge::RelayClient>> links;
  auto connect = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      links.push_back(edge(io, relay.port(), "idle-" + std::to_string(i), idle_keys_[i], "", up));
    }
    return up.wait_for(to, std::chrono::milliseconds(30'000 + 30 * (to - from)));
  };
  const std::size_t m = idle_keys_.size();
  if (!connect(0, warm)) return check(false, "warm-up edges log in");
  const Mem before = process_mem(relay.pid());
  const auto t0 = Clock::now();
  const bool all = connect(warm, m);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const Mem after = process_mem(relay.pid());
  check(all, "every idle edge logged in (" + std::to_string(up.value()) + " of " + std::to_string(m) + ")");
  const double n = static_cast<double>(m - warm);
  std::printf("### Memory per idle edge (fresh relay process)\n\n");
  std::printf("| edges logged in | login rate (edges/s) | relay VmRSS before -> after (MiB) | VmRSS per edge (bytes) | RssAnon per edge (bytes) |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  std::printf("| %zu (+%zu warm-up) | %.0f | %.1f -> %.1f | %.0f | %.0f |\n\n", m - warm, warm, n / secs,
              static_cast<double>(before.rss_kb) / 1024, static_cast<double>(after.rss_kb) / 1024,
              static_cast<double>(after.rss_kb - before.rss_kb) * 1024 / n,
              static_cast<double>(after.anon_kb - before.anon_kb) * 1024 / n);
  std::fflush(stdout);
  io.run([&] { links.clear(); });
}

// ------------------------------------------------------------------- 3 + 4: idle clients, capacity

void Bench::idle_clients() {
  RelayProcess relay;
  if (!start_relay(relay)) return check(false, "relay start");
  IoThread edge_io;
  Counter up;
  auto link = edge(edge_io, relay.port(), "bench", edge_keys_, token_, up);
  if (!link || !up.wait_for(1, 15s)) return check(false, "the bench edge logs in");
  LeanPool pool(dir_ / "cert.pem");
  std::string err;
  std::size_t connected = 0;
  auto connect_to = [&](std::size_t n) {
    const auto t0 = Clock::now();
    const std::size_t from = connected;
    for (; connected < n && err.empty(); ++connected) {
      err = pool.connect(source_address(static_cast<int>(connected), o_.sources), relay.port(),
                         "/v1/client?edge=bench&client=" +
                             relay::wire::client_id_hex(client_id(0xc0, static_cast<std::uint32_t>(connected))),
                         true);
      if (!err.empty()) break;
    }
    return static_cast<double>(connected - from) / std::chrono::duration<double>(Clock::now() - t0).count();
  };
  const std::size_t warm = 100;
  connect_to(warm);
  if (!err.empty()) return check(false, "warm-up clients connect: " + err);
  const Mem base = process_mem(relay.pid());
  struct Step {
    std::size_t clients;
    Mem mem;
    double rate;
  };
  std::vector<Step> steps;
  const double cpu0 = process_cpu_s(relay.pid());
  double rate = connect_to(warm + static_cast<std::size_t>(o_.idle_clients));
  steps.push_back({connected, process_mem(relay.pid()), rate});
  check(err.empty(), "every idle client connected: " + err);
  if (err.empty() && o_.capacity > o_.idle_clients) {
    rate = connect_to(warm + static_cast<std::size_t>(o_.capacity));
    steps.push_back({connected, process_mem(relay.pid()), rate});
  }
  const double connect_cpu = process_cpu_s(relay.pid()) - cpu0;
  const std::size_t held = pool.size();
  check(pool.closed() == 0, "no idle client was closed");
  std::printf("### Memory per idle client, clients per node (fresh relay process, the edge online)\n\n");
  std::printf("| idle clients | connect rate (clients/s, TLS + upgrade, one at a time) | relay VmRSS (MiB) | VmRSS per client (bytes) | RssAnon per client (bytes) |\n");
  std::printf("|---:|---:|---:|---:|---:|\n");
  std::printf("| %zu (warm-up) | | %.1f | | |\n", warm, static_cast<double>(base.rss_kb) / 1024);
  for (const auto& s : steps) {
    const double n = static_cast<double>(s.clients - warm);
    std::printf("| %zu | %.0f | %.1f | %.0f | %.0f |\n", s.clients - warm, s.rate, static_cast<double>(s.mem.rss_kb) / 1024,
                static_cast<double>(s.mem.rss_kb - base.rss_kb) * 1024 / n,
                static_cast<double>(s.mem.anon_kb - base.anon_kb) * 1024 / n);
  }
  std::printf("\nrelay CPU per client connection (TLS handshake, upgrade, routing): %.0f us; held %zu clients%s\n",
              connect_cpu / static_cast<double>(connected - warm) * 1e6, held,
              err.empty() ? " (the target; not a limit found)" : (" (stopped: " + err + ")").c_str());
  if (!steps.empty()) {
    const double per = static_cast<double>(steps[0].mem.rss_kb - base.rss_kb) * 1024 /
                       static_cast<double>(steps[0].clients - warm);
    std::printf("goal, at most 2 KB per idle client: %s (%.0f bytes of VmRSS)\n\n", per <= 2048 ? "met" : "NOT met", per);
  }
  std::fflush(stdout);

  // One fan-out over every client held.
  const std::string payload = relay::auth::random_bytes(static_cast<std::size_t>(o_.payload));
  fanout_rows_.push_back(fanout(edge_io, pool, held, 1,
                                [&](std::size_t c, std::uint32_t) {
                                  auto h = link->next_header(client_id(0xc0, static_cast<std::uint32_t>(c)), 0, 0,
                                                             static_cast<std::uint32_t>(payload.size()));
                                  link->send(h, payload);
                                },
                                relay.pid(), "through callbridge-relay, every client held"));
  std::printf("### Fan-out: frames one node delivers (one frame per client per round, at most %d under way)\n\n",
              o_.inflight);
  std::printf("| path | clients | frames | frames/s (wall) | server CPU ns/frame | edge CPU ns/frame |\n");
  std::printf("|---|---:|---:|---:|---:|---:|\n");
  for (const auto& r : fanout_rows_) {
    const double fr = static_cast<double>(std::max<std::uint64_t>(r.frames, 1));
    std::printf("| %s | %zu | %llu | %s | %.0f | %s |\n", r.path.c_str(), r.clients,
                static_cast<unsigned long long>(r.frames), fmt_rate(static_cast<double>(r.frames) / r.seconds).c_str(),
                r.server_cpu / fr * 1e9, r.edge_cpu > 0 ? std::to_string(static_cast<long>(r.edge_cpu / fr * 1e9)).c_str() : "-");
  }
  if (fanout_rows_.size() >= 2 && fanout_rows_[0].seconds > 0 && fanout_rows_[1].seconds > 0) {
    const double relay_rate = static_cast<double>(fanout_rows_[0].frames) / fanout_rows_[0].seconds;
    const double direct_rate = static_cast<double>(fanout_rows_[1].frames) / fanout_rows_[1].seconds;
    std::printf("\nrelay vs direct at %zu clients: %.2fx the frames/s\n", fanout_rows_[0].clients, relay_rate / direct_rate);
  }
  std::printf("\n");
  std::fflush(stdout);
  edge_io.run([&] { link.reset(); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"relay_bench: the cloud relay's added latency, fan-out, memory per idle edge and client, and clients "
               "per node, against the real callbridge-relay over loopback TLS WebSocket (docs/performance.md)"};
  Options o;
  std::string rates = "1000,10000";
  app.add_option("--relay", o.relay, "the callbridge-relay binary")->capture_default_str();
  app.add_option("--rates", rates, "events/s of the latency runs, comma-separated")->capture_default_str();
  app.add_option("--seconds", o.seconds, "measured seconds per path and rate")->capture_default_str();
  app.add_option("--clients", o.clients, "clients of the latency runs (per path)")->capture_default_str();
  app.add_option("--payload", o.payload, "payload bytes per frame (after the 40-byte header)")->capture_default_str()->check(CLI::Range(16, 60000));
  app.add_option("--fanout-clients", o.fanout_clients, "clients of the fan-out runs")->capture_default_str();
  app.add_option("--rounds", o.rounds, "fan-out rounds (one frame per client each)")->capture_default_str();
  app.add_option("--inflight", o.inflight, "fan-out frames under way at most")->capture_default_str();
  app.add_option("--edges", o.edges, "idle edges for the memory per edge")->capture_default_str();
  app.add_option("--idle-clients", o.idle_clients, "idle clients for the memory per client")->capture_default_str();
  app.add_option("--capacity", o.capacity, "idle clients to try to hold on one node")->capture_default_str();
  app.add_option("--sources", o.sources, "loopback source addresses (127.0.0.1..N) of the idle clients")->capture_default_str();
  app.add_flag("--smoke", o.smoke, "tiny run with checks only (ctest); figures meaningless");
  CLI11_PARSE(app, argc, argv);
  if (o.smoke) {
    rates = "500,2000";
    o.seconds = 0.5;
    o.clients = 3;
    o.fanout_clients = 20;
    o.rounds = 3;
    o.edges = 5;
    o.idle_clients = 30;
    o.capacity = 40;
  }
  o.rates.clear();
  for (std::size_t pos = 0; pos <= rates.size();) {
    const auto comma = std::min(rates.find(',', pos), rates.size());
    if (comma > pos) o.rates.push_back(std::stoi(rates.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  if (o.rates.empty() || o.clients < 1 || o.fanout_clients < 1 || o.edges < 1 || o.idle_clients < 1) {
    std::fprintf(stderr, "relay_bench: rates, clients, fan-out clients, edges and idle clients must be positive\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::warn);
  const rlim_t want = static_cast<rlim_t>(2 * (o.capacity + o.edges + o.fanout_clients) + 4096);
  const rlim_t have = raise_fd_limit(want);
  if (have < want) {
    std::fprintf(stderr, "relay_bench: open-file limit %llu, %llu wanted; fewer clients will fit\n",
                 static_cast<unsigned long long>(have), static_cast<unsigned long long>(want));
  }

  Bench bench(o);
  if (!bench.setup()) return 1;
  std::printf("relay: %s; latency and fan-out on one relay process, edges and clients on a fresh one each\n\n",
              o.relay.c_str());
  bench.latency_and_fanout();
  bench.idle_edges();
  bench.idle_clients();
  if (g_failed) {
    std::fprintf(stderr, "relay_bench: some checks failed (above)\n");
    return 1;
  }
  if (o.smoke) std::printf("smoke: every check passed (figures meaningless)\n");
  return 0;
}
