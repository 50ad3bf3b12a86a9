// SqliteAuditLog on a real file in a temp dir: append and read back, filters, paging, tenant
// isolation, retention (by call and at open), append-only triggers, secrets masked before they
// reach the file, read-only opening for the CLI, refusal of foreign files.
#include "audit/sqlite/sqlite_audit_log.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace callbridge::audit {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Far in the past, so the "younger than a day" guard never gets in the way of the tests' data.
base::Timestamp t0() { return base::from_micros(1'600'000'000'000'000LL); }  // 2020-09-13

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cb_audit_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path() const { return (dir_ / "audit.db").string(); }

  std::unique_ptr<SqliteAuditLog> open(SqliteAuditLog::Options o = {}) {
    auto l = SqliteAuditLog::open(path(), o);
    EXPECT_TRUE(l) << (l ? "" : l.error().message());
    return l ? std::move(*l) : nullptr;
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

  std::string file_bytes() const {
    std::string all;
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream f(path() + suffix, std::ios::binary);
      std::stringstream ss;
      ss << f.rdbuf();
      all += ss.str();
    }
    return all;
  }

  fs::path dir_;
};

TEST_F(AuditLogTest, AppendedRecordsReadBackNewestFirstWithEveryField) {
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
  EXPECT_EQ(log->stats().committed, 2u);
}

// A query sees what was appended before it, without a flush by the caller: an admin who just
// revoked a token finds the record (AuditRoutes.NoSecretInAnyRecordOrInTheFile raced here).
TEST_F(AuditLogTest, AQueryReadsEveryRecordAppendedBeforeIt) {
  auto log = open();
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 25; ++i) log->append(rec("acme", "root", "user.create", round * 25 + i));
    auto rows = log->query({.tenant = base::TenantId("acme"), .limit = 1000});
    ASSERT_TRUE(rows);
    ASSERT_EQ(rows->size(), static_cast<std::size_t>((round + 1) * 25)) << "round " << round;
  }
}

TEST_F(AuditLogTest, TenantsAreIsolatedAndAllTenantsOnlyWhenAsked) {
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

TEST_F(AuditLogTest, FiltersSinceUntilActorAndKind) {
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

TEST_F(AuditLogTest, PagingWithLimitAndBeforeIdVisitsEveryRecordOnce) {
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

TEST_F(AuditLogTest, RetentionDeletesOnlyOlderRecordsByCallAndAtOpen) {
  base::ManualClock clock(t0() + std::chrono::hours(24 * 40));
  {
    auto log = open({.retention_days = 0});  // keep forever while filling
    log->append(rec("acme", "root", "old", 0));                                           // 40 days old
    log->append(rec("acme", "root", "recent", 24 * 3600 * 20));                           // 20 days old
    log->append(rec("acme", "root", "new", 24 * 3600 * 39));                              // 1 day old
    ASSERT_TRUE(log->flush());
    EXPECT_EQ(*log->prune_expired(), 0u);  // retention off
  }
  {
    auto log = open({.retention_days = 30, .clock = &clock});  // prunes at open
    auto rows = log->query({.tenant = base::TenantId("acme")});
    ASSERT_EQ(rows->size(), 2u);
    EXPECT_EQ((*rows)[1].record.action, "recent");
    EXPECT_EQ(log->stats().pruned, 1u);
    clock.advance(std::chrono::hours(24 * 15));  // "recent" is now 35 days old
    auto n = log->prune_expired();
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    rows = log->query({.tenant = base::TenantId("acme")});
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].record.action, "new");
  }
}

TEST_F(AuditLogTest, RetentionRunsOnTheWritersTimer) {
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
  while (log->stats().pruned == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);  // polls a condition with a deadline
  EXPECT_EQ(log->stats().pruned, 1u);
  EXPECT_TRUE(log->query({.tenant = base::TenantId("acme")})->empty());
}

TEST_F(AuditLogTest, TheFileRefusesUpdatesAndDeletingRecentRecords) {
  auto log = open();
  auto now_rec = rec("acme", "root", "user.create", 0);
  now_rec.at = base::SystemClock().now();
  log->append(now_rec);
  ASSERT_TRUE(log->flush());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET actor = 'someone else'", nullptr, nullptr, &msg), SQLITE_OK);
  ASSERT_NE(msg, nullptr);
  EXPECT_NE(std::string(msg).find("append-only"), std::string::npos) << msg;
  sqlite3_free(msg);
  msg = nullptr;
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, &msg), SQLITE_OK);
  ASSERT_NE(msg, nullptr);
  EXPECT_NE(std::string(msg).find("younger than a day"), std::string::npos) << msg;
  sqlite3_free(msg);
  sqlite3_close(db);
  // Through the store as well: a cutoff in the future cannot take today's record.
  EXPECT_FALSE(log->prune_before(base::SystemClock().now() + 1h));
  auto rows = log->query({.tenant = base::TenantId("acme")});
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].record.actor, "root");
}

TEST_F(AuditLogTest, TokenShapedSecretsAreMaskedBeforeTheyReachTheFile) {
  const std::string secret = "5f0c2a9b1e7d4c31aa55bb66cc77dd88";
  const std::string token = "cbt_9f2c01_" + secret;
  {
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
  }
  EXPECT_EQ(file_bytes().find(secret), std::string::npos);
  EXPECT_EQ(ports::redact_secrets("cbt_x_1 cbt__1 cbt_12_ cbt_ab_cd"), "cbt_x_1 cbt__1 cbt_12_ cbt_ab_***");
}

TEST_F(AuditLogTest, OversizedFieldsAreCutAndBadDetailsBecomeAnEmptyObject) {
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
  EXPECT_EQ((*rows)[1].record.actor.size(), SqliteAuditLog::kMaxFieldBytes);
  EXPECT_EQ((*rows)[1].record.details_json, "{}");
}

TEST_F(AuditLogTest, ReadOnlyOpeningForTheCliAndForeignFilesAreRefused) {
  EXPECT_EQ(SqliteAuditLog::open(path(), {.read_only = true}).error().code(), base::Errc::not_found);
  {
    auto log = open();
    log->append(rec("acme", "root", "user.create", 1));
  }  // the destructor writes what is queued
  auto ro = SqliteAuditLog::open(path(), {.read_only = true});
  ASSERT_TRUE(ro) << ro.error().message();
  EXPECT_EQ((*ro)->query({.tenant = base::TenantId("acme")})->size(), 1u);
  EXPECT_FALSE((*ro)->prune_before(t0() + 1000h));

  const std::string foreign = (dir_ / "other.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(foreign.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto bad = SqliteAuditLog::open(foreign);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("not a callbridge audit log"), std::string::npos) << bad.error().message();
}

TEST_F(AuditLogTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
  auto log = open({.max_queued = 0});
  log->append(rec("acme", "root", "user.create", 1));
  EXPECT_EQ(log->stats().dropped, 1u);
  EXPECT_TRUE(log->flush());
  EXPECT_TRUE(log->query({.tenant = base::TenantId("acme")})->empty());
}

}  // namespace
}  // namespace callbridge::audit
