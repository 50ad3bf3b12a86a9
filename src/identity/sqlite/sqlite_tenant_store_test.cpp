// SqliteTenantStore (ports::TenantStore in identity.db): put/get/list/remove, created_at kept on
// replace, size limit, persistence across reopen next to the identity tables.
#include "identity/sqlite/sqlite_tenant_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "identity/sqlite/identity_store.hpp"

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }

TEST(SqliteTenantStore, PutGetListRemove) {
  auto s = SqliteTenantStore::open(":memory:");
  ASSERT_TRUE(s) << s.error().message();
  auto& store = **s;
  EXPECT_TRUE(store.list()->empty());
  EXPECT_FALSE(store.get(base::TenantId("acme"))->has_value());

  ASSERT_TRUE(store.put({base::TenantId("beta"), R"({"id":"beta"})", at(1), at(1), "op"}));
  ASSERT_TRUE(store.put({base::TenantId("acme"), R"({"id":"acme"})", at(2), at(2), "op"}));
  auto all = store.list();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "acme");  // by id
  EXPECT_EQ((*all)[1].id, "beta");

  // Replacing keeps created_at, takes the rest.
  ASSERT_TRUE(store.put({base::TenantId("acme"), R"({"id":"acme","display_name":"A"})", at(9), at(10), "op2"}));
  auto got = store.get(base::TenantId("acme"));
  ASSERT_TRUE(got && *got);
  EXPECT_EQ((*got)->spec_json, R"({"id":"acme","display_name":"A"})");
  EXPECT_EQ((*got)->created_at, at(2));
  EXPECT_EQ((*got)->updated_at, at(10));
  EXPECT_EQ((*got)->updated_by, "op2");

  ASSERT_TRUE(store.remove(base::TenantId("acme")));
  auto again = store.remove(base::TenantId("acme"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), base::Errc::not_found);
  EXPECT_EQ(store.list()->size(), 1u);
}

TEST(SqliteTenantStore, RejectsOversizedSpecs) {
  auto s = SqliteTenantStore::open(":memory:");
  ASSERT_TRUE(s);
  auto st = (*s)->put({base::TenantId("acme"), std::string(SqliteTenantStore::kMaxSpecBytes + 1, 'x'), at(1), at(1), ""});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), base::Errc::invalid_argument);
}

TEST(SqliteTenantStore, LivesInIdentityDbAcrossReopen) {
  auto dir = std::filesystem::temp_directory_path() / ("cb-tenant-store-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "identity.db").string();
  {
    auto ids = SqliteIdentityStore::open(path);  // the identity tables first, as callbridged opens them
    ASSERT_TRUE(ids) << ids.error().message();
    auto s = SqliteTenantStore::open(path);
    ASSERT_TRUE(s) << s.error().message();
    ASSERT_TRUE((*s)->put({base::TenantId("acme"), "{}", at(1), at(1), "op"}));
  }
  {
    auto s = SqliteTenantStore::open(path);
    ASSERT_TRUE(s);
    auto all = (*s)->list();
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].id, "acme");
    auto ids = SqliteIdentityStore::open(path);  // the identity schema is untouched by the table
    ASSERT_TRUE(ids) << ids.error().message();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace callbridge::identity
