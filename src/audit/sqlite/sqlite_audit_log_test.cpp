// SqliteAuditLog on a real file in a temp dir: what only audit.db has — secrets masked before they
// reach the file's bytes (WAL included), read-only opening for the CLI, refusal of foreign files.
// The behaviour both backends share: tests/stores/audit_contract_test.cpp.
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

}  // namespace
}  // namespace callbridge::audit
