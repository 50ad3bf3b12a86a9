// [journal] backend / dsn in the daemon's configuration (app/config): what selects PgJournalStore.
#include <gtest/gtest.h>

#include "app/config.hpp"

namespace callbridge::journal {
namespace {

TEST(JournalBackendConfig, DefaultsToSqlite) {
  auto c = app::parse_config("", "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->journal.backend, "sqlite");
  EXPECT_EQ(c->journal.dsn, "");
}

TEST(JournalBackendConfig, PostgresTakesADsn) {
  auto c = app::parse_config("[journal]\nbackend = \"postgres\"\ndsn = \"postgresql://cb@db/callbridge\"\n", "test.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->journal.backend, "postgres");
  EXPECT_EQ(c->journal.dsn, "postgresql://cb@db/callbridge");
}

TEST(JournalBackendConfig, ErrorsNameTheKey) {
  auto no_dsn = app::parse_config("[journal]\nbackend = \"postgres\"\n", "test.toml");
  ASSERT_FALSE(no_dsn);
  EXPECT_NE(no_dsn.error().message().find("journal.dsn: required with backend = \"postgres\""), std::string::npos)
      << no_dsn.error().message();
  auto stray = app::parse_config("[journal]\ndsn = \"host=db\"\n", "test.toml");
  ASSERT_FALSE(stray);
  EXPECT_NE(stray.error().message().find("journal.dsn: only used with backend = \"postgres\""), std::string::npos)
      << stray.error().message();
  auto bad = app::parse_config("[journal]\nbackend = \"mysql\"\n", "test.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("journal.backend"), std::string::npos) << bad.error().message();
}

TEST(JournalBackendConfig, ThePrintedDefaultConfigParses) {
  auto c = app::parse_config(app::default_config_toml(), "default");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->journal.backend, "sqlite");
}

}  // namespace
}  // namespace callbridge::journal
