// SqliteTenantStore (ports::TenantStore in identity.db): its table lives beside the identity tables
// across reopens. Put/get/list/remove and the size limit: tests/stores/identity_contract_test.cpp.
#include "identity/sqlite/sqlite_tenant_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "identity/sqlite/identity_store.hpp"

namespace callbridge::identity {
namespace {

base::Timestamp at(std::int64_t s) { return base::from_micros(s * 1'000'000); }

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
