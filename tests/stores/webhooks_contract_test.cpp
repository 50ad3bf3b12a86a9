// The ports::WebhookStore contract, one body per behaviour run against both backends:
// SqliteWebhookStore (webhooks.db in a temp dir) and PgWebhookStore (a real PostgreSQL, fresh
// database per test): hooks per tenant (no crossing) surviving a reopen, the change listener, the
// per-tenant cap, delivery log upserts with their per-hook bound and age pruning, pending
// deliveries saved and taken once in order. PostgreSQL only: two nodes' pending deliveries stay
// apart. What only webhooks.db has (a foreign file): src/webhooks/sqlite/sqlite_webhook_store_test.cpp.
#include <gtest/gtest.h>

#include "stores/backend_fixture.hpp"
#include "webhooks/sqlite/sqlite_webhook_store.hpp"
#ifdef CALLBRIDGE_TEST_POSTGRES
#include "webhooks/postgres/pg_webhook_store.hpp"
#endif

namespace callbridge::webhooks {
namespace {

struct Opts {
  std::size_t max_hooks_per_tenant = 20;
  std::size_t max_log_per_hook = 1000;
  std::string node = "n1";  // PostgreSQL only
};

class WebhookContract : public callbridge::testing::BackendTest {
 protected:
  base::Result<std::unique_ptr<ports::WebhookStore>> open(Opts o = {}) {
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      auto s = PgWebhookStore::open({.conninfo = dsn(), .node = o.node, .max_hooks_per_tenant = o.max_hooks_per_tenant,
                                     .max_log_per_hook = o.max_log_per_hook});
      if (!s) return base::fail(s.error());
      return std::unique_ptr<ports::WebhookStore>(std::move(*s));
    }
#endif
    auto s = SqliteWebhookStore::open(sqlite_path("webhooks.db"), {.max_hooks_per_tenant = o.max_hooks_per_tenant,
                                                                   .max_log_per_hook = o.max_log_per_hook});
    if (!s) return base::fail(s.error());
    return std::unique_ptr<ports::WebhookStore>(std::move(*s));
  }
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
};

TEST_P(WebhookContract, HooksBelongToTheirTenantAndSurviveAReopen) {
  std::vector<std::string> changed;
  {
    auto s = open();
    ASSERT_TRUE(s) << s.error().message();
    (*s)->set_on_change([&](const base::TenantId& t) { changed.push_back(t.str()); });
    auto h = hook("wh_1", "ta");
    h.body_template = R"({"n":"{data.call.id}"})";
    ASSERT_TRUE((*s)->add(h));
    ASSERT_TRUE((*s)->add(hook("wh_2", "tb")));
    EXPECT_EQ(changed, (std::vector<std::string>{"ta", "tb"}));
  }
  auto s = open();
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

TEST_P(WebhookContract, ATenantHasAtMostMaxHooks) {
  auto s = open({.max_hooks_per_tenant = 2});
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->add(hook("wh_1", "ta")));
  ASSERT_TRUE((*s)->add(hook("wh_2", "ta")));
  auto third = (*s)->add(hook("wh_3", "ta"));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code(), base::Errc::conflict);
  EXPECT_TRUE((*s)->add(hook("wh_4", "tb")));
}

TEST_P(WebhookContract, DeliveryLogUpsertsIsBoundedPerHookAndPrunedByAge) {
  auto s = open({.max_log_per_hook = 3});
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

TEST_P(WebhookContract, PendingDeliveriesAreSavedAndTakenInOrderOnce) {
  {
    auto s = open();
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
  auto s = open();
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

#ifdef CALLBRIDGE_TEST_POSTGRES
// Cluster mode: each node saves and takes back its own pending deliveries, and closes only its own
// lost ones; another node's restart leaves them alone.
TEST_P(WebhookContract, EachNodeKeepsItsOwnPendingDeliveries) {
  if (!postgres()) GTEST_SKIP() << "nodes share a database only on PostgreSQL";
  auto a = open({.node = "a"});
  auto b = open({.node = "b"});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->add(hook("wh_1", "ta")));
  ASSERT_TRUE((*a)->record(delivery("dl_a", "wh_1", 1, 100)));  // node a's, retrying
  ASSERT_TRUE((*b)->record(delivery("dl_b", "wh_1", 1, 100)));  // node b's, retrying
  ASSERT_TRUE((*a)->save_pending({{.rec = delivery("dl_a", "wh_1", 1, 100), .chain = "wh_1\nc", .body = "{}"}}));
  // Node b restarts after a kill: it saved nothing, so its own delivery is lost; a's is not touched.
  auto taken_b = (*b)->take_pending(base::from_micros(200), "lost");
  ASSERT_TRUE(taken_b) << taken_b.error().message();
  EXPECT_TRUE(taken_b->empty());
  auto log = *(*a)->deliveries(base::TenantId("ta"), "wh_1", 10);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].id, "dl_b");
  EXPECT_EQ(log[0].state, "failed");
  EXPECT_EQ(log[1].id, "dl_a");
  EXPECT_EQ(log[1].state, "retrying");
  ASSERT_TRUE((*b)->save_pending({}));  // b's stop does not wipe a's saved deliveries
  auto taken_a = (*a)->take_pending(base::from_micros(300), "lost");
  ASSERT_TRUE(taken_a);
  ASSERT_EQ(taken_a->size(), 1u);
  EXPECT_EQ((*taken_a)[0].rec.id, "dl_a");
}
#endif

INSTANTIATE_TEST_SUITE_P(Backends, WebhookContract, CALLBRIDGE_STORE_BACKENDS, callbridge::testing::backend_name);

}  // namespace
}  // namespace callbridge::webhooks
