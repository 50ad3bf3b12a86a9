// The PBX link leases against a real `nats-server -js` (started per test on a free port, its store
// in a temporary directory, killed by PID): two managers contend and exactly one owns the link; a
// release hands it over; a stuck owner declares its loss before the other takes over; in separate
// processes (cluster_lease_probe), an owner stopped with SIGSTOP past its lease acts only before
// the other node's term began, and a kill -9'd owner is taken over. Waits are on conditions with
// deadlines; the takeover times are printed (figures for docs/cluster.md), not asserted.
#include <gtest/gtest.h>

#include <signal.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <regex>
#include <sstream>

#include "cluster/lease_manager.hpp"
#include "cluster/nats_connection.hpp"
#include "support/child_process.hpp"
#include "support/nats_server.hpp"

namespace callbridge::cluster {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Short leases so the tests take a few seconds: 2 * renew + request timeout <= ttl - margin.
LeaseOptions fast(std::string node) {
  LeaseOptions o;
  o.node = std::move(node);
  o.bucket = "test_leases";
  o.ttl = 1500ms;
  o.renew_every = 300ms;
  o.margin = 300ms;
  o.retry_every = 100ms;
  return o;
}

NatsOptions nats_options(const testing::NatsServer& s, std::string name) {
  NatsOptions o;
  o.url = s.url();
  o.name = std::move(name);
  o.request_timeout = 300ms;
  return o;
}

// One node: its connection, bucket and manager, and what its manager reported (with when).
struct Node {
  struct Seen {
    Clock::time_point at;
    LeaseChange change;
  };
  std::unique_ptr<NatsConnection> nats;
  std::unique_ptr<NatsConnection::KvBucket> bucket;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Seen> seen;
  std::unique_ptr<LeaseManager> leases;

  Node(const testing::NatsServer& server, LeaseOptions o) {
    auto c = NatsConnection::connect(nats_options(server, o.node));
    if (!c) throw std::runtime_error(c.error().to_string());
    nats = std::move(*c);
    auto b = nats->key_value(o.bucket, o.ttl);
    if (!b) throw std::runtime_error(b.error().to_string());
    bucket = std::move(*b);
    leases = std::make_unique<LeaseManager>(*nats, *bucket, o, [this](const LeaseChange& ch) {
      std::lock_guard lk(mu);
      seen.push_back({Clock::now(), ch});
      cv.notify_all();
    });
  }
  ~Node() { leases.reset(); }  // before the bucket and connection
  // Waits (at most `limit`) until `n` changes of kind `gained` were reported; the n-th or nullopt.
  std::optional<Seen> wait_change(bool gained, std::size_t n = 1, milliseconds limit = 10s) {
    std::unique_lock lk(mu);
    std::optional<Seen> out;
    cv.wait_for(lk, limit, [&] {
      std::size_t k = 0;
      for (const auto& s : seen)
        if (s.change.gained == gained && ++k == n) {
          out = s;
          return true;
        }
      return false;
    });
    return out;
  }
  std::size_t count(bool gained) {
    std::lock_guard lk(mu);
    std::size_t k = 0;
    for (const auto& s : seen) k += s.change.gained == gained;
    return k;
  }
};

// Waits until `pred` holds, polling every 20 ms, at most `limit`.
template <typename P>
bool eventually(P pred, milliseconds limit = 10s) {
  auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

TEST(LeaseOptions, CheckedRelations) {
  EXPECT_TRUE(check_lease_options(fast("a"), 300ms));
  auto o = fast("a");
  o.node = "";
  EXPECT_FALSE(check_lease_options(o, 300ms));
  o = fast("a");
  o.margin = o.ttl;
  auto st = check_lease_options(o, 300ms);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("lease_margin_ms"), std::string::npos);
  o = fast("a");
  o.renew_every = 700ms;  // 2 * 700 + 300 > 1500 - 300
  st = check_lease_options(o, 300ms);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("lease_renew_ms"), std::string::npos);
  o = fast("a");
  o.ttl = 50ms;
  o.margin = 10ms;
  EXPECT_FALSE(check_lease_options(o, 1ms));
}

TEST(LeaseKey, EscapesWhatNatsKeysDoNotAllow) {
  EXPECT_EQ(lease_key("pbx-1_a"), "link.pbx-1_a");
  EXPECT_EQ(lease_key("acme main"), "link.acme=20main");
  EXPECT_EQ(lease_key("a.b/c"), "link.a=2Eb=2Fc");
}

TEST(NatsConnection, UnreachableServerIsUnavailableNamingTheUrl) {
  NatsOptions o;
  o.url = "nats://127.0.0.1:1";  // nothing listens on port 1
  o.connect_timeout = 500ms;
  auto c = NatsConnection::connect(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), base::Errc::unavailable);
  EXPECT_NE(c.error().message().find("nats://127.0.0.1:1"), std::string::npos) << c.error().message();
}

TEST(NatsConnection, BucketWithAnotherTtlIsRefused) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto c = NatsConnection::connect(nats_options(server, "a"));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ((*c)->status().state, NatsState::connected);
  auto b1 = (*c)->key_value("ttl_check", 1500ms);
  ASSERT_TRUE(b1) << b1.error().to_string();
  auto again = (*c)->key_value("ttl_check", 1500ms);  // the same settings bind to it
  EXPECT_TRUE(again) << again.error().to_string();
  auto b2 = (*c)->key_value("ttl_check", 3000ms);
  ASSERT_FALSE(b2);
  EXPECT_EQ(b2.error().code(), base::Errc::invalid_argument);
  EXPECT_NE(b2.error().message().find("1500 ms"), std::string::npos) << b2.error().message();
}

TEST(NatsConnection, ReportsLossAndReconnect) {
  auto server = std::make_unique<testing::NatsServer>();
  ASSERT_TRUE(server->ok());
  std::mutex mu;
  std::vector<NatsState> states;
  auto o = nats_options(*server, "a");
  auto c = NatsConnection::connect(o, [&](const NatsStatus& s) {
    std::lock_guard lk(mu);
    states.push_back(s.state);
  });
  ASSERT_TRUE(c);
  server->process().signal(SIGKILL);
  EXPECT_TRUE(eventually([&] { return (*c)->status().state == NatsState::reconnecting; }));
  EXPECT_FALSE((*c)->connected());
  EXPECT_GE((*c)->status().disconnects, 1u);
}

TEST(LeaseManager, TwoContendersExactlyOneOwner) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok()) << server.log();
  Node a(server, fast("a")), b(server, fast("b"));
  const std::string key = lease_key("acme-main");
  auto fa = a.leases->want(key);
  auto fb = b.leases->want(key);
  // Whoever wins, the other must not also win.
  ASSERT_TRUE(eventually([&] { return a.count(true) + b.count(true) >= 1; }));
  Node& owner = a.count(true) ? a : b;
  Node& other = &owner == &a ? b : a;
  const auto& ofence = &owner == &a ? fa : fb;
  const auto& xfence = &owner == &a ? fb : fa;
  // Several renewals later: still one owner, the other knows who it is.
  std::uint64_t rev0 = owner.leases->snapshot().at(0).revision;
  ASSERT_TRUE(eventually([&] { return owner.leases->snapshot().at(0).revision >= rev0 + 3; }));
  EXPECT_TRUE(ofence->valid());
  EXPECT_FALSE(xfence->valid());
  EXPECT_EQ(other.count(true), 0u);
  EXPECT_EQ(owner.count(false), 0u);
  auto snap = other.leases->snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_FALSE(snap[0].ours);
  EXPECT_EQ(snap[0].owner, owner.leases->options().node);
  EXPECT_GE(snap[0].age_ms, 0);
  auto mine = owner.leases->snapshot().at(0);
  EXPECT_TRUE(mine.ours);
  EXPECT_EQ(mine.token, ofence->token());
  EXPECT_GT(mine.deadline_in_ms, 0);
  EXPECT_LE(mine.deadline_in_ms, 1200);  // never beyond ttl - margin
}

TEST(LeaseManager, ReleaseHandsOverAtOnceWithALargerToken) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok());
  Node a(server, fast("a"));
  const std::string key = lease_key("l1");
  a.leases->want(key);
  auto ga = a.wait_change(true);
  ASSERT_TRUE(ga);
  Node b(server, fast("b"));
  auto fb = b.leases->want(key);
  ASSERT_TRUE(eventually([&] { return b.leases->snapshot().at(0).owner == "a"; }));
  a.leases->release(key);
  auto la = a.wait_change(false);
  ASSERT_TRUE(la);
  EXPECT_EQ(la->change.reason, "released");
  auto gb = b.wait_change(true);
  ASSERT_TRUE(gb);
  EXPECT_GT(gb->change.token, ga->change.token);
  EXPECT_TRUE(fb->valid());
  EXPECT_FALSE(a.leases->holds(key));
  std::printf("release -> takeover: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(gb->at - la->at).count()));
}

TEST(LeaseManager, StuckOwnerDeclaresLossBeforeTheOtherTakesOver) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok());
  Node a(server, fast("a"));
  const std::string key = lease_key("l1");
  auto fa = a.leases->want(key);
  auto ga = a.wait_change(true);
  ASSERT_TRUE(ga);
  Node b(server, fast("b"));
  auto fb = b.leases->want(key);
  ASSERT_TRUE(eventually([&] { return b.leases->snapshot().at(0).owner == "a"; }));

  auto stuck_at = Clock::now();
  a.leases->pause_for_test(true);  // no renewal leaves node a from now on
  auto la = a.wait_change(false);
  auto gb = b.wait_change(true);
  ASSERT_TRUE(la);
  ASSERT_TRUE(gb);
  EXPECT_LT(la->at, gb->at) << "the old owner must stop before the new one starts";
  EXPECT_NE(la->change.reason.find("deadline passed"), std::string::npos) << la->change.reason;
  EXPECT_FALSE(fa->valid());
  EXPECT_TRUE(fb->valid());
  EXPECT_GT(gb->change.token, ga->change.token);
  std::printf("stuck owner: lost after %lld ms, taken over after %lld ms (gap %lld ms)\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(la->at - stuck_at).count()),
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(gb->at - stuck_at).count()),
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(gb->at - la->at).count()));

  // Unstuck, node a sees node b's lease and stays out.
  a.leases->pause_for_test(false);
  ASSERT_TRUE(eventually([&] { return a.leases->snapshot().at(0).owner == "b"; }));
  EXPECT_FALSE(fa->valid());
  EXPECT_EQ(a.count(true), 1u);
}

// --- in separate processes ---

struct ProbeLine {
  std::string kind;
  std::int64_t t = 0;
  std::uint64_t token = 0;
};

std::vector<ProbeLine> parse_probe(const std::string& out) {
  std::vector<ProbeLine> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    ProbeLine p;
    l >> p.kind;
    if (p.kind == "gained" || p.kind == "lost" || p.kind == "act") {
      l >> p.t >> p.token;
      lines.push_back(p);
    }
  }
  return lines;
}

std::unique_ptr<testing::ChildProcess> probe(const testing::NatsServer& s, const std::string& node) {
  return std::make_unique<testing::ChildProcess>(
      CLUSTER_LEASE_PROBE, std::vector<std::string>{s.url(), node, "link.pbx1", "2000", "500", "400"});
}

TEST(LeaseProcesses, SigstoppedOwnerActsOnlyBeforeTheTakeover) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok());
  auto a = probe(server, "a");
  ASSERT_FALSE(a->wait_for(std::regex(R"(^gained \d+ \d+)")).empty()) << a->output();
  auto b = probe(server, "b");
  ASSERT_FALSE(b->wait_for(std::regex(R"(^ready )")).empty()) << b->output();

  const std::int64_t stopped_at = mono_ns();
  a->signal(SIGSTOP);
  auto gb = b->wait_for(std::regex(R"(^gained (\d+) (\d+))"));
  ASSERT_FALSE(gb.empty()) << b->output();
  const std::int64_t b_gained = std::stoll(gb[1].str());
  const std::uint64_t b_token = std::stoull(gb[2].str());
  a->signal(SIGCONT);
  auto la = a->wait_for(std::regex(R"(^lost (\d+) (\d+) (.*))"));
  ASSERT_FALSE(la.empty()) << a->output();
  // B acts meanwhile; give A's act loop time to print anything it would (it must not).
  ASSERT_FALSE(b->wait_for(std::regex(R"(^act )")).empty());
  a->pump(100);

  std::int64_t a_last_act = 0;
  std::uint64_t a_token = 0;
  std::size_t a_acts = 0, a_late = 0;
  for (const auto& l : parse_probe(a->output())) {
    if (l.kind == "gained") a_token = l.token;
    if (l.kind != "act") continue;
    ++a_acts;
    a_last_act = std::max(a_last_act, l.t);
    if (l.t >= b_gained) ++a_late;
  }
  EXPECT_GT(a_acts, 0u);
  EXPECT_EQ(a_late, 0u) << "node a acted after node b's term began";
  EXPECT_LT(a_last_act, b_gained);
  EXPECT_GT(b_token, a_token);
  std::printf("SIGSTOP: last act of the old owner %.0f ms before the takeover; takeover %.0f ms after the stop\n",
              (b_gained - a_last_act) / 1e6, (b_gained - stopped_at) / 1e6);
}

TEST(LeaseProcesses, KilledOwnerIsTakenOver) {
  testing::NatsServer server;
  ASSERT_TRUE(server.ok());
  auto a = probe(server, "a");
  ASSERT_FALSE(a->wait_for(std::regex(R"(^gained \d+ \d+)")).empty()) << a->output();
  auto b = probe(server, "b");
  ASSERT_FALSE(b->wait_for(std::regex(R"(^ready )")).empty());
  // A renewed at least once after B started contending.
  ASSERT_FALSE(a->wait_for(std::regex(R"(^act )")).empty());
  const std::int64_t killed_at = mono_ns();
  a->signal(SIGKILL);
  auto gb = b->wait_for(std::regex(R"(^gained (\d+) (\d+))"));
  ASSERT_FALSE(gb.empty()) << b->output();
  std::printf("kill -9: taken over %.0f ms after the kill (ttl 2000 ms)\n",
              (std::stoll(gb[1].str()) - killed_at) / 1e6);
}

}  // namespace
}  // namespace callbridge::cluster
