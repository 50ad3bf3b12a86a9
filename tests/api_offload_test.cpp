// Blocking work off the io thread (issue 10), over real sockets: a real HttpServer on its own io
// thread with the REST routes, the Authenticator and the two worker pools wired as callbridged
// wires them. Each test holds a pool's only worker with a gate job, so "the io thread still
// answers" and "the queue bound answers 503" are checked deterministically, not by timing.
#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

#include "api/auth.hpp"
#include "app/capability_table.hpp"
#include "api/ws_event_stream.hpp"
#include "base/worker_pool.hpp"
#include "identity/sqlite/identity_store.hpp"
#include "journal/sqlite/sqlite_journal_store.hpp"
#include "support/http_get.hpp"
#include "support/temp_dir.hpp"

namespace callbridge::api {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

// Holds a worker until opened. A test's gates die at the end of its body, before TearDown stops
// the pools: the destructor opens the gate (a failed ASSERT returns early) and waits until the
// held worker has left hold(), else the worker could still be taking `mu` back while the gate's
// memory is reused (seen: a worker stuck in a dead mutex and TearDown joining it forever, about
// one run in six under load).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false, entered = false, left = false;
  ~Gate() {
    release();
    std::unique_lock l(mu);
    cv.wait(l, [&] { return !entered || left; });
  }
  void hold() {
    std::unique_lock l(mu);
    entered = true;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
    left = true;
    cv.notify_all();
  }
  bool wait_entered() {
    std::unique_lock l(mu);
    return cv.wait_for(l, 10s, [&] { return entered; });
  }
  void release() {
    std::lock_guard l(mu);
    open = true;
    cv.notify_all();
  }
};

// Waits (yielding, with a deadline) until `pred` holds.
template <class P>
bool eventually(P pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// One request with optional cookie and body over a fresh connection; the raw response.
std::string http(std::uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                 const std::string& cookie) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "connect failed";
  }
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!cookie.empty()) req += "Cookie: " + cookie + "\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  (void)!::write(fd, req.data(), req.size());
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// A test clock that the test thread may move while the io thread and the workers read it.
class AtomicClock final : public base::Clock {
 public:
  base::Timestamp now() const override { return base::from_micros(us_.load()); }
  void advance(std::chrono::microseconds d) { us_ += d.count(); }

 private:
  std::atomic<std::int64_t> us_{1'795'000'000'000'000LL};
};

int status_of(const std::string& response) {
  return response.size() > 12 && response.starts_with("HTTP/1.1 ") ? std::stoi(response.substr(9, 3)) : 0;
}

class OffloadFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ids_ = std::move(*identity::SqliteIdentityStore::open(":memory:"));
    journal_ = std::move(*journal::SqliteJournalStore::open(dir_.path() + "/journal.db"));
    auth_ = std::make_unique<Authenticator>(*ids_, clock_, auth_options());
    auth_pool_ = std::make_unique<base::WorkerPool>(
        base::WorkerPoolOptions{.name = "t-auth", .threads = 1, .max_queue = auth_queue()});
    rest_pool_ = std::make_unique<base::WorkerPool>(base::WorkerPoolOptions{.name = "t-rest", .threads = 1, .max_queue = 1});
    auto to_io = [this](std::function<void()> f) { asio::post(io_, std::move(f)); };
    auth_->set_offload({auth_pool_.get(), to_io}, {rest_pool_.get(), to_io});
    model_.update("call-1", "100", model::ConnectionState::alerting, model::CallEventType::delivered, clock_.now(),
                  "+4930555");
    HttpServerOptions ho;
    ho.port = 0;
    server_ = std::make_unique<HttpServer>(io_, ho);
    RestDeps d;
    d.identity = ids_.get();
    d.auth = auth_.get();
    d.clock = &clock_;
    d.journal = journal_.get();
    d.offload = {rest_pool_.get(), to_io};
    d.for_each_model = [this](const std::string& t, const std::function<void(const model::CallModel&)>& f) {
      // Models belong to the io thread: reading them anywhere else is the bug this test looks for.
      EXPECT_EQ(std::this_thread::get_id(), io_thread_id_);
      if (t == "default") f(model_);
    };
    app::add_api_routes(*server_, d);  // the daemon's REST API: its own routes and every capability
    hub_ = std::make_unique<core::EventHub>(core::EventHubOptions{.retention = 16, .encode = EventStream::frame_text});
    events_ = std::make_unique<EventStream>(io_, *hub_, *auth_);
    events_->install(*server_);
    ASSERT_TRUE(server_->start());
    port_ = server_->port();
    io_thread_ = std::thread([this] {
      io_thread_id_ = std::this_thread::get_id();
      started_.set_value();
      io_.run();
    });
    started_.get_future().wait();
    ASSERT_TRUE(ids_->put_user({"default", "anna", "supervisor", "Anna", {"100"}, ""}));
    auto tok = identity::issue_token(*ids_, "default", "anna", clock_.now());
    ASSERT_TRUE(tok);
    token_ = tok->token;
  }

  void TearDown() override {
    // What the App does: stop serving, drop the pools (queued jobs answer 500 through their
    // Reply), then let the io thread finish.
    asio::post(io_, [this] {
      events_->stop();
      server_->stop();
    });
    auth_pool_->stop();
    rest_pool_->stop();
    work_.reset();
    io_.stop();
    io_thread_.join();
    events_.reset();
    server_.reset();
  }

  virtual AuthOptions auth_options() const { return {}; }
  virtual std::size_t auth_queue() const { return 1; }

  // The real token id with a wrong secret: rejecting it needs argon2.
  std::string bad_token(char c) const { return token_.substr(0, token_.rfind('_') + 1) + std::string(48, c); }

  std::string get(const std::string& path, const std::string& token) {
    return testing::http_get(port_, path, token);
  }

  testing::TempDir dir_;
  AtomicClock clock_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<identity::SqliteIdentityStore> ids_;
  std::unique_ptr<journal::SqliteJournalStore> journal_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<base::WorkerPool> auth_pool_, rest_pool_;
  model::CallModel model_{"default"};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<core::EventHub> hub_;
  std::unique_ptr<EventStream> events_;
  std::thread io_thread_;
  std::thread::id io_thread_id_;
  std::promise<void> started_;
  std::uint16_t port_ = 0;
  std::string token_;
};

TEST_F(OffloadFixture, CallsAreServedWhileTheArgon2WorkerIsBusy) {
  // First use: argon2 on the auth worker, then cached.
  auto first = get("/api/v1/calls", token_);
  ASSERT_EQ(status_of(first), 200) << first;
  EXPECT_NE(first.find("call-1"), std::string::npos);
  EXPECT_EQ(auth_->stats().secret_checks, 1u);
  EXPECT_EQ(auth_->stats().offloaded, 1u);

  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  // A bad token waits in the (one-place) queue; the next one is refused with 503 at once.
  auto queued = std::async(std::launch::async, [&] { return get("/api/v1/calls", bad_token('a')); });
  ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == 1; }));
  auto refused = get("/api/v1/calls", bad_token('b'));
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("/problems/overloaded"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;
  // The io thread is free: the cached token is answered while argon2 work is stuck.
  for (int i = 0; i < 5; ++i) {
    auto r = get("/api/v1/calls", token_);
    ASSERT_EQ(status_of(r), 200) << r;
  }
  EXPECT_EQ(queued.wait_for(0s), std::future_status::timeout);
  gate.release();
  auto late = queued.get();
  EXPECT_EQ(status_of(late), 401) << late;
  EXPECT_EQ(auth_->stats().busy, 1u);
}

TEST_F(OffloadFixture, ConcurrentChecksOfOneTokenShareOneArgon2Run) {
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  std::vector<std::future<std::string>> clients;
  for (int i = 0; i < 4; ++i)
    clients.push_back(std::async(std::launch::async, [&] { return get("/api/v1/me", token_); }));
  // One job queued (the queue holds one), three requests waiting for it.
  ASSERT_TRUE(eventually([&] { return auth_->stats().coalesced == 3; }));
  EXPECT_EQ(auth_pool_->stats().queued, 1u);
  gate.release();
  for (auto& c : clients) {
    auto r = c.get();
    EXPECT_EQ(status_of(r), 200) << r;
  }
  EXPECT_EQ(auth_->stats().secret_checks, 1u);
  EXPECT_EQ(auth_->stats().ok, 4u);
}

TEST_F(OffloadFixture, BlockingRoutesRunOnTheRestWorkersAndAnswer503WhenFull) {
  ASSERT_EQ(status_of(get("/api/v1/journal", token_)), 200);  // token cached, journal on a worker
  Gate gate;
  ASSERT_TRUE(rest_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  auto queued = std::async(std::launch::async, [&] { return get("/api/v1/journal", token_); });
  ASSERT_TRUE(eventually([&] { return rest_pool_->stats().queued == 1; }));
  auto refused = get("/api/v1/journal?limit=5", token_);
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_NE(refused.find("/problems/overloaded"), std::string::npos) << refused;
  // Reads of the call models need no worker.
  EXPECT_EQ(status_of(get("/api/v1/calls", token_)), 200);
  // /api/v1/lines needs both: identity.db on a worker (queue full now), then the models.
  EXPECT_EQ(status_of(get("/api/v1/lines", token_)), 503);
  gate.release();
  auto late = queued.get();
  EXPECT_EQ(status_of(late), 200) << late;
  auto lines = get("/api/v1/lines", token_);
  EXPECT_EQ(status_of(lines), 200) << lines;
  EXPECT_NE(lines.find("\"device\":\"100\""), std::string::npos) << lines;
}

TEST_F(OffloadFixture, SessionCookiesAreNotHeldUpByAFullArgon2Queue) {
  // POST /api/v1/session: the token check on the argon2 workers, the session stored on a REST worker.
  auto login = http(port_, "POST", "/api/v1/session", "{\"token\":\"" + token_ + "\"}", "");
  ASSERT_EQ(status_of(login), 200) << login;
  auto at = login.find("cb_session=");
  ASSERT_NE(at, std::string::npos) << login;
  const std::string cookie = login.substr(at, login.find(';', at) - at);
  // Argon2 worker busy and its queue full of a bad token ...
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  auto queued = std::async(std::launch::async, [&] { return get("/api/v1/calls", bad_token('c')); });
  ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == 1; }));
  EXPECT_EQ(status_of(http(port_, "POST", "/api/v1/session", "{\"token\":\"" + bad_token('d') + "\"}", "")), 503);
  // ... the browser session still works: cookies are checked on the REST workers.
  auto r = http(port_, "GET", "/api/v1/calls", "", cookie);
  EXPECT_EQ(status_of(r), 200) << r;
  gate.release();
  EXPECT_EQ(status_of(queued.get()), 401);
}

TEST_F(OffloadFixture, WebSocketUpgradeWithAnUncachedTokenIsCheckedOnAWorker) {
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  auto upgrade = std::async(std::launch::async, [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return std::string("connect failed");
    std::string req = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                      "Authorization: Bearer " + token_ + "\r\n\r\n";
    (void)!::write(fd, req.data(), req.size());
    std::string out;
    char buf[4096];
    while (out.find("\r\n\r\n") == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) break;
      auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  });
  ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == 1; }));
  // Meanwhile other requests are served (the handshake does not hold the io thread).
  EXPECT_EQ(status_of(get("/api/v1/openapi.json", "")), 200);
  gate.release();
  auto r = upgrade.get();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 101")) << r;
  EXPECT_NE(r.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << r;
}

// Regression (bench/api_auth_flood, issue 10/12): a cached token whose last look for
// revocations was over a second old went to the argon2 queue for that look, so under a flood of
// bad tokens its holder got 503 (queue full) or waited behind every queued argon2 run (the
// bench's keep-alive client saw nothing for 30 s). The look now runs on the REST workers.
TEST_F(OffloadFixture, ACachedTokenDoesNotWaitBehindAFullArgon2Queue) {
  ASSERT_EQ(status_of(get("/api/v1/calls", token_)), 200);  // verified once, cached
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  auto queued = std::async(std::launch::async, [&] { return get("/api/v1/calls", bad_token('a')); });
  ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == 1; }));  // argon2 queue full
  clock_.advance(2s);  // the last look for revocations is stale
  auto r = get("/api/v1/calls", token_);
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_EQ(auth_->stats().rechecked, 1u);
  EXPECT_EQ(auth_->stats().secret_checks, 1u);
  EXPECT_EQ(queued.wait_for(0s), std::future_status::timeout);  // the bad token still waits
  gate.release();
  EXPECT_EQ(status_of(queued.get()), 401);
}

// A client that keeps using its token (the bench's 100 requests/s) is answered on the io thread
// every time: half-way through the revocation interval a REST worker looks ahead of need, so
// even with both pools stuck no request of it waits for a worker.
TEST_F(OffloadFixture, AClientThatKeepsUsingItsTokenNeverWaitsForTheRevocationLook) {
  ASSERT_EQ(status_of(get("/api/v1/calls", token_)), 200);
  const auto looks = auth_->stats().revocation_checks;
  clock_.advance(600ms);
  ASSERT_EQ(status_of(get("/api/v1/calls", token_)), 200);  // from the cache; starts the look
  ASSERT_TRUE(eventually([&] { return auth_->stats().revocation_checks == looks + 1; }));
  Gate rest_gate, auth_gate;
  ASSERT_TRUE(rest_pool_->try_submit([&] { rest_gate.hold(); }));
  ASSERT_TRUE(rest_gate.wait_entered());
  ASSERT_TRUE(rest_pool_->try_submit([] {}));  // its queue full too
  ASSERT_TRUE(auth_pool_->try_submit([&] { auth_gate.hold(); }));
  ASSERT_TRUE(auth_gate.wait_entered());
  ASSERT_TRUE(auth_pool_->try_submit([] {}));
  clock_.advance(600ms);  // 1.2 s after the first look, 0.6 s after the one ahead of need
  auto r = get("/api/v1/calls", token_);
  EXPECT_EQ(status_of(r), 200) << r;
  EXPECT_EQ(auth_->stats().rechecked, 0u);
  EXPECT_EQ(auth_->stats().busy, 0u);
  rest_gate.release();
  auth_gate.release();
}

// The look still finds revocations: a token revoked in identity.db behind the daemon's back
// (another process) is refused once the cached answer is stale, through a full check.
TEST_F(OffloadFixture, AStaleCachedTokenRevokedMeanwhileIsRefused) {
  ASSERT_EQ(status_of(get("/api/v1/me", token_)), 200);
  ASSERT_TRUE(ids_->revoke_token("default", token_.substr(4, token_.rfind('_') - 4)));
  clock_.advance(2s);
  auto r = get("/api/v1/me", token_);
  EXPECT_EQ(status_of(r), 401) << r;
  EXPECT_EQ(auth_->stats().rechecked, 1u);
  EXPECT_EQ(auth_->stats().secret_checks, 2u);  // the full check after the cache was dropped
}

// A token issued before digests (argon2id hash) still works; its first full check is the slow
// one and stores the digest, so after a revocation look drops the cache it is checked fast.
TEST_F(OffloadFixture, AnArgon2TokenIsCheckedSlowlyOnceThenAsADigest) {
  ASSERT_TRUE(ids_->put_user({"default", "ben", "user", "Ben", {"101"}, ""}));
  const std::string secret(48, 'd');
  char legacy[crypto_pwhash_STRBYTES];
  ASSERT_EQ(crypto_pwhash_str(legacy, secret.data(), secret.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE), 0);
  identity::TokenRecord t{.id = "0123456789abcdef", .tenant = base::TenantId("default")};
  t.user = "ben";
  t.hash = legacy;
  t.created_at = clock_.now();
  ASSERT_TRUE(ids_->insert_token(t));
  const std::string token = "cbt_" + t.id + "_" + secret;
  // A wrong secret for it: one slow check, nothing stored.
  EXPECT_EQ(status_of(get("/api/v1/me", "cbt_" + t.id + "_" + std::string(48, 'e'))), 401);
  EXPECT_EQ(auth_->stats().argon2_verifications, 1u);
  EXPECT_EQ(ids_->get_token(t.id)->hash, legacy);
  ASSERT_EQ(status_of(get("/api/v1/me", token)), 200);
  EXPECT_EQ(auth_->stats().argon2_verifications, 2u);
  EXPECT_EQ(auth_->stats().hashes_upgraded, 1u);
  EXPECT_TRUE(ids_->get_token(t.id)->hash.starts_with("$blake2b256$"));
  auth_->invalidate_cache();
  ASSERT_EQ(status_of(get("/api/v1/me", token)), 200);
  EXPECT_EQ(auth_->stats().argon2_verifications, 2u);  // the digest this time
  EXPECT_EQ(auth_->stats().secret_checks, 3u);
}

// Guesses at the token id of a client with a cached token (what bench/api_auth_flood sends).
class AttackedIdFixture : public OffloadFixture {
 protected:
  AuthOptions auth_options() const override { return AuthOptions{.max_failures = 2}; }
  std::size_t auth_queue() const override { return 8; }
};

// Regression (issue 12, "a correct credential always passes"): with the id over its failure limit
// and a guess holding its one argon2 slot, the holder's cached token got 429 once its revocation
// look was stale.
TEST_F(AttackedIdFixture, TheHolderOfAnAttackedIdIsAnsweredWhileAGuessHoldsItsSlot) {
  ASSERT_EQ(status_of(get("/api/v1/calls", token_)), 200);
  EXPECT_EQ(status_of(get("/api/v1/calls", bad_token('a'))), 401);
  EXPECT_EQ(status_of(get("/api/v1/calls", bad_token('b'))), 401);  // the id is at its limit now
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  auto guess = std::async(std::launch::async, [&] { return get("/api/v1/calls", bad_token('c')); });
  ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == 1; }));  // holds the id's slot
  EXPECT_EQ(status_of(get("/api/v1/calls", bad_token('d'))), 429);         // the limit still works
  clock_.advance(2s);
  for (int i = 0; i < 3; ++i) {
    auto r = get("/api/v1/calls", token_);
    EXPECT_EQ(status_of(r), 200) << r;
  }
  gate.release();
  EXPECT_EQ(status_of(guess.get()), 429);
}

// A burst of guesses at one id queues at most max_failures argon2 checks (plus the one slot of
// an id over its limit) before any of them has failed; the rest are answered 429 at once instead
// of filling the argon2 queue that other users' first checks wait in.
TEST_F(AttackedIdFixture, ABurstOfGuessesAtOneIdQueuesAtMostTheLimit) {
  Gate gate;
  ASSERT_TRUE(auth_pool_->try_submit([&] { gate.hold(); }));
  ASSERT_TRUE(gate.wait_entered());
  std::vector<std::future<std::string>> queued;
  for (char c : {'a', 'b', 'c'}) {
    queued.push_back(std::async(std::launch::async, [this, c] { return get("/api/v1/calls", bad_token(c)); }));
    ASSERT_TRUE(eventually([&] { return auth_pool_->stats().queued == queued.size(); })) << c;
  }
  for (char c : {'d', 'e', 'f'}) EXPECT_EQ(status_of(get("/api/v1/calls", bad_token(c))), 429) << c;
  EXPECT_EQ(auth_pool_->stats().queued, 3u);
  gate.release();
  EXPECT_EQ(status_of(queued[0].get()), 401);
  EXPECT_EQ(status_of(queued[1].get()), 401);
  EXPECT_EQ(status_of(queued[2].get()), 429);
  EXPECT_EQ(auth_->stats().secret_checks, 3u);
}

}  // namespace
}  // namespace callbridge::api
