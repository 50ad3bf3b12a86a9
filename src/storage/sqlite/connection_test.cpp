#include "storage/sqlite/connection.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace callbridge::storage::sqlite {
namespace {

class SqliteConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cb-sqlconn-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

constexpr std::string_view kTwo[] = {
    "CREATE TABLE a (x INTEGER)",
    "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (7)",
};
const Schema kSchema{0x43425453, kTwo, "a test file"};

std::string journal_mode(Connection& db) {
  auto st = db.prepare("PRAGMA journal_mode");
  EXPECT_TRUE(st.has_value());
  EXPECT_EQ(st->step(), SQLITE_ROW);
  return st->text(0);
}

TEST_F(SqliteConnection, OpensInWalAndNamesTheFileInErrors) {
  auto db = Connection::open(file("x.db"), "test db");
  ASSERT_TRUE(db.has_value()) << db.error().message();
  EXPECT_EQ(journal_mode(**db), "wal");
  auto st = (*db)->exec("SELECT * FROM nope", "reading nope");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().message(), "test db " + file("x.db") + ": reading nope: no such table: nope");
  EXPECT_EQ((*db)->name(), "test db " + file("x.db"));
}

TEST_F(SqliteConnection, MigratesOnceAndRecordsTheVersion) {
  auto db = Connection::open(file("m.db"), "test db");
  ASSERT_TRUE(db.has_value());
  auto from = migrate(**db, kSchema);
  ASSERT_TRUE(from.has_value()) << from.error().message();
  EXPECT_EQ(*from, 0);
  EXPECT_EQ(*(*db)->scalar("SELECT version FROM schema_version", "v"), 2);
  EXPECT_EQ(*(*db)->scalar("PRAGMA application_id", "id"), 0x43425453);
  EXPECT_EQ(*(*db)->scalar("SELECT x FROM a", "x"), 7);
  // Again: nothing to do, the migrations do not run twice.
  auto again = migrate(**db, kSchema);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 2);
  EXPECT_EQ(*(*db)->scalar("SELECT count(*) FROM a", "n"), 1);
  EXPECT_TRUE(check_schema(**db, kSchema).has_value());
}

TEST_F(SqliteConnection, AFailingMigrationChangesNothing) {
  constexpr std::string_view bad[] = {"CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y); SELECT * FROM nope"};
  auto db = Connection::open(file("f.db"), "test db");
  ASSERT_TRUE(db.has_value());
  auto r = migrate(**db, Schema{0x43425453, bad, "a test file"});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("migrating to schema 2"), std::string::npos) << r.error().message();
  EXPECT_EQ(*(*db)->scalar("SELECT count(*) FROM sqlite_master", "n"), 0);  // not even table a
}

TEST_F(SqliteConnection, RefusesAForeignFileWithoutTouchingIt) {
  {
    auto other = Connection::open(file("other.db"), "other", {.wal = false});
    ASSERT_TRUE(other.has_value());
    ASSERT_TRUE((*other)->exec("CREATE TABLE theirs (z); PRAGMA application_id = 42", "setup").has_value());
  }
  auto db = Connection::open(file("other.db"), "test db", {.wal = false});
  ASSERT_TRUE(db.has_value());
  auto r = migrate(**db, kSchema);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "test db " + file("other.db") + ": is an SQLite database but not a test file");
  EXPECT_EQ(journal_mode(**db), "delete");
  EXPECT_EQ(*(*db)->scalar("SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'", "n"), 0);
  EXPECT_FALSE(check_schema(**db, kSchema).has_value());
}

TEST_F(SqliteConnection, RefusesANewerSchemaAndAReaderOfAnotherVersion) {
  auto db = Connection::open(file("n.db"), "test db");
  ASSERT_TRUE(db.has_value());
  ASSERT_TRUE(migrate(**db, kSchema).has_value());
  const Schema older{0x43425453, std::span(kTwo).first(1), "a test file"};
  auto r = migrate(**db, older);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("schema version 2 is newer than this build supports (1)"), std::string::npos)
      << r.error().message();
  auto c = check_schema(**db, older);
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message().find("schema version 2, this build reads 1"), std::string::npos);
}

TEST_F(SqliteConnection, AGarbageFileIsCalledCorruptAtOpen) {
  std::ofstream(file("g.db")) << std::string(8192, 'x');
  auto db = Connection::open(file("g.db"), "test db", {.file_kind = "a test file"});
  ASSERT_FALSE(db.has_value());
  EXPECT_NE(db.error().message().find("(the file is corrupt or not a test file)"), std::string::npos)
      << db.error().message();
}

TEST_F(SqliteConnection, AReadOnlyConnectionCannotWriteAndSaysSo) {
  { ASSERT_TRUE(Connection::open(file("r.db"), "test db").has_value()); }
  auto db = Connection::open(file("r.db"), "test db", {.read_only = true});
  ASSERT_TRUE(db.has_value());
  auto st = (*db)->exec("CREATE TABLE t (x)", "writing");
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message().find("readonly"), std::string::npos) << st.error().message();
}

TEST_F(SqliteConnection, AMissingDirectoryIsACannotOpenError) {
  auto db = Connection::open(file("no/such/dir.db"), "test db");
  ASSERT_FALSE(db.has_value());
  EXPECT_NE(db.error().message().find("test db " + file("no/such/dir.db") + ": cannot open"), std::string::npos)
      << db.error().message();
}

}  // namespace
}  // namespace callbridge::storage::sqlite
