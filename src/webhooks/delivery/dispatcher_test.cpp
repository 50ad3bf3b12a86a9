// The delivery engine against a real HTTP receiver (test_receiver.py: Python's http.server on
// 127.0.0.x, port 0) and a real webhooks.db: signatures verify with an independent HMAC, retries on
// 500 and on timeouts, giving up after retry_for, no retry on 4xx, order per call while other calls
// go on, body templates, the response size limit, overflow counting, and the address policy: every
// blocked range refused after name resolution (CURLOPT_RESOLVE names and `localhost`), literal
// addresses refused at creation, a redirect to a blocked address refused while an allowed one is
// followed; HTTPS verified against [webhooks] ca_file (a receiver with a self-signed certificate is
// refused without it); deliveries waiting at a stop go out after the next start. Waits on
// conditions with deadlines, never fixed sleeps.
#include "webhooks/delivery/dispatcher.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <set>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "webhooks/sqlite/sqlite_webhook_store.hpp"

namespace callbridge::webhooks {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const base::TenantId kTenant("ta");

// The receiver process: started on `host`, its request lines collected by a reader thread.
class Receiver {
 public:
  explicit Receiver(const std::string& host = "127.0.0.1")
      : Receiver(std::vector<std::string>{"python3", CALLBRIDGE_WEBHOOK_RECEIVER, host}) {}
  // Any receiver program that prints "PORT <n>" or "listening on <host>:<n>" first.
  explicit Receiver(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the test
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
    reader_ = std::thread([this] {
      char* line = nullptr;
      std::size_t cap = 0;
      while (::getline(&line, &cap, out_) > 0) {
        std::string s(line);
        if (!s.empty() && s.back() == '\n') s.pop_back();
        std::lock_guard lk(mu_);
        if (s.starts_with("PORT ")) port_ = std::stoi(s.substr(5));
        else if (s.starts_with("listening on ")) port_ = std::stoi(s.substr(s.rfind(':') + 1));
        else if (s.starts_with("{")) requests_.push_back(json::parse(s).as_object());
        else lines_.push_back(s);
        cv_.notify_all();
      }
      std::free(line);
    });
    // Generous: Python's start on a loaded machine takes seconds (http.server's imports).
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, 60s, [&] { return port_ != 0; })) {
      lk.unlock();
      stop();
      throw std::runtime_error("receiver did not start");
    }
  }
  ~Receiver() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    reader_.join();
    std::fclose(out_);
  }
  int port() const { return port_; }
  // Waits until `n` requests arrived (deadline 30 s); the requests so far.
  std::vector<json::object> wait_for(std::size_t n, std::chrono::milliseconds limit = 30s) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, limit, [&] { return requests_.size() >= n; });
    return requests_;
  }
  std::vector<json::object> requests() {
    std::lock_guard lk(mu_);
    return requests_;
  }
  std::vector<std::string> lines() {
    std::lock_guard lk(mu_);
    return lines_;
  }
  // Waits until a non-request line starting with `prefix` was printed (deadline 30 s).
  bool wait_line(const std::string& prefix) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, 30s, [&] {
      return std::any_of(lines_.begin(), lines_.end(), [&](const std::string& l) { return l.starts_with(prefix); });
    });
  }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  int port_ = 0;
  std::vector<json::object> requests_;
  std::vector<std::string> lines_;
};

std::string hmac_hex(const std::string& key, const std::string& msg) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), md, &len);
  std::string out;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

// A call message as core::EventHub publishes it.
std::string call_msg(const std::string& call, const std::string& event, int seq, const std::string& device = "101") {
  return R"({"type":"call","seq":)" + std::to_string(seq) + R"(,"event":")" + event + R"(","call":{"id":")" + call +
         R"(","tenant":"ta","connections":[{"device":")" + device +
         R"(","state":"alerting","remote":"+4989123456"}],"allowed_actions":{}},"device":")" + device +
         R"(","state":"alerting","at":"2026-12-07T01:00:00.000Z","cause":null})";
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cb_wh_disp_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::move(*SqliteWebhookStore::open((dir_ / "webhooks.db").string()));
    options_.allow = {*base::Cidr::parse("127.0.0.1")};
    options_.allow_http = true;
    options_.backoff_initial = 20ms;
    options_.backoff_max = 100ms;
    options_.retry_for = 10s;
    options_.timeout = 5s;
  }
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void start() {
    auto d = Dispatcher::start(*store_, options_);
    ASSERT_TRUE(d) << d.error().message();
    dispatcher_ = std::move(*d);
    store_->set_on_change([d = dispatcher_.get()](const base::TenantId& t) { d->reload(t); });
  }
  ports::Webhook add_hook(const std::string& url, std::vector<std::string> events, std::string tpl = "",
                          std::string secret = "") {
    ports::Webhook h{.id = dispatcher_->new_hook_id(), .tenant = kTenant};
    h.url = url;
    h.events = std::move(events);
    h.body_template = std::move(tpl);
    h.secret = secret.empty() ? dispatcher_->new_secret() : secret;
    h.created_by = "adm";
    EXPECT_TRUE(store_->add(h));
    return h;
  }
  // Waits until the hook's log has `n` rows in a final state (delivered/failed).
  std::vector<ports::WebhookDelivery> finished(const std::string& hook, std::size_t n,
                                               std::chrono::milliseconds limit = 30s) {
    const auto deadline = SteadyClock::now() + limit;
    for (;;) {
      auto log = *store_->deliveries(kTenant, hook, 100);
      std::size_t done = 0;
      for (const auto& d : log) done += d.state == "delivered" || d.state == "failed";
      if (done >= n || SteadyClock::now() > deadline) return log;
      std::this_thread::sleep_for(5ms);
    }
  }
  static std::string url(const Receiver& r, const std::string& path, const std::string& host = "127.0.0.1") {
    return "http://" + host + ":" + std::to_string(r.port()) + path;
  }

  fs::path dir_;
  DispatcherOptions options_;
  std::unique_ptr<SqliteWebhookStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, DeliveriesAreSignedOverTimestampDotBody) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/ok"), {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 7), false);
  auto reqs = r.wait_for(1);
  ASSERT_EQ(reqs.size(), 1u);
  const auto& hd = reqs[0].at("headers").as_object();
  const std::string body(reqs[0].at("body").as_string());
  const std::string ts(hd.at("x-callbridge-timestamp").as_string());
  EXPECT_EQ(hd.at("x-callbridge-signature").as_string(), "v1=" + hmac_hex(h.secret, ts + "." + body));
  EXPECT_NE(hd.at("x-callbridge-signature").as_string(), "v1=" + hmac_hex(h.secret + "x", ts + "." + body));
  EXPECT_EQ(hd.at("x-callbridge-event").as_string(), "call.ringing");
  EXPECT_EQ(hd.at("x-callbridge-hook").as_string(), h.id);
  EXPECT_EQ(hd.at("content-type").as_string(), "application/json");
  auto b = json::parse(body).as_object();
  EXPECT_EQ(b.at("type").as_string(), "call.ringing");
  EXPECT_EQ(b.at("tenant").as_string(), "ta");
  EXPECT_EQ(b.at("seq").as_int64(), 7);
  EXPECT_EQ(b.at("data").at("call").at("id").as_string(), "c-1");
  EXPECT_EQ(b.at("data").at("device").as_string(), "101");
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "delivered");
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].http_status, 204);
  EXPECT_EQ(log[0].id, hd.at("x-callbridge-delivery").as_string());
  // Events the hook did not ask for, and other tenants' events, are not even queued.
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "established", 8), false);
  dispatcher_->offer(base::TenantId("tb"), Stream::call, call_msg("c-2", "delivered", 1), false);
  dispatcher_->offer(kTenant, Stream::line, R"({"type":"line","seq":9,"device":"101","state":"busy"})", false);
  EXPECT_TRUE(dispatcher_->wait_idle(SteadyClock::now() + 5s));
  EXPECT_EQ(dispatcher_->stats().events, 1u);  // "established" is a call.answered: no hook of it
  EXPECT_EQ(r.requests().size(), 1u);
}

TEST_F(DispatcherTest, RetriesOn500ThenDelivers) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/fail/2/a"), {"call.answered"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "established", 1), false);
  auto reqs = r.wait_for(3);
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].at("status").as_int64(), 500);
  EXPECT_EQ(reqs[2].at("status").as_int64(), 204);
  EXPECT_EQ(reqs[2].at("headers").at("x-callbridge-attempt").as_string(), "3");
  // Same delivery id and body every time; the signature is made afresh.
  EXPECT_EQ(reqs[0].at("body"), reqs[2].at("body"));
  EXPECT_EQ(reqs[0].at("headers").at("x-callbridge-delivery"), reqs[2].at("headers").at("x-callbridge-delivery"));
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "delivered");
  EXPECT_EQ(log[0].attempts, 3);
  EXPECT_EQ(dispatcher_->stats().retries, 2u);
}

TEST_F(DispatcherTest, DeliveriesWaitingAtAStopGoOutAfterTheNextStart) {
  options_.backoff_initial = 1h;  // the retry is not due before the stop
  options_.backoff_max = 1h;
  options_.retry_for = 2h;
  Receiver r;
  start();
  auto h = add_hook(url(r, "/fail/1/restart"), {"call.ringing", "call.answered"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  ASSERT_EQ(r.wait_for(1).size(), 1u);
  // The first attempt got a 500 and waits an hour; the call's next event waits behind it.
  const auto deadline = SteadyClock::now() + 30s;
  while ((store_->deliveries(kTenant, h.id, 10)->empty() ||
          store_->deliveries(kTenant, h.id, 10)->front().state != "retrying") &&
         SteadyClock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "established", 2), false);
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-2", "delivered", 3), false);
  dispatcher_.reset();  // the stop saves what is not delivered (c-2's may have gone out already)
  EXPECT_LE(r.requests().size(), 2u);
  start();              // and the next start sends it, the call's two in order
  auto log = finished(h.id, 3);
  ASSERT_EQ(log.size(), 3u);
  for (const auto& d : log) EXPECT_EQ(d.state, "delivered") << d.id;
  auto reqs = r.wait_for(4);
  ASSERT_GE(reqs.size(), 4u);
  auto of = [&](const std::string& call, const std::string& type) {
    for (std::size_t i = 1; i < reqs.size(); ++i) {
      auto b = json::parse(reqs[i].at("body").as_string()).as_object();
      if (b.at("data").at("call").at("id").as_string() == call && b.at("type").as_string() == type) return i;
    }
    return std::size_t{0};
  };
  const auto retried = of("c-1", "call.ringing"), next = of("c-1", "call.answered"), other = of("c-2", "call.ringing");
  ASSERT_NE(retried, 0u);
  ASSERT_NE(next, 0u);
  ASSERT_NE(other, 0u);
  EXPECT_LT(retried, next);
  // The same delivery, its second attempt.
  EXPECT_EQ(reqs[retried].at("headers").at("x-callbridge-delivery"), reqs[0].at("headers").at("x-callbridge-delivery"));
  EXPECT_EQ(reqs[retried].at("headers").at("x-callbridge-attempt").as_string(), "2");
  EXPECT_EQ(reqs[retried].at("body"), reqs[0].at("body"));
  // Nothing is left for a third start.
  dispatcher_.reset();
  EXPECT_TRUE(store_->take_pending(base::from_micros(0), "x")->empty());
}

TEST_F(DispatcherTest, HttpsIsVerifiedAgainstTheConfiguredCaFile) {
  // A certificate for 127.0.0.1 from no public CA (the openssl command line, as an admin would).
  const auto cert = (dir_ / "cert.pem").string(), key = (dir_ / "key.pem").string();
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=crm.test "
                          "-addext subjectAltName=IP:127.0.0.1 -keyout " + key + " -out " + cert + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  Receiver r(std::vector<std::string>{"python3", CALLBRIDGE_WEBHOOK_RECEIVER, "127.0.0.1", cert, key});
  const std::string https = "https://127.0.0.1:" + std::to_string(r.port()) + "/ok";
  options_.allow_http = false;
  {
    // The system's CA store does not know the receiver's certificate: refused, and not retried.
    start();
    auto h = add_hook(https, {"call.ringing"});
    dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
    auto log = finished(h.id, 1);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].state, "failed");
    EXPECT_EQ(log[0].attempts, 1);
    EXPECT_NE(log[0].last_error.find("certificate"), std::string::npos) << log[0].last_error;
    EXPECT_TRUE(r.requests().empty());
    ASSERT_TRUE(*store_->remove(kTenant, h.id));
    dispatcher_.reset();
  }
  options_.ca_file = cert;
  start();
  auto h = add_hook(https, {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-2", "delivered", 2), false);
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "delivered") << log[0].last_error;
  auto reqs = r.wait_for(1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].at("path").as_string(), "/ok");
  // A ca_file that cannot be used stops the engine from starting, with the reason.
  dispatcher_.reset();
  options_.ca_file = (dir_ / "missing.pem").string();
  auto d = Dispatcher::start(*store_, options_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("ca_file"), std::string::npos) << d.error().message();
  options_.ca_file = key;  // a key is no certificate file
  d = Dispatcher::start(*store_, options_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("not a PEM certificate"), std::string::npos) << d.error().message();
}

TEST_F(DispatcherTest, RetriesOnTimeout) {
  options_.timeout = 300ms;
  Receiver r;
  start();
  auto h = add_hook(url(r, "/slow/1/2000/t"), {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "delivered");
  EXPECT_EQ(log[0].attempts, 2);
  EXPECT_EQ(r.wait_for(2).size(), 2u);  // the slow one is logged when its answer is sent
}

TEST_F(DispatcherTest, GivesUpAfterRetryForAndDoesNotRetry4xx) {
  options_.retry_for = 300ms;
  Receiver r;
  start();
  auto down = add_hook(url(r, "/status/503/x"), {"call.ringing"});
  auto gone = add_hook(url(r, "/status/410/x"), {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  auto log = finished(down.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_GE(log[0].attempts, 3);
  EXPECT_EQ(log[0].http_status, 503);
  EXPECT_TRUE(log[0].last_error.starts_with("gave up after ")) << log[0].last_error;
  auto log2 = finished(gone.id, 1);
  ASSERT_EQ(log2.size(), 1u);
  EXPECT_EQ(log2[0].state, "failed");
  EXPECT_EQ(log2[0].attempts, 1);
  EXPECT_EQ(log2[0].last_error, "HTTP 410");
}

TEST_F(DispatcherTest, InOrderPerCallWhileOtherCallsGoOn) {
  Receiver r;
  start();
  // The first request to this path fails: call A's first event waits for its retry, and A's later
  // events wait behind it; call B (another path, same hook URL prefix) is not held up.
  auto h = add_hook(url(r, "/fail/1/order"), {"call.ringing", "call.answered", "call.ended"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("A", "delivered", 1), false);
  dispatcher_->offer(kTenant, Stream::call, call_msg("A", "established", 2), false);
  dispatcher_->offer(kTenant, Stream::call, call_msg("A", "connectionCleared", 3), true);
  auto log = finished(h.id, 3);
  ASSERT_EQ(log.size(), 3u);
  auto reqs = r.wait_for(4);  // the pipe is read on the receiver's own thread
  ASSERT_EQ(reqs.size(), 4u);  // one 500, then three in order
  std::vector<std::string> types;
  for (const auto& q : reqs) types.emplace_back(json::parse(q.at("body").as_string()).at("type").as_string());
  EXPECT_EQ(types, (std::vector<std::string>{"call.ringing", "call.ringing", "call.answered", "call.ended"}));
  EXPECT_EQ(reqs[0].at("status").as_int64(), 500);

  // Another call is not held up by a call whose delivery is slow: the receiver answers X after
  // 1.5 s and logs it then; Y, offered once X arrived, is answered (and logged) first.
  Receiver slow;
  auto h2 = add_hook(url(slow, "/slow/1/1500/o"), {"call.answered"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("X", "established", 4), false);
  ASSERT_TRUE(slow.wait_line("ARRIVED /slow/1/1500/o 1"));
  dispatcher_->offer(kTenant, Stream::call, call_msg("Y", "established", 5), false);
  auto both = slow.wait_for(2);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(json::parse(both[0].at("body").as_string()).at("data").at("call").at("id").as_string(), "Y");
  EXPECT_EQ(json::parse(both[1].at("body").as_string()).at("data").at("call").at("id").as_string(), "X");
  EXPECT_EQ(finished(h2.id, 2).size(), 2u);
}

TEST_F(DispatcherTest, BodyTemplateGivesTheReceiverItsOwnShape) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/crm"), {"call.ringing"},
                    R"({"eventName":"incoming_call","phone":"{data.call.connections.0.remote}",)"
                    R"("agent":"{data.device}","ref":"cb-{data.call.id}","raw_seq":"{seq}"})");
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-9", "delivered", 3, "102"), false);
  auto reqs = r.wait_for(1);
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].at("body").as_string(),
            R"({"eventName":"incoming_call","phone":"+4989123456","agent":"102","ref":"cb-c-9","raw_seq":3})");
  // The signature covers the templated body.
  const auto& hd = reqs[0].at("headers").as_object();
  EXPECT_EQ(hd.at("x-callbridge-signature").as_string(),
            "v1=" + hmac_hex(h.secret, std::string(hd.at("x-callbridge-timestamp").as_string()) + "." +
                                           std::string(reqs[0].at("body").as_string())));
}

TEST_F(DispatcherTest, JournalEntriesAndMissedCallsAndPresence) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/j"), {"call.missed", "journal.entry", "presence.changed"});
  dispatcher_->offer(kTenant, Stream::journal,
                     R"({"type":"journal","seq":4,"entry":{"id":7,"party":"101","disposition":"missed",)"
                     R"("call_id":"c-3","remote":"+4989123456"}})",
                     false);
  dispatcher_->offer(kTenant, Stream::line, R"({"type":"line","seq":5,"device":"101","state":"ringing"})", false);
  auto reqs = r.wait_for(3);
  ASSERT_EQ(reqs.size(), 3u);
  std::multiset<std::string> types;
  for (const auto& q : reqs) types.insert(std::string(json::parse(q.at("body").as_string()).at("type").as_string()));
  EXPECT_EQ(types, (std::multiset<std::string>{"call.missed", "journal.entry", "presence.changed"}));
  EXPECT_EQ(finished(h.id, 3).size(), 3u);
}

TEST_F(DispatcherTest, QueueChangesGoOutWithTheWholeQueueInOrder) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/q"), {"queue.changed"});
  // As core::EventHub publishes them (docs/queues.md); a queue message for a hook of other types only
  // is not even queued (below).
  const std::string q1 = R"({"type":"queue","seq":1,"event":"changed","queue":{"id":"pbx:support","pbx":"pbx",)"
                         R"("name":"support","callers":[{"position":1,"remote":"+4989123456"}],"members":[]}})";
  const std::string q2 = R"({"type":"queue","seq":2,"event":"changed","queue":{"id":"pbx:support","pbx":"pbx",)"
                         R"("name":"support","callers":[],"members":[]}})";
  dispatcher_->offer(kTenant, Stream::queue, q1, false);
  dispatcher_->offer(kTenant, Stream::queue, q2, false);
  dispatcher_->offer(kTenant, Stream::queue,
                     R"({"type":"queue","seq":3,"event":"removed","id":"pbx:sales","pbx":"pbx","name":"sales"})", false);
  dispatcher_->offer(kTenant, Stream::queue, R"({"type":"queue","seq":4,"event":"changed"})", false);  // no queue: none
  auto log = finished(h.id, 3);
  ASSERT_EQ(log.size(), 3u);
  auto reqs = r.wait_for(3);
  ASSERT_EQ(reqs.size(), 3u);
  std::vector<json::object> support;
  json::object removed;
  for (const auto& q : reqs) {
    auto b = json::parse(q.at("body").as_string()).as_object();
    EXPECT_EQ(b.at("type").as_string(), "queue.changed");
    EXPECT_EQ(q.at("headers").at("x-callbridge-event").as_string(), "queue.changed");
    if (b.at("data").at("event").as_string() == "removed") removed = b;
    else support.push_back(b);
  }
  ASSERT_EQ(support.size(), 2u);
  // One queue's deliveries in order: the caller waiting, then gone.
  EXPECT_EQ(support[0].at("seq").as_int64(), 1);
  EXPECT_EQ(support[0].at("data").at("queue").at("callers").as_array().size(), 1u);
  EXPECT_EQ(support[1].at("seq").as_int64(), 2);
  EXPECT_EQ(removed.at("data").at("name").as_string(), "sales");
  EXPECT_EQ(removed.at("data").at("id").as_string(), "pbx:sales");
  // A hook without queue.changed does not even queue queue messages.
  ASSERT_TRUE(*store_->remove(kTenant, h.id));
  add_hook(url(r, "/calls"), {"call.ringing"});
  const auto offered = dispatcher_->stats().offered;
  dispatcher_->offer(kTenant, Stream::queue, q1, false);
  EXPECT_EQ(dispatcher_->stats().offered, offered);
}

// Issue 20: a user's AnyDevice change (the hub's per-user user_devices message, which names the
// user) goes out as anydevice.changed with all the user's devices, in order per user; a message
// without the user or the devices gives nothing.
TEST_F(DispatcherTest, AnyDeviceChangesGoOutPerUserInOrder) {
  Receiver r;
  start();
  auto h = add_hook(url(r, "/ad"), {"anydevice.changed"});
  auto msg = [](int seq, const char* user, const char* change, const char* active) {
    return std::string(R"({"type":"user_devices","seq":)") + std::to_string(seq) + R"(,"user":")" + user +
           R"(","change":")" + change + R"(","devices":{"extensions":["100"],"external":[{"name":"mobile",)" +
           R"("number":"+491701234567"}],"active":")" + active + R"("}})";
  };
  dispatcher_->offer(kTenant, Stream::any_device, msg(1, "anna", "added", "100"), false);
  dispatcher_->offer(kTenant, Stream::any_device, msg(2, "anna", "active", "mobile"), false);
  dispatcher_->offer(kTenant, Stream::any_device, R"({"type":"user_devices","seq":3,"change":"active","devices":{}})",
                     false);  // no user: none
  dispatcher_->offer(kTenant, Stream::any_device, R"({"type":"user_devices","seq":4,"user":"ben"})", false);
  auto log = finished(h.id, 2);
  ASSERT_EQ(log.size(), 2u);
  auto reqs = r.wait_for(2);
  ASSERT_EQ(reqs.size(), 2u);
  std::vector<json::object> bodies;
  for (const auto& q : reqs) {
    EXPECT_EQ(q.at("headers").at("x-callbridge-event").as_string(), "anydevice.changed");
    bodies.push_back(json::parse(q.at("body").as_string()).as_object());
  }
  EXPECT_EQ(bodies[0].at("seq").as_int64(), 1);
  EXPECT_EQ(bodies[0].at("data").at("change").as_string(), "added");
  EXPECT_EQ(bodies[1].at("seq").as_int64(), 2);
  EXPECT_EQ(bodies[1].at("data").at("user").as_string(), "anna");
  EXPECT_EQ(bodies[1].at("data").at("devices").at("active").as_string(), "mobile");
  EXPECT_EQ(bodies[1].at("data").at("devices").at("external").at(0).at("number").as_string(), "+491701234567");
  // A hook of other types does not even queue them.
  ASSERT_TRUE(*store_->remove(kTenant, h.id));
  add_hook(url(r, "/q"), {"queue.changed"});
  const auto offered = dispatcher_->stats().offered;
  dispatcher_->offer(kTenant, Stream::any_device, msg(5, "anna", "active", "100"), false);
  EXPECT_EQ(dispatcher_->stats().offered, offered);
}

TEST_F(DispatcherTest, ResponseSizeIsLimited) {
  options_.max_response_bytes = 1024;
  Receiver r;
  start();
  auto h = add_hook(url(r, "/big"), {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_EQ(log[0].attempts, 1);
  EXPECT_EQ(log[0].last_error, "response body larger than 1024 bytes");
}

TEST_F(DispatcherTest, FullQueuesAreCountedNotWaitedFor) {
  options_.queue_limit = 0;  // every message overflows
  Receiver r;
  start();
  add_hook(url(r, "/ok"), {"call.ringing"});
  for (int i = 0; i < 5; ++i) dispatcher_->offer(kTenant, Stream::call, call_msg("c", "delivered", i), false);
  EXPECT_EQ(dispatcher_->stats().overflow, 5u);
  EXPECT_EQ(dispatcher_->stats().offered, 0u);
}

TEST_F(DispatcherTest, PendingDeliveriesAreBounded) {
  options_.pending_limit = 2;
  Receiver r;
  start();
  auto h = add_hook(url(r, "/slow/100/1000/p"), {"call.ringing"});
  for (int i = 0; i < 5; ++i)
    dispatcher_->offer(kTenant, Stream::call, call_msg("c-" + std::to_string(i), "delivered", i), false);
  ASSERT_TRUE(dispatcher_->wait_idle(SteadyClock::now() + 30s));
  const auto s = dispatcher_->stats();
  EXPECT_EQ(s.events + s.pending_overflow, 5u);
  EXPECT_GE(s.pending_overflow, 1u);
  EXPECT_EQ(finished(h.id, s.events).size(), s.events);
}

TEST_F(DispatcherTest, TheContribReceiverVerifiesTheSignature) {
  const std::string secret = "whsec_" + std::string(64, 'a');
  Receiver r(std::vector<std::string>{"python3", CALLBRIDGE_CONTRIB_RECEIVER, "--secret", secret, "--port", "0"});
  start();
  auto good = add_hook(url(r, "/good"), {"call.ringing"}, "", secret);
  auto bad = add_hook(url(r, "/bad"), {"call.ringing"}, "", "whsec_" + std::string(64, 'b'));
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  auto g = finished(good.id, 1);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].state, "delivered");
  EXPECT_EQ(g[0].http_status, 204);
  auto b = finished(bad.id, 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].state, "failed");
  EXPECT_EQ(b[0].last_error, "HTTP 401");
  // The receiver prints before it answers, but the test reads its pipe on a thread of its own:
  // wait for both lines (seen missing on a loaded machine).
  EXPECT_TRUE(r.wait_line("rejected "));
  EXPECT_TRUE(r.wait_line("dl_"));
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  std::sort(lines.begin(), lines.end());
  EXPECT_NE(lines[0].find(" call.ringing {"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "rejected " + b[0].id + ": signature does not match");
}

// --- the address policy ---

TEST_F(DispatcherTest, EveryBlockedRangeIsRefusedAfterNameResolution) {
  options_.allow = {};
  options_.retry_for = 0ms;
  // Names pinned to blocked addresses, as a DNS answer would give them.
  const std::pair<std::string, std::string> cases[] = {
      {"127.0.0.1", "loopback"},      {"[::1]", "loopback"},       {"10.1.2.3", "private"},
      {"172.16.5.4", "private"},      {"192.168.1.1", "private"},  {"[fd12::1]", "private"},
      {"100.64.0.1", "shared"},       {"169.254.169.254", "metadata"}, {"[fd00:ec2::254]", "metadata"},
      {"169.254.7.7", "link-local"},  {"[fe80::1]", "link-local"}, {"0.0.0.0", "unspecified"},
      {"[::]", "unspecified"},        {"224.0.0.1", "multicast"},  {"[ff02::1]", "multicast"},
  };
  for (std::size_t i = 0; i < std::size(cases); ++i)
    options_.resolve.push_back("blocked" + std::to_string(i) + ".test:8080:" + cases[i].first);
  start();
  std::vector<std::string> hooks;
  for (std::size_t i = 0; i < std::size(cases); ++i)
    hooks.push_back(add_hook("http://blocked" + std::to_string(i) + ".test:8080/x", {"call.ringing"}).id);
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    auto log = finished(hooks[i], 1);
    ASSERT_EQ(log.size(), 1u) << cases[i].first;
    EXPECT_EQ(log[0].state, "failed");
    EXPECT_EQ(log[0].attempts, 1);  // a refusal is not retried
    std::string addr = cases[i].first;
    if (addr.front() == '[') addr = addr.substr(1, addr.size() - 2);
    EXPECT_TRUE(log[0].last_error.starts_with("address " + addr + " is " + cases[i].second + " "))
        << cases[i].first << ": " << log[0].last_error;
  }
  EXPECT_GE(dispatcher_->stats().blocked, std::size(cases));
}

TEST_F(DispatcherTest, LocalhostIsRefusedUnlessAllowed) {
  options_.allow = {};
  options_.retry_for = 0ms;
  Receiver r;  // listening on 127.0.0.1: reachable, were it not for the policy
  start();
  auto h = add_hook("http://localhost:" + std::to_string(r.port()) + "/ok", {"call.ringing"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  auto log = finished(h.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_NE(log[0].last_error.find(" is loopback "), std::string::npos) << log[0].last_error;
  EXPECT_TRUE(r.requests().empty());
}

TEST_F(DispatcherTest, RedirectsAreCheckedAtEveryHop) {
  options_.retry_for = 0ms;
  Receiver allowed;               // 127.0.0.1: allowed
  Receiver blocked("127.0.0.2");  // loopback too, but not in the allow list
  start();
  auto bad = add_hook(url(allowed, "/redirect/307?to=" + url(blocked, "/stolen", "127.0.0.2")), {"call.ringing"});
  auto good = add_hook(url(allowed, "/redirect/308?to=" + url(allowed, "/landed")), {"call.answered"});
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "delivered", 1), false);
  dispatcher_->offer(kTenant, Stream::call, call_msg("c-1", "established", 2), false);
  auto log = finished(bad.id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_TRUE(log[0].last_error.starts_with("address 127.0.0.2 is loopback")) << log[0].last_error;
  auto log2 = finished(good.id, 1);
  ASSERT_EQ(log2.size(), 1u);
  EXPECT_EQ(log2[0].state, "delivered");
  auto reqs = allowed.wait_for(3);
  ASSERT_EQ(reqs.size(), 3u);
  bool landed = false;
  for (const auto& q : reqs)
    if (q.at("path").as_string() == "/landed") {
      landed = true;
      EXPECT_EQ(json::parse(q.at("body").as_string()).at("type").as_string(), "call.answered");  // still a POST
    }
  EXPECT_TRUE(landed);
  EXPECT_TRUE(blocked.requests().empty());
}

TEST_F(DispatcherTest, UrlsAreCheckedAtCreation) {
  options_.allow = {};
  options_.allow_http = false;
  start();
  EXPECT_EQ(dispatcher_->url_problem("https://crm.example.com/hooks/cti"), "");
  EXPECT_EQ(dispatcher_->url_problem("https://93.184.216.34/x"), "");
  EXPECT_NE(dispatcher_->url_problem("http://crm.example.com/").find("allow_http"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("ftp://crm.example.com/").find("https://"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("https://u:p@crm.example.com/").find("no user name"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("https://169.254.169.254/latest").find("is metadata"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("https://[::1]:8443/").find("is loopback"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("https://10.0.0.8/").find("is private"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("https://crm.example.com/a b").find("no spaces"), std::string::npos);
  EXPECT_NE(dispatcher_->url_problem("").find("1-2048"), std::string::npos);
  EXPECT_EQ(dispatcher_->template_problem(""), "");
  EXPECT_NE(dispatcher_->template_problem("{").find("not JSON"), std::string::npos);
}

}  // namespace
}  // namespace callbridge::webhooks
