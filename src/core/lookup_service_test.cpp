#include "core/lookup_service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

namespace callbridge::core {
namespace {

using namespace std::chrono_literals;
using ports::ContactMatch;

// A source answering from a map of number -> name; can be made to block or fail.
class FakeSource final : public ports::ContactSource {
 public:
  FakeSource(std::string name, int priority) : name_(std::move(name)), priority_(priority) {}
  const std::string& name() const override { return name_; }
  int priority() const override { return priority_; }
  void add(const std::string& e164, const std::string& display, const std::string& label = "") {
    std::lock_guard lock(mu_);
    numbers_[e164].push_back({display, label});
  }
  base::Result<std::vector<ContactMatch>> lookup(const ports::LookupQuery& q) override {
    ++calls;
    if (on_call) on_call(q);
    if (fail_with) return base::fail(*fail_with);
    std::vector<ContactMatch> out;
    std::lock_guard lock(mu_);
    for (const auto& c : q.candidates) {
      auto it = numbers_.find(c);
      if (it == numbers_.end()) continue;
      for (const auto& [display, label] : it->second) {
        ContactMatch m;
        m.source = name_;
        m.priority = priority_;
        m.contact_id = display;
        m.display_name = display;
        m.matched_number = c;
        m.label = label;
        out.push_back(m);
      }
    }
    return out;
  }
  std::optional<std::uint64_t> change_token(const base::TenantId&) override { return token; }

  std::atomic<int> calls{0};
  std::function<void(const ports::LookupQuery&)> on_call;
  std::optional<base::Error> fail_with;
  std::optional<std::uint64_t> token;

 private:
  std::string name_;
  int priority_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> numbers_;
};

struct LookupServiceTest : ::testing::Test {
  base::ManualClock clock{base::from_micros(1'800'000'000'000'000)};
  std::shared_ptr<FakeSource> store = std::make_shared<FakeSource>("store", 10);
  std::shared_ptr<FakeSource> crm = std::make_shared<FakeSource>("crm", 30);

  std::unique_ptr<LookupService> make(std::chrono::milliseconds store_timeout = 2000ms,
                                      std::chrono::milliseconds crm_timeout = 2000ms) {
    LookupOptions o;
    o.cache_ttl = std::chrono::minutes(5);
    o.negative_cache_ttl = std::chrono::minutes(1);
    return std::make_unique<LookupService>(
        std::vector<LookupSourceConfig>{{store, store_timeout}, {crm, crm_timeout}}, o, clock);
  }
};

std::vector<std::string> names(const LookupResult& r) {
  std::vector<std::string> out;
  for (const auto& m : r.matches) out.push_back(m.contact.source + ":" + m.contact.display_name);
  return out;
}

TEST(LookupCandidates, DirectDialFallsBackToBaseAndSwitchboard) {
  auto c = LookupService::candidates("+4921133990345", 5, 7);
  std::vector<std::string> want = {"+4921133990345", "+492113399034", "+49211339903", "+492113399030",
                                   "+4921133990",    "+49211339900",  "+492113399",   "+4921133990",
                                   "+492113399"};
  // Dedupe: later duplicates are dropped, so compare the first few exactly and the size.
  ASSERT_GE(c.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(c.begin(), c.begin() + 6),
            std::vector<std::string>(want.begin(), want.begin() + 6));
  EXPECT_EQ(std::set<std::string>(c.begin(), c.end()).size(), c.size());
}

TEST(LookupCandidates, NeverShorterThanMinimumDigits) {
  EXPECT_EQ(LookupService::candidates("+4930123", 5, 7), (std::vector<std::string>{"+4930123"}));
  EXPECT_EQ(LookupService::candidates("+4930123", 5, 6),
            (std::vector<std::string>{"+4930123", "+493012"}));
}

TEST_F(LookupServiceTest, ExactMatchesFromAllSourcesRankedByPriority) {
  crm->add("+4921155501", "Zed CRM");
  store->add("+4921155501", "Anna Store");
  auto svc = make();
  auto r = svc->lookup("default", "+4921155501");
  EXPECT_EQ(names(r), (std::vector<std::string>{"store:Anna Store", "crm:Zed CRM"}));
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.matches[0].kind, MatchKind::exact);
}

TEST_F(LookupServiceTest, CompanyFallbackFindsSwitchboardByLongestPrefix) {
  store->add("+492113399030", "ACME Zentrale", "main");
  store->add("+4921133", "Somebody with a short number");
  auto svc = make();
  auto r = svc->lookup("default", "+4921133990345");
  ASSERT_EQ(names(r), (std::vector<std::string>{"store:ACME Zentrale"}));
  EXPECT_EQ(r.matches[0].kind, MatchKind::company);
  EXPECT_EQ(r.matches[0].distance, 2u);
  EXPECT_EQ(r.matches[0].contact.matched_number, "+492113399030");
}

TEST_F(LookupServiceTest, CompanyFallbackFindsBaseNumber) {
  store->add("+49211339903", "ACME base");
  auto svc = make();
  auto r = svc->lookup("default", "+4921133990345");
  ASSERT_EQ(names(r), (std::vector<std::string>{"store:ACME base"}));
  EXPECT_EQ(r.matches[0].distance, 2u);
}

TEST_F(LookupServiceTest, ExactMatchHidesCompanyGuess) {
  store->add("+492113399030", "ACME Zentrale", "main");
  crm->add("+4921133990345", "Erika Direct");
  auto svc = make();
  auto r = svc->lookup("default", "+4921133990345");
  EXPECT_EQ(names(r), (std::vector<std::string>{"crm:Erika Direct"}));
}

TEST_F(LookupServiceTest, NeighbourExtensionOfSameLengthIsNotTakenForSwitchboard) {
  store->add("+4921133990340", "Neighbour 340");
  auto svc = make();
  EXPECT_TRUE(svc->lookup("default", "+4921133990345").matches.empty());
}

TEST_F(LookupServiceTest, SlowSourceTimesOutOthersStillAnswer) {
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  crm->on_call = [&](const ports::LookupQuery& q) {
    std::unique_lock lock(m);
    cv.wait_until(lock, q.deadline + 5s, [&] { return release; });
  };
  store->add("+4921155501", "Anna Store");
  {
    auto svc = make(2000ms, 50ms);
    auto t0 = std::chrono::steady_clock::now();
    auto r = svc->lookup("default", "+4921155501");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_EQ(names(r), (std::vector<std::string>{"store:Anna Store"}));
    ASSERT_EQ(r.sources.size(), 2u);
    EXPECT_EQ(r.sources[1].state, SourceOutcome::State::timeout);
    EXPECT_FALSE(r.complete());
    EXPECT_EQ(svc->cache_size(), 0u) << "incomplete results are not cached";
    {
      std::lock_guard lock(m);
      release = true;
    }
    cv.notify_all();
  }
}

TEST_F(LookupServiceTest, SourcesRunInParallel) {
  // Each source waits until the other has started; run one after the other, both would time out.
  std::mutex m;
  std::condition_variable cv;
  int started = 0;
  auto rendezvous = [&](const ports::LookupQuery& q) {
    std::unique_lock lock(m);
    ++started;
    cv.notify_all();
    cv.wait_until(lock, q.deadline, [&] { return started == 2; });
  };
  store->on_call = rendezvous;
  crm->on_call = rendezvous;
  store->add("+4921155501", "Anna");
  crm->add("+4921155501", "Anna CRM");
  auto svc = make(3000ms, 3000ms);
  auto r = svc->lookup("default", "+4921155501");
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.matches.size(), 2u);
}

TEST_F(LookupServiceTest, FailingSourceIsReportedNotFatal) {
  crm->fail_with = base::Error::unavailable("CRM returned HTTP 503");
  store->add("+4921155501", "Anna");
  auto svc = make();
  auto r = svc->lookup("default", "+4921155501");
  EXPECT_EQ(names(r), (std::vector<std::string>{"store:Anna"}));
  EXPECT_EQ(r.sources[1].state, SourceOutcome::State::error);
  EXPECT_NE(r.sources[1].message.find("503"), std::string::npos);
}

TEST_F(LookupServiceTest, CacheHitsUntilTtlExpires) {
  store->add("+4921155501", "Anna");
  auto svc = make();
  EXPECT_FALSE(svc->lookup("default", "+4921155501").from_cache);
  auto again = svc->lookup("default", "+4921155501");
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(names(again), (std::vector<std::string>{"store:Anna"}));
  EXPECT_EQ(store->calls.load(), 1);
  clock.advance(std::chrono::minutes(5) + 1us);
  EXPECT_FALSE(svc->lookup("default", "+4921155501").from_cache);
  EXPECT_EQ(store->calls.load(), 2);
}

TEST_F(LookupServiceTest, NegativeResultsUseShorterTtl) {
  auto svc = make();
  EXPECT_TRUE(svc->lookup("default", "+4921155509").matches.empty());
  EXPECT_TRUE(svc->lookup("default", "+4921155509").from_cache);
  clock.advance(std::chrono::minutes(1) + 1us);
  EXPECT_FALSE(svc->lookup("default", "+4921155509").from_cache);
}

TEST_F(LookupServiceTest, InvalidateDropsOnlyThatTenant) {
  store->add("+4921155501", "Anna");
  auto svc = make();
  svc->lookup("a", "+4921155501");
  svc->lookup("b", "+4921155501");
  svc->invalidate("a");
  EXPECT_FALSE(svc->lookup("a", "+4921155501").from_cache);
  EXPECT_TRUE(svc->lookup("b", "+4921155501").from_cache);
}

TEST_F(LookupServiceTest, ChangeTokenMovingMakesCacheStale) {
  store->token = 1;
  auto svc = make();
  EXPECT_TRUE(svc->lookup("default", "+4921155501").matches.empty());
  store->add("+4921155501", "Anna");  // e.g. another process imported
  store->token = 2;
  auto r = svc->lookup("default", "+4921155501");
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(names(r), (std::vector<std::string>{"store:Anna"}));
}

TEST_F(LookupServiceTest, FullCacheEvictsLeastRecentlyUsed) {
  LookupOptions o;
  o.cache_capacity = 2;
  LookupService svc({{store, 2000ms}}, o, clock);
  svc.lookup("default", "+4921155501");
  svc.lookup("default", "+4921155502");
  EXPECT_TRUE(svc.lookup("default", "+4921155501").from_cache);  // 01 is now the most recent
  svc.lookup("default", "+4921155503");                           // evicts 02
  EXPECT_EQ(svc.cache_size(), 2u);
  EXPECT_TRUE(svc.lookup("default", "+4921155501").from_cache);
  EXPECT_TRUE(svc.lookup("default", "+4921155503").from_cache);
  EXPECT_FALSE(svc.lookup("default", "+4921155502").from_cache);
  svc.invalidate_all();
  EXPECT_EQ(svc.cache_size(), 0u);
}

TEST_F(LookupServiceTest, AsyncLookupCallsBackOnce) {
  store->add("+4921155501", "Anna");
  auto svc = make();
  std::mutex m;
  std::condition_variable cv;
  int calls = 0;
  svc->async_lookup("default", "+4921155501", [&](LookupResult r) {
    std::lock_guard lock(m);
    ++calls;
    EXPECT_EQ(r.matches.size(), 1u);
    cv.notify_all();
  });
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return calls == 1; }));
  lock.unlock();
  svc.reset();  // joins: no second callback from the timers
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace callbridge::core

namespace callbridge::core {
namespace {

TEST_F(LookupServiceTest, ASourceOfOneTenantIsNeverAskedForAnother) {
  auto ldap_a = std::make_shared<FakeSource>("ldap", 5);
  ldap_a->add("+4989123456", "Anna A");
  store->add("+4989123456", "Store Person");
  ldap_a->token = 7;
  std::vector<std::string> tenants_seen;
  std::mutex m;
  ldap_a->on_call = [&](const ports::LookupQuery& q) {
    std::lock_guard lock(m);
    tenants_seen.push_back(q.tenant);
  };
  LookupService svc({{store, 2000ms, {}, "store"}, {ldap_a, 2000ms, {"a"}, "ldap"}}, LookupOptions{}, clock);

  auto ra = svc.lookup("a", "+4989123456");
  EXPECT_EQ(names(ra), (std::vector<std::string>{"ldap:Anna A", "store:Store Person"})) << "ranked by priority";
  ASSERT_EQ(ra.sources.size(), 2u);

  auto rb = svc.lookup("b", "+4989123456");
  EXPECT_EQ(names(rb), (std::vector<std::string>{"store:Store Person"}));
  ASSERT_EQ(rb.sources.size(), 1u) << "tenant b does not even see tenant a's source";
  EXPECT_EQ(rb.sources[0].source, "store");
  EXPECT_EQ(tenants_seen, (std::vector<std::string>{"a"}));

  auto st = svc.source_stats();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].name, "store");
  EXPECT_EQ(st[0].ok, 2u);
  EXPECT_EQ(st[1].name, "ldap");
  EXPECT_EQ(st[1].kind, "ldap");
  EXPECT_EQ(st[1].tenants, (std::vector<std::string>{"a"}));
  EXPECT_EQ(st[1].ok, 1u);
}

TEST_F(LookupServiceTest, SourceStatsCountErrorsAndTimeoutsWithTheLastError) {
  crm->fail_with = base::Error::unavailable("crm down");
  auto svc = make(2000ms, 2000ms);
  svc->lookup("default", "+4989123456");
  auto st = svc->source_stats();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[1].errors, 1u);
  EXPECT_EQ(st[1].timeouts, 0u);
  EXPECT_NE(st[1].last_error.find("crm down"), std::string::npos) << st[1].last_error;

  crm->fail_with = base::Error::timeout("too slow");
  svc->invalidate_all();
  svc->lookup("default", "+4989123457");
  st = svc->source_stats();
  EXPECT_EQ(st[1].timeouts, 1u);
  EXPECT_EQ(st[0].ok, 2u);
  EXPECT_EQ(st[0].last_error, "");
}

TEST_F(LookupServiceTest, InvalidationIsReportedToTheListener) {
  auto svc = make();
  std::vector<std::string> seen;
  svc->set_on_invalidate([&](const std::optional<base::TenantId>& t) { seen.push_back(t ? t->str() : ""); });
  svc->invalidate(base::TenantId("a"));
  svc->invalidate_all();
  EXPECT_EQ(seen, (std::vector<std::string>{"a", ""}));
}

}  // namespace
}  // namespace callbridge::core
