// What only the SQLite identity store has: identity.db files of older schemas migrated in place.
// The behaviour both backends share is tested once for both: tests/stores/identity_contract_test.cpp.
#include "identity/sqlite/identity_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }

TEST(IdentityStore, ParseTokenRejectsGarbage) {
  EXPECT_FALSE(parse_token(""));
  EXPECT_FALSE(parse_token("cbt_"));
  EXPECT_FALSE(parse_token("cbt_abc"));
  EXPECT_FALSE(parse_token("cbt_abc_"));
  EXPECT_FALSE(parse_token("xyz_ab_cd"));
  EXPECT_FALSE(parse_token("cbt_zz_cd"));
  EXPECT_FALSE(parse_token("cbt_ab_" + std::string(300, 'a')));
  EXPECT_TRUE(parse_token("cbt_ab_cd"));
}

TEST(IdentityStore, SchemaOneIsMigratedToTwoKeepingUsers) {
  auto path = std::string(::testing::TempDir()) + "identity_v1.db";
  std::remove(path.c_str());
  {
    // What a session-1 callbridged wrote: the version 1 schema.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE users (tenant TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, "
                           "display_name TEXT NOT NULL DEFAULT '', extensions TEXT NOT NULL DEFAULT '', team TEXT "
                           "NOT NULL DEFAULT '', PRIMARY KEY (tenant, name));"
                           "CREATE TABLE tokens (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT NULL, "
                           "hash TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER "
                           "NOT NULL DEFAULT 0);"
                           "CREATE TABLE sessions (id_hash TEXT PRIMARY KEY, tenant TEXT NOT NULL, user TEXT NOT "
                           "NULL, expires_at INTEGER NOT NULL);"
                           "INSERT INTO users VALUES('default','root','admin','','','');"
                           "PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = SqliteIdentityStore::open(path);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ((*s)->get_user("default", "root")->role, "admin");
  ASSERT_TRUE((*s)->put_setting("default", "ui", {"{}", at(1), "root"}));
  s->reset();
  auto again = SqliteIdentityStore::open(path);
  ASSERT_TRUE(again);
  EXPECT_EQ((*(*again)->get_setting("default", "ui"))->value, "{}");
  // ... and on to 3: old sessions keep working, without a token.
  ASSERT_TRUE((*again)->insert_session("h1", {"default", "root", at(100)}));
  EXPECT_EQ((*again)->get_session("h1")->token_id, "");
  EXPECT_TRUE((*again)->credential_generation());
  // ... and on to 4: per-user settings.
  ASSERT_TRUE((*again)->put_user_setting("default", "root", "settings", {"{\"theme\":\"dark\"}", at(2), "root"}));
  EXPECT_EQ((*(*again)->get_user_setting("default", "root", "settings"))->value, "{\"theme\":\"dark\"}");
}

}  // namespace
}  // namespace callbridge::identity
