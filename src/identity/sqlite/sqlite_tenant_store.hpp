// SqliteTenantStore: ports::TenantStore in the data dir's identity.db (table `tenant_specs`, created
// when missing; its own connection, so it never waits behind token checks). Used by callbridged's
// tenant API on worker threads and at start-up. One connection behind a mutex: thread-safe.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>

#include "identity/common/identity_rules.hpp"
#include "ports/tenant_store.hpp"

namespace callbridge::storage::sqlite {
class Connection;
}

namespace callbridge::identity {

class SqliteTenantStore final : public ports::TenantStore {
 public:
  static constexpr std::size_t kMaxSpecBytes = identity::kMaxSpecBytes;

  // Opens (creating the table if needed) `path`; ":memory:" for tests. Errc::io when it cannot.
  static base::Result<std::unique_ptr<SqliteTenantStore>> open(const std::string& path);
  ~SqliteTenantStore() override;
  SqliteTenantStore(const SqliteTenantStore&) = delete;
  SqliteTenantStore& operator=(const SqliteTenantStore&) = delete;

  base::Result<std::vector<ports::StoredTenant>> list() override;
  base::Result<std::optional<ports::StoredTenant>> get(const base::TenantId& id) override;
  base::Status put(const ports::StoredTenant& t) override;
  base::Status remove(const base::TenantId& id) override;

 private:
  SqliteTenantStore(std::string path, std::unique_ptr<storage::sqlite::Connection> conn);
  base::Error sql_error(const char* what) const;

  std::string path_;
  std::unique_ptr<storage::sqlite::Connection> conn_;
  sqlite3* db_;  // conn_'s handle
  std::mutex mu_;
};

}  // namespace callbridge::identity
