// SqliteWebhookStore against a real file: hooks per tenant (no crossing), the per-tenant cap, the
// change listener, delivery log upserts, its per-hook bound and age pruning, and that a foreign
// SQLite file is refused.
#include "webhooks/sqlite/sqlite_webhook_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace callbridge::webhooks {
namespace {

namespace fs = std::filesystem;

class WebhookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cb_wh_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "webhooks.db").string(); }
  static ports::Webhook hook(std::string id, const char* tenant) {
    ports::Webhook h{.id = std::move(id), .tenant = base::TenantId(tenant)};
    h.url = "https://crm.example/hook";
    h.events = {"call.ended", "call.ringing"};
    h.secret = "whsec_x";
    h.created_at = base::from_micros(1'800'000'000'000'000);
    h.created_by = "adm";
    return h;
  }
  static ports::WebhookDelivery delivery(std::string id, const std::string& hook, int attempts,
                                         std::int64_t updated_us) {
    ports::WebhookDelivery d{.id = std::move(id), .hook_id = hook, .tenant = base::TenantId("ta")};
    d.event_type = "call.ended";
    d.event_id = "ev";
    d.state = "retrying";
    d.attempts = attempts;
    d.http_status = 500;
    d.last_error = "HTTP 500";
    d.created_at = base::from_micros(updated_us);
    d.updated_at = base::from_micros(updated_us);
    return d;
  }
  fs::path dir_;
};

TEST_F(WebhookStoreTest, HooksBelongToTheirTenantAndSurviveAReopen) {
  std::vector<std::string> changed;
  {
    auto s = SqliteWebhookStore::open(path());
    ASSERT_TRUE(s) << s.error().message();
    (*s)->set_on_change([&](const base::TenantId& t) { changed.push_back(t.str()); });
    auto h = hook("wh_1", "ta");
    h.body_template = R"({"n":"{data.call.id}"})";
    ASSERT_TRUE((*s)->add(h));
    ASSERT_TRUE((*s)->add(hook("wh_2", "tb")));
    EXPECT_EQ(changed, (std::vector<std::string>{"ta", "tb"}));
  }
  auto s = SqliteWebhookStore::open(path());
  ASSERT_TRUE(s);
  auto a = (*s)->list(base::TenantId("ta"));
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].id, "wh_1");
  EXPECT_EQ((*a)[0].events, (std::vector<std::string>{"call.ended", "call.ringing"}));
  EXPECT_EQ((*a)[0].body_template, R"({"n":"{data.call.id}"})");
  EXPECT_EQ((*a)[0].secret, "whsec_x");
  EXPECT_EQ((*a)[0].created_at, base::from_micros(1'800'000'000'000'000));
  // Another tenant's id is not found, not removed.
  auto g = (*s)->get(base::TenantId("tb"), "wh_1");
  ASSERT_TRUE(g);
  EXPECT_FALSE(g->has_value());
  auto r = (*s)->remove(base::TenantId("tb"), "wh_1");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_EQ((*s)->list_all()->size(), 2u);
  r = (*s)->remove(base::TenantId("ta"), "wh_1");
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ((*s)->list_all()->size(), 1u);
}

TEST_F(WebhookStoreTest, ATenantHasAtMostMaxHooks) {
  auto s = SqliteWebhookStore::open(path(), {.max_hooks_per_tenant = 2});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->add(hook("wh_1", "ta")));
  ASSERT_TRUE((*s)->add(hook("wh_2", "ta")));
  auto third = (*s)->add(hook("wh_3", "ta"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), base::Errc::conflict);
  EXPECT_TRUE((*s)->add(hook("wh_4", "tb")));
}

TEST_F(WebhookStoreTest, DeliveryLogUpsertsIsBoundedPerHookAndPrunedByAge) {
  auto s = SqliteWebhookStore::open(path(), {.max_log_per_hook = 3});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->add(hook("wh_1", "ta")));
  ASSERT_TRUE((*s)->record(delivery("dl_1", "wh_1", 1, 100)));
  auto d = delivery("dl_1", "wh_1", 2, 200);
  d.state = "delivered";
  d.http_status = 204;
  d.last_error = "";
  ASSERT_TRUE((*s)->record(d));
  auto log = (*s)->deliveries(base::TenantId("ta"), "wh_1", 10);
  ASSERT_TRUE(log);
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].state, "delivered");
  EXPECT_EQ((*log)[0].attempts, 2);
  EXPECT_EQ((*log)[0].http_status, 204);
  EXPECT_EQ((*log)[0].created_at, base::from_micros(100));
  for (int i = 2; i <= 6; ++i) ASSERT_TRUE((*s)->record(delivery("dl_" + std::to_string(i), "wh_1", 1, 100 * i)));
  log = (*s)->deliveries(base::TenantId("ta"), "wh_1", 10);
  ASSERT_EQ(log->size(), 3u);  // the newest three, newest first
  EXPECT_EQ((*log)[0].id, "dl_6");
  EXPECT_EQ((*log)[2].id, "dl_4");
  // Another tenant reads nothing of it.
  EXPECT_TRUE((*s)->deliveries(base::TenantId("tb"), "wh_1", 10)->empty());
  auto n = (*s)->prune_before(base::from_micros(550));
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ((*s)->deliveries(base::TenantId("ta"), "wh_1", 10)->size(), 1u);
  // A removed hook takes its log along; a late delivery of it is not logged.
  ASSERT_TRUE(*(*s)->remove(base::TenantId("ta"), "wh_1"));
  ASSERT_TRUE((*s)->record(delivery("dl_7", "wh_1", 1, 700)));
  EXPECT_TRUE((*s)->deliveries(base::TenantId("ta"), "wh_1", 10)->empty());
}

TEST_F(WebhookStoreTest, PendingDeliveriesAreSavedAndTakenInOrderOnce) {
  {
    auto s = SqliteWebhookStore::open(path());
    ASSERT_TRUE(s);
    ASSERT_TRUE((*s)->add(hook("wh_1", "ta")));
    ASSERT_TRUE((*s)->add(hook("wh_2", "ta")));
    // Logged as retrying: dl_1 is saved below, dl_9 is not (as if callbridged had been killed).
    ASSERT_TRUE((*s)->record(delivery("dl_1", "wh_1", 1, 100)));
    ASSERT_TRUE((*s)->record(delivery("dl_9", "wh_2", 2, 100)));
    std::vector<ports::PendingDelivery> p;
    for (const char* id : {"dl_1", "dl_2", "dl_3"}) {
      ports::PendingDelivery d{.rec = delivery(id, "wh_1", 0, 300), .chain = "wh_1\nc-1",
                               .body = std::string(R"({"id":")") + id + "\"}"};
      p.push_back(std::move(d));
    }
    p[0].rec.attempts = 1;
    p.push_back({.rec = delivery("dl_4", "wh_gone", 0, 300), .chain = "wh_gone\nc-2", .body = "{}"});
    ASSERT_TRUE((*s)->save_pending({p[2]}));  // replaced by the next save
    ASSERT_TRUE((*s)->save_pending(p));
  }
  auto s = SqliteWebhookStore::open(path());
  ASSERT_TRUE(s);
  auto taken = (*s)->take_pending(base::from_micros(500), "lost at the stop");
  ASSERT_TRUE(taken) << taken.error().message();
  ASSERT_EQ(taken->size(), 3u);  // the delivery of a hook that does not exist is not kept
  EXPECT_EQ((*taken)[0].rec.id, "dl_1");
  EXPECT_EQ((*taken)[1].rec.id, "dl_2");
  EXPECT_EQ((*taken)[2].rec.id, "dl_3");
  EXPECT_EQ((*taken)[0].rec.attempts, 1);
  EXPECT_EQ((*taken)[0].rec.created_at, base::from_micros(300));
  EXPECT_EQ((*taken)[0].rec.tenant, base::TenantId("ta"));
  EXPECT_EQ((*taken)[0].rec.event_type, "call.ended");
  EXPECT_EQ((*taken)[1].chain, "wh_1\nc-1");
  EXPECT_EQ((*taken)[1].body, R"({"id":"dl_2"})");
  // The saved one is still retrying in the log; the one nobody saved is closed as failed.
  auto log1 = *(*s)->deliveries(base::TenantId("ta"), "wh_1", 10);
  ASSERT_EQ(log1.size(), 1u);
  EXPECT_EQ(log1[0].state, "retrying");
  auto log2 = *(*s)->deliveries(base::TenantId("ta"), "wh_2", 10);
  ASSERT_EQ(log2.size(), 1u);
  EXPECT_EQ(log2[0].state, "failed");
  EXPECT_EQ(log2[0].last_error, "lost at the stop");
  EXPECT_EQ(log2[0].updated_at, base::from_micros(500));
  // Taken once.
  EXPECT_TRUE((*s)->take_pending(base::from_micros(600), "x")->empty());
}

TEST_F(WebhookStoreTest, AForeignFileIsRefused) {
  std::ofstream(path()) << "not a database at all, just text that is long enough to look like a header";
  auto s = SqliteWebhookStore::open(path());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("webhook store"), std::string::npos) << s.error().message();
}

}  // namespace
}  // namespace callbridge::webhooks
