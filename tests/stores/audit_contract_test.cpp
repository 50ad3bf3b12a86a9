// The ports::AuditLog contract, one body per behaviour run against both backends: SqliteAuditLog
// (audit.db in a temp dir) and PgAuditLog (a real PostgreSQL, fresh database per test): read back
// newest first, read-your-writes, tenant isolation, filters, paging, retention (by call, at open,
// on the timer), the append-only guard against UPDATE and recent DELETEs in the database itself,
// secrets masked before they are stored, field limits, a full queue. What only audit.db has (the
// read-only opening of the CLI, foreign files): src/audit/sqlite/sqlite_audit_log_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "audit/sqlite/sqlite_audit_log.hpp"
#include "stores/backend_fixture.hpp"
#ifdef CALLBRIDGE_TEST_POSTGRES
#include <libpq-fe.h>

#include "audit/postgres/pg_audit_log.hpp"
#endif

namespace callbridge::audit {
namespace {

using namespace std::chrono_literals;

// Far in the past, so the "younger than a day" guard never gets in the way of the tests' data.
base::Timestamp t0() { return base::from_micros(1'600'000'000'000'000LL); }  // 2020-09-13

// The options both backends have.
struct Opts {
  int retention_days = 365;
  std::chrono::seconds prune_interval{3600};
  std::size_t max_queued = 100'000;
  const base::Clock* clock = nullptr;
};

// An open log of either kind, with the extras the tests use.
struct Log {
  std::unique_ptr<ports::AuditLog> log;
  std::function<AuditLogStats()> stats_fn;
  std::function<base::Result<std::size_t>()> prune_fn;
  ports::AuditLog* operator->() const { return log.get(); }
  explicit operator bool() const { return static_cast<bool>(log); }
  AuditLogStats stats() const { return stats_fn(); }
  base::Result<std::size_t> prune_expired() const { return prune_fn(); }
};

class AuditContract : public callbridge::testing::BackendTest {
 protected:
  Log open(Opts o = {}) {
    Log out;
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      auto l = PgAuditLog::open({.conninfo = dsn(), .retention_days = o.retention_days,
                                 .prune_interval = o.prune_interval, .max_queued = o.max_queued, .clock = o.clock});
      EXPECT_TRUE(l) << (l ? "" : l.error().message());
      if (!l) return out;
      auto* p = l->get();
      out.stats_fn = [p] { return p->stats(); };
      out.prune_fn = [p] { return p->prune_expired(); };
      out.log = std::move(*l);
      return out;
    }
#endif
    auto l = SqliteAuditLog::open(sqlite_path("audit.db"), {.retention_days = o.retention_days,
                                                            .prune_interval = o.prune_interval,
                                                            .max_queued = o.max_queued,
                                                            .clock = o.clock});
    EXPECT_TRUE(l) << (l ? "" : l.error().message());
    if (!l) return out;
    auto* p = l->get();
    out.stats_fn = [p] { return p->stats(); };
    out.prune_fn = [p] { return p->prune_expired(); };
    out.log = std::move(*l);
    return out;
  }

  // Runs SQL on the database behind the log, as someone with a shell would; "" or the error.
  // `first`: the first row's first value, if any.
  std::string raw_sql(const std::string& sql, std::string* first = nullptr) {
#ifdef CALLBRIDGE_TEST_POSTGRES
    if (postgres()) {
      PGconn* c = PQconnectdb(dsn().c_str());
      std::string err;
      PGresult* r = PQexec(c, sql.c_str());
      auto st = PQresultStatus(r);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) err = PQresultErrorMessage(r);
      if (first && st == PGRES_TUPLES_OK && PQntuples(r) > 0) *first = PQgetvalue(r, 0, 0);
      PQclear(r);
      PQfinish(c);
      return err;
    }
#endif
    sqlite3* db = nullptr;
    if (sqlite3_open(sqlite_path("audit.db").c_str(), &db) != SQLITE_OK) return "cannot open";
    char* msg = nullptr;
    std::string err;
    auto cb = [](void* out, int n, char** v, char**) {
      auto* f = static_cast<std::string*>(out);
      if (f && f->empty() && n > 0 && v[0]) *f = v[0];
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), cb, first, &msg) != SQLITE_OK) err = msg ? msg : "failed";
    sqlite3_free(msg);
    sqlite3_close(db);
    return err;
  }

  static ports::AuditRecord rec(const char* tenant, std::string actor, std::string action, int second,
                                std::string outcome = "ok") {
    ports::AuditRecord r{.tenant = base::TenantId(tenant)};
    r.at = t0() + std::chrono::seconds(second);
    r.actor = std::move(actor);
    r.source = "192.0.2.7";
    r.action = std::move(action);
    r.target = "user:ben";
    r.outcome = std::move(outcome);
    r.details_json = R"({"role":"user"})";
    return r;
  }
};

TEST_P(AuditContract, AppendedRecordsReadBackNewestFirstWithEveryField) {
  auto log = open();
  log->append(rec("acme", "root", "user.create", 1));
  log->append(rec("acme", "root", "token.create", 2));
  ASSERT_TRUE(log->flush());
  auto rows = log->query({.tenant = base::TenantId("acme")});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_GT((*rows)[0].id, (*rows)[1].id);
  const auto& r = (*rows)[0].record;
  EXPECT_EQ(r.action, "token.create");
  EXPECT_EQ(r.at, t0() + 2s);
  EXPECT_EQ(r.tenant, "acme");
  EXPECT_EQ(r.actor, "root");
  EXPECT_EQ(r.source, "192.0.2.7");
  EXPECT_EQ(r.target, "user:ben");
  EXPECT_EQ(r.outcome, "ok");
  EXPECT_EQ(r.details_json, R"({"role":"user"})");
  EXPECT_EQ(log.stats().committed, 2u);
}

// A query sees what was appended before it, without a flush by the caller: an admin who just
// revoked a token finds the record (AuditRoutes.NoSecretInAnyRecordOrInTheFile raced here).
TEST_P(AuditContract, AQueryReadsEveryRecordAppendedBeforeIt) {
  auto log = open();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 25; ++i) log->append(rec("acme", "root", "user.create", round * 25 + i));
    auto rows = log->query({.tenant = base::TenantId("acme"), .limit = 1000});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), static_cast<std::size_t>((round + 1) * 25)) << "round " << round;
  }
}

TEST_P(AuditContract, TenantsAreIsolatedAndAllTenantsOnlyWhenAsked) {
  auto log = open();
  log->append(rec("acme", "root", "user.create", 1));
  log->append(rec("globex", "hank", "user.create", 2));
  log->append(rec("acme", "root", "user.remove", 3));
  ASSERT_TRUE(log->flush());
  auto acme = log->query({.tenant = base::TenantId("acme")});
  ASSERT_TRUE(acme);
  ASSERT_EQ(acme->size(), 2u);
  for (const auto& r : *acme) EXPECT_EQ(r.record.tenant, "acme");
  auto globex = log->query({.tenant = base::TenantId("globex")});
  ASSERT_EQ(globex->size(), 1u);
  EXPECT_EQ((*globex)[0].record.actor, "hank");
  auto all = log->query({.tenant = std::nullopt});
  ASSERT_EQ(all->size(), 3u);
}

TEST_P(AuditContract, FiltersSinceUntilActorAndKind) {
  auto log = open();
  log->append(rec("acme", "root", "token.create", 10));
  log->append(rec("acme", "anna", "session.create", 20));
  log->append(rec("acme", "root", "token.revoke", 30));
  log->append(rec("acme", "root", "tokenish.thing", 40));  // "token" must not match it
  log->append(rec("acme", "root", "user.create", 50));
  ASSERT_TRUE(log->flush());
  auto actions = [&](ports::AuditQuery q) {
    std::vector<std::string> out;
    auto rows = log->query(q);
    EXPECT_TRUE(rows);
    for (const auto& r : *rows) out.push_back(r.record.action);
    return out;
  };
  const base::TenantId acme("acme");
  EXPECT_EQ(actions({.tenant = acme, .kind = "token"}), (std::vector<std::string>{"token.revoke", "token.create"}));
  EXPECT_EQ(actions({.tenant = acme, .kind = "token.create"}), (std::vector<std::string>{"token.create"}));
  EXPECT_EQ(actions({.tenant = acme, .kind = "%"}), (std::vector<std::string>{}));
  EXPECT_EQ(actions({.tenant = acme, .actor = "anna"}), (std::vector<std::string>{"session.create"}));
  EXPECT_EQ(actions({.tenant = acme, .since = t0() + 20s, .until = t0() + 40s}),
            (std::vector<std::string>{"token.revoke", "session.create"}));
  EXPECT_EQ(actions({.tenant = acme, .since = t0() + 20s, .actor = "root", .kind = "token"}),
            (std::vector<std::string>{"token.revoke"}));
}

TEST_P(AuditContract, PagingWithLimitAndBeforeIdVisitsEveryRecordOnce) {
  auto log = open();
  for (int i = 0; i < 25; ++i) log->append(rec("acme", "root", "user.create", i));
  log->append(rec("other", "x", "user.create", 100));
  ASSERT_TRUE(log->flush());
  std::vector<std::int64_t> seen;
  ports::AuditQuery q{.tenant = base::TenantId("acme"), .limit = 10};
  for (;;) {
    auto page = log->query(q);
    ASSERT_TRUE(page);
    for (const auto& r : *page) seen.push_back(r.id);
    if (page->size() < q.limit) break;
    q.before_id = page->back().id;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_LT(seen[i], seen[i - 1]);
}

TEST_P(AuditContract, RetentionDeletesOnlyOlderRecordsByCallAndAtOpen) {
  base::ManualClock clock(t0() + std::chrono::hours(24 * 40));
  {
    auto log = open({.retention_days = 0});  // keep forever while filling
    log->append(rec("acme", "root", "old", 0));                                           // 40 days old
    log->append(rec("acme", "root", "recent", 24 * 3600 * 20));                           // 20 days old
    log->append(rec("acme", "root", "new", 24 * 3600 * 39));                              // 1 day old
    ASSERT_TRUE(log->flush());
    EXPECT_EQ(*log.prune_expired(), 0u);  // retention off
  }
  {
    auto log = open({.retention_days = 30, .clock = &clock});  // prunes at open
    auto rows = log->query({.tenant = base::TenantId("acme")});
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[1].record.action, "recent");
    EXPECT_EQ(log.stats().pruned, 1u);
    clock.advance(std::chrono::hours(24 * 15));  // "recent" is now 35 days old
    auto n = log.prune_expired();
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    rows = log->query({.tenant = base::TenantId("acme")});
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].record.action, "new");
  }
}

TEST_P(AuditContract, RetentionRunsOnTheWritersTimer) {
  base::ManualClock clock(t0() + std::chrono::hours(24 * 40));
  {
    auto log = open({.retention_days = 0});
    log->append(rec("acme", "root", "old", 0));
    ASSERT_TRUE(log->flush());
  }
  auto log = open({.retention_days = 365, .prune_interval = 1s, .clock = &clock});
  ASSERT_EQ(log->query({.tenant = base::TenantId("acme")})->size(), 1u);  // 40 days < 365
  clock.advance(std::chrono::hours(24 * 400));
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (log.stats().pruned == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);  // polls a condition with a deadline
  EXPECT_EQ(log.stats().pruned, 1u);
  EXPECT_TRUE(log->query({.tenant = base::TenantId("acme")})->empty());
}

TEST_P(AuditContract, OversizedFieldsAreCutAndBadDetailsBecomeAnEmptyObject) {
  auto log = open();
  auto r = rec("acme", std::string(5000, 'a'), "user.create", 1);
  r.details_json = "not json";
  log->append(r);
  auto big = rec("acme", "root", "user.create", 2);
  big.details_json = "{\"x\":\"" + std::string(10'000, 'y') + "\"}";
  log->append(big);
  ASSERT_TRUE(log->flush());
  auto rows = log->query({.tenant = base::TenantId("acme")});
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].record.details_json, R"({"truncated":true})");
  EXPECT_EQ((*rows)[1].record.actor.size(), kMaxFieldBytes);
  EXPECT_EQ((*rows)[1].record.details_json, "{}");
}

TEST_P(AuditContract, AFullQueueDropsAndCountsInsteadOfBlocking) {
  auto log = open({.max_queued = 0});
  log->append(rec("acme", "root", "user.create", 1));
  EXPECT_EQ(log.stats().dropped, 1u);
  EXPECT_TRUE(log->flush());
  EXPECT_TRUE(log->query({.tenant = base::TenantId("acme")})->empty());
}

TEST_P(AuditContract, TheDatabaseRefusesUpdatesAndDeletingRecentRecords) {
  auto log = open();
  auto now_rec = rec("acme", "root", "user.create", 0);
  now_rec.at = base::SystemClock().now();
  log->append(now_rec);
  ASSERT_TRUE(log->flush());
  auto err = raw_sql("UPDATE audit SET actor = 'someone else'");
  EXPECT_NE(err.find("append-only"), std::string::npos) << err;
  err = raw_sql("DELETE FROM audit");
  EXPECT_NE(err.find("younger than a day"), std::string::npos) << err;
  // Through the store as well: a cutoff in the future cannot take today's record.
  EXPECT_FALSE(log->prune_before(base::SystemClock().now() + 1h));
  auto rows = log->query({.tenant = base::TenantId("acme")});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].record.actor, "root");
}

TEST_P(AuditContract, TokenShapedSecretsAreMaskedBeforeTheyAreStored) {
  const std::string secret = "5f0c2a9b1e7d4c31aa55bb66cc77dd88";
  const std::string token = "cbt_9f2c01_" + secret;
  auto log = open();
  auto r = rec("acme", token, "session.create", 1, "failed");
  r.target = "token:" + token;
  r.details_json = R"({"reason":"pasted )" + token + R"( by mistake"})";
  log->append(r);
  ASSERT_TRUE(log->flush());
  auto rows = log->query({.tenant = base::TenantId("acme")});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].record.actor, "cbt_9f2c01_***");
  EXPECT_EQ((*rows)[0].record.target, "token:cbt_9f2c01_***");
  EXPECT_EQ((*rows)[0].record.details_json, R"({"reason":"pasted cbt_9f2c01_*** by mistake"})");
  // Nothing in the table holds the secret (the stored rows, not just what query() shows).
  std::string stored;
  EXPECT_EQ(raw_sql("SELECT actor || target || details FROM audit", &stored), "");
  EXPECT_NE(stored.find("cbt_9f2c01_***"), std::string::npos) << stored;
  EXPECT_EQ(stored.find(secret), std::string::npos) << stored;
}

// Two logs on one database (two nodes, or the daemon and the CLI): each reads what the other wrote.
TEST_P(AuditContract, TwoWritersShareOneLog) {
  auto a = open();
  auto b = open();
  a->append(rec("acme", "root", "user.create", 1));
  ASSERT_TRUE(a->flush());
  b->append(rec("acme", "root", "user.remove", 2));
  ASSERT_TRUE(b->flush());
  auto rows = a->query({.tenant = base::TenantId("acme")});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].record.action, "user.remove");
}

INSTANTIATE_TEST_SUITE_P(Backends, AuditContract, CALLBRIDGE_STORE_BACKENDS, callbridge::testing::backend_name);

}  // namespace
}  // namespace callbridge::audit
