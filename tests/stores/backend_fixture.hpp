// The shared typed fixture of the store contract tests (tests/stores/*_contract_test.cpp): one
// test body run against every backend of a port, so that SQLite and PostgreSQL cannot drift.
// "sqlite": a fresh temp dir per test; "postgres": a fresh database per test on one real
// PostgreSQL (directory/pg_test_cluster.hpp), skipped with a message when its binaries are absent.
// The PostgreSQL cases exist only in builds with libpq (CALLBRIDGE_TEST_POSTGRES).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "directory/child_process.hpp"
#ifdef CALLBRIDGE_TEST_POSTGRES
#include "directory/pg_test_cluster.hpp"
#endif

namespace callbridge::testing {

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() != "postgres") return;
#ifdef CALLBRIDGE_TEST_POSTGRES
    std::string why;
    bool absent = false;
    auto* cluster = PgTestCluster::get(why, absent);
    if (absent) GTEST_SKIP() << why;
    ASSERT_TRUE(cluster) << why;
    dsn_ = cluster->fresh_database(why);
    ASSERT_FALSE(dsn_.empty()) << why;
#else
    GTEST_SKIP() << "built without PostgreSQL";
#endif
  }
  bool postgres() const { return GetParam() == "postgres"; }
  // SQLite: a file in this test's own directory; PostgreSQL: this test's database.
  std::string sqlite_path(const std::string& file) const { return dir_ / file; }
  const std::string& dsn() const { return dsn_; }

  TempDir dir_;
  std::string dsn_;
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& i) { return i.param; }

}  // namespace callbridge::testing

#ifdef CALLBRIDGE_TEST_POSTGRES
#define CALLBRIDGE_STORE_BACKENDS ::testing::Values(std::string("sqlite"), std::string("postgres"))
#else
#define CALLBRIDGE_STORE_BACKENDS ::testing::Values(std::string("sqlite"))
#endif
